"""Transcripts and their segments (speaker turns)."""
from __future__ import annotations

import json
import os
import sqlite3
from typing import TYPE_CHECKING, Iterator, NamedTuple

from coder.store import Store, TranscriptSource, now
from coder.store.codebook import under_sql
from coder.store.schema import IS_OK
from coder.values import Segment

if TYPE_CHECKING:
    from coder.ingest import Transcript


def insert_new(store: Store, rows: list[tuple]) -> None:
    """New transcripts, each (transcript, source) as importing makes them (source: the path
    as typed, then transcript_files' path, size, mtime_ns, named_case, segments), with their
    segments, speakers and file rows: a few statements for the lot, not four per transcript
    (a survey of 100,000 respondents). Ids follow the highest, as SQLite would give them;
    inside the caller's write transaction."""
    if not rows:
        return
    conn = store.conn
    first = conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM transcripts").fetchone()[0]
    stamp = now()
    uuids = _uuids(len(rows))
    conn.executemany(
        "INSERT INTO transcripts(id, uuid, name, case_name, informant, role, date, attributes, source_path, "
        "encoding, sha256, text, imported_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [(first + i, uuids[i], t.name, t.case, t.informant, t.role, t.date, t.attributes_json, source[0],
          t.encoding, t.sha256, t.text, stamp, stamp) for i, (t, source) in enumerate(rows)])
    conn.executemany("INSERT INTO transcript_files(transcript_id, path, size, mtime_ns, named_case, segments) "
                     "VALUES (?, ?, ?, ?, ?, ?)", [(first + i, *source[1:]) for i, (_, source) in enumerate(rows)])
    conn.executemany(
        'INSERT INTO segments(transcript_id, number, speaker, start, "end", text, start_ms, end_ms) '
        "VALUES (?,?,?,?,?,?,?,?)",
        [(first + i, s.number, s.speaker, s.start, s.end, s.text, s.start_ms, s.end_ms)
         for i, (t, _) in enumerate(rows) for s in t.segments])
    conn.executemany(
        "INSERT OR REPLACE INTO speakers(transcript_id, label, interviewer, informant, role) VALUES (?,?,?,?,?)",
        [(first + i, s.label, int(s.interviewer), s.informant, s.role)
         for i, (t, _) in enumerate(rows) for s in t.speakers])


def _uuids(count: int) -> list[str]:
    """`count` random (version 4) UUIDs as str(uuid.uuid4()) writes them, from one read of
    os.urandom: uuid4 makes an object for each, a tenth of writing a survey's respondents."""
    data = bytearray(os.urandom(16 * count))
    data[6::16] = bytes(0x40 | (b & 0x0F) for b in data[6::16])  # the version, 4
    data[8::16] = bytes(0x80 | (b & 0x3F) for b in data[8::16])  # the variant, RFC 4122
    h = data.hex()
    return [f"{h[i:i + 8]}-{h[i + 8:i + 12]}-{h[i + 12:i + 16]}-{h[i + 16:i + 20]}-{h[i + 20:i + 32]}"
            for i in range(0, 32 * count, 32)]


def names_in_import_order(store: Store) -> list[str]:
    return [name for (name,) in store.conn.execute("SELECT name FROM transcripts ORDER BY id")]


def ids_in_name_order(store: Store) -> list[int]:
    """Every transcript's id, by name: the order `coder verify` reads them in."""
    return [tid for (tid,) in store.conn.execute("SELECT id FROM transcripts ORDER BY name")]


def texts_in_name_order(store: Store) -> sqlite3.Cursor:
    """(id, text) of every transcript, by name: a cursor, to be read a few at a time."""
    return store.conn.execute("SELECT id, text FROM transcripts ORDER BY name")


def source(store: Store, transcript_id: int) -> TranscriptSource:
    """One transcript with its text and who said it, where, when (as `coder verify` reads it)."""
    row = store.conn.execute("SELECT id, name, case_name, informant, role, date, text FROM transcripts WHERE id = ?",
                             (transcript_id,)).fetchone()
    return TranscriptSource(*row)


