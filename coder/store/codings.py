"""Codings: the one place that writes them, and the reads the commands need.

Every coding that is added (`code add/quote/apply`, `autocode --apply`, `session`, an undone
removal) is inserted by `add`, and every one that goes (`code remove`, `autocode --clear`,
`session`'s remove and undo) by `remove`; each write's audit row has one shape (`audit`).
Which codings are new, and which are duplicates (the same transcript, span, code and coder,
the span also judged by its words), is decided once, by the writer of coder/coding.py
(`add_codings`), which every command that adds codings goes through.

The functions work inside the caller's transaction (`Store.transaction`): a batch decides
what one transaction holds.
"""
from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Collection, Iterator, NamedTuple, Sequence

from coder.store import Store, now
from coder.store.codebook import under_sql
from coder.store.schema import IS_OK
from coder.values import CodingStatus

# plain strings (the members' values): a batch binds hundreds of thousands of them
STATUS_OK = CodingStatus.OK.value
STATUS_ORPHANED = CodingStatus.ORPHANED.value


class NewCoding(NamedTuple):
    """A row of `codings` as the writer makes it (a tuple: a batch makes hundreds of
    thousands, and executemany takes them as they are)."""

    uuid: str
    transcript_id: int
    segment: int | None
    start: int
    end: int
    code: str
    coder: str
    memo: str | None
    text: str
    words: int
    source: str | None = None  # what wrote it when not a person ('autocode')
    status: str = STATUS_OK


