"""The SQLite store: schema, migrations (PRAGMA user_version), transactions, queries.

Identities are stable: transcripts by name (+ uuid and content hash), codes by dotted path,
codings by uuid. Every command's writes happen in one transaction (`Store.transaction`),
and each write leaves a row in the `audit` table.
"""
from __future__ import annotations

import datetime as _dt
import getpass
import json
import os
import sqlite3
import uuid as _uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from coder.errors import DatabaseError

APPLICATION_ID = 0x436F6452  # "CodR": marks a SQLite file as a coder project
SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 60_000

SCHEMA_V1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);

CREATE TABLE codebook_versions (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    version TEXT,
    source TEXT,
    sha256 TEXT NOT NULL,
    yaml TEXT NOT NULL,
    loaded_at TEXT NOT NULL
);

CREATE TABLE dimensions (
    id TEXT PRIMARY KEY,
    label TEXT NOT NULL,
    label_en TEXT,
    description TEXT,
    color TEXT,
    position INTEGER NOT NULL
);

CREATE TABLE codes (
    path TEXT PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    id TEXT NOT NULL,
    dimension TEXT NOT NULL REFERENCES dimensions(id) ON UPDATE CASCADE,
    parent TEXT NOT NULL,
    label TEXT NOT NULL,
    label_en TEXT,
    description TEXT,
    include TEXT NOT NULL DEFAULT '[]',
    exclude TEXT NOT NULL DEFAULT '[]',
    examples TEXT NOT NULL DEFAULT '[]',
    keywords TEXT NOT NULL DEFAULT '[]',
    color TEXT,
    depth INTEGER NOT NULL,
    position INTEGER NOT NULL,
    retired INTEGER NOT NULL DEFAULT 0
);

-- ancestor/descendant pairs (a code is its own ancestor), so a parent's count can include
-- its sub-codes with one join instead of a recursive walk.
CREATE TABLE code_closure (
    ancestor TEXT NOT NULL REFERENCES codes(path) ON UPDATE CASCADE ON DELETE CASCADE,
    descendant TEXT NOT NULL REFERENCES codes(path) ON UPDATE CASCADE ON DELETE CASCADE,
    PRIMARY KEY (ancestor, descendant)
) WITHOUT ROWID;
CREATE INDEX code_closure_descendant ON code_closure(descendant, ancestor);

CREATE TABLE cases (
    name TEXT PRIMARY KEY,
    attributes TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL
);