def roles(store: Store) -> set[str]:
    """The roles transcripts' front matter gives their informants."""
    return {role for (role,) in store.conn.execute("SELECT DISTINCT role FROM transcripts WHERE role != ''")}


def segments(store: Store, transcript_id: int) -> list[tuple[int, str | None, int, int, str]]:
    """(number, speaker, start, end, text) of each segment of a transcript, in order."""
    return store.conn.execute(
        'SELECT number, speaker, start, "end", text FROM segments WHERE transcript_id = ? ORDER BY number',
        (transcript_id,)).fetchall()


def turns(store: Store, transcript_id: int) -> list[Segment]:
    """Each segment of a transcript, in order, with when it was said (None: read from text)."""
    return [Segment(*row) for row in store.conn.execute(
        'SELECT number, speaker, start, "end", text, start_ms, end_ms FROM segments WHERE transcript_id = ? '
        "ORDER BY number", (transcript_id,))]


def segments_with_times(store: Store, transcript_id: int) -> list[sqlite3.Row]:
    """Each segment of a transcript, in order, with when it was said (start_ms, end_ms: None
    for a transcript read from text)."""
    return store.query('SELECT number, speaker, start, "end", text, start_ms, end_ms FROM segments '
                       "WHERE transcript_id = ? ORDER BY number", (transcript_id,))


def all_segments(store: Store) -> sqlite3.Cursor:
    """(transcript, case, number, speaker, start, text) of every segment, by transcript name
    and number: a cursor, to be read a batch at a time (fetchmany)."""
    return store.conn.execute('SELECT t.name, t.case_name, s.number, s.speaker, s.start, s.text FROM segments s '
                              'JOIN transcripts t ON t.id = s.transcript_id ORDER BY t.name, s.number')


def segments_for_search(store: Store, *, case: str | None = None, code: str | None = None) -> sqlite3.Cursor:
    """(transcript, case, number, start, text) of every segment (of a case; coded with a code,
    a resolved path or dimension id, sub-codes included), by transcript name and number: a
    cursor, to be read a batch at a time."""
    where, params = [], []
    if case is not None:
        # unary +: transcripts are walked in name order (their index), not sorted afterwards
        where.append("+t.case_name = ?")
        params.append(case)
    if code is not None:
        where.append("EXISTS (SELECT 1 FROM codings c WHERE c.transcript_id = s.transcript_id "
                     f"AND c.segment = s.number AND c.{IS_OK} AND (c.code IN ({under_sql()}) "
                     "OR c.code IN (SELECT path FROM codes WHERE dimension = ?)))")
        params += [code, code]
    sql = ("SELECT t.name, t.case_name, s.number, s.start, s.text FROM segments s "
           f"JOIN transcripts t ON t.id = s.transcript_id {'WHERE ' + ' AND '.join(where) if where else ''} "
           "ORDER BY t.name, s.number")
    return store.conn.execute(sql, params)


def saved_position(store: Store, coder: str, transcript_id: int) -> int | None:
    """The turn a coder's last `session` on the transcript stopped at."""
    return store.scalar("SELECT segment FROM session_state WHERE coder = ? AND transcript_id = ?",
                        (coder, transcript_id))


def save_position(store: Store, coder: str, transcript_id: int, segment: int, stamp: str) -> None:
    store.conn.execute(
        "INSERT INTO session_state(coder, transcript_id, segment, updated_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(coder, transcript_id) DO UPDATE SET segment = excluded.segment, "
        "updated_at = excluded.updated_at", (coder, transcript_id, segment, stamp))


# -- managing transcripts (`coder transcripts list/remove/rename`) ------------------------------

def overview(store: Store) -> list[sqlite3.Row]:
    """Each transcript by name: id, name, case_name, informant, role, source_path, the file it
    was last read from as then (file_path, size, mtime_ns: NULL when not kept) and its number
    of segments."""
    return store.query(
        "SELECT t.id, t.name, t.case_name, t.informant, t.role, t.source_path, f.path AS file_path, f.size, "
        "f.mtime_ns, (SELECT COUNT(*) FROM segments s WHERE s.transcript_id = t.id) AS segments "
        "FROM transcripts t LEFT JOIN transcript_files f ON f.transcript_id = t.id ORDER BY t.name")


