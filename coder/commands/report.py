"""`coder report freq/quotes/cooccurrence/matrix/memos` (the work is in coder/reports.py; the
writers in coder/export.py)."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from coder.commands.base import MD_DOC, MEMO_TYPES, UNITS, Choices
from coder.commands.base import (CASE_OPT, CODER_FILTER, CODE_OPT, CSV, DELIMITER, DIMENSION_OPT, EXCEL, FORCE, JSON,
                                 MD, PSEUDO_OPT, TRANSCRIPT_FILTER, WHERE_OPT, _csv_dialect, _csv_flag, _csv_text,
                                 _db_path, _emit, _env, _format, _format_from_suffix, _is_stdout, _selection, _store,
                                 report_app)
from coder.errors import InputError


@report_app.command("freq", short_help="Code frequencies by case office (or any attribute).", epilog="""
    coder report freq
    coder report freq --by leadership_model --unit informants --percent
    coder report freq --heatmap --where 'population>20000'
    coder report freq --csv > freq.csv
""")
def report_freq(ctx: typer.Context,
                by: str = typer.Option("case", "--by", help="Columns: case, or any case/transcript attribute "
                                                           "(leadership_model, role, ...)."),
                unit: str = typer.Option("segments", "--unit", click_type=UNITS,
                                         help="What to count."),
                level: str = typer.Option("code", "--level", click_type=Choices("code", "dimension"),
                                          help="code, or dimension for dimension totals only."),
                percent: bool = typer.Option(False, "--percent", help="Show each count as a percentage of all "
                                                                      "units in its column."),
                heatmap: bool = typer.Option(False, "--heatmap", help="Shade cells by size (legible without "
                                                                      "colour too)."),
                png: bool = typer.Option(False, "--png", help="Write a bar chart (needs matplotlib)."),
                svg: bool = typer.Option(False, "--svg", help="Write a bar chart as SVG (needs matplotlib)."),
                out: Optional[Path] = typer.Option(None, "--out", help="Write to this file (.csv, .json or "
                                                                       ".md; the chart for --png/--svg, default "
                                                                       "exports/...)."),
                force: bool = FORCE,
                case: Optional[List[str]] = CASE_OPT, code: Optional[List[str]] = CODE_OPT,
                coder: Optional[List[str]] = CODER_FILTER, transcript: Optional[List[str]] = TRANSCRIPT_FILTER,
                where: Optional[List[str]] = WHERE_OPT,
                json_: bool = JSON, csv_: bool = CSV, md: bool = MD, excel: bool = EXCEL,
                delimiter: Optional[str] = DELIMITER):
    """Code frequencies: codes (grouped under dimensions, with subtotals) by case office.
    A parent code counts its sub-codes' units too, each unit once (a word under two
    overlapping codings is one word)."""
    from coder.reports import frequencies, group_totals

    store = _store(ctx)
    selection = _selection(store, case=case, code=code, coder=coder, transcript=transcript, where=where)
    table = frequencies(store, by=by, unit=unit, level=level, selection=selection)
    totals = group_totals(store, by=by, unit=unit, selection=selection) if percent else None
    if out is not None and not (png or svg or json_ or csv_ or md or excel or delimiter is not None):
        png, svg = out.suffix.lower() == ".png", out.suffix.lower() == ".svg"  # --out chart.png: the chart
    if png or svg:
        from coder import charts, export

        fmt = "svg" if svg else "png"
        target = out or Path("exports") / f"{export.safe_filename('freq', unit, 'by', by)}.{fmt}"
        _emit(charts.freq_chart(table, fmt=fmt, totals=totals), target, force=force, what="chart", fmt=fmt, db=_db_path(ctx))
        return
    dialect = _csv_dialect(excel, delimiter)
    fmt = _format(json_, csv_ or dialect is not None, md, csv_flag=_csv_flag(csv_, excel, delimiter)) or (
        _format_from_suffix(out) if out and not _is_stdout(out) else None)
    if out is not None and not _is_stdout(out):
        if fmt not in ("json", "csv", "md"):
            raise InputError(f"a frequency table can be written as json, csv or md, not {fmt}",
                             hint="or a chart with --png/--svg")
        import io
        from types import SimpleNamespace

        text = io.StringIO()
        _print_freq(SimpleNamespace(stdout=text), table, fmt, totals=totals, dialect=dialect)
        _emit(text.getvalue(), out, force=force, what="frequency table", fmt=fmt, db=_db_path(ctx))
        return
    _print_freq(_env(), table, fmt, totals=totals, heatmap=heatmap, dialect=dialect)


def _cell_value(count: int, total: int | None):
    if total is None:
        return count
    return round(100.0 * count / total, 1) if total else 0.0


def _print_freq(env, table, fmt: str | None, *, totals: dict | None = None, heatmap: bool = False,
                dialect: tuple[str, str] | None = None) -> None:
    from coder.render import dumps_csv, dumps_json, dumps_markdown

    grand = sum(totals.values()) if totals else None
    if fmt == "json":
        cells = [{**c, "percent": _cell_value(c["count"], totals.get(c["group"], 0))} if totals else c
                 for c in table.cells]
        env.stdout.write(dumps_json(cells))
        return
    columns = ["dimension", "code", "label", *table.groups, "total"]
    records = []
    for row in table.rows:
        records.append({"dimension": row.key if row.kind == "dimension" else row.key.split(".")[0],
                        "code": "" if row.kind == "dimension" else row.key, "label": row.label,
                        **{g: _cell_value(row.counts.get(g, 0), totals.get(g, 0) if totals else None)
                           for g in table.groups},
                        "total": _cell_value(row.total, grand)})
    if fmt == "csv":
        env.stdout.write(_csv_text(dumps_csv(records, columns), dialect))
        return
    if fmt == "md":
        env.stdout.write(dumps_markdown(records, columns))
        return
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from coder.render import Labelled, printable

    peak = max((n for row in table.rows if row.kind == "code" for n in row.counts.values()), default=0)
    title = f"Coded {table.unit} by {table.by}" + (" (% of all units in the column)" if totals else "")
    grid = Table(title=Text(printable(title)), box=box.SIMPLE_HEAVY, title_justify="left")
    grid.add_column("code")
    for group in table.groups:
        grid.add_column(Text(printable(group)), justify="right")
    grid.add_column("total", justify="right", style="bold")

    def cell(count: int, total: int | None, shade: bool) -> str:
        if not count:
            return "·"
        value = _cell_value(count, total)
        text = f"{value:g}%" if total is not None else str(value)
        if heatmap and shade and peak:
            level = min(7, int(8 * count / (peak + 1)))
            bar = " ▁▂▃▄▅▆▇"[level] if level else "▁"
            color = ("grey35", "grey50", "dark_orange3", "orange3", "orange1", "red3", "red1", "bright_red")[level]
            text = f"[{color}]{text} {bar}[/]" if not env.no_color else f"{text} {bar}"
        return text

    for index, row in enumerate(table.rows):
        cells = [cell(row.counts.get(g, 0), totals.get(g, 0) if totals else None, row.kind == "code")
                 for g in table.groups]
        total = cell(row.total, grand, False)
        if row.kind == "dimension":
            if index:
                grid.add_section()
            grid.add_row(Labelled(row.label, f"({row.key})", bold=True), *[f"[bold]{c}[/]" for c in cells], total)
        else:
            grid.add_row(Labelled(row.label, row.key.split(".", 1)[1], indent=2 * row.depth), *cells, total)
    env.print_table(grid)
    env.err("· = 0; a dimension counts each unit once, even where several of its codes apply")


@report_app.command("quotes", short_help="Quote sheets grouped by case office, dimension and code.", epilog="""
    coder report quotes --case Hamar --docx
    coder report quotes --where leadership_model=split --xlsx
    coder report quotes --code leadership --pseudonymise --html
    coder report quotes --excel > quotes.csv
