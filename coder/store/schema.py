"""The schema of a coder project: its tables, indexes, triggers and views as DDL, one script
per version, and `MIGRATIONS`, which brings a database of the version before up to each.

A schema change is a new entry here (SQL, or a function of the connection for what SQL
cannot say) and a new fixture (`python tests/fixtures/make_fixtures.py`). `Store._migrate`
(coder/store/__init__.py) runs them, in one transaction, after a backup.
"""
from __future__ import annotations

import sqlite3
from typing import Iterable

from coder.values import CodingStatus

APPLICATION_ID = 0x436F6452  # "CodR": marks a SQLite file as a coder project
SCHEMA_VERSION = 4

# The one spelling of "a coding whose text is where it says" in a query, after the codings
# table's alias: `c.{IS_OK}`. (The DDL below spells it too: it is the schema as stored.)
IS_OK = f"status = '{CodingStatus.OK}'"

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
CREATE INDEX codings_units ON codings(status, transcript_id, segment, start, "end", words, code);

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

# Schema 2: re-import skips a file by its size and modification time; `report freq` reads
# precomputed counts.
SCHEMA_V2 = """
-- The file each transcript was last read from, as it was then, so re-importing an unchanged
-- corpus can skip each file after a stat(), as git and make do: its absolute path (the one
-- typed is transcripts.source_path), size and modification time (NULL, so that the file's
-- bytes are hashed instead, when it was modified a moment before it was read), the case its
-- front matter names, and the number of segments it gave. A table of its own: columns
-- added to `transcripts` would sit behind the long `text`, and reading them would walk every
-- transcript's text.
CREATE TABLE transcript_files (
    transcript_id INTEGER PRIMARY KEY REFERENCES transcripts(id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    size INTEGER,
    mtime_ns INTEGER,
    named_case TEXT,
    segments INTEGER NOT NULL
);

-- Precomputed counts for `report freq` (coder/counts.py): per transcript and unit (segments,
-- words, documents), how many units carry each set of codes (`codes`: the code paths on the
-- unit, comma-separated). A transcript's rows count only while (transcript_id, unit) is in
-- unit_counts_fresh; the triggers below take it out when one of its codings changes or goes,
-- whoever writes. New codings are told by their ids, above meta 'unit_counts_seen' (no
-- trigger on insert: it would slow bulk coding 3.5x); the delete trigger lowers that mark
-- when the highest ids go, as SQLite hands them out again.
CREATE TABLE unit_counts (
    unit TEXT NOT NULL,
    transcript_id INTEGER NOT NULL,
    codes TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (unit, transcript_id, codes)
) WITHOUT ROWID;
CREATE TABLE unit_counts_fresh (
    transcript_id INTEGER NOT NULL REFERENCES transcripts(id) ON DELETE CASCADE,
    unit TEXT NOT NULL,
    PRIMARY KEY (transcript_id, unit)
) WITHOUT ROWID;
CREATE TRIGGER codings_delete_stales_counts AFTER DELETE ON codings BEGIN
    DELETE FROM unit_counts_fresh WHERE transcript_id = OLD.transcript_id;
    UPDATE meta SET value = (SELECT COALESCE(MAX(id), 0) FROM codings)
    WHERE key = 'unit_counts_seen' AND CAST(value AS INTEGER) > (SELECT COALESCE(MAX(id), 0) FROM codings);
END;
CREATE TRIGGER codings_update_stales_counts
AFTER UPDATE OF transcript_id, segment, start, "end", words, code, status ON codings BEGIN
    DELETE FROM unit_counts_fresh WHERE transcript_id IN (OLD.transcript_id, NEW.transcript_id);
END;
"""

# Schema 3: who speaks in a turn, and which codings autocode wrote.
SCHEMA_V3 = """
-- The speakers a transcript's front matter names (`speakers:`), by the label that starts
-- their turns: the interviewer, or an informant with a name and role of their own (a focus
-- group). A label not listed is the interviewer's when it reads like one (Intervjuer,
-- Interviewer, I, ...; ingest.is_interviewer), else the transcript's informant's.
CREATE TABLE speakers (
    transcript_id INTEGER NOT NULL REFERENCES transcripts(id) ON DELETE CASCADE,
    label TEXT NOT NULL,
    interviewer INTEGER NOT NULL DEFAULT 0,
    informant TEXT,
    role TEXT,
    PRIMARY KEY (transcript_id, label)
) WITHOUT ROWID;

-- What wrote a coding, when not a person: 'autocode' for `autocode --apply`, which is what
-- `autocode --clear` removes. Before schema 3 autocode wrote as the coder 'autocode'.
ALTER TABLE codings ADD COLUMN source TEXT;
UPDATE codings SET source = 'autocode' WHERE coder = 'autocode';
"""

# Schema 4: when each turn was said.
SCHEMA_V4 = """
-- When a turn was said, in milliseconds from the start of the recording: its first and last
-- subtitle cue's times, or a spreadsheet's time/start/end columns (coder/readers.py). NULL
-- for a transcript read from text, and for an end no file gave.
ALTER TABLE segments ADD COLUMN start_ms INTEGER;
ALTER TABLE segments ADD COLUMN end_ms INTEGER;
"""

MIGRATIONS: dict[int, str] = {1: SCHEMA_V1, 2: SCHEMA_V2, 3: SCHEMA_V3, 4: SCHEMA_V4}  # version -> SQL bringing version-1 up


def _statements(script: str) -> Iterable[str]:
    """Split a schema script into statements, comments left out (no string in it holds "--");
    a trigger's body, with its own semicolons, stays in one statement."""
    buffer = []
    for line in script.splitlines():
        stripped = line.split("--", 1)[0] if not line.lstrip().startswith("--") else ""
        buffer.append(stripped)
        statement = "\n".join(buffer).strip()
        if stripped.rstrip().endswith(";") and sqlite3.complete_statement(statement):
            if statement.strip(";").strip():
                yield statement
            buffer = []
    rest = "\n".join(buffer).strip()
    if rest:
        yield rest


def migrate_step(conn: sqlite3.Connection, target: int) -> None:
    """Bring a database at schema `target - 1` to `target` (the caller sets user_version and
    holds the transaction): the one place a migration's SQL or function is run."""
    step = MIGRATIONS[target]
    if callable(step):
        step(conn)
    else:
        for statement in _statements(step):
            conn.execute(statement)