def delete(store: Store, transcript_id: int) -> None:
    """Delete a transcript with its segments, speakers and file record (the schema's cascade);
    its codings and memos must be removed first, through their writers."""
    store.conn.execute("DELETE FROM transcripts WHERE id = ?", (transcript_id,))


def rename(store: Store, transcript_id: int, name: str) -> None:
    """A transcript's name (its codings refer to it by id, and stay as they are)."""
    store.conn.execute("UPDATE transcripts SET name = ?, updated_at = ? WHERE id = ?", (name, now(), transcript_id))


def names_by_id(store: Store, transcript_ids) -> dict[int, str]:
    ids = list(transcript_ids)
    if not ids:
        return {}
    return dict(store.conn.execute(f"SELECT id, name FROM transcripts WHERE id IN ({', '.join('?' for _ in ids)})",
                                   ids).fetchall())


def source_path(store: Store, transcript_id: int) -> str | None:
    """The path a transcript was imported from, as typed then."""
    return store.scalar("SELECT source_path FROM transcripts WHERE id = ?", (transcript_id,))


# -- what the reports read (coder/reports.py, coder/selection.py) ------------------------------

# A report's grouping (`--by`, a matrix side) is an SQL value over a transcript `t` and its
# case `cs`: a column of the transcript, else an attribute (the transcript's over its case's).
GROUP_COLUMNS = {"case": "t.case_name", "transcript": "t.name", "informant": "t.informant", "role": "t.role",
                 "date": "t.date"}
BY_CASE = GROUP_COLUMNS["case"]


def group_sql(by: str) -> str:
    """The SQL value grouping transcripts by a column or an attribute (checked by the caller)."""
    if by in GROUP_COLUMNS:
        return GROUP_COLUMNS[by]
    if '"' in by:  # a JSON path cannot name it: look the key up instead
        key = _sql_quote(by)
        return (f"COALESCE((SELECT j.value FROM json_each(t.attributes) j WHERE j.key = '{key}'), "
                f"(SELECT j.value FROM json_each(cs.attributes) j WHERE j.key = '{key}'))")
    key = json.dumps(by)  # quoted JSON path member
    return (f"COALESCE(json_extract(t.attributes, '$.' || '{_sql_quote(key)}'), "
            f"json_extract(cs.attributes, '$.' || '{_sql_quote(key)}'))")


def _sql_quote(text: str) -> str:
    return text.replace("'", "''")


def _among(tids: list[int] | None) -> tuple[str, tuple]:
    if tids is None:
        return "", ()
    return "WHERE t.id IN (SELECT value FROM json_each(?))", (json.dumps(tids),)


def group_values(store: Store, grouping: str, tids: list[int] | None = None) -> list:
    """Each value a grouping (`group_sql`) takes among the transcripts (all, or `tids`), once."""
    cases = "LEFT JOIN cases cs ON cs.name = t.case_name" if "cs." in grouping else ""
    where, params = _among(tids)
    return [v for (v,) in store.conn.execute(f"SELECT DISTINCT {grouping} FROM transcripts t {cases} {where}",
                                             params)]


_SEGMENTS_OF_GROUPS = ("FROM segments s JOIN transcripts t ON t.id = s.transcript_id "
                       "LEFT JOIN cases cs ON cs.name = t.case_name")


def segment_texts_by_group(store: Store, grouping: str, tids: list[int] | None = None) -> Iterator[tuple]:
    """(group value, text) of every segment of the transcripts (all, or `tids`)."""
    where, params = _among(tids)
    return store.conn.execute(f"SELECT {grouping}, s.text {_SEGMENTS_OF_GROUPS} {where}", params)


def units_by_group(store: Store, grouping: str, unit: str, tids: list[int] | None = None) -> Iterator[tuple]:
    """(group value, how many) of the segments, documents or informants of the transcripts
    (all, or `tids`) with segments, per value of the grouping."""
    counted = {"segments": "s.id", "documents": "t.id", "informants": "COALESCE(t.informant, t.name)"}[unit]
    where, params = _among(tids)
    return store.conn.execute(f"SELECT {grouping}, COUNT(DISTINCT {counted}) {_SEGMENTS_OF_GROUPS} {where} GROUP BY 1",
                              params)


