"""Precomputed counts for `report freq`: per transcript, how many units carry each set of codes.

A frequency table counts units (segments, coded spans' words, documents), each once however
many of its codes apply, per group of transcripts (`--by`, any attribute). Every such table
can be summed from rows (unit, transcript, code set, n): the code sets do not depend on the
codebook's tree (report time maps each set to the codes and dimensions it reaches) nor the
grouping (report time joins the transcripts). This module keeps those rows in `unit_counts`,
so a report over a million codings reads a few hundred thousand rows instead of grouping
every coding.

Keeping them current costs a write nothing:
- a transcript's rows count only while (transcript, unit) is in `unit_counts_fresh`;
- changing or deleting a coding takes its transcript out of there (triggers, schema 2), so
  any program's edit is seen;
- adding codings leaves no trace but their ids, which only grow: `meta.unit_counts_seen`
  holds the highest coding id counted, and the codings above it are new. (The delete
  trigger lowers the mark when the highest ids go, since SQLite reuses those.)
Inserts carry no trigger because a trigger on every row made bulk coding 3.5x slower.

A report brings the counts up to date for the transcripts that changed, in a short write
transaction, and reads them. When it cannot write (a read-only file, another process
holding the write lock) it counts from the codings directly: the same numbers, slower.
"""
from __future__ import annotations

import json
import sqlite3

from coder.store import Store

SEEN_KEY = "unit_counts_seen"
FULL_REBUILD_SHARE = 0.5  # above this share of transcripts stale, rebuild the unit's rows outright
COMMIT_WAIT_MS = 2000  # how long a report's commit of the counts may wait for readers (rollback journal)

# Each unit with the codes on it, in the order of the covering index codings_units (so SQLite
# groups without sorting the codings): per segment, per coded span (with its words), per
# transcript. `{only}` narrows it to some transcripts.
UNIT_CODES = {
    "segments": "SELECT c.transcript_id AS tid, group_concat(c.code) AS codes, 1 AS n FROM codings c "
                "WHERE c.status = 'ok' AND c.segment IS NOT NULL{only} GROUP BY c.transcript_id, c.segment",
    "words": "SELECT c.transcript_id AS tid, group_concat(c.code) AS codes, c.words AS n FROM codings c "
             "WHERE c.status = 'ok'{only} GROUP BY c.transcript_id, c.segment, c.start, c.\"end\", c.words",
    "documents": "SELECT c.transcript_id AS tid, group_concat(DISTINCT c.code) AS codes, 1 AS n FROM codings c "
                 "WHERE c.status = 'ok'{only} GROUP BY c.transcript_id",
}
STORED_UNIT = {"segments": "segments", "words": "words", "documents": "documents", "informants": "documents"}
_ONLY = " AND c.transcript_id IN (SELECT value FROM json_each(:ids))"


def unit_rows_sql(store: Store, unit: str) -> str:
    """SQL for rows (tid, codes, n) of the unit: the stored counts, brought up to date first
    when they can be; else computed from the codings."""
    stored = STORED_UNIT[unit]
    if refresh(store, stored):
        return f"SELECT transcript_id AS tid, codes, n FROM unit_counts WHERE unit = '{stored}'"
    return UNIT_CODES[stored].format(only="")


def live_rows_sql(unit: str) -> str:
    """The same rows, always computed from the codings (what the stored counts must equal)."""
    return UNIT_CODES[STORED_UNIT[unit]].format(only="")


def is_current(conn: sqlite3.Connection, unit: str) -> bool:
    seen = _seen(conn)
    if conn.execute("SELECT EXISTS (SELECT 1 FROM codings WHERE id > ?)", (seen,)).fetchone()[0]:
        return False
    return not conn.execute(
        "SELECT EXISTS (SELECT 1 FROM transcripts t WHERE NOT EXISTS "
        "(SELECT 1 FROM unit_counts_fresh f WHERE f.transcript_id = t.id AND f.unit = ?))", (unit,)).fetchone()[0]


def refresh(store: Store, unit: str) -> bool:
    """Bring the unit's stored counts up to date; False when that cannot be done now."""
    conn = store.conn
    if is_current(conn, unit):
        return True
    if store.read_only:
        return False
    # A report never waits for another command: the write lock only if it is free now, and
    # (with a rollback journal, where readers hold the commit back) the commit only briefly.
    timeout = conn.execute("PRAGMA busy_timeout").fetchone()[0]
    conn.execute("PRAGMA busy_timeout = 0")
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(f"PRAGMA busy_timeout = {COMMIT_WAIT_MS}")
        _recount(conn, unit)
        conn.execute("COMMIT")
    except sqlite3.OperationalError:  # busy, or the disk is full: the report still comes, from the codings
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        return False
    finally:
        conn.execute(f"PRAGMA busy_timeout = {int(timeout)}")
    return True


