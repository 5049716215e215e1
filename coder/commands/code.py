"""`coder code add/quote/apply/list/remove`: writing and listing codings (the work is in
coder/coding.py)."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from coder.commands.base import (CASE_OPT, CODER_FILTER, CODER_OPT, CSV, DELIMITER, EXCEL, JSON, MD,
                                 TRANSCRIPT_FILTER, _coder_name, _csv_dialect, _csv_flag, _csv_text, _env, _format,
                                 _selection, _store, code_app)
from coder.commands.codebook import CHANGE_JSON, _print_change
from coder.errors import InputError, PartialFailure


# -- coding -------------------------------------------------------------------------------

def _print_coding_results(env, results, json_: bool) -> None:
    if json_:
        from coder.render import dumps_json

        env.stdout.write(dumps_json(r.as_json() for r in results))
        return
    for r in results:
        if r.status == "coded":
            score = f" score={r.score:g}" if r.score is not None else ""
            env.out(f"coded {r.transcript} §{r.segment} [{r.start}:{r.end}] {r.code}{score}  id={r.id}")
        elif r.status == "duplicate":
            env.out(f"already coded: {r.transcript} §{r.segment} [{r.start}:{r.end}] {r.code}")
        else:
            env.err(f"row {r.row}: {r.status}: {r.message}" if r.row else f"error: {r.message}")


THRESHOLD = typer.Option(85.0, "--threshold", min=0, max=100, help="Minimum fuzzy score (0-100) to accept a quote.")


@code_app.command("add", epilog="""
    coder segments hamar_1                      # the turns, numbered
    coder code add hamar_1 4 vertical.two_bosses --memo "tydelig"
""")
def code_add(ctx: typer.Context,
             transcript: str = typer.Argument(..., help="Transcript name."),
             segment: str = typer.Argument(..., help="Segment number, as `coder segments` shows."),
             code: str = typer.Argument(..., help="Code path (vertical.two_bosses) or its unique last part."),
             coder: Optional[str] = CODER_OPT,
             memo: Optional[str] = typer.Option(None, "--memo", help="An analytic memo on this coding."),
             json_: bool = JSON):
    """Code a whole segment."""
    from coder import coding
    from coder.ingest import CodingRequest
    from coder.transcripts import require_transcript

    store = _store(ctx)
    require_transcript(store, transcript)
    request = CodingRequest(row=0, transcript=transcript, code=code, segment=segment, memo=memo or "")
    results = coding.add_codings(store, [request], coder=_coder_name(coder), threshold=100)
    _finish_single(results, json_)


def _finish_single(results, json_: bool) -> None:
    env = _env()
    failed = [r for r in results if r.status not in ("coded", "duplicate")]
    _print_coding_results(env, [r for r in results if r not in failed] if not json_ else results, json_)
    if failed:
        first = failed[0]
        error_cls = InputError if first.status in ("unknown_code", "unknown_transcript") else PartialFailure
        if first.status == "not_found" and first.start is None and first.score is None and "segment" in first.message:
            error_cls = InputError
        raise error_cls(first.message)


@code_app.command("quote", short_help="Find a quote in a transcript and code exactly that span.", epilog="""
    coder code quote hamar_1 "i praksis har jeg to sjefer" two_bosses
    coder code quote hamar_1 "to sjefer" two_bosses --memo "the dual line, in her words"