def attribute_keys(store: Store) -> set[str]:
    """Every attribute key a transcript or a case has."""
    names: set[str] = set()
    for table in ("transcripts", "cases"):
        for (key,) in store.conn.execute(f"SELECT DISTINCT j.key FROM {table}, json_each({table}.attributes) j"):
            names.add(key)
    return names


def fields_and_attributes(store: Store) -> Iterator[tuple]:
    """(id, name, case, informant, role, date, attributes, its case's attributes) of every
    transcript (attributes as JSON)."""
    return store.conn.execute(
        "SELECT t.id, t.name, t.case_name, t.informant, t.role, t.date, t.attributes, cs.attributes "
        "FROM transcripts t LEFT JOIN cases cs ON cs.name = t.case_name")


def names_of(store: Store, tids: list[int]) -> set[str]:
    return {n for (n,) in store.conn.execute("SELECT name FROM transcripts WHERE id IN (SELECT value FROM json_each(?))",
                                             (json.dumps(tids),))}


def text(store: Store, transcript_id: int) -> str:
    return store.scalar("SELECT text FROM transcripts WHERE id = ?", (transcript_id,))


def speakers(store: Store) -> dict[tuple[int, str], tuple]:
    """(transcript id, label) -> (interviewer, informant, role) of each speaker front matter lists."""
    return {(r[0], r[1]): r[2:] for r in store.conn.execute(
        "SELECT transcript_id, label, interviewer, informant, role FROM speakers")}


def dataset_rows(store: Store, tids: list[int] | None = None) -> Iterator[tuple]:
    """(segment id, transcript, case, informant, role, number, speaker, start, end, text, the
    transcript's attributes, its case's) of every segment of the transcripts (all, or
    `tids`), by transcript name and number: a cursor, read a row at a time."""
    where, params = _among(tids)
    return store.conn.execute(
        'SELECT s.id, t.name, t.case_name, t.informant, t.role, s.number, s.speaker, s.start, s."end", '
        "s.text, t.attributes, cs.attributes FROM segments s JOIN transcripts t ON t.id = s.transcript_id "
        f"LEFT JOIN cases cs ON cs.name = t.case_name {where} ORDER BY t.name, s.number", params)

# -- importing (coder/importing.py) ------------------------------------------------------------

class SourceFile(NamedTuple):
    """The file a transcript was read from, as it was then, so the next import can skip it
    unread (transcript_files): size and mtime_ns are None when they cannot vouch for it."""
    typed_path: str  # as the user typed it (transcripts.source_path)
    path: str  # absolute
    size: int | None
    mtime_ns: int | None
    named_case: str | None  # the case its front matter names
    segments: int


def imported_files(store: Store) -> sqlite3.Cursor:
    """(name, id, sha256, case_name, path, size, mtime_ns, named_case, segments) of every
    transcript, the last five from the file it was last read from (NULL when not kept)."""
    return store.conn.execute(
        "SELECT t.name, t.id, t.sha256, t.case_name, f.path, f.size, f.mtime_ns, f.named_case, f.segments "
        "FROM transcripts t LEFT JOIN transcript_files f ON f.transcript_id = t.id")


def insert(store: Store, t: Transcript, source: SourceFile, *, uuid: str) -> int:
    """A new transcript with its file record, segments and speakers; returns its id."""
    stamp = now()
    transcript_id = store.conn.execute(
        "INSERT INTO transcripts(uuid, name, case_name, informant, role, date, attributes, source_path, encoding, "
        "sha256, text, imported_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (uuid, t.name, t.case, t.informant, t.role, t.date, t.attributes_json, source.typed_path, t.encoding,
         t.sha256, t.text, stamp, stamp)).lastrowid
    store.conn.execute("INSERT INTO transcript_files(transcript_id, path, size, mtime_ns, named_case, segments) "
                       "VALUES (?, ?, ?, ?, ?, ?)", (transcript_id, *source[1:]))
    _insert_segments(store, transcript_id, t)
    _insert_speakers(store, transcript_id, t)
    return transcript_id


