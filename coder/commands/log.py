"""`coder log`: the project's history, read from its audit trail (the work is in coder/history.py)."""
from __future__ import annotations

from typing import Optional

import typer

from coder.commands.base import CSV, JSON, _env, _format, _store, app


def _when(at: str) -> str:
    """2026-12-03T16:20:05+00:00 as 2026-12-03 16:20 (the trail is kept in UTC)."""
    return at.replace("T", " ")[:16]


@app.command("log")
def log(ctx: typer.Context,
        since: Optional[str] = typer.Option(None, "--since", metavar="DATE",
                                            help="Only what was done at or after DATE: a date (2026-12-01), a "
                                                 "date and time in UTC (2026-12-01T14:00), today, yesterday, or a "
                                                 "time ago (3d, 12h, 2w)."),
        coder: Optional[str] = typer.Option(None, "--coder", metavar="NAME",
                                            help="Only what NAME did, or what was done to NAME's codings."),
        code: Optional[str] = typer.Option(None, "--code", metavar="CODE",
                                           help="Only entries that name CODE (its path or last part), or a "
                                                "sub-code of it."),
        transcript: Optional[str] = typer.Option(None, "--transcript", metavar="TRANSCRIPT",
                                                 help="Only entries that name TRANSCRIPT."),
        limit: Optional[int] = typer.Option(None, "--limit", min=0, metavar="N",
                                            help="Only the latest N entries (of those the filters leave)."),
        expand: Optional[int] = typer.Option(None, "--expand", metavar="ID",
                                             help="Show entry ID with every detail it keeps (a batch's ids, "
                                                  "names and counts)."),
        full: bool = typer.Option(False, "--full", help="Show every entry with all its details, not one line each."),
        json_: bool = JSON, csv_: bool = CSV):
    """Show the history of the project: who did what, and when, from the audit trail that
    every command which changes the project writes to. Each entry is one line; a batch (an
    import, a merge, a bulk change of codes) is summarised, and `coder log --expand ID`
    shows all its details. Times are in UTC."""
    from coder import history

    store = _store(ctx)
    fmt = _format(json_, csv_)
    env = _env()
    if expand is not None:
        entries = [history.expanded(store, expand)]
        full = True
    else:
        filters = history.Filters(since=history.parse_since(since) if since else None, coder=coder or None,
                                  code=_code_path(store, code) if code else None, transcript=transcript or None)
        entries = history.entries(store, filters, limit=limit)
    if fmt == "json":
        from coder.render import dumps_json

        env.stdout.write(dumps_json([e.as_json() for e in entries]))
        return
    if fmt == "csv":
        import json

        from coder.render import dumps_csv

        env.stdout.write(dumps_csv([{**e.as_json(), "details": json.dumps(e.details, ensure_ascii=False)}
                                    for e in entries], ["id", "at", "actor", "action", "summary", "details"]))
        return
    if not entries:
        env.err("nothing in the history matches" if expand is None and (since or coder or code or transcript)
                else "the history is empty")
        return
    if full:
        for index, e in enumerate(entries):
            env.out(("\n" if index else "") + f"#{e.id}  {_when(e.at)}  {e.actor}  {e.action}")
            env.out(f"  {e.summary}")
            for line in history.detail_lines(e.details):
                env.out(f"    {line}")
        return
    if not env.stdout_isatty:  # a pipe or a file: one tab-separated line per entry, as every table gives it
        from coder.render import print_records

        print_records(env, [{"id": e.id, "at": e.at, "actor": e.actor, "action": e.action, "summary": e.summary}
                            for e in entries], None)
        return
    import shutil
    import textwrap

    width = max(40, (env.width or shutil.get_terminal_size().columns) - 1)
    for e in entries:  # as git log: a heading line, then what was done, wrapped under it
        env.out(f"{e.id:>4}{'*' if e.batch else ' '} {_when(e.at)}  {e.actor}  {e.action}")
        env.out(textwrap.fill(e.summary, width, initial_indent=" " * 6, subsequent_indent=" " * 6))
    if any(e.batch for e in entries):
        env.err("* a batch, summarised: `coder log --expand ID` shows all its details")


def _code_path(store, code: str) -> str:
    """The code as its path when the codebook knows it; else as typed (a code since deleted
    or renamed is still in the history under its old name)."""
    from coder import codebook_load
    from coder.errors import UnknownCode

    try:
        return codebook_load.resolve(store, code, allow_dimension=True)
    except UnknownCode:
        return code
