"""`coder export segments`: data for R, Stata, pandas and spreadsheets (REFI-QDA is in
coder/commands/refi.py)."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from coder.commands.base import (CASE_OPT, CODER_FILTER, CODE_OPT, CSV, DELIMITER, EXCEL, FORCE, PSEUDO_OPT,
                                 TRANSCRIPT_FILTER, WHERE_OPT, _csv_dialect, _db_path, _emit, _selection, _store,
                                 export_app)
from coder.errors import InputError


@export_app.command("segments", short_help="One row per segment, a 0/1 column per code (R, Stata, pandas).", epilog="""
    coder export segments --csv > segments.csv
    coder export segments --xlsx
""")
def export_segments(ctx: typer.Context, csv_: bool = CSV, excel: bool = EXCEL,
                    delimiter: Optional[str] = DELIMITER,
                    xlsx: bool = typer.Option(False, "--xlsx", help="Write an Excel workbook."),
                    out: Optional[Path] = typer.Option(None, "--out", help="Write to this file (default for "
                                                                           "--xlsx: exports/segments.xlsx)."),
                    case: Optional[List[str]] = CASE_OPT, code: Optional[List[str]] = CODE_OPT,
                    coder: Optional[List[str]] = CODER_FILTER, transcript: Optional[List[str]] = TRANSCRIPT_FILTER,
                    where: Optional[List[str]] = WHERE_OPT,
                    pseudonymise: bool = PSEUDO_OPT, force: bool = FORCE):
    """One row per segment (transcript, case, informant, role, turn, text, attributes) and a
    0/1 column per code, for mixed-methods analysis in R, Stata or pandas. Filters keep the
    segments of their transcripts, the columns of their codes, the codings of their coders."""
    from coder import export
    from coder.reports import segment_dataset

    separator, bom = _csv_dialect(excel, delimiter) or (",", "")
    if xlsx and (excel or delimiter):
        raise InputError("--excel and --delimiter are for CSV, not --xlsx")
    store = _store(ctx)
    selection = _selection(store, case=case, code=code, coder=coder, transcript=transcript, where=where)
    header, rows = segment_dataset(store, selection)
    if pseudonymise:
        from coder import pseudonym

        hide = pseudonym.build(store)
        header = [hide.replace_text(h) for h in header]
        rows = ([hide.transcript_id(row[0]), *map(hide.value, row[1:])] for row in rows)
    written = [0]

    def counted(rows):
        for row in rows:
            written[0] += 1
            yield row

    if xlsx:  # into the file as it is made: the workbook of a whole corpus is never held in memory
        content = export.BinaryContent(lambda stream: export.write_table_xlsx(header, counted(rows), stream,
                                                                              title="Segments"))
        out = out or Path("exports") / "segments.xlsx"
    else:  # row by row to stdout or the file: the segments of a whole corpus are never held at once
        content = lambda stream: export.write_table_csv(header, counted(rows), stream,  # noqa: E731
                                                        delimiter=separator, prefix=bom)
    _emit(content, out, force=force, what=lambda: f"{written[0]} segment(s)", fmt="xlsx" if xlsx else "csv",
          db=_db_path(ctx))