def add(store: Store, codings: Sequence[NewCoding], *, created_at: str | None = None,
        updated_at: str | None = None) -> int:
    """Insert the codings (the only place that does); returns how many. Stamped now, unless
    a removed coding is being put back as it was."""
    if not codings:
        return 0
    created = created_at or now()
    updated = updated_at or created
    store.conn.executemany(
        'INSERT INTO codings(uuid, transcript_id, segment, start, "end", code, coder, memo, text, words, source, '
        "status, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [row + (created, updated) for row in codings])
    return len(codings)


# The page cache of a bulk write (KiB): the indexes of codings take random inserts (uuid) all
# over their pages, and a batch reads each transcript's text between its inserts; in SQLite's
# default 2 MB those pages were spilled to the WAL and read back again and again (a 1 GB WAL,
# a fifth of the CPU time in system calls, for 780,000 rows).
BULK_CACHE_KIB = 32 * 1024


def for_bulk_write(store: Store) -> None:
    """Give the connection the page cache of a bulk write (for the rest of the command)."""
    store.conn.execute(f"PRAGMA cache_size = -{BULK_CACHE_KIB}")


def remove(store: Store, *, uuids: Sequence[str] = (), source: str | None = None, coder: str | None = None,
           codes: Sequence[str] = (), transcript_id: int | None = None) -> int:
    """Delete the codings with these ids, or those `source` wrote (of `coder`, of `codes`:
    each with its sub-codes, or a dimension's), or every coding of a transcript being
    removed; the only place that deletes codings. Returns how many."""
    if len(uuids) > 500:  # a few hundred ids at a time: SQLite limits a statement's parameters
        return sum(remove(store, uuids=uuids[i:i + 500], source=source, coder=coder, codes=codes,
                          transcript_id=transcript_id) for i in range(0, len(uuids), 500))
    where, params = _matching(uuids=uuids, source=source, coder=coder, codes=codes, transcript_id=transcript_id)
    return store.conn.execute(f"DELETE FROM codings WHERE {where}", params).rowcount


def count(store: Store, *, source: str | None = None, coder: str | None = None, codes: Sequence[str] = ()) -> int:
    """How many codings `remove` would delete with the same arguments."""
    where, params = _matching(source=source, coder=coder, codes=codes)
    return store.conn.execute(f"SELECT COUNT(*) FROM codings WHERE {where}", params).fetchone()[0]


def _matching(*, uuids: Sequence[str] = (), source: str | None = None, coder: str | None = None,
              codes: Sequence[str] = (), transcript_id: int | None = None) -> tuple[str, list]:
    where, params = [], []
    if transcript_id is not None:
        where.append("transcript_id = ?")
        params.append(transcript_id)
    if uuids:
        where.append(f"uuid IN ({', '.join('?' for _ in uuids)})")
        params += list(uuids)
    if source is not None:
        where.append("source = ?")
        params.append(source)
    if coder is not None:
        where.append("coder = ?")
        params.append(coder)
    if codes:
        marks = ", ".join("?" for _ in codes)
        where.append(f"(code IN ({under_sql(f'IN ({marks})')}) "
                     f"OR code IN (SELECT path FROM codes WHERE dimension IN ({marks})))")
        params += [*codes, *codes]
    if not where:
        raise ValueError("remove() needs ids or a source: it never deletes every coding")
    return " AND ".join(where), params


def audit(store: Store, action: str, *, added: int | None = None, removed: int | None = None,
          recoded: int | None = None, **details) -> None:
    """The audit row of a write to codings: `codings` (how many were added), `removed` or
    `recoded` (put on another code), then what the command says about them (for a single
    coding, enough to restore it; for a batch, the ids it touched)."""
    shape = {}
    if added is not None:
        shape["codings"] = added
    if removed is not None:
        shape["removed"] = removed
    if recoded is not None:
        shape["recoded"] = recoded
    store.audit(action, **shape, **details)


def set_memo(store: Store, uuid: str, memo: str | None) -> None:
    store.conn.execute("UPDATE codings SET memo = ?, updated_at = ? WHERE uuid = ?", (memo, now(), uuid))


# -- reads ------------------------------------------------------------------------------------

def spans_of_transcript(store: Store, transcript_id: int) -> Iterator[tuple[int, int, str, str]]:
    """(start, end, code, coder) of every coding of a transcript, whatever its status."""
    return store.conn.execute('SELECT start, "end", code, coder FROM codings WHERE transcript_id = ?',
                              (transcript_id,))


def row(store: Store, uuid: str, transcript_id: int) -> dict | None:
    """Every column of one coding of a transcript (enough to put it back as it was)."""
    rows = store.query("SELECT * FROM codings WHERE uuid = ? AND transcript_id = ?", (uuid, transcript_id))
    return dict(rows[0]) if rows else None


def by_id_prefix(store: Store, prefix: str) -> list[dict]:
    """The codings whose id starts with `prefix` (checked: hex digits and dashes), with their
    transcript's name."""
    return [dict(r) for r in store.query(
        'SELECT c.id, c.uuid, t.name AS transcript, c.code, c.start, c."end", c.coder, c.memo, c.text '
        "FROM codings c JOIN transcripts t ON t.id = c.transcript_id WHERE c.uuid >= ? AND c.uuid < ?",
        (prefix, prefix + "~"))]  # every id that starts with prefix: '~' sorts after hex digits and '-'


def uuids_with_prefix(store: Store, prefix: str) -> list[str]:
    return [r[0] for r in store.conn.execute("SELECT uuid FROM codings WHERE uuid >= ? AND uuid < ?",
                                             (prefix, prefix + "~"))]


def listing(store: Store, *, orphaned: bool = False, transcript_id: int | None = None, code: str | None = None,
            coder: str | None = None) -> list[dict]:
    """Codings as `code list` shows them (ok or orphaned ones), in text order."""
    where, params = ["c.status = ?"], [STATUS_ORPHANED if orphaned else STATUS_OK]
    if transcript_id is not None:
        where.append("t.id = ?")
        params.append(transcript_id)
    if code:
        where.append(f"c.code IN ({under_sql()})")
        params.append(code)
    if coder:
        where.append("c.coder = ?")
        params.append(coder)
    return [dict(r) for r in store.query(
        'SELECT c.uuid AS id, t.name AS transcript, t.case_name AS "case", c.segment, c.start, c."end", c.code, '
        f"c.coder, c.memo, c.text FROM codings c JOIN transcripts t ON t.id = c.transcript_id "
        f"WHERE {' AND '.join(where)} ORDER BY t.name, c.start, c.\"end\", c.code, c.coder", params)]


def counts_per_transcript(store: Store) -> list[tuple[int, str, str, int]]:
    """(transcript_id, coder, status, how many) of every transcript's codings."""
    return store.conn.execute("SELECT transcript_id, coder, status, COUNT(*) FROM codings "
                              "GROUP BY transcript_id, coder, status ORDER BY transcript_id, coder").fetchall()


def uuids_of_transcript(store: Store, transcript_id: int) -> list[str]:
    return [r[0] for r in store.conn.execute("SELECT uuid FROM codings WHERE transcript_id = ?", (transcript_id,))]


def count_by(store: Store, transcript_id: int, coder: str) -> int:
    """How many codings (ok ones) a coder has on a transcript."""
    return store.scalar(f"SELECT COUNT(*) FROM codings WHERE transcript_id = ? AND coder = ? AND {IS_OK}",
                        (transcript_id, coder))


def whole_segments_coded(store: Store, transcript: str, coder: str) -> set[tuple[int, str]]:
    """(segment, code) of each coding by `coder` that spans a whole segment of the transcript."""
    return {(r[0], r[1]) for r in store.conn.execute(
        "SELECT c.segment, c.code FROM codings c JOIN transcripts t ON t.id = c.transcript_id "
        "JOIN segments s ON s.transcript_id = c.transcript_id AND s.number = c.segment "
        'WHERE t.name = ? AND c.coder = ? AND c.start = s.start AND c."end" = s."end"', (transcript, coder))}


# -- re-anchoring after a transcript's text changed (coder/importing.py) -----------------------

def of_transcript(store: Store, transcript_id: int) -> list[dict]:
    """id, start, end and text of every coding of a transcript, whatever its status."""
    return [dict(r) for r in store.query('SELECT id, start, "end", text FROM codings WHERE transcript_id = ?',
                                         (transcript_id,))]


def move(store: Store, coding_id: int, *, start: int, end: int, segment: int, text: str, words: int) -> None:
    """The coding's text found again at start-end: it is 'ok' there. Raises the UNIQUE
    constraint's error when the same span, code and coder exists already."""
    store.conn.execute('UPDATE codings SET start=?, "end"=?, segment=?, text=?, words=?, status=?, updated_at=? '
                       "WHERE id=?", (start, end, segment, text, words, STATUS_OK, now(), coding_id))


def orphan(store: Store, coding_id: int) -> None:
    """The coding's text is gone from its transcript: kept, as orphaned, with no segment."""
    store.conn.execute("UPDATE codings SET status = ?, segment=NULL, updated_at=? WHERE id=?",
                       (STATUS_ORPHANED, now(), coding_id))


# -- what `session` shows ------------------------------------------------------------------------

def on_span(store: Store, transcript_id: int, start: int, end: int) -> list[sqlite3.Row]:
    """The codings (ok ones, by anyone) overlapping start-end, in text order, with their
    code's label and colour (the dimension's when the code has none)."""
    return store.query(
        'SELECT c.uuid, c.code, co.label, COALESCE(co.color, d.color) AS color, c.coder, c.start, c."end", '
        "c.memo, c.text FROM codings c JOIN codes co ON co.path = c.code JOIN dimensions d ON d.id = co.dimension "
        f'WHERE c.transcript_id = ? AND c.{IS_OK} AND c.start < ? AND c."end" > ? '
        'ORDER BY c.start, c."end" DESC, co.position, c.coder', (transcript_id, end, start))


def spans_by(store: Store, transcript_id: int, coder: str) -> list[tuple[int, int]]:
    """(start, end) of a coder's codings (ok ones) of a transcript."""
    return store.conn.execute(f'SELECT start, "end" FROM codings WHERE transcript_id = ? AND coder = ? AND {IS_OK}',
                              (transcript_id, coder)).fetchall()


def spans_of_code(store: Store, transcript_id: int, path: str) -> list[tuple[int, int]]:
    """(start, end) of the codings (ok ones, by anyone) of a code or its sub-codes."""
    return store.conn.execute(
        f'SELECT start, "end" FROM codings WHERE transcript_id = ? AND {IS_OK} AND code IN ({under_sql()})',
        (transcript_id, path)).fetchall()


def count_ok(store: Store) -> int:
    return store.scalar(f"SELECT COUNT(*) FROM codings WHERE {IS_OK}")


# -- changing codes: recoding and bulk clean-up (coder/codebook_ops.py) --------------------------

def on_codes(store: Store, codes: Sequence[str]) -> list[dict]:
    """uuid, code, transcript id, span and coder of every coding (whatever its status) on
    exactly these codes."""
    return [dict(r) for r in store.query(
        'SELECT uuid, code, transcript_id, start, "end", coder, status FROM codings '
        "WHERE code IN (SELECT value FROM json_each(?)) ORDER BY id", (json.dumps(list(codes)),))]


def selected(store: Store, chosen: "CodingFilter") -> list[dict]:
    """The codings (ok and orphaned) the filter keeps, with their transcript's name and case,
    in text order."""
    where, params = chosen.sql("c")
    return [dict(r) for r in store.query(
        'SELECT c.uuid, c.code, c.transcript_id, t.name AS transcript, t.case_name AS "case", c.segment, c.start, '
        'c."end", c.coder, c.status, c.text FROM codings c JOIN transcripts t ON t.id = c.transcript_id '
        f"{'WHERE ' + where if where else ''} ORDER BY t.name, c.start, c.\"end\", c.code, c.coder", list(params))]


def recode(store: Store, moves: Sequence[tuple[str, str]]) -> int:
    """Put each coding (uuid) on another code (path): the only place that changes a coding's
    code. The caller has removed any coding the move would make a duplicate of (same
    transcript, span, code and coder). Returns how many moved."""
    stamp = now()
    return store.conn.executemany("UPDATE codings SET code = ?, updated_at = ? WHERE uuid = ?",
                                  [(code, stamp, uuid) for uuid, code in moves]).rowcount


# -- orphaned codings put back (coder/orphans.py) -------------------------------------------------

def orphaned(store: Store, *, transcript_id: int | None = None, uuid_prefix: str | None = None) -> list[dict]:
    """The orphaned codings (of a transcript; whose id starts with `uuid_prefix`), by
    transcript name and old place: id, uuid, transcript_id, transcript, code, coder, memo,
    text (the passage as it was coded), start, end (where it was)."""
    where, params = ["c.status = ?"], [STATUS_ORPHANED]
    if transcript_id is not None:
        where.append("c.transcript_id = ?")
        params.append(transcript_id)
    if uuid_prefix is not None:
        where.append("c.uuid >= ? AND c.uuid < ?")
        params += [uuid_prefix, uuid_prefix + "~"]  # '~' sorts after hex digits and '-'
    return [dict(r) for r in store.query(
        'SELECT c.id, c.uuid, c.transcript_id, t.name AS transcript, c.code, c.coder, c.memo, c.text, c.start, c."end" '
        f"FROM codings c JOIN transcripts t ON t.id = c.transcript_id WHERE {' AND '.join(where)} "
        "ORDER BY t.name, c.start, c.code, c.coder", params)]


def exists_at(store: Store, transcript_id: int, start: int, end: int, code: str, coder: str) -> bool:
    """Whether the transcript has this coding (span, code and coder) already."""
    return bool(store.scalar('SELECT EXISTS (SELECT 1 FROM codings WHERE transcript_id = ? AND start = ? AND "end" = ? '
                             "AND code = ? AND coder = ?)", (transcript_id, start, end, code, coder)))


    return store.scalar(f"SELECT COUNT(*) FROM codings WHERE {IS_OK}")


# -- what the reports read (coder/reports.py) ------------------------------------------------

@dataclass(frozen=True)
class CodingFilter:
    """Which codings a report reads (coder/selection.py makes it from the filters typed):
    those of these transcripts, codes and coders; None or empty keeps all."""
    transcript_ids: Sequence[int] | None = None
    codes: Collection[str] | None = None  # code paths, each sub-code listed itself
    coders: Sequence[str] = ()

    def sql(self, alias: str = "c") -> tuple[str, list]:
        """SQL conditions (joined with AND, or '') and their parameters over codings `alias`."""
        parts, params = [], []
        if self.transcript_ids is not None:
            parts.append(f"{alias}.transcript_id IN (SELECT value FROM json_each(?))")
            params.append(json.dumps(self.transcript_ids))
        if self.codes is not None:
            parts.append(f"{alias}.code IN (SELECT value FROM json_each(?))")
            params.append(json.dumps(sorted(self.codes)))
        if self.coders:
            parts.append(f"{alias}.coder IN (SELECT value FROM json_each(?))")
            params.append(json.dumps(list(self.coders)))
        return " AND ".join(parts), params


EVERY_CODING = CodingFilter()


def coder_names(store: Store) -> set[str]:
    """Everyone with a coding in the project."""
    return {name for (name,) in store.conn.execute("SELECT DISTINCT coder FROM codings")}


def quote_rows(store: Store, chosen: CodingFilter = EVERY_CODING) -> Iterator[tuple]:
    """The chosen codings (ok ones) as quotes, in report order (case, dimension, code,
    transcript, span, coder): (case, transcript, informant, role, code, code label, dimension,
    dimension label, segment, text, start, end, coder, memo, uuid, the transcript's
    attributes, the case's, transcript id, its segment's start, end, speaker and start_ms)."""
    where, params = [f"c.{IS_OK}"], []
    condition, condition_params = chosen.sql()
    if condition:
        where.append(condition)
        params += condition_params
    return store.conn.execute(
        'SELECT t.case_name, t.name, t.informant, t.role, c.code, co.label, co.dimension, d.label, c.segment, '
        'c.text, c.start, c."end", c.coder, c.memo, c.uuid, t.attributes, cs.attributes, t.id, s.start, s."end", '
        "s.speaker, s.start_ms "
        "FROM codings c JOIN transcripts t ON t.id = c.transcript_id JOIN codes co ON co.path = c.code "
        "JOIN dimensions d ON d.id = co.dimension LEFT JOIN cases cs ON cs.name = t.case_name "
        "LEFT JOIN segments s ON s.transcript_id = c.transcript_id AND s.number = c.segment "
        f"WHERE {' AND '.join(where)} "
        "ORDER BY t.case_name IS NULL, cs.rowid, d.position, co.position, t.name, c.start, c.\"end\", c.coder",
        params)


def segment_ancestors(store: Store, chosen: CodingFilter = EVERY_CODING) -> Iterator[tuple[int, str]]:
    """(segment id, code) for each code a chosen coding (an ok one) on the segment counts for:
    its own and every code above it."""
    condition, params = chosen.sql()
    return store.conn.execute(
        "SELECT s.id, cl.ancestor FROM codings c JOIN segments s ON s.transcript_id = c.transcript_id "
        f"AND s.number = c.segment JOIN code_closure cl ON cl.descendant = c.code WHERE c.{IS_OK}"
        + (f" AND {condition}" if condition else ""), params)


def uuids(store: Store, chosen: CodingFilter = EVERY_CODING) -> set[str]:
    """The ids of the chosen codings, whatever their status."""
    condition, params = chosen.sql()
    return {u for (u,) in store.conn.execute(f"SELECT c.uuid FROM codings c WHERE {condition or '1'}", params)}


def memos(store: Store, chosen: CodingFilter = EVERY_CODING) -> Iterator[tuple]:
    """(uuid, transcript, code, coder, memo, created_at) of each chosen coding with a memo, by
    transcript name and start."""
    condition, params = chosen.sql()
    return store.conn.execute(
        "SELECT c.uuid, t.name, c.code, c.coder, c.memo, c.created_at FROM codings c JOIN transcripts t "
        "ON t.id = c.transcript_id WHERE c.memo IS NOT NULL AND c.memo != ''"
        + (f" AND {condition}" if condition else "") + " ORDER BY t.name, c.start", params)

def codes_in_use(store: Store) -> set[str]:
    """The codes that have codings, whatever their status (a codebook load keeps them)."""
    return {code for (code,) in store.conn.execute("SELECT DISTINCT code FROM codings")}


# -- several coders (coder/agreement.py) ---------------------------------------------------------
# A set of coders travels as a bit mask: coder i of the list is bit 1 << i, so SQLite can
# say which of them put a code on a unit (SUM(DISTINCT bit)) without one row per coder.

def _coder_bits(coders: Sequence[str]) -> tuple[str, list]:
    """SQL giving a coding's coder bit (0 for other coders), and its parameters."""
    cases = " ".join("WHEN ? THEN ?" for _ in coders)
    params: list = []
    for index, name in enumerate(coders):
        params += [name, 1 << index]
    return f"(CASE c.coder {cases} ELSE 0 END)", params


def counts_by_coder(store: Store) -> list[tuple[str, str, str, int]]:
    """(coder, transcript, code, codings) for every coder's codings (orphaned ones left out)."""
    return store.conn.execute(
        "SELECT c.coder, t.name, c.code, COUNT(*) FROM codings c JOIN transcripts t ON t.id = c.transcript_id "
        f"WHERE c.{IS_OK} GROUP BY c.coder, t.name, c.code ORDER BY c.coder, t.name, c.code").fetchall()


def transcripts_coded_by_all(store: Store, coders: Sequence[str], among: Sequence[int] | None = None) -> list[int]:
    """Ids of the transcripts in which every one of `coders` has at least one coding (only
    those in `among`, when given)."""
    bits, params = _coder_bits(coders)
    only = "AND c.transcript_id IN (SELECT value FROM json_each(?))" if among is not None else ""
    extra = [json.dumps(list(among))] if among is not None else []
    return [r[0] for r in store.conn.execute(
        f"SELECT c.transcript_id FROM codings c WHERE c.{IS_OK} {only} GROUP BY c.transcript_id "
        f"HAVING SUM(DISTINCT {bits}) = ?", [*extra, *params, (1 << len(coders)) - 1])]


def segment_coder_patterns(store: Store, coders: Sequence[str], transcript_ids: Sequence[int], *,
                           per_transcript: bool = True) -> list[tuple[bool, int, str, int, int]]:
    """(with sub-codes, transcript id, code, coder mask, segments): how many segments of each
    transcript (of all of them, transcript id 0, unless `per_transcript`) carry the code (with its sub-codes' codings, or only its own) by exactly the coders in
    the mask. One pass over the codings; a code's mask with its sub-codes ORs theirs on
    the segment, bit by bit (SQLite has no bitwise-or aggregate)."""
    bits, params = _coder_bits(coders)
    union = " + ".join(f"MAX(mask & {1 << i})" for i in range(len(coders)))
    # one group per transcript only when asked: a fifth less time at 100,000 codings without
    tid, by = ("tid", "tid, ") if per_transcript else ("0", "")
    return [(bool(folded), tid, code, mask, n) for folded, tid, code, mask, n in store.conn.execute(
        f"WITH exact AS MATERIALIZED (SELECT c.transcript_id AS tid, c.segment AS segment, c.code AS code, "
        f"SUM(DISTINCT {bits}) AS mask FROM codings c WHERE c.{IS_OK} AND c.segment IS NOT NULL "
        "AND c.transcript_id IN (SELECT value FROM json_each(?)) AND c.coder IN (SELECT value FROM json_each(?)) "
        "GROUP BY c.transcript_id, c.segment, c.code) "
        f"SELECT 0, {tid}, code, mask, COUNT(*) FROM exact GROUP BY {by}code, mask UNION ALL "
        f"SELECT 1, {tid}, code, mask, COUNT(*) FROM (SELECT tid, cl.ancestor AS code, {union} AS mask "
        "FROM exact JOIN code_closure cl ON cl.descendant = exact.code GROUP BY tid, segment, cl.ancestor) "
        f"GROUP BY {by}code, mask", [*params, json.dumps(list(transcript_ids)), json.dumps(list(coders))])]


def segment_codes_by_coder(store: Store, coders: Sequence[str],
                           transcript_ids: Sequence[int]) -> list[tuple[str, int, str, str]]:
    """(transcript, segment, coder, code) for each code these coders put on a segment of
    these transcripts, once, in codebook order."""
    return store.conn.execute(
        "SELECT DISTINCT t.name, c.segment, c.coder, c.code FROM codings c "
        "JOIN transcripts t ON t.id = c.transcript_id JOIN codes co ON co.path = c.code "
        f"WHERE c.{IS_OK} AND c.segment IS NOT NULL AND c.transcript_id IN (SELECT value FROM json_each(?)) "
        "AND c.coder IN (SELECT value FROM json_each(?)) ORDER BY t.name, c.segment, c.coder, co.position",
        (json.dumps(list(transcript_ids)), json.dumps(list(coders)))).fetchall()


def coder_spans(store: Store, coders: Sequence[str],
                transcript_ids: Sequence[int]) -> Iterator[tuple[int, str, int, int, int]]:
    """(transcript id, code, coder bit, start, end) of each coding of these coders in these
    transcripts, a transcript's together (a cursor: read as it goes)."""
    bits, params = _coder_bits(coders)
    return store.conn.execute(
        f'SELECT c.transcript_id, c.code, {bits}, c.start, c."end" FROM codings c '
        f"WHERE c.{IS_OK} AND c.transcript_id IN (SELECT value FROM json_each(?)) "
        "AND c.coder IN (SELECT value FROM json_each(?)) ORDER BY c.transcript_id",
        [*params, json.dumps(list(transcript_ids)), json.dumps(list(coders))])


# -- merge: the codings of another copy of the project (coder/merge.py) ------------------------

def of_transcript_in_full(store: Store, transcript_id: int) -> list[dict]:
    """A transcript's codings, every column, in the order of their spans."""
    return [dict(r) for r in store.query("SELECT * FROM codings WHERE transcript_id = ? ORDER BY start, id",
                                         (transcript_id,))]


def keys_of_transcript(store: Store, transcript_id: int) -> list[tuple]:
    """(uuid, code, coder, memo, status) of a transcript's codings."""
    return store.conn.execute("SELECT uuid, code, coder, memo, status FROM codings WHERE transcript_id = ?",
                              (transcript_id,)).fetchall()


_IDENTITY = 'SELECT uuid, transcript_id, start, "end", code, coder, memo FROM codings'


def identities_of_transcript(store: Store, transcript_id: int) -> list[tuple]:
    """(uuid, transcript_id, start, end, code, coder, memo) of a transcript's codings."""
    return store.conn.execute(f"{_IDENTITY} WHERE transcript_id = ?", (transcript_id,)).fetchall()


def identities_by_uuid(store: Store, uuids: Sequence[str]) -> dict[str, tuple]:
    """uuid -> (uuid, transcript_id, start, end, code, coder, memo) of the codings among
    `uuids` (each looked up in the uuid index: the work grows with `uuids`, not the project)."""
    return {row[0]: row for row in store.conn.execute(
        f"{_IDENTITY} WHERE uuid IN (SELECT value FROM json_each(?))", (json.dumps(list(uuids)),))}


def last_id(store: Store) -> int:
    """The largest row id of codings (0 if none): a batch written in one transaction after
    this takes the ids above it, one by one."""
    return store.conn.execute("SELECT COALESCE(MAX(id), 0) FROM codings").fetchone()[0]


# -- REFI-QDA export (coder/refi.py): a transcript's codings at a time -------------------------

def _exchange_where(codes: Sequence[str], chosen: CodingFilter) -> tuple[str, list]:
    """The codings a .qdpx holds: ok ones (an orphaned one has no place in a text), of these
    codes, that the filters keep."""
    condition, params = chosen.sql()
    return (f"c.{IS_OK} AND c.code IN (SELECT value FROM json_each(?))" + (f" AND {condition}" if condition else ""),
            [json.dumps(list(codes)), *params])


def exchange_of_transcript(store: Store, transcript_id: int, codes: Sequence[str],
                           chosen: CodingFilter = EVERY_CODING) -> list[tuple]:
    """(uuid, start, end, code, coder, memo, created_at) of a transcript's codings in a .qdpx,
    in the order of their spans (start, end, code, coder)."""
    where, params = _exchange_where(codes, chosen)
    return store.conn.execute(
        'SELECT c.uuid, c.start, c."end", c.code, c.coder, c.memo, c.created_at FROM codings c '
        f'WHERE c.transcript_id = ? AND {where} ORDER BY c.start, c."end", c.code, c.coder',
        [transcript_id, *params]).fetchall()


def exchange_coders(store: Store, codes: Sequence[str], chosen: CodingFilter = EVERY_CODING) -> list[str]:
    """The coders of the codings in a .qdpx, in the order they first code in it (transcripts by
    id, then spans as `exchange_of_transcript` orders them): one pass over the codings, then
    one short look per coder."""
    where, params = _exchange_where(codes, chosen)
    firsts = []
    for coder, transcript_id in store.conn.execute(
            f"SELECT c.coder, MIN(c.transcript_id) FROM codings c WHERE {where} GROUP BY c.coder", params).fetchall():
        first = store.conn.execute(
            f'SELECT c.start, c."end", c.code FROM codings c WHERE c.transcript_id = ? AND c.coder = ? AND {where} '
            'ORDER BY c.start, c."end", c.code LIMIT 1', [transcript_id, coder, *params]).fetchone()
        firsts.append(((transcript_id, *first, coder), coder))
    return [coder for _, coder in sorted(firsts)]


def exchange_present(store: Store, uuids: Sequence[str], codes: Sequence[str],
                     chosen: CodingFilter = EVERY_CODING) -> set[str]:
    """Those of `uuids` (a memo's codings) that are codings in a .qdpx."""
    where, params = _exchange_where(codes, chosen)
    return {uuid for (uuid,) in store.conn.execute(
        f"SELECT c.uuid FROM codings c WHERE c.uuid IN (SELECT value FROM json_each(?)) AND {where}",
        [json.dumps(list(uuids)), *params])}