""")
def code_quote(ctx: typer.Context,
               transcript: str = typer.Argument(..., help="Transcript name."),
               quote: str = typer.Argument(..., help="The quoted words; small differences are tolerated."),
               codes: List[str] = typer.Argument(..., help="One or more codes to apply to the quoted span."),
               coder: Optional[str] = CODER_OPT,
               memo: Optional[str] = typer.Option(None, "--memo", help="An analytic memo on this coding."),
               threshold: float = THRESHOLD,
               json_: bool = JSON):
    """Find a quote in a transcript (tolerating case, punctuation, whitespace, ø/o-style
    OCR swaps and small typos) and code exactly that span."""
    from coder import coding
    from coder.ingest import CodingRequest
    from coder.transcripts import require_transcript

    store = _store(ctx)
    require_transcript(store, transcript)
    requests = [CodingRequest(row=0, transcript=transcript, code=c, quote=quote, memo=memo or "")
                for c in codes]
    results = coding.add_codings(store, requests, coder=_coder_name(coder), threshold=threshold,
                                 action="code.quote")
    _finish_single(results, json_)


@code_app.command("apply", epilog="""
    coder code apply codings.csv                # transcript,segment,code rows
    coder autocode --csv > proposals.csv && coder code apply proposals.csv
""")
def code_apply(ctx: typer.Context,
               file: Path = typer.Argument(..., help="CSV with columns transcript, code, and segment, quote or "
                                                     "start and end (optional: coder, memo, text)."),
               coder: Optional[str] = typer.Option(None, "--coder", help="The coder of every row (over the file's "
                                                                         "coder column; default: the column, else "
                                                                         "$CODER_NAME, else your login name)."),
               threshold: float = THRESHOLD,
               json_: bool = JSON):
    """Apply a batch of codings from CSV. Applying the same file again adds nothing. A row
    with start and end (code points, as `code list --csv` and `report quotes --csv` write
    them) codes exactly that span, checked against its text."""
    from coder import coding

    store = _store(ctx)
    results = coding.apply_coding_rows(store, file, coder=_coder_name(coder), threshold=threshold,
                                       coder_wins=coder is not None)
    env = _env()
    counts = dict.fromkeys(coding.APPLY_STATUSES, 0)
    from coder.render import Progress

    progress = Progress(env, f"applying {file.name}", quiet=json_)
    ctx.call_on_close(progress.close)

    def counted(results):  # written as they come: a million rows' results are never held
        for done, r in enumerate(results, 1):
            counts[r.status] += 1
            if not json_ and r.status not in ("coded", "duplicate"):
                progress.err(f"{file}: row {r.row}: {r.status}: {r.message}")
            progress(done)
            yield r
        progress.close()

    if json_:
        from coder.render import write_json

        try:
            write_json(env.stdout, (r.as_json() for r in counted(results)))
        except BrokenPipeError:  # `| head`: the reader went away; the rows are applied all the same
            for _ in counted(results):
                pass
            raise
    else:
        for _ in counted(results):
            pass
    if counts["coded"]:  # counted now for `report freq`, so its first run is as quick as later ones
        from coder.store import unit_counts

        unit_counts.refresh_after_bulk_write(store)
    env.err(f"{file}: " + (", ".join(f"{n} {s}" for s, n in counts.items() if n) or "no rows"))
    coding.ensure_counts_ok(counts, ok=("coded", "duplicate"), what="rows")


@code_app.command("list")
def code_list(ctx: typer.Context,
              transcript: Optional[str] = typer.Option(None, "--transcript", help="Only this transcript."),
              code: Optional[str] = typer.Option(None, "--code", help="Only this code (and its sub-codes)."),
              coder: Optional[str] = typer.Option(None, "--coder", help="Only this coder's codings."),
              orphaned: bool = typer.Option(False, "--orphaned", help="Codings whose text was lost in an edit."),
              json_: bool = JSON, csv_: bool = CSV, md: bool = MD, excel: bool = EXCEL,
              delimiter: Optional[str] = DELIMITER):
    """List codings."""
    from coder import codebook_load
    from coder.transcripts import require_transcript

    dialect = _csv_dialect(excel, delimiter)
    store = _store(ctx)
    from coder.store import codings

    records = codings.listing(store, orphaned=orphaned,
                              transcript_id=require_transcript(store, transcript).id if transcript else None,
                              code=codebook_load.resolve(store, code) if code else None, coder=coder or None)
    from coder.render import print_records

    fmt = _format(json_, csv_ or dialect is not None, md, csv_flag=_csv_flag(csv_, excel, delimiter))
    if fmt is None:
        for record in records:
            record["id"] = record["id"][:8]
    if fmt == "csv" and dialect:
        from coder.render import dumps_csv

        _env().stdout.write(_csv_text(dumps_csv(records), dialect))
        return
    print_records(_env(), records, fmt, empty="no codings match")


KEYWORD_OPT = typer.Option(None, "--keyword", metavar="WORD", help="Only codings whose text has this word "
                                                                     "(matched as autocode matches keywords: "
                                                                     "sjef finds sjefen).")


@code_app.command("move")
def code_move(ctx: typer.Context,
              code: List[str] = typer.Option(..., "--code", metavar="CODE", help="The code whose codings move (with "
                                                                                 "its sub-codes'); repeatable."),
              to: str = typer.Option(..., "--to", metavar="TARGET", help="The code they move to."),
              transcript: Optional[List[str]] = TRANSCRIPT_FILTER, coder: Optional[List[str]] = CODER_FILTER,
              case: Optional[List[str]] = CASE_OPT, keyword: Optional[str] = KEYWORD_OPT,
              dry_run: bool = typer.Option(False, "--dry-run", help="List the codings that would move; write "
                                                                    "nothing."),
              json_: bool = CHANGE_JSON):
    """Move codings from one code to another, all of them or those the filters select: one
    transaction after a backup, one audit row. A coding already on TARGET for the same span
    and coder is not copied twice."""
    from coder import codebook_ops

    store = _store(ctx)
    selection = _selection(store, code=code, coder=coder, transcript=transcript, case=case)
    _print_change(_env(), codebook_ops.move_codings(store, selection, to, keyword=keyword, dry_run=dry_run), json_)


@code_app.command("remove")
def code_remove(ctx: typer.Context,
                coding_id: Optional[str] = typer.Argument(None, metavar="ID", help="Coding id (or its first 8+ "
                                                                                    "characters)."),
                code: Optional[List[str]] = typer.Option(None, "--code", metavar="CODE", help="Remove the codings of "
                                                                                              "this code (with its "
                                                                                              "sub-codes'); "
                                                                                              "repeatable."),
                transcript: Optional[List[str]] = TRANSCRIPT_FILTER, coder: Optional[List[str]] = CODER_FILTER,
                case: Optional[List[str]] = CASE_OPT, keyword: Optional[str] = KEYWORD_OPT,
                dry_run: bool = typer.Option(False, "--dry-run", help="List the codings that would go; write "
                                                                      "nothing."),
                json_: bool = CHANGE_JSON):
    """Remove one coding by its ID (kept in the audit trail), or every coding the filters
    select (kept in the backup made first; one audit row lists them)."""
    from coder import coding

    filters = code or transcript or coder or case or keyword
    if coding_id is not None and filters:
        raise InputError("give a coding ID or filters, not both", hint="see `coder code remove --help`")
    if coding_id is not None and dry_run:
        raise InputError("--dry-run goes with filters", hint="`code remove ID` removes that one coding; see it "
                                                             "first with `coder code list`")
    if coding_id is None:
        from coder import codebook_ops

        store = _store(ctx)
        selection = _selection(store, code=code, coder=coder, transcript=transcript, case=case)
        _print_change(_env(), codebook_ops.remove_codings(store, selection, keyword=keyword, dry_run=dry_run),
                      json_)
        return
    removed = coding.remove_coding(_store(ctx), coding_id)
    if json_:
        import json

        record = {"id": removed["uuid"], **{k: v for k, v in removed.items() if k != "uuid"}}
        _env().stdout.write(json.dumps({"action": "remove", "applied": True, "removed": 1, "codings": [record]},
                                       ensure_ascii=False, indent=2) + "\n")
        return
    _env().err(f"removed {removed['uuid'][:8]}: {removed['transcript']} [{removed['start']}:{removed['end']}] "
               f"{removed['code']} ({removed['coder']})")