def _insert_speakers(store: Store, transcript_id: int, t: Transcript) -> None:
    if t.speakers:
        store.conn.executemany(
            "INSERT OR REPLACE INTO speakers(transcript_id, label, interviewer, informant, role) VALUES (?,?,?,?,?)",
            [(transcript_id, s.label, int(s.interviewer), s.informant, s.role) for s in t.speakers])


def _insert_segments(store: Store, transcript_id: int, t: Transcript) -> None:
    store.conn.executemany(
        'INSERT INTO segments(transcript_id, number, speaker, start, "end", text, start_ms, end_ms) '
        "VALUES (?,?,?,?,?,?,?,?)",
        [(transcript_id, s.number, s.speaker, s.start, s.end, s.text, s.start_ms, s.end_ms) for s in t.segments])


def remember_file(store: Store, transcript_id: int, source: SourceFile) -> None:
    """Record the file a transcript was read from this time."""
    store.conn.execute("UPDATE transcripts SET source_path = ? WHERE id = ? AND source_path IS NOT ?",
                       (source.typed_path, transcript_id, source.typed_path))
    store.conn.execute("INSERT OR REPLACE INTO transcript_files(transcript_id, path, size, mtime_ns, named_case, "
                       "segments) VALUES (?, ?, ?, ?, ?, ?)", (transcript_id, *source[1:]))


def segment_count(store: Store, transcript_id: int) -> int:
    # segments are numbered 1..n: the largest number is the count, read off the index's end
    return store.scalar("SELECT MAX(number) FROM segments WHERE transcript_id = ?", (transcript_id,)) or 0


def set_case(store: Store, transcript_id: int, case: str | None) -> None:
    store.conn.execute("UPDATE transcripts SET case_name = ?, updated_at = ? WHERE id = ?",
                       (case, now(), transcript_id))


def by_uuid(store: Store, uuid: str) -> tuple | None:
    """(id, name, sha256, case_name, informant, role, date, attributes) of the transcript with
    this uuid, or None."""
    return store.conn.execute("SELECT id, name, sha256, case_name, informant, role, date, attributes "
                              "FROM transcripts WHERE uuid = ?", (uuid,)).fetchone()


def describe(store: Store, transcript_id: int, *, case: str | None, informant: str | None, role: str | None,
             date: str | None, attributes_json: str | None) -> None:
    """A transcript's case, informant, role, date and attributes (its text unchanged)."""
    store.conn.execute("UPDATE transcripts SET case_name = ?, informant = ?, role = ?, date = ?, attributes = ?, "
                       "updated_at = ? WHERE id = ?",
                       (case, informant, role, date, attributes_json, now(), transcript_id))


def text_length(store: Store, transcript_id: int) -> int:
    return store.scalar("SELECT length(text) FROM transcripts WHERE id = ?", (transcript_id,))


def replace_text(store: Store, transcript_id: int, t: Transcript) -> None:
    """A transcript's new text, description, segments and speakers (its codings are moved by
    the caller)."""
    store.conn.execute(
        "UPDATE transcripts SET case_name=?, informant=?, role=?, date=?, attributes=?, source_path=?, encoding=?, "
        "sha256=?, text=?, updated_at=? WHERE id=?",
        (t.case, t.informant, t.role, t.date, t.attributes_json, t.path, t.encoding, t.sha256, t.text, now(),
         transcript_id))
    store.conn.execute("DELETE FROM segments WHERE transcript_id = ?", (transcript_id,))
    _insert_segments(store, transcript_id, t)
    store.conn.execute("DELETE FROM speakers WHERE transcript_id = ?", (transcript_id,))
    _insert_speakers(store, transcript_id, t)


def speaker_labels(store: Store, transcript_id: int) -> list[str]:
    """The speaker labels a transcript's segments have."""
    return [label for (label,) in store.conn.execute(
        "SELECT DISTINCT speaker FROM segments WHERE transcript_id = ? AND speaker IS NOT NULL", (transcript_id,))]



