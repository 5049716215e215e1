"""Transcripts and their segments (speaker turns)."""
from __future__ import annotations

import sqlite3

from coder.store import Store, now


def names_in_import_order(store: Store) -> list[str]:
    return [name for (name,) in store.conn.execute("SELECT name FROM transcripts ORDER BY id")]


def segments(store: Store, transcript_id: int) -> list[tuple[int, str | None, int, int, str]]:
    """(number, speaker, start, end, text) of each segment of a transcript, in order."""
    return store.conn.execute(
        'SELECT number, speaker, start, "end", text FROM segments WHERE transcript_id = ? ORDER BY number',
        (transcript_id,)).fetchall()


def turns(store: Store, transcript_id: int) -> list[tuple[int, str | None, int, int, str, int | None]]:
    """(number, speaker, start, end, text, start_ms) of each segment of a transcript, in order."""
    return store.conn.execute(
        'SELECT number, speaker, start, "end", text, start_ms FROM segments WHERE transcript_id = ? ORDER BY number',
        (transcript_id,)).fetchall()


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
                     "AND c.segment = s.number AND c.status = 'ok' AND (c.code IN (SELECT descendant FROM "
                     "code_closure WHERE ancestor = ?) OR c.code IN (SELECT path FROM codes WHERE dimension = ?)))")
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