""")
def report_quotes(ctx: typer.Context,
                  case: Optional[List[str]] = CASE_OPT, code: Optional[List[str]] = CODE_OPT,
                  dimension: Optional[List[str]] = DIMENSION_OPT, coder: Optional[List[str]] = CODER_FILTER,
                  transcript: Optional[List[str]] = TRANSCRIPT_FILTER, where: Optional[List[str]] = WHERE_OPT,
                  limit_per_code: Optional[int] = typer.Option(None, "--limit-per-code", min=1,
                                                               help="At most this many quotes per code and case."),
                  context: int = typer.Option(0, "--context", min=0, max=200,
                                              help="Show N words before and after each quote."),
                  json_: bool = JSON, csv_: bool = CSV, md: bool = MD_DOC, excel: bool = EXCEL,
                  delimiter: Optional[str] = DELIMITER,
                  docx: bool = typer.Option(False, "--docx", help="Write a Word document."),
                  xlsx: bool = typer.Option(False, "--xlsx", help="Write an Excel workbook."),
                  html: bool = typer.Option(False, "--html", help="Write a printable HTML page."),
                  out: Optional[Path] = typer.Option(None, "--out", help="Write to this file (default for "
                                                                         "docx/xlsx/html: exports/...)."),
                  pseudonymise: bool = PSEUDO_OPT, force: bool = FORCE):
    """Quote extracts grouped by case office, dimension and code, each attributed (role, case)."""
    import datetime

    from coder import export
    from coder.reports import QuoteFilter, iter_merge_passages, iter_quotes, quote_columns

    dialect = _csv_dialect(excel, delimiter)
    fmt = _format(json_, csv_ or dialect is not None, md, docx=docx, xlsx=xlsx, html=html,
                  csv_flag=_csv_flag(csv_, excel, delimiter)) or (
        "md" if out is None or _is_stdout(out) else _format_from_suffix(out))
    store = _store(ctx)
    selection = _selection(store, case=case, code=code, coder=coder, transcript=transcript, where=where,
                           dimension=dimension)
    filters = QuoteFilter(selection=selection, limit_per_code=limit_per_code, context_words=context)
    # every format is written as the quotes are read, never all held
    rows = iter_quotes(store, filters)
    if fmt not in ("json", "csv"):  # data keeps a row per coding; people read each passage once
        rows = iter_merge_passages(rows)
    # the filters name the sheet and its file: a filtered sheet never takes the unfiltered one's name
    named = _named_by(selection)
    # the subtitle says what each filter is: "case Hamar, code vertical, coded by anna, where ..."
    kinds = (*(("case",) * len(selection.cases)), *(("code",) * len(selection.codes)),
             *(("",) * (len(selection.coders) + len(selection.transcripts) + 1)))
    from coder.store import codebook

    project_name = codebook.latest_name(store) or ""
    if pseudonymise:
        from coder import pseudonym

        hide = pseudonym.build(store)
        rows = (hide.quote(q) for q in rows)
        named = tuple(hide.replace_text(part) if part else part for part in named)
        project_name = hide.replace_text(project_name)
    title = "Quotes" + "".join(f" — {part}" for part in named if part)
    used = [f"{what} {part}" for what, part in zip(kinds, named) if part]
    used += [f"at most {limit_per_code} per code and case"] if limit_per_code else []
    levels, attribute_keys = quote_columns(store)  # the same columns whatever the rows
    written = [0]

    def counted(rows):
        for quote in rows:
            written[0] += 1
            yield quote

    sheet = export.Sheet(title=title, quotes=counted(rows), pseudonymised=pseudonymise, project=project_name,
                         date=datetime.date.today().isoformat(), filters=tuple(u.strip() for u in used),
                         levels=levels, context=bool(context), attribute_keys=attribute_keys)
    separator, bom = dialect or (",", "")

    def content(stream):
        # DOCX and XLSX show a bar on a terminal while they write (data never: a script reads it)
        from coder.render import Progress

        with Progress(_env(), f"writing the {fmt.upper()} sheet", quiet=fmt in ("csv", "json")) as progress:
            export.writer(sheet, fmt, progress=progress, delimiter=separator, prefix=bom)(stream)

    if fmt in export.BINARY_FORMATS:
        content = export.BinaryContent(content)
    if out is None and fmt in export.BINARY_FORMATS + ("html",):
        out = Path("exports") / (export.safe_filename("quotes", *named, limit_per_code and f"max{limit_per_code}",
                                                      "pseudonymised" if pseudonymise else None) + f".{fmt}")
    _emit(content, out, force=force, what=lambda: f"{written[0]} quote(s)", fmt=fmt, db=_db_path(ctx))


@report_app.command("cooccurrence", short_help="Code × code: how many segments carry both codes.")
def report_cooccurrence(ctx: typer.Context,
                        unit: str = typer.Option("segments", "--unit", click_type=Choices("segments", "documents"),
                                                 help="What to count: segments, or documents (transcripts)."),
                        codes: Optional[List[str]] = typer.Option(None, "--codes", help="Only these codes (each "
                                                                                        "with its sub-codes); "
                                                                                        "repeatable; a dimension "
                                                                                        "too)."),
                        case: Optional[List[str]] = CASE_OPT, code: Optional[List[str]] = CODE_OPT,
                        coder: Optional[List[str]] = CODER_FILTER,
                        transcript: Optional[List[str]] = TRANSCRIPT_FILTER, where: Optional[List[str]] = WHERE_OPT,
                        json_: bool = JSON, csv_: bool = CSV, md: bool = MD):
    """Code × code: how many segments (or transcripts) carry both codes. A code counts its
    sub-codes too (and is not paired with them), so a pair's count is the same with or
    without --codes."""
    from coder import codebook_load
    from coder.reports import cooccurrence

    store = _store(ctx)
    selection = _selection(store, case=case, code=code, coder=coder, transcript=transcript, where=where)
    resolved = tuple(dict.fromkeys(codebook_load.resolve(store, c, allow_dimension=True) for c in codes or []))
    pairs = cooccurrence(store, unit=unit, codes=resolved, selection=selection)
    fmt = _format(json_, csv_, md)
    from coder.render import print_records

    print_records(_env(), pairs, fmt, title=f"Codes on the same {unit[:-1]}", empty="no two codes co-occur")


@report_app.command("matrix", short_help="Matrix coding query: rows × columns, counts or quotes.", epilog="""
    coder report matrix                                  # case offices x codes
    coder report matrix --rows leadership_model --cols dimensions --unit informants
    coder report matrix --code two_bosses --quotes --html