def file_path(store: Store, transcript_id: int) -> str | None:
    """The absolute path of the file a transcript was last read from."""
    return store.scalar("SELECT path FROM transcript_files WHERE transcript_id = ?", (transcript_id,))


def move_source(store: Store, transcript_id: int, source_path: str | None, file_path: str | None) -> None:
    """Where a transcript's file is now (after a rename): the path as typed, and its
    absolute path; its size and time as recorded, so the renamed file is seen as unchanged."""
    store.conn.execute("UPDATE transcripts SET source_path = ? WHERE id = ?", (source_path, transcript_id))
    store.conn.execute("UPDATE transcript_files SET path = ? WHERE transcript_id = ?", (file_path, transcript_id))


def segment_extents(store: Store, transcript_ids: Sequence[int]) -> list[tuple[int, str, int, int, int, int]]:
    """(transcript id, name, segments, characters in its segments, first start, last end)
    of each, by name."""
    return store.conn.execute(
        'SELECT s.transcript_id, t.name, COUNT(*), SUM(s."end" - s.start), MIN(s.start), MAX(s."end") '
        "FROM segments s JOIN transcripts t ON t.id = s.transcript_id "
        "WHERE s.transcript_id IN (SELECT value FROM json_each(?)) GROUP BY s.transcript_id ORDER BY t.name",
        (json.dumps(list(transcript_ids)),)).fetchall()


# -- merge: transcripts moving between copies of the project (coder/merge.py) ------------------

# A transcript moves between copies with every column its tables have (both copies are at
# SCHEMA_VERSION: an older one is upgraded in memory), so a column a later schema adds
# (segments' times, say) is carried without a change here.
_COPIED = {"transcripts": ("id",), "segments": ("id", "transcript_id"), "speakers": ("transcript_id",)}


def for_merge(store: Store) -> list[dict]:
    """Every transcript with its metadata, content hash and length (not its text)."""
    return [dict(r) for r in store.query(
        "SELECT id, uuid, name, case_name, informant, role, date, attributes, source_path, encoding, sha256, "
        "length(text) AS length, imported_at, updated_at FROM transcripts ORDER BY name")]


def _copied_columns(store: Store, table: str) -> list[str]:
    skip = _COPIED[table]
    return [r[1] for r in store.conn.execute(f"PRAGMA table_info({table})") if r[1] not in skip]


def for_copy(store: Store, transcript_id: int) -> tuple[dict, list[dict], list[dict]]:
    """A transcript's row, its segments' and its speakers' (every column but the ids), to
    write into another copy of the project."""
    rows = {}
    for table, key, order in (("transcripts", "id", "id"), ("segments", "transcript_id", "number"),
                              ("speakers", "transcript_id", "label")):
        columns = ", ".join(f'"{c}"' for c in _copied_columns(store, table))
        sql = f"SELECT {columns} FROM {table} WHERE {key} = ? ORDER BY {order}"
        rows[table] = [dict(r) for r in store.query(sql, (transcript_id,))]
    return rows["transcripts"][0], rows["segments"], rows["speakers"]


def add_copy(store: Store, transcript: dict, segments: list[dict], speakers: list[dict]) -> int:
    """A transcript from another copy of the project (as `for_copy` read it),
    with its segments and speakers; its new id."""
    transcript_id = store.conn.execute(*_insert_sql("transcripts", transcript)).lastrowid
    for table, rows in (("segments", segments), ("speakers", speakers)):
        if rows:
            sql, _ = _insert_sql(table, {**rows[0], "transcript_id": transcript_id})
            store.conn.executemany(sql, [(*row.values(), transcript_id) for row in rows])
    return transcript_id


def _insert_sql(table: str, row: dict) -> tuple[str, tuple]:
    """INSERT of a row read by `for_copy` (its keys are this schema's column
    names, never input), and the row's values."""
    columns = ", ".join(f'"{c}"' for c in row)
    return f"INSERT INTO {table}({columns}) VALUES ({', '.join('?' * len(row))})", tuple(row.values())
