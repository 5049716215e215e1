"""`coder init`, `coder demo`, `coder import` and `coder segments`: making a project and filling it
(the work is in coder/importing.py, coder/codebook_load.py and coder/demo.py)."""
from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import List, Optional

import typer

from coder.commands.base import Choices
from coder.commands.base import (CSV, JSON, MD, _backup_before, _db_path, _env, _format, _store, app)
from coder.commands.refi import _not_a_codebook
from coder.commands.report import _print_freq
from coder.errors import CoderError, PartialFailure


# -- project ------------------------------------------------------------------------------

@app.command()
def init(ctx: typer.Context,
         codebook: Optional[Path] = typer.Option(None, "--codebook", help="Load this codebook too (YAML, CSV or "
                                                                           "REFI-QDA .qdc).")):
    """Create the project database (safe to run again)."""
    from coder.codebook import load_codebook
    from coder.refi_kind import sniff
    from coder.store import Store

    kind = sniff(codebook) if codebook is not None else None
    exchange = kind is not None
    if exchange:  # a REFI-QDA codebook (.qdc), read and checked before anything is created
        from coder import refi

        parsed = refi.read_codebook(codebook) if kind == "qdc" else _not_a_codebook(codebook)
    else:
        parsed = load_codebook(codebook) if codebook else None  # validate before creating anything
    path = _db_path(ctx)
    existed = path.exists() and path.stat().st_size > 0  # an empty file is made a project, as a new one
    store = Store.create(path, backup=_backup_before, notify=_env().err)
    ctx.call_on_close(store.close)
    env = _env()
    env.err(f"{'using existing' if existed else 'created'} project {path}")
    if exchange:
        from coder.commands.refi import _print_codebook_import

        _print_codebook_import(env, codebook, refi.load_codebook_file(store, codebook, read=parsed))
    elif parsed:
        from coder import codebook_ops

        planned = codebook_ops.load_with_plan(store, parsed)  # a fresh project: just loaded
        if not planned.applied:  # an existing one, and the file renames or moves coded codes
            from coder.errors import PartialFailure

            raise PartialFailure(f"{codebook}: renames or moves codes that have codings; the codebook was not "
                                 "loaded", hint=f"see the plan with `coder codebook load {codebook}`, and apply it "
                                                "with --apply")
        result = planned.result
        env.err(f"codebook {parsed.name!r}: {result.status}, {result.codes} codes")


@app.command(short_help="Build the demo project and print its code frequencies.")
def demo(ctx: typer.Context,
         directory: Path = typer.Argument(Path("."), help="Where to build the demo project (coder.db, exports/)."),
         fmt: str = typer.Option("md", "--format", click_type=Choices("md", "html", "docx", "xlsx", "csv"),
                                 help="Quote sheet format.")):
    """Build the demo project from the shipped codebook, cases, transcripts and codings;
    print the code frequencies per case office and write a quote sheet to exports/."""
    from coder import demo as demo_mod

    # The demo's project is DIR/coder.db; $CODER_DB names the user's own project, so it is not
    # used here. A --db typed on this command line is, but demo.build refuses a project it did
    # not make.
    explicit_db = ctx.find_root().params.get("db")
    db_path = Path(explicit_db) if explicit_db else directory / "coder.db"
    env = _env()
    result = demo_mod.build(db_path, directory, fmt=fmt, log=env.err)
    from coder.backup import backup_before
    from coder.reports import frequencies
    from coder.store import Store

    store = Store.open(db_path, backup=backup_before, notify=env.err)
    ctx.call_on_close(store.close)
    _print_freq(env, frequencies(store, by="case", unit="segments"), None)
    env.err(f"quote sheet: {result.sheet}")
    prog = _program_name()
    env.err(f"explore it: {prog} --db {db_path} report quotes --case Hamar"
            + ("" if prog == "coder" else f" ({prog}: coder is not on your PATH; `source {Path(prog).parent}/activate` "
                                         "puts it there)"))


def _program_name() -> str:
    """How the user can run coder again: `coder` when that is on PATH, else the path it was
    run by (`make demo` runs .venv/bin/coder, which no shell finds as `coder`)."""
    import os
    import shutil

    ran = sys.argv[0] if sys.argv and Path(sys.argv[0]).name == "coder" else ""
    found = shutil.which("coder")
    if not ran or (found and os.path.realpath(found) == os.path.realpath(ran)):
        return "coder"
    return os.path.relpath(ran) if not os.path.relpath(ran).startswith("..") else ran


