"""The checks on a database file: SQLite's own (quick_check, integrity_check, foreign keys),
what `coder check` reports, whether another program edited the file, and the few facts a
backup or a restore reads off a copy (its application id, schema version, row counts).

The functions take a connection where the file is not the project's open store (a backup
being made, a file to restore)."""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from coder import sqlite_guard
from coder.sqlite_guard import SQLITE_CORRUPT, SQLITE_NOTADB, damaged_error

if TYPE_CHECKING:
    from coder.store import Store

# A database up to this size gets SQLite's quick_check before the first write of a command:
# about 4 ms per MB (0.5 s for the 124 MB benchmark project, too slow for every `code add`).
QUICK_CHECK_MAX_BYTES = 32 * 1024 * 1024


def refuse_damaged(conn: sqlite3.Connection, path: Path) -> None:
    """Before a command's first write: refuse a file that fails SQLite's quick_check, so that
    writing cannot spread damage (a broken free list hands out pages still in use). Files
    over QUICK_CHECK_MAX_BYTES get the cheap part only (page and free-list counts); damage
    the write itself meets is refused as it happens (explain: SQLITE_CORRUPT)."""
    try:
        size = Path(path).stat().st_size + (Path(f"{path}-wal").stat().st_size if sqlite_guard.has_frames(Path(f"{path}-wal")) else 0)
    except OSError:
        size = 0
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    if free >= pages > 0:
        raise damaged_error(f"{free} free pages of {pages}", path)
    if size > QUICK_CHECK_MAX_BYTES:
        return
    findings = [row[0] for row in conn.execute("PRAGMA quick_check(3)") if row[0] != "ok"]
    if findings:
        detail = "; ".join(findings)
        raise damaged_error(detail if len(detail) <= 160 else detail[:157] + "...", path)


# -- what `coder check` reports (coder/backup.py adds the backups) -----------------------------

@dataclass(frozen=True)
class CheckResult:
    schema: int
    findings: tuple[str, ...]  # what integrity_check, or damage that stopped it, found
    broken_links: int | None  # rows foreign_key_check found; None when damage stopped it
    transcripts: int | None
    codings: int | None


def check(store: Store) -> CheckResult:
    """Integrity, broken links, schema and counts. Damage that stops SQLite from even
    finishing its check is reported as found, not raised."""
    conn = store.conn

    def ask(sql: str, damaged: list):
        try:
            return conn.execute(sql).fetchall()
        except sqlite3.DatabaseError as exc:
            if sqlite_guard.primary_code(exc) not in (SQLITE_CORRUPT, SQLITE_NOTADB) and "malformed" not in str(exc):
                raise (sqlite_guard.explain(exc, store.path) or exc) from None
            damaged.append(str(exc))
            return None

    damaged: list[str] = []
    integrity = ask("PRAGMA integrity_check(20)", damaged)
    broken = ask("PRAGMA foreign_key_check", damaged)
    counts = [(ask(f"SELECT count(*) FROM {table}", damaged) or [[None]])[0][0] for table in ("transcripts", "codings")]
    findings = tuple(dict.fromkeys([row[0] for row in integrity or [] if row[0] != "ok"] + damaged))
    return CheckResult(conn.execute("PRAGMA user_version").fetchone()[0], findings,
                       len(broken) if broken is not None else None, *counts)


# -- a copy being made, or a file to restore (coder/backup.py) ----------------------------------

def application_id(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA application_id").fetchone()[0]


def schema_version(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]


def table_count(conn: sqlite3.Connection) -> int:
    """How many tables, indexes, triggers and views the file has (0: an empty SQLite file)."""
    return conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]


def quick_check(conn: sqlite3.Connection) -> str:
    """SQLite's quick_check verdict: "ok", or the first thing it found."""
    return conn.execute("PRAGMA quick_check").fetchone()[0]


def integrity_verdict(conn: sqlite3.Connection) -> str:
    """SQLite's integrity_check verdict: "ok", or the first thing it found."""
    return conn.execute("PRAGMA integrity_check").fetchone()[0]


def row_counts(conn: sqlite3.Connection) -> tuple[int, int]:
    """(transcripts, codings) in the file."""
    return tuple(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in ("transcripts", "codings"))


def make_self_contained(conn: sqlite3.Connection) -> None:
    """Leave WAL mode: a backup is one file, with no -wal beside it."""
    conn.execute("PRAGMA journal_mode = DELETE")


def set_busy_timeout(conn: sqlite3.Connection, seconds: float) -> None:
    conn.execute(f"PRAGMA busy_timeout = {int(seconds * 1000)}")


def open_elsewhere(probe: sqlite3.Connection) -> bool:
    """Whether another connection has the file (in WAL mode) open: each one blocks switching
    the journal mode, which makes this a reliable test (in rollback-journal mode only a
    writer is seen, and this says False). `probe` must have a busy timeout of 0."""
    if probe.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        return False
    try:
        probe.execute("PRAGMA journal_mode = DELETE")
    except sqlite3.OperationalError as exc:
        if sqlite_guard.is_busy(exc):
            return True
        raise
    probe.execute("PRAGMA journal_mode = WAL")
    return False


# -- a database changed by another program ----------------------------------------------------

# (table, column, the column that names the row) for every column coder stores JSON in
JSON_COLUMNS = (("cases", "attributes", "name"), ("transcripts", "attributes", "name"),
                ("codes", "include", "path"), ("codes", "exclude", "path"), ("codes", "examples", "path"),
                ("codes", "keywords", "path"), ("audit", "details", "id"))


def edited_outside(path: Path | str) -> str | None:
    """What another program changed that coder cannot work with, in a few words: a stored JSON
    value that is no JSON, or a trigger, index or table that is not as coder made it. None
    when nothing is found: then the error is coder's own bug, not the file's."""
    try:
        conn = sqlite3.connect(Path(path).resolve().as_uri() + "?mode=ro", uri=True)
    except (sqlite3.Error, ValueError, OSError):
        return None
    try:
        for table, column, key in JSON_COLUMNS:
            row = conn.execute(f"SELECT {key} FROM {table} WHERE {column} IS NOT NULL AND json_valid({column}) = 0 "
                               "LIMIT 1").fetchone()
            if row is not None:
                return f"{table}.{column} of {row[0]!r} is not valid JSON"
        return _schema_difference(conn)
    except sqlite3.Error:
        return None
    finally:
        conn.close()


def _schema_difference(conn: sqlite3.Connection) -> str | None:
    from coder.store.schema import SCHEMA_VERSION, migrate_step

    expected = sqlite3.connect(":memory:")
    try:
        for version in range(1, SCHEMA_VERSION + 1):
            migrate_step(expected, version)
        want = _schema_items(expected)
    finally:
        expected.close()
    have = _schema_items(conn)
    for (kind, name), definition in want.items():
        if (kind, name) not in have:
            return f"coder's {kind} '{name}' was removed"
        if have[(kind, name)] != definition:
            return f"coder's {kind} '{name}' was changed"
    for kind, name in have:
        if (kind, name) not in want:
            return f"a {kind} '{name}' that is not coder's was added"
    return None


def _schema_items(conn: sqlite3.Connection) -> dict:
    schema = {}
    for kind, name, sql in conn.execute("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"):
        if kind == "table":  # columns, as ALTER TABLE leaves the CREATE statement's text its own way
            schema[(kind, name)] = conn.execute('SELECT name, type, "notnull", pk FROM pragma_table_info(?)',
                                                (name,)).fetchall()
        else:
            schema[(kind, name)] = " ".join((sql or "").split())
    return schema
