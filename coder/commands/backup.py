"""`coder backup`, `coder restore`, `coder check`. The work is done in coder/backup.py."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from coder.commands.base import _db_path, _env, _store, app
from coder.errors import InputError, PartialFailure

BACKUP_COLUMNS = ["file", "created", "reason", "bytes", "schema"]


@app.command(short_help="Copy the database to a backup file, even while others are coding.")
def backup(ctx: typer.Context,
           file: Optional[Path] = typer.Argument(None, help="Where to write the copy. Default: a new file in the "
                                                           "folder <database>.backups next to the database."),
           list_: bool = typer.Option(False, "--list", help="List the backups in the database's backup folder."),
           json_: bool = typer.Option(False, "--json", help="Print a JSON array of objects."),
           force: bool = typer.Option(False, "--force", help="Overwrite FILE if it exists.")):
    """Copy the database to a backup file: one consistent snapshot, even while others are
    coding. coder also backs up by itself before destructive operations (a codebook load that
    retires or deletes codes, a schema upgrade, a restore) and keeps the last 10 of those
    (CODER_KEEP_BACKUPS); `coder restore FILE` brings one back."""
    from coder import backup as backups
    from coder.render import print_records

    db = _db_path(ctx)
    env = _env()
    if list_:
        if file is not None:
            raise InputError("--list takes no FILE", hint="coder backup --list, or coder backup FILE")
        records = [b.as_json() for b in backups.list_backups(db)]
        print_records(env, records, "json" if json_ else None, columns=BACKUP_COLUMNS,
                      title=f"Backups of {db} (in {backups.backup_folder(db)})",
                      empty=f"no backups of {db} yet: make one with `coder backup`")
        return
    _store(ctx).close()  # refuses a file that is not a coder database before copying anything
    made = backups.backup_database(db, file, force=force)
    if json_:
        from coder.render import dumps_json

        env.stdout.write(dumps_json([made.as_json()]))
    else:
        env.out(str(made.path))
    env.err(f"backed up {db} to {made.path} ({made.size:,} bytes, checked)")


@app.command()
def restore(ctx: typer.Context,
            file: Path = typer.Argument(..., help="The backup to restore (see `coder backup --list`)."),
            force: bool = typer.Option(False, "--force", help="Restore even while another coder or program has "
                                                              "the database open.")):
    """Replace the database's content with a backup. The backup is checked first (a coder
    database, not from a newer coder, not damaged); the current database is backed up before
    it is replaced, so a restore can itself be undone."""
    from coder import backup as backups
    from coder.store import APPLICATION_ID, SCHEMA_VERSION, Store

    db = _db_path(ctx)
    result = backups.restore_database(db, file, application_id=APPLICATION_ID, schema_version=SCHEMA_VERSION,
                                      force=force)
    # a backup made by an older coder is upgraded here (after its own backup)
    store = Store.open(db, backup=backups.backup_before, notify=_env().err)
    with store.transaction():
        store.audit("restore", source=str(file), previous=str(result.previous) if result.previous else None)
    store.close()
    env = _env()
    env.err(f"restored {db} from {file}: {result.source.transcripts} transcript(s), "
            f"{result.source.codings} coding(s)")
    if result.previous:
        env.err(f"the database as it was before is in {result.previous} (`coder restore` it to undo)")


@app.command(short_help="Verify the database without changing it.")
def check(ctx: typer.Context, json_: bool = typer.Option(False, "--json", help="Print a JSON array of objects."),
          recount: bool = typer.Option(False, "--recount", help="Have stored counts that disagree with a recount "
                                                                "recounted by the next report (the only change "
                                                                "check ever makes).")):
    """Verify the database without changing it: SQLite's integrity check, the links between
    tables, the schema version, the journal mode, and the stored counts behind `report freq`
    against a recount. Exit 1 if something is wrong. Counts waiting for new codings are
    normal (the next report counts them) and only mentioned."""
    from coder import backup as backups
    from coder.render import print_records
    from coder.store import SCHEMA_VERSION, Store

    db = _db_path(ctx)
    store = Store.open_for_reading(db)  # reads only: never writes, never waits long for a writer
    ctx.call_on_close(store.close)
    report = backups.check_database(store)
    wrong = 0
    if report["integrity"] == "ok" and report["schema"] == SCHEMA_VERSION:
        from coder.store import unit_counts as counts

        wrong = counts.verify(store)
        waiting = len(counts.new_codings(store))
        report["stored_counts"] = (f"{wrong} disagree with a recount (a program changed codings behind coder's "
                                   "back); `coder check --recount` has them recounted" if wrong else "ok")
        if waiting:
            report["stored_counts"] += (f"; {waiting} transcript(s) with new codings are counted at the next "
                                        "report (normal)")
        report["problems"] += 1 if wrong else 0
    if recount and wrong:
        from coder.store import unit_counts as counts

        writer = _store(ctx)
        counts.verify(writer)
        report["stored_counts"] = f"{wrong} recounted at the next report"
        report["problems"] -= 1
    env = _env()
    if json_:
        print_records(env, [report], "json")
    else:
        for key, value in report.items():
            env.out(f"{key:13} {value}")
    if report["problems"]:
        raise PartialFailure(f"{report['problems']} problem(s) found", path=str(db),
                             hint="restore the latest good backup: `coder backup --list`, then `coder restore FILE`")