""")
def report_matrix(ctx: typer.Context,
                  rows: str = typer.Option("cases", "--rows",
                                           help="codes, cases, dimensions, or a case/transcript attribute "
                                                "(leadership_model, role, ...)."),
                  cols: str = typer.Option("codes", "--cols",
                                           help="codes, cases, dimensions, or a case/transcript attribute."),
                  unit: str = typer.Option("segments", "--unit", click_type=UNITS,
                                           help="What each cell counts."),
                  with_quotes: bool = typer.Option(False, "--quotes", help="Put the quotes behind each cell in it "
                                                                           "(framework matrix)."),
                  case: Optional[List[str]] = CASE_OPT, code: Optional[List[str]] = CODE_OPT,
                  coder: Optional[List[str]] = CODER_FILTER, transcript: Optional[List[str]] = TRANSCRIPT_FILTER,
                  where: Optional[List[str]] = WHERE_OPT,
                  pseudonymise: bool = PSEUDO_OPT,
                  json_: bool = JSON, csv_: bool = CSV, md: bool = MD, excel: bool = EXCEL,
                  delimiter: Optional[str] = DELIMITER,
                  html: bool = typer.Option(False, "--html", help="Write an HTML page."),
                  out: Optional[Path] = typer.Option(None, "--out", help="Write to this file."),
                  force: bool = FORCE):
    """Matrix coding query: e.g. one row per case office, one column per code; each cell
    counts the units coded, and with --quotes lists what was said."""
    from coder import render
    from coder.reports import QuoteFilter, matrix

    store = _store(ctx)
    filters = QuoteFilter(selection=_selection(store, case=case, code=code, coder=coder, transcript=transcript,
                                               where=where))
    # a table (the terminal, CSV, Markdown) shows a few quotes a cell; JSON and HTML show all
    every_quote = json_ or html or (out is not None and out.suffix.lower() in (".json", ".html", ".htm"))
    result = matrix(store, rows=rows, cols=cols, unit=unit, with_quotes=with_quotes, quote_filter=filters,
                    all_quotes=every_quote)
    named = (rows, cols)  # an axis may be an attribute, named after anything
    # the file's name says what the page holds: a filtered matrix never takes the unfiltered one's
    filtered = (*_named_by(filters.selection), unit != "segments" and unit, with_quotes and "quotes")
    if pseudonymise:
        from coder import pseudonym

        hide = pseudonym.build(store)
        result = pseudonym.apply_to_matrix(result, hide)
        named = tuple(map(hide.replace_text, named))
        filtered = (*map(hide.replace_text, filtered), "pseudonymised")
    dialect = _csv_dialect(excel, delimiter)
    fmt = _format(json_, csv_ or dialect is not None, md, html=html, csv_flag=_csv_flag(csv_, excel, delimiter)) or (
        _format_from_suffix(out) if out and not _is_stdout(out) else None)
    if fmt not in (None, "json", "csv", "md", "html"):
        raise InputError(f"a matrix can be written as json, csv, md or html, not {fmt}")
    if fmt is None:
        render.print_matrix(_env(), result, rows=named[0], cols=named[1], unit=unit)
        return
    title = f"{named[0]} × {named[1]} ({unit})"
    if fmt in ("json", "html"):  # every quote of every cell: written a cell at a time
        def content(stream):
            render.write_matrix(stream, result, fmt, title=title)
    else:
        content = render.matrix_text(result, fmt, title=title)
    if fmt == "csv":
        content = _csv_text(content, dialect)
    if out is None and fmt == "html":
        from coder import export

        out = Path("exports") / f"{export.safe_filename('matrix', *named, *filtered)}.html"
    _emit(content, out, force=force, what="matrix", fmt=fmt, db=_db_path(ctx))


def _named_by(selection) -> tuple:
    """The filters as the words that name a sheet or a page and its file."""
    return (*selection.cases, *selection.codes, *(f"coded by {c}" for c in selection.coders),
            *(f"transcript {t}" for t in selection.transcripts),
            selection.where and "where " + " and ".join(str(w) for w in selection.where))


@report_app.command("memos", short_help="Every memo, with where it belongs.")
def report_memos(ctx: typer.Context,
                 target_type: Optional[str] = typer.Option(None, "--type", click_type=MEMO_TYPES,
                                                           help="Only memos on these."),
                 case: Optional[List[str]] = CASE_OPT, code: Optional[List[str]] = CODE_OPT,
                 coder: Optional[List[str]] = CODER_FILTER, transcript: Optional[List[str]] = TRANSCRIPT_FILTER,
                 where: Optional[List[str]] = WHERE_OPT,
                 pseudonymise: bool = PSEUDO_OPT,
                 json_: bool = JSON, csv_: bool = CSV, md: bool = MD,
                 out: Optional[Path] = typer.Option(None, "--out", help="Write to this file."), force: bool = FORCE):
    """Every memo (on the project, transcripts, codes and codings) with where it belongs.
    Filters keep the memos on their transcripts, codes and codings (by their coders); a
    project memo shows only without filters."""
    from coder.reports import memo_order, memos

    store = _store(ctx)
    selection = _selection(store, case=case, code=code, coder=coder, transcript=transcript, where=where)
    records = memos(store, target_type=target_type, selection=selection)
    if pseudonymise:
        from coder import pseudonym

        hide = pseudonym.build(store)
        records = sorted((pseudonym.hide_memo(r, hide) for r in records), key=memo_order)
    fmt = _format(json_, csv_, md) or (_format_from_suffix(out) if out and not _is_stdout(out) else None)
    if out is not None and not _is_stdout(out):
        from coder.render import dumps_csv, dumps_json, dumps_markdown

        writer = {"json": dumps_json, "csv": dumps_csv, "md": dumps_markdown}.get(fmt)
        if writer is None:
            raise InputError(f"memos can be written as json, csv or md, not {fmt}")
        _emit(writer(records), out, force=force, what=f"{len(records)} memo(s)", fmt=fmt, db=_db_path(ctx))
        return
    from coder.render import print_records

    if fmt is None and not pseudonymise:  # a person reads where a coding is, not its UUID (names: not hidden)
        # a memo attached to a coding names it by its UUID (target); a coding's own memo is the coding (id)
        places = store.coding_places([key for r in records if r["type"] == "coding" for key in (r["target"], r["id"])])
        records = [{**r, "target": places.get(r["target"]) or places.get(r["id"]) or r["target"]}
                   if r["type"] == "coding" else r for r in records]
        import re

        # in the order they are shown, §4 before §26
        records.sort(key=lambda r: (memo_order(r)[0], [int(part) if part.isdigit() else part
                                                       for part in re.split(r"(\d+)", r["target"])], r["created_at"]))
    columns = ["type", "target", "author", "text", "created_at"]
    if fmt is None:  # the id `memo edit` and `memo remove` take, as short as a coding's in `code list`
        records = [{**r, "id": r["id"][:8]} for r in records]
        columns.insert(0, "id")
    print_records(_env(), records, fmt, columns=columns, empty="no memos yet: add one with `coder memo add`")
