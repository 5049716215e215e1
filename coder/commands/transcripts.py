"""`coder transcripts list/remove/rename`: the transcripts of a project (the work is in
coder/transcripts.py)."""
from __future__ import annotations

import typer

from coder.commands.base import CSV, JSON, MD, _env, _format, _store, _typer, app

transcripts_app = _typer("List the transcripts, remove a withdrawn one, or rename one.")
app.add_typer(transcripts_app, name="transcripts")


@transcripts_app.command("list")
def transcripts_list(ctx: typer.Context, json_: bool = JSON, csv_: bool = CSV, md: bool = MD):
    """List the transcripts with their case, informant, source file, number of segments,
    codings per coder and status. The status is `coded` or `uncoded`, then how many codings
    are orphaned (their text was edited away: see `coder code orphans`), and `file changed`
    or `file missing` when the file it was imported from is no longer as it was."""
    from coder import transcripts
    from coder.render import print_records

    states = transcripts.listing(_store(ctx))
    fmt = _format(json_, csv_, md)
    if fmt == "json":
        records = [s.as_json() for s in states]
    elif fmt is None and _env().stdout_isatty and not _env().wide:
        # for a person at 80 columns: the codings as who made how many ("anna 9, bjorn 3"); the
        # total and the source file are in every other form (--wide, a pipe, --csv, --json)
        records = [{"transcript": s.name, "case": s.case, "informant": s.informant, "segments": s.segments,
                    "codings": ", ".join(f"{c} {n}" for c, n in s.by_coder.items()) or "0", "status": s.status}
                   for s in states]
    elif fmt is None:
        records = [{"transcript": s.name, "case": s.case, "informant": s.informant, "segments": s.segments,
                    "codings": s.codings, "by coder": ", ".join(f"{c} {n}" for c, n in s.by_coder.items()),
                    "status": s.status, "source": _shown_path(s.source)} for s in states]
    else:
        records = [{"transcript": s.name, "case": s.case, "informant": s.informant, "source": s.source,
                    "segments": s.segments, "codings": s.codings, "orphaned": s.orphaned,
                    "by_coder": "; ".join(f"{c}={n}" for c, n in s.by_coder.items()), "status": s.status}
                   for s in states]
    print_records(_env(), records, fmt,
                  empty="no transcripts yet: import some with `coder import PATH`")


def _shown_path(path: str | None) -> str | None:
    """A source path relative to the current folder when it lies under it (as it was typed,
    mostly), else as it was typed."""
    import os

    if not path or not os.path.isabs(path):
        return path
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


@transcripts_app.command("remove")
def transcripts_remove(ctx: typer.Context,
                       transcript: str = typer.Argument(..., metavar="TRANSCRIPT",
                                                        help="The transcript to remove, by name."),
                       force: bool = typer.Option(False, "--force",
                                                  help="Remove it also when it has codings or memos (they are "
                                                       "kept in the backup made first).")):
    """Remove a transcript (a withdrawn interview) with its segments, codings and memos. A
    transcript that has codings or memos is removed only with --force. The project is backed
    up first, so what is removed can be brought back from that backup (`coder restore`)."""
    from coder import transcripts

    removed = transcripts.remove(_store(ctx), transcript, force=force)
    env = _env()
    env.err(f"removed transcript {removed.transcript}: {removed.codings} coding(s) and {removed.memos} memo(s) "
            "went with it" + (f" (kept in the backup {removed.backup})" if removed.backup else ""))
    if removed.backup is None:
        env.err("no backup was made (automatic backups are off: CODER_AUTO_BACKUP=0)")
    if removed.source:
        env.err(f"its file {removed.source} is still there: importing it (or its folder) again adds it back")


@transcripts_app.command("rename")
def transcripts_rename(ctx: typer.Context,
                       old: str = typer.Argument(..., metavar="OLD", help="The transcript's name now."),
                       new: str = typer.Argument(..., metavar="NEW", help="Its new name (not one in use).")):
    """Rename a transcript. Its codings, memos and counts follow it; a name another
    transcript has is refused."""
    from coder import transcripts

    renamed = transcripts.rename(_store(ctx), old, new)
    env = _env()
    env.err(f"renamed transcript {renamed.old} to {renamed.new} ({renamed.codings} coding(s) and "
            f"{renamed.memos} memo(s) follow it)")
    if renamed.new_source and renamed.new_source != renamed.source:
        env.err(f"rename its file {renamed.source} to {renamed.new_source} too: importing the old name again "
                f"would add it again as {renamed.old}")