CREATE TABLE transcripts (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL UNIQUE,
    case_name TEXT REFERENCES cases(name) ON UPDATE CASCADE,
    informant TEXT,
    role TEXT,
    date TEXT,
    attributes TEXT NOT NULL DEFAULT '{}',
    source_path TEXT,
    encoding TEXT,
    sha256 TEXT NOT NULL,
    text TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX transcripts_case ON transcripts(case_name);

CREATE TABLE segments (
    id INTEGER PRIMARY KEY,
    transcript_id INTEGER NOT NULL REFERENCES transcripts(id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    speaker TEXT,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    text TEXT NOT NULL,
    UNIQUE (transcript_id, number)
);

CREATE TABLE codings (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    transcript_id INTEGER NOT NULL REFERENCES transcripts(id) ON DELETE CASCADE,
    segment INTEGER,                -- number of the segment holding `start`; NULL while orphaned
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    code TEXT NOT NULL REFERENCES codes(path) ON UPDATE CASCADE,
    coder TEXT NOT NULL,
    memo TEXT,
    text TEXT NOT NULL,             -- always the transcript's text[start:end]; re-anchoring looks for it
    words INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'ok' CHECK (status IN ('ok', 'orphaned')),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (transcript_id, start, "end", code, coder)
);
CREATE INDEX codings_code ON codings(code, status, transcript_id, segment);
CREATE INDEX codings_transcript ON codings(transcript_id, start);

-- Memos on the project, a transcript, a code or a coding (target is the name, path or uuid).
CREATE TABLE memos (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    target_type TEXT NOT NULL CHECK (target_type IN ('project', 'transcript', 'code', 'coding')),
    target TEXT NOT NULL,
    author TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX memos_target ON memos(target_type, target);

-- Where each coder stopped in each transcript, so an interactive session resumes there.
CREATE TABLE session_state (
    coder TEXT NOT NULL,
    transcript_id INTEGER NOT NULL REFERENCES transcripts(id) ON DELETE CASCADE,
    segment INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (coder, transcript_id)
);

CREATE TABLE names (
    name TEXT PRIMARY KEY,
    alias TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'person'
);

CREATE TABLE audit (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    details TEXT NOT NULL DEFAULT '{}'
);

CREATE VIEW coded_quotes AS
SELECT c.uuid AS id, t.name AS transcript, t.case_name AS "case", t.informant, t.role,
       c.segment, c.start, c."end", c.code, co.dimension, c.coder, c.memo,
       c.text
FROM codings c JOIN transcripts t ON t.id = c.transcript_id JOIN codes co ON co.path = c.code
WHERE c.status = 'ok';

CREATE VIEW code_frequencies AS
SELECT cl.ancestor AS code, t.case_name AS "case",
       COUNT(DISTINCT c.transcript_id || ':' || c.segment) AS segments,
       COUNT(DISTINCT c.transcript_id) AS documents
FROM codings c JOIN code_closure cl ON cl.descendant = c.code JOIN transcripts t ON t.id = c.transcript_id
WHERE c.status = 'ok'
GROUP BY cl.ancestor, t.case_name;
"""

MIGRATIONS: dict[int, str] = {1: SCHEMA_V1}  # version -> SQL that brings version-1 up to it


def now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def new_uuid() -> str:
    return str(_uuid.uuid4())


def default_coder() -> str:
    name = os.environ.get("CODER_NAME")
    if name:
        return name
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"


def default_db_path() -> Path:
    return Path(os.environ.get("CODER_DB") or "coder.db")


@dataclass(frozen=True)
class TranscriptRow:
    id: int
    uuid: str
    name: str
    case_name: str | None
    informant: str | None
    role: str | None
    sha256: str
    text: str


class Store:
    """A coder project database. Open with `Store.open(path)` or `Store.create(path)`."""

    def __init__(self, conn: sqlite3.Connection, path: Path):
        self.conn = conn
        self.path = path
        self.actor = default_coder()

    # -- opening --------------------------------------------------------------------------
    @classmethod
    def create(cls, path: Path) -> "Store":
        """Create the project database if missing (idempotent) and return it."""
        if path.parent and not path.parent.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
        return cls._open(path, create=True)

    @classmethod
    def open(cls, path: Path) -> "Store":
        if not path.exists():
            raise DatabaseError(f"no coder database at {path}", hint="run `coder init` first, or pass --db PATH")
        return cls._open(path, create=False)

    @classmethod
    def _open(cls, path: Path, *, create: bool) -> "Store":
        try:
            conn = sqlite3.connect(str(path), isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000,
                                   check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise DatabaseError(f"not a coder database ({exc})", path=str(path),
                                hint="pass --db with a file made by `coder init`") from None
        if app_id != APPLICATION_ID and tables:
            conn.close()
            raise DatabaseError("not a coder database (a SQLite file made by another program)", path=str(path),
                                hint="pass --db with a file made by `coder init`")
        if version > SCHEMA_VERSION:
            conn.close()
            raise DatabaseError(f"made by a newer coder (schema {version}; this coder knows up to {SCHEMA_VERSION})",
                                path=str(path), hint="upgrade coder: pip install -U coder")
        store = cls(conn, path)
        store._configure()
        if version < SCHEMA_VERSION:
            if not create and version == 0 and not tables:
                conn.close()
                raise DatabaseError("empty file, not a coder database", path=str(path), hint="run `coder init`")
            store._migrate(version)
        return store

    def _configure(self) -> None:
        mode = self.conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        self.journal_mode = mode
        self.conn.execute("PRAGMA foreign_keys = ON")
        self.conn.execute("PRAGMA synchronous = NORMAL")

    def _migrate(self, version: int) -> None:
        with self.transaction():
            for target in range(version + 1, SCHEMA_VERSION + 1):
                for statement in _statements(MIGRATIONS[target]):
                    self.conn.execute(statement)
                self.conn.execute(f"PRAGMA user_version = {target}")
            self.conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            self.conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('created_at', ?)", (now(),))

    def close(self) -> None:
        self.conn.close()

    # -- transactions ---------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE takes the write lock up front, so a concurrent writer waits
        (busy timeout) instead of failing half-way."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")

    def audit(self, action: str, **details) -> None:
        self.conn.execute("INSERT INTO audit(at, actor, action, details) VALUES (?, ?, ?, ?)",
                          (now(), self.actor, action, json.dumps(details, ensure_ascii=False, default=str)))

    # -- queries --------------------------------------------------------------------------
    def query(self, sql: str, params: Sequence | dict = ()) -> list[sqlite3.Row]:
        cursor = self.conn.execute(sql, params)
        cursor.row_factory = sqlite3.Row
        return cursor.fetchall()

    def scalar(self, sql: str, params: Sequence | dict = ()):
        row = self.conn.execute(sql, params).fetchone()
        return row[0] if row else None

    def code_paths(self, *, include_retired: bool = False) -> list[str]:
        where = "" if include_retired else "WHERE retired = 0"
        return [r[0] for r in self.conn.execute(f"SELECT path FROM codes {where} ORDER BY position")]

    def dimension_ids(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT id FROM dimensions ORDER BY position")]

    def transcript(self, name: str) -> TranscriptRow | None:
        row = self.conn.execute(
            "SELECT id, uuid, name, case_name, informant, role, sha256, text FROM transcripts WHERE name = ?",
            (name,)).fetchone()
        return TranscriptRow(*row) if row else None

    def transcript_names(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT name FROM transcripts ORDER BY name")]

    def segment_bounds(self, transcript_id: int) -> list[tuple[int, int, int]]:
        """(number, start, end) of each segment, in order."""
        return self.conn.execute(
            'SELECT number, start, "end" FROM segments WHERE transcript_id = ? ORDER BY number',
            (transcript_id,)).fetchall()

    def ensure_case(self, name: str) -> None:
        self.conn.execute("INSERT OR IGNORE INTO cases(name, attributes, created_at) VALUES (?, '{}', ?)", (name, now()))


def _statements(script: str) -> Iterable[str]:
    """Split a schema script into statements (they contain no semicolons inside strings)."""
    buffer = []
    for line in script.splitlines():
        stripped = line.split("--", 1)[0] if not line.lstrip().startswith("--") else ""
        buffer.append(stripped)
        if stripped.rstrip().endswith(";"):
            statement = "\n".join(buffer).strip()
            if statement.strip(";").strip():
                yield statement
            buffer = []
    rest = "\n".join(buffer).strip()
    if rest:
        yield rest
