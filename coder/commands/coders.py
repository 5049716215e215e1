"""Commands for teams of coders: `coder coders`, `coder report agreement`, `coder report
disagreements`, `coder code accept`. The work is done in coder/agreement.py."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from coder.commands.base import Choices, MD_DOC
from coder.commands.base import (CASE_OPT, CODE_OPT, CSV, DIMENSION_OPT, FORCE, JSON, MD, TRANSCRIPT_FILTER,
                                 WHERE_OPT, _db_path, _emit, _env, _format, _format_from_suffix, _is_stdout,
                                 _selection, _store, app, code_app, report_app)
from coder.errors import InputError, PartialFailure
from coder.render import dumps_json


@app.command("coders", short_help="The coders of this project and their codings.")
def coders(ctx: typer.Context, json_: bool = JSON, csv_: bool = CSV, md: bool = MD):
    """The coders of this project, with their codings per code and per transcript."""
    from coder.agreement import coder_summaries
    from coder.render import dumps_json, print_records

    store = _store(ctx)
    summaries = coder_summaries(store)
    env = _env()
    fmt = _format(json_, csv_, md)
    if fmt == "json":
        env.stdout.write(dumps_json(s.as_json() for s in summaries))
        return
    if fmt in ("csv", "md"):  # one row per coder, code and transcript
        records = [{"coder": s.coder, "transcript": transcript, "code": code, "codings": n}
                   for s in summaries for (transcript, code), n in s.cells]
        print_records(env, records, fmt, columns=["coder", "transcript", "code", "codings"])
        return
    if not summaries:
        env.err("no codings yet")
        return
    names = [s.coder for s in summaries]
    print_records(env, [{"coder": s.coder, "codings": s.codings, "transcripts": len(s.by_transcript),
                         "codes": len(s.by_code)} for s in summaries], None, title="Coders")
    order = {path: i for i, path in enumerate(store.code_paths(include_retired=True))}
    by_code = [{"code": code, **{s.coder: s.by_code.get(code, 0) for s in summaries}}
               for code in sorted(_union(s.by_code for s in summaries), key=lambda c: (order.get(c, len(order)), c))]
    print_records(env, by_code, None, columns=["code", *names], title="Codings per code")
    by_transcript = [{"transcript": t, **{s.coder: s.by_transcript.get(t, 0) for s in summaries}}
                     for t in sorted(_union(s.by_transcript for s in summaries))]
    print_records(env, by_transcript, None, columns=["transcript", *names], title="Codings per transcript")


def _union(mappings) -> list[str]:
    keys: dict[str, None] = {}
    for mapping in mappings:
        keys.update(dict.fromkeys(mapping))
    return list(keys)


AGREEMENT_COLUMNS = ["code", "unit", "coders", "units", "percent_agreement", "cohen_kappa", "krippendorff_alpha"]


@report_app.command("agreement", short_help="How far coders agree, per code (kappa, alpha).")
def report_agreement(ctx: typer.Context,
                     coder: List[str] = typer.Option(..., "--coder", help="A coder to compare (two or more: "
                                                                          "--coder anna --coder bjorn)."),
                     code: Optional[List[str]] = CODE_OPT,
                     unit: str = typer.Option("segments", "--unit", click_type=Choices("segments", "characters"),
                                              help="segments, or characters (of the "
                                                                         "turns)."),
                     case: Optional[List[str]] = CASE_OPT, dimension: Optional[List[str]] = DIMENSION_OPT,
                     transcript: Optional[List[str]] = TRANSCRIPT_FILTER, where: Optional[List[str]] = WHERE_OPT,
                     per_transcript: bool = typer.Option(False, "--per-transcript",
                                                         help="Also each transcript's figures for each code used "
                                                              "in it (as NVivo's coding comparison per source)."),
                     json_: bool = JSON, csv_: bool = CSV, md: bool = MD):
    """How far coders agree, per code (with its sub-codes) and for all codes pooled ("*"):
    percentage agreement, Cohen's kappa (two coders) and Krippendorff's alpha (nominal). The
    units are the segments (or characters) of the transcripts that every one of the coders
    has coded; on each, a coder did or did not put the code there. A figure that is
    undefined (a code nobody used) is empty (null in JSON)."""
    from coder import agreement as agreement_mod
    from coder.render import dumps_csv, dumps_json, dumps_markdown

    store = _store(ctx)
    selection = _selection(store, case=case, code=code, transcript=transcript, where=where, dimension=dimension)
    report = agreement_mod.agreement(store, coder, unit=unit, selection=selection, per_transcript=per_transcript)
    env = _env()
    fmt = _format(json_, csv_, md)
    records = [row.as_json() for row in (*report.rows, *report.per_transcript)]
    if fmt == "json":
        env.stdout.write(dumps_json(records))
        return
    for record in records:
        record["coders"] = ";".join(record["coders"])
    columns = [AGREEMENT_COLUMNS[0], *(["transcript"] if per_transcript else []), *AGREEMENT_COLUMNS[1:]]
    if fmt == "csv":
        env.stdout.write(dumps_csv(records, columns))
        return
    if fmt == "md":
        env.stdout.write(dumps_markdown([_rounded(r) for r in records], columns))
        return
    _print_agreement(env, report)


def _rounded(record: dict) -> dict:
    return {**record, **{k: None if record[k] is None else round(record[k], 1 if k == "percent_agreement" else 3)
                         for k in ("percent_agreement", "cohen_kappa", "krippendorff_alpha")}}


def _cells(row, pair: bool) -> list[str]:
    return [f"{row.percent_agreement:.1f}" if row.percent_agreement is not None else "–",
            *([f"{row.cohen_kappa:.3f}" if row.cohen_kappa is not None else "–"] if pair else []),
            f"{row.krippendorff_alpha:.3f}" if row.krippendorff_alpha is not None else "–"]


def _print_agreement(env, report) -> None:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from coder.render import printable

    who = " and ".join(report.coders) if len(report.coders) == 2 else ", ".join(report.coders)
    title = (f"Agreement of {who}: {report.units:,} {report.unit} in {report.transcripts} transcript(s) "
             f"coded by {'both' if len(report.coders) == 2 else 'all'}")
    grid = Table(title=Text(printable(title)), box=box.SIMPLE_HEAVY, title_justify="left")
    grid.add_column("code")
    pair = len(report.coders) == 2  # kappa is for two coders: no column of dashes for more
    for heading in ("% agree", "kappa", "alpha") if pair else ("% agree", "alpha"):
        grid.add_column(heading, justify="right")
    for row in report.rows:
        if row.code == "*":
            grid.add_section()
        cells = _cells(row, pair)
        grid.add_row(Text(printable("all codes (pooled)" if row.code == "*" else row.code)), *cells)
    env.print_table(grid)
    if report.per_transcript:
        each = Table(title=Text(f"Per transcript ({report.unit} of each)"), box=box.SIMPLE_HEAVY,
                     title_justify="left")
        for heading in ("transcript", "code", report.unit, "% agree", *(["kappa"] if pair else []), "alpha"):
            each.add_column(heading, justify="left" if heading in ("transcript", "code") else "right")
        for row in report.per_transcript:
            each.add_row(Text(printable(row.transcript)), Text(printable(row.code)), f"{row.units:,}",
                         *_cells(row, pair))
        env.console().print(each)
    env.err(f"pooled: each code's decision on each {report.unit[:-1]}, {report.rows[-1].units:,} in all")
    if any(row.krippendorff_alpha is None or (pair and row.cohen_kappa is None) for row in report.rows):
        env.err("– = undefined: nobody used the code, or everyone gave one value")
    if not pair:
        env.err("Cohen's kappa is for two coders (null in --json); Krippendorff's alpha takes any number")


@report_app.command("disagreements", short_help="A sheet for settling where coders disagree.")
def report_disagreements(ctx: typer.Context,
                         coder: List[str] = typer.Option(..., "--coder", help="A coder to compare (two or more: "
                                                                              "--coder anna --coder bjorn)."),
                         code: Optional[List[str]] = CODE_OPT, case: Optional[List[str]] = CASE_OPT,
                         dimension: Optional[List[str]] = DIMENSION_OPT,
                         transcript: Optional[List[str]] = TRANSCRIPT_FILTER,
                         where: Optional[List[str]] = WHERE_OPT,
                         json_: bool = JSON, csv_: bool = CSV, md: bool = MD_DOC,
                         docx: bool = typer.Option(False, "--docx", help="Write a Word document."),
                         html: bool = typer.Option(False, "--html", help="Write a printable HTML page."),
                         out: Optional[Path] = typer.Option(None, "--out", help="Write to this file (default for "
                                                                                "docx/html: exports/...)."),
                         force: bool = FORCE):
    """A sheet for settling disagreements: each segment that one coder put a code on and
    another did not (in the transcripts every one of them has coded), with its text, who
    coded what and their memos, grouped by case office and code. Take one coder's version
    with `coder code accept`."""
    import datetime

    from coder import agreement as agreement_mod
    from coder import export
    from coder.reports import quote_columns

    fmt = _format(json_, csv_, md, docx=docx, html=html) or (
        "md" if out is None or _is_stdout(out) else _format_from_suffix(out))
    if fmt == "xlsx":
        raise InputError("a disagreement sheet is written as md, docx, html, csv or json, not xlsx")
    store = _store(ctx)
    selection = _selection(store, case=case, code=code, transcript=transcript, where=where, dimension=dimension)
    found = agreement_mod.disagreements(store, coder, selection)
    coders = agreement_mod.check_coders(coder)
    what = f"{len(found)} disagreement(s)"
    if fmt == "json":
        _emit(dumps_json(d.as_json() for d in found), out, force=force, what=what, fmt=fmt, db=_db_path(ctx))
        return
    named = (" and ".join(coders), *selection.cases, *selection.codes,
             *(f"transcript {t}" for t in selection.transcripts),
             selection.where and "where " + " and ".join(str(w) for w in selection.where))
    kinds = ("coders", *(("case",) * len(selection.cases)), *(("code",) * len(selection.codes)),
             *(("",) * (len(selection.transcripts) + 1)))
    from coder.store import codebook as codebook_rows

    levels, attribute_keys = quote_columns(store)
    sheet = export.Sheet(title="Disagreements" + "".join(f" — {part}" for part in named if part),
                         quotes=[d.quote for d in found], project=codebook_rows.latest_name(store) or "",
                         date=datetime.date.today().isoformat(),
                         filters=tuple(f"{kind} {part}".strip() for kind, part in zip(kinds, named) if part),
                         levels=levels, context=False, attribute_keys=attribute_keys, noun="disagreement",
                         empty=f"{' and '.join(coders)} agree on every segment here.")
    content = (lambda stream: export.write_csv(sheet, stream)) if fmt == "csv" else export.render(sheet, fmt)
    if out is None and fmt in export.BINARY_FORMATS + ("html",):
        out = Path("exports") / (export.safe_filename("disagreements", *named) + f".{fmt}")
    _emit(content, out, force=force, what=what, fmt=fmt, db=_db_path(ctx))


@code_app.command("accept", short_help="Take one coder's version of the codings into the consensus.")
def code_accept(ctx: typer.Context,
                from_coder: str = typer.Option(..., "--from", help="The coder whose version is taken."),
                code: Optional[List[str]] = CODE_OPT, transcript: Optional[List[str]] = TRANSCRIPT_FILTER,
                case: Optional[List[str]] = CASE_OPT,
                into: str = typer.Option("consensus", "--into", help="The coder it is copied to."),
                json_: bool = JSON):
    """Take one coder's version into the consensus: copy their codings (of --code, with its
    sub-codes, in --transcript; all of them without filters) to the coder `consensus`, the
    same spans, codes and memos, in one transaction. A coding already there is not added
    again. Then report on the agreed coding with `--coder consensus`."""
    from coder import agreement as agreement_mod

    store = _store(ctx)
    selection = _selection(store, code=code, transcript=transcript, case=case)
    accepted = agreement_mod.accept(store, from_coder, into=into, selection=selection)
    env = _env()
    if json_:
        env.stdout.write(dumps_json(r.as_json() for r in accepted.results))
    scope = ", ".join([*selection.codes, *selection.transcripts, *selection.cases]) or "all codes"
    if not accepted.results:
        env.err(f"{from_coder} has no codings here ({scope}); nothing accepted")
        return
    env.err(f"{into}: {accepted.coded} coding(s) accepted from {from_coder} ({scope})"
            + (f"; {accepted.duplicates} already there" if accepted.duplicates else ""))
    failed = [r for r in accepted.results if r.status not in ("coded", "duplicate")]
    for r in failed:
        env.err(f"not accepted: {r.transcript} [{r.start}:{r.end}] {r.code}: {r.message}")
    if failed:
        raise PartialFailure(f"{len(failed)} of {len(accepted.results)} codings not accepted")
