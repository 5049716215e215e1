"""Opening a SQLite file read-only without leaving anything beside it (a backup's source, a
file on read-only media or a full disk, `coder check`)."""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from coder import sqlite_guard
from coder.sqlite_guard import SQLITE_CANTOPEN, SQLITE_READONLY


def connect_readonly(path: Path, *, timeout: float, clean: bool = False) -> sqlite3.Connection:
    """A read-only connection. In WAL mode SQLite needs the -shm file even to read, and creates
    it (and an empty -wal) when it can. Where nobody can be writing in WAL mode, the file is
    read as it is (immutable), creating nothing beside it: when no -wal file holds changes and
    the folder is read-only, the disk too full for a -shm file, or (with `clean`) the file is
    read-only to everyone who could write it (its owner is us)."""
    path = Path(path)
    uri = path.resolve().as_uri()
    folder = path.parent if str(path.parent) else Path(".")

    def immutable() -> sqlite3.Connection:
        return sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True, isolation_level=None, timeout=timeout,
                               check_same_thread=False)

    quiet = not sqlite_guard.has_frames(Path(f"{path}-wal"))
    if quiet and (sqlite_guard.disk_nearly_full(folder) or (clean and sqlite_guard.read_only_for_its_owner(path))):
        return immutable()
    journal_files = [Path(f"{path}-wal"), Path(f"{path}-shm")]
    were_there = [p.exists() for p in journal_files]
    if quiet and sqlite_guard.in_wal_mode(path) and os.access(path, os.W_OK) and os.access(folder, os.W_OK | os.X_OK):
        # A read-only connection to a file in WAL mode makes a -wal and a -shm file that it
        # cannot remove when it closes (a backup or a restore left them beside the file it
        # read). One that may write but does not (query_only) removes them on closing, as
        # every command's connection does; the file stays as it was.
        conn = sqlite3.connect(str(path), isolation_level=None, timeout=timeout, check_same_thread=False)
        try:
            conn.execute("PRAGMA query_only = ON")
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return conn
        except sqlite3.Error:
            conn.close()  # read it as below, without what this attempt made
            sqlite_guard.remove_empty_journal(journal_files, were_there)
    conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, isolation_level=None, timeout=timeout,
                           check_same_thread=False)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError as exc:
        conn.close()
        if not (sqlite_guard.primary_code(exc) in (SQLITE_READONLY, SQLITE_CANTOPEN) or sqlite_guard.is_out_of_space(exc)) \
                or sqlite_guard.has_frames(Path(f"{path}-wal")):
            raise
    sqlite_guard.remove_empty_journal(journal_files, were_there)  # what the failed attempt made
    return immutable()