def _seen(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (SEEN_KEY,)).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _recount(conn: sqlite3.Connection, unit: str) -> None:
    """Inside the write transaction: mark the transcripts with new codings stale (for every
    unit), then recount this unit for the stale transcripts."""
    seen, top = _seen(conn), conn.execute("SELECT COALESCE(MAX(id), 0) FROM codings").fetchone()[0]
    if top > 2 * seen:  # most codings are new (a first report, a bulk import): recount them all
        conn.execute("DELETE FROM unit_counts_fresh")
    elif top > seen:
        conn.execute("DELETE FROM unit_counts_fresh WHERE transcript_id IN "
                     "(SELECT DISTINCT transcript_id FROM codings WHERE id > ?)", (seen,))
    if top != seen:
        conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (SEEN_KEY, str(top)))
    stale = [tid for (tid,) in conn.execute(
        "SELECT id FROM transcripts t WHERE NOT EXISTS "
        "(SELECT 1 FROM unit_counts_fresh f WHERE f.transcript_id = t.id AND f.unit = ?)", (unit,))]
    if not stale:
        return
    total = conn.execute("SELECT COUNT(*) FROM transcripts").fetchone()[0]
    if len(stale) > FULL_REBUILD_SHARE * total:
        conn.execute("DELETE FROM unit_counts WHERE unit = ?", (unit,))  # rows of deleted transcripts go too
        source, params = UNIT_CODES[unit].format(only=""), {"unit": unit}
        conn.execute("DELETE FROM unit_counts_fresh WHERE unit = ?", (unit,))
        fresh_sql, fresh_params = "SELECT id, :unit FROM transcripts", {"unit": unit}
    else:
        ids = json.dumps(stale)
        conn.execute("DELETE FROM unit_counts WHERE unit = :unit AND transcript_id IN "
                     "(SELECT value FROM json_each(:ids))", {"unit": unit, "ids": ids})
        source, params = UNIT_CODES[unit].format(only=_ONLY), {"unit": unit, "ids": ids}
        fresh_sql, fresh_params = "SELECT value, :unit FROM json_each(:ids)", {"unit": unit, "ids": ids}
    conn.execute(f"INSERT INTO unit_counts(unit, transcript_id, codes, n) SELECT :unit, u.tid, u.codes, SUM(u.n) "
                 f"FROM ({source}) u GROUP BY u.tid, u.codes", params)
    conn.execute(f"INSERT OR IGNORE INTO unit_counts_fresh(transcript_id, unit) {fresh_sql}", fresh_params)


def verify(store: Store) -> int:
    """`coder check`: compare the stored counts of every transcript marked current with a
    recount from the codings. Returns how many (transcript, unit) pairs disagree, and marks
    those for recounting (unless the file is read-only). Disagreement means a program wrote
    codings with ids it chose itself below the highest, or a bug in coder."""
    conn = store.conn
    wrong: set[tuple[int, str]] = set()
    pending = new_codings(store)
    for unit in UNIT_CODES:
        fresh = {tid for (tid,) in conn.execute("SELECT transcript_id FROM unit_counts_fresh WHERE unit = ?", (unit,))}
        fresh -= pending  # their new codings are counted at the next report, as designed
        if not fresh:
            continue
        stored = _canonical(conn.execute("SELECT transcript_id, codes, n FROM unit_counts WHERE unit = ?", (unit,)),
                            fresh)
        live = _canonical(conn.execute(f"SELECT u.tid, u.codes, u.n FROM ({UNIT_CODES[unit].format(only='')}) u"),
                          fresh)
        wrong |= {(tid, unit) for tid in fresh if stored.get(tid) != live.get(tid)}
    if wrong and not store.read_only:
        with store.transaction():
            conn.executemany("DELETE FROM unit_counts_fresh WHERE transcript_id = ? AND unit = ?", sorted(wrong))
    return len(wrong)


def new_codings(store: Store) -> set[int]:
    """The transcripts with codings added since the counts were last brought up to date: the
    next report recounts them. Normal after any coding, not a fault."""
    return {tid for (tid,) in store.conn.execute("SELECT DISTINCT transcript_id FROM codings WHERE id > ?",
                                                 (_seen(store.conn),))}


def _canonical(rows, only: set[int]) -> dict[int, dict]:
    """{transcript: {sorted codes: units}}, whatever order SQLite listed each set's codes in."""
    out: dict[int, dict] = {}
    for tid, codes, n in rows:
        if tid in only:
            key = tuple(sorted(codes.split(",")))
            per = out.setdefault(tid, {})
            per[key] = per.get(key, 0) + n
    return out