@app.command("import", short_help="Import transcripts, or a whole REFI-QDA project (.qdpx).", epilog="""
    coder import transcripts/demo/
    coder import hamar_1.docx --case Hamar
    coder import interviews/ --checksum
    coder import survey.csv --text-columns "Hva fungerer godt?"
""")
def import_(ctx: typer.Context,
            paths: List[Path] = typer.Argument(..., help="Transcript files or folders (recursively): .txt, .md, "
                                               ".docx, .odt, .vtt, .srt, .csv, .xlsx; or REFI-QDA projects "
                                               "(.qdpx) from other tools."),
            case: Optional[str] = typer.Option(None, "--case", help="Case office for all these transcripts."),
            checksum: bool = typer.Option(False, "--checksum", help="Read every file to see whether it changed, "
                                          "instead of trusting an unchanged size and modification time."),
            follow_links: bool = typer.Option(False, "--follow-links", help="In folders, follow links that lead "
                                              "outside the folder too (by default only links inside it)."),
            replace: bool = typer.Option(False, "--replace", help="A file named as a transcript imported from "
                                         "another file is its new version (else such a file is refused)."),
            text_columns: Optional[List[str]] = typer.Option(None, "--text-columns", help="Survey answers: each "
                                                             "spreadsheet row is a respondent, this column (give it "
                                                             "once per column) their answer; the other columns "
                                                             "become attributes."),
            json_: bool = JSON):
    """Import transcripts, or a whole REFI-QDA project (.qdpx from NVivo, ATLAS.ti, MAXQDA,
    QualCoder, ...). Re-importing an unchanged file does nothing; a changed file keeps
    its codings, moved to where their text now is. A file whose size and modification time
    are as when it was imported is not read again (as make and rsync judge; --checksum reads
    it)."""
    from coder import importing
    from coder.commands.refi import import_exchange_files

    given = [name for name, value in (("--case", case), ("--text-columns", text_columns), ("--replace", replace))
             if value]
    paths = import_exchange_files(ctx, paths, json_=json_, transcript_options=given)  # REFI-QDA projects
    if not paths:
        return
    store = _store(ctx)
    env = _env()
    from coder.render import Progress

    with Progress(env, "importing", quiet=json_) as progress:
        results = importing.import_transcripts(store, paths, case=case, checksum=checksum, replace=replace,
                                               progress=progress, follow_links=follow_links, text_columns=text_columns)
    if json_:
        from coder.render import dumps_json

        env.stdout.write(dumps_json(r.as_json() for r in results))
    else:
        if len(results) == 1 and results[0].status == "error":
            raise CoderError(results[0].message)  # one file: one line, naming it
        for r in results:
            if r.status == "error":
                env.err(f"error: {r.message}")
            elif r.status == "skipped":
                env.err(f"skipped: {r.message}")
            elif r.status != "unchanged" or len(results) <= 20:
                detail = f" ({r.message})" if r.message else ""
                env.out(f"{r.status:9} {r.transcript}  case={r.case or '-'}  segments={r.segments}{detail}")
        tally = Counter(r.status for r in results)
        counts = {s: tally[s] for s in ("imported", "updated", "unchanged", "skipped", "error")}
        env.err(", ".join(f"{n} {s}" for s, n in counts.items() if n))
    errors = [r for r in results if r.status == "error"]
    if errors:
        if len(errors) == len(results):
            raise CoderError(f"none of the {len(errors)} files could be imported")
        raise PartialFailure(f"{len(errors)} of {len(results)} files not imported")


@app.command(short_help="Show a transcript's turns, numbered as `code add` expects.")
def segments(ctx: typer.Context, transcript: str = typer.Argument(..., help="Transcript name (file name without extension)."),
             json_: bool = JSON, csv_: bool = CSV, md: bool = MD):
    """Show a transcript's segments (speaker turns), numbered as `code add` expects."""
    from coder.transcripts import require_transcript

    store = _store(ctx)
    row = require_transcript(store, transcript)
    from coder.store import transcripts
    from coder.text import clock

    records = [{"transcript": row.name, "segment": s["number"], "speaker": s["speaker"], "start": s["start"],
                "end": s["end"], "text": s["text"], "time": clock(s["start_ms"]), "start_ms": s["start_ms"],
                "end_ms": s["end_ms"]}
               for s in transcripts.segments_with_times(store, row.id)]
    from coder.render import print_records

    fmt = _format(json_, csv_, md)
    # a person sees when each turn was said only for a transcript that has times
    timed = fmt is None and any(r["time"] for r in records)
    columns = ["transcript", "segment", *(["time"] if timed else []), "speaker", "start", "end", "text"]
    print_records(_env(), records, fmt, columns=None if fmt else columns,
                  title=f"{row.name} ({row.case_name or 'no case'})")
