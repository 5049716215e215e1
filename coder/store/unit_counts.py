"""Precomputed counts for `report freq`: per transcript, how many units carry each set of codes.

A frequency table counts units (segments, words, documents), each once however many of
its codes apply, per group of transcripts (`--by`, any attribute). Every such table
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

A word is a unit of its own: its code set is every code whose span touches it (`word_sets`),
so words under two overlapping codings count once, and a transcript never has more coded
words than words. The stored word counts are recounted turn by turn (`turn_word_rows`): a
turn coded whole (and quotes side by side in it) has its codings' `words`, and only a turn
with overlapping quotes has its words counted in the text: the text is otherwise looked at
only at the edges of the coded turns. That needs no column, migration or work at import.

A report brings the counts up to date for the transcripts that changed, in a short write
transaction, and reads them. When it cannot write (a read-only file, another process
holding the write lock) it counts from the codings directly: the same numbers, slower.
"""
from __future__ import annotations

import json
import sqlite3
from typing import Iterator

from coder.store import Store
from coder.store.schema import IS_OK
from coder.text import WORD

SEEN_KEY = "unit_counts_seen"
FULL_REBUILD_SHARE = 0.5  # above this share of transcripts stale, rebuild the unit's rows outright
COMMIT_WAIT_MS = 2000  # how long a report's commit of the counts may wait for readers (rollback journal)

# Each unit with the codes on it, in the order of the covering index codings_units (so SQLite
# groups without sorting the codings): per segment, per transcript. `{only}` narrows it to
# some transcripts, `{coders}` to some coders. Words are counted in Python (`word_sets`).
UNIT_CODES = {
    "segments": "SELECT c.transcript_id AS tid, group_concat(c.code) AS codes, 1 AS n FROM codings c "
                f"WHERE c.{IS_OK} AND c.segment IS NOT NULL{{only}}{{coders}} GROUP BY c.transcript_id, c.segment",
    "documents": "SELECT c.transcript_id AS tid, group_concat(DISTINCT c.code) AS codes, 1 AS n FROM codings c "
                 f"WHERE c.{IS_OK}{{only}}{{coders}} GROUP BY c.transcript_id",
}
UNITS = ("segments", "word_sets", "documents")
# Words are stored as "word_sets" (each word once, with every code touching it); coder before
# that stored "words" per coded span, which counted overlapping codings twice: such rows are
# dropped at the first recount.
STORED_UNIT = {"segments": "segments", "words": "word_sets", "documents": "documents", "informants": "documents",
               "word_sets": "word_sets"}
OLD_WORDS = "words"
_ONLY = " AND c.transcript_id IN (SELECT value FROM json_each(:ids))"
_CODERS = " AND c.coder IN (SELECT value FROM json_each(:coders))"


def unit_rows_sql(store: Store, unit: str, *, coders: tuple[str, ...] = ()) -> tuple[str, dict]:
    """SQL (and its parameters) for rows (tid, codes, n) of the unit: the stored counts,
    brought up to date first when they can be; else computed from the codings. The stored
    counts hold every coder's codings: only some coders' are always counted afresh."""
    stored = STORED_UNIT[unit]
    if not coders and refresh(store, stored):
        return f"SELECT transcript_id AS tid, codes, n FROM unit_counts WHERE unit = '{stored}'", {}
    return live_rows_sql(store, unit, coders=coders)


def live_rows_sql(store: Store, unit: str, *, coders: tuple[str, ...] = ()) -> tuple[str, dict]:
    """The same rows, always computed from the codings (what the stored counts must equal)."""
    stored = STORED_UNIT[unit]
    params = {"coders": json.dumps(list(coders))} if coders else {}
    if stored != "word_sets":
        return UNIT_CODES[stored].format(only="", coders=_CODERS if coders else ""), params
    # Words need the text: counted here, handed to SQLite as JSON (no table: the file may be
    # open read-only, even for temporary ones)
    rows = json.dumps(list(word_rows(store.conn, coders=coders)))
    return ("SELECT json_extract(value, '$[0]') AS tid, json_extract(value, '$[1]') AS codes, "
            "json_extract(value, '$[2]') AS n FROM json_each(:word_rows)", {"word_rows": rows})


def word_sets(text: str, spans: list[tuple[int, int, str]]) -> dict[str, int]:
    """{code set: how many words carry exactly it} for one transcript: a word carries every
    code whose span touches it (`spans`: (start, end, code), sorted by start). A word under
    two overlapping codings is one word, so no code set holds more words than the text.

    The span edges cut the text into pieces each under one set of spans; the regex counts
    the words of each piece at C speed, and only a word cut by an edge (rare: spans mostly
    begin and end between words) is looked at on its own, and counted once."""
    from bisect import bisect_left, bisect_right

    counts: dict[str, int] = {}
    names: dict[frozenset, str] = {}

    def add(codes: frozenset, n: int) -> None:
        name = names.get(codes)
        if name is None:
            name = names[codes] = ",".join(sorted(codes))
        counts[name] = counts.get(name, 0) + n

    index, size = 0, len(spans)
    while index < size:
        # one stretch of spans overlapping (or sharing a word) at a time
        high, last = spans[index][1], index
        while last + 1 < size and spans[last + 1][0] < _word_end(text, high):
            last += 1
            high = max(high, spans[last][1])
        stretch = spans[index:last + 1]
        index = last + 1
        edges = sorted({edge for start, end, _ in stretch for edge in (start, end)})
        pieces: list[frozenset] = []  # the codes over each piece edges[i]..edges[i + 1]
        taken, active = 0, []
        for low in edges[:-1]:
            while taken < len(stretch) and stretch[taken][0] <= low:
                active.append(stretch[taken])
                taken += 1
            active = [span for span in active if span[1] > low]
            pieces.append(frozenset(span[2] for span in active))
        for i, codes in enumerate(pieces):
            if codes:
                n = len(WORD.findall(text, edges[i], edges[i + 1]))
                if n:
                    add(codes, n)
        cut = set()  # words an edge falls inside: counted above once per piece, now once in all
        for edge in edges:
            if 0 < edge < len(text) and WORD.match(text, edge - 1, edge + 1) and \
                    WORD.match(text, edge - 1, edge + 1).end() == edge + 1:
                cut.add((_word_start(text, edge), _word_end(text, edge)))
        for start, end in cut:
            union: frozenset = frozenset()
            for i in range(max(0, bisect_right(edges, start) - 1), min(len(pieces), bisect_left(edges, end))):
                if pieces[i]:
                    add(pieces[i], -1)
                    union |= pieces[i]
            if union:
                add(union, 1)
    return {name: n for name, n in counts.items() if n}


def _word_start(text: str, offset: int) -> int:
    """Back to the start of the word that offset cuts (further is harmless: only words a
    span touches are counted)."""
    while offset > 0 and WORD.match(text, offset - 1, offset):
        offset -= 1
    return offset


def _word_end(text: str, offset: int) -> int:
    while offset < len(text) and WORD.match(text, offset, offset + 1):
        offset += 1
    return offset


def word_rows(conn: sqlite3.Connection, *, only: list[int] | None = None,
              coders: tuple[str, ...] = ()) -> Iterator[tuple[int, str, int]]:
    """Rows (transcript, code set, words) counted from the codings and the texts, one
    transcript at a time (its spans and its text only: a million codings are never held)."""
    where, params = [f"c.{IS_OK}"], {}
    if only is not None:
        where.append("c.transcript_id IN (SELECT value FROM json_each(:ids))")
        params["ids"] = json.dumps(only)
    if coders:
        where.append("c.coder IN (SELECT value FROM json_each(:coders))")
        params["coders"] = json.dumps(list(coders))
    def counted(tid: int, coded: list) -> Iterator[tuple[int, str, int]]:
        text = conn.execute("SELECT text FROM transcripts WHERE id = ?", (tid,)).fetchone()[0]
        for codes, n in word_sets(text, coded).items():
            yield tid, codes, n

    current, spans = None, []
    for tid, start, end, code in conn.execute(
            f'SELECT c.transcript_id, c.start, c."end", c.code FROM codings c WHERE {" AND ".join(where)} '
            f'ORDER BY c.transcript_id, c.start, c."end"', params):
        if tid != current:
            if spans:
                yield from counted(current, spans)
            current, spans = tid, []
        spans.append((start, end, code))
    if spans:
        yield from counted(current, spans)


# The codings of each turn (those whose start a turn holds: one `segment`), grouped in the
# order of the covering index codings_units, per transcript (some: `{only}`): where the
# group's spans begin and end, whether they are all one span, their words and codes
# (char(31)-separated), and the spans with their words ("start end words start end words
# ...", in the codes' order).
_TURN_CODINGS = (
    'SELECT c.transcript_id, min(c.start), max(c."end"), min(c.start) = max(c.start) AND '
    'min(c."end") = max(c."end"), max(c.words), group_concat(c.code, char(31)), '
    "group_concat(c.start || ' ' || c.\"end\" || ' ' || c.words, ' ') "
    f"FROM codings c WHERE c.{IS_OK}{{only}} GROUP BY c.transcript_id, c.segment "
    "ORDER BY c.transcript_id, c.segment")


def turn_word_rows(conn: sqlite3.Connection, *, only: list[int] | None = None) -> Iterator[tuple[int, str, int]]:
    """The rows `word_rows` gives (every coder's codings; the same numbers), with most
    words counted without the text: what the stored counts are recounted from.

    The codings of one turn touch words within [first start, last end] only, when no word
    crosses either edge (two characters of the text tell); then no other turn's codings touch
    them, as long as the turns' spans do not overlap. A turn whose codings all have one span
    (coded by segment, by any number of codes and coders) has that span's words under the
    set of its codes: the coding's `words`, counted by coder's writer (coder/coding.py) when it
    was coded. Only a turn with spans of different extents (a quote in a coded turn) has them
    put through `word_sets`, and a transcript where some turn's spans cross a word or another
    turn's is counted by `word_sets` over all its spans, as `word_rows` counts it."""
    params = {"ids": json.dumps(only)} if only is not None else {}
    current, turns = None, []
    for row in conn.execute(_TURN_CODINGS.format(only=_ONLY if only is not None else ""), params):
        if row[0] != current:
            if turns:
                yield from _turn_words(conn, current, turns)
            current, turns = row[0], []
        turns.append(row[1:])
    if turns:
        yield from _turn_words(conn, current, turns)


def _turn_words(conn: sqlite3.Connection, tid: int, turns: list[tuple]) -> list[tuple[int, str, int]]:
    """Rows (transcript, code set, words) of one transcript from its turns' codings (rows of
    `_TURN_CODINGS`)."""
    text = conn.execute("SELECT text FROM transcripts WHERE id = ?", (tid,)).fetchone()[0]
    reach = 0
    counts: dict[str, int] = {}
    names: dict[frozenset, str] = {}
    mixed = []  # the turns whose spans differ
    turns.sort()  # by where their spans begin (an ok coding without a turn comes first otherwise)
    for turn in turns:
        low, high, alike, words, codes = turn[:5]
        if low < reach or _cuts_word(text, low) or _cuts_word(text, high):
            return _all_spans(tid, text, turns)
        reach = high
        if not alike:
            mixed.append(turn)
            continue
        codes_on = frozenset(codes.split("\x1f"))
        name = names.get(codes_on)
        if name is None:
            name = names[codes_on] = ",".join(sorted(codes_on))
        counts[name] = counts.get(name, 0) + words
    for turn in mixed:
        spans = _spans(turn)
        nested = _nested_words(text, spans, turn[0], turn[1])
        for codes_on, n in nested or ():
            name = names.get(codes_on)
            if name is None:
                name = names[codes_on] = ",".join(sorted(codes_on))
            counts[name] = counts.get(name, 0) + n
        if nested is None:
            for name, n in word_sets(text, [span[:3] for span in spans]).items():
                counts[name] = counts.get(name, 0) + n
    return [(tid, name, n) for name, n in counts.items() if n]


def _nested_words(text: str, spans: list[tuple[int, int, str, int]], low: int, high: int) \
        -> list[tuple[frozenset, int]] | None:
    """(code set, words) of one turn's spans (start, end, code, words) from their `words`,
    when they are quotes side by side, maybe inside a span over them all (a turn coded whole
    with quotes in it): no two quotes overlap and no word crosses a quote's edge, so each
    quote's words carry its codes and the outer span's, and the outer span's other words its
    codes only. None for anything else (`word_sets` counts it)."""
    outer: set[str] = set()
    outer_words = 0
    quotes: dict[tuple[int, int], tuple[set[str], int]] = {}
    for start, end, code, words in spans:
        if start == low and end == high:
            outer.add(code)
            outer_words = words
        else:
            quotes.setdefault((start, end), (set(), words))[0].add(code)
    reach = low
    for start, end in sorted(quotes):
        if start < reach or _cuts_word(text, start) or _cuts_word(text, end):
            return None
        reach = end
    covered = frozenset(outer)
    rows = [(covered | codes, words) for codes, words in quotes.values()]
    if outer:
        rows.append((covered, outer_words - sum(words for _, words in quotes.values())))
    return rows


def _cuts_word(text: str, offset: int) -> bool:
    """Whether a word goes on across the offset (a letter on either side of it)."""
    found = WORD.match(text, offset - 1, offset + 1) if offset > 0 else None
    return found is not None and found.end() == offset + 1


def _spans(turn: tuple) -> list[tuple[int, int, str, int]]:
    """A row of `_TURN_CODINGS` as spans (start, end, code, words), by start."""
    numbers = [int(number) for number in turn[5].split(" ")]
    return sorted(zip(numbers[::3], numbers[1::3], turn[4].split("\x1f"), numbers[2::3]))


def _all_spans(tid: int, text: str, turns: list[tuple]) -> list[tuple[int, str, int]]:
    spans = sorted(span[:3] for turn in turns for span in _spans(turn))
    return [(tid, name, n) for name, n in word_sets(text, spans).items()]


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


# Counted by the bulk writers themselves: a GROUP BY over the codings, about 2% of writing
# them. Words (`turn_word_rows`: a GROUP BY too, and a look at each coded turn's edges in the
# text, about 15% of writing the codings) are left to the first `report freq --unit words`,
# which pays for them once however many bulk writes came before it.
BULK_UNITS = ("segments", "documents")


def refresh_after_bulk_write(store: Store) -> bool:
    """After a bulk write of codings (`code apply`, `autocode --apply`): bring the segment
    and document counts up to date, for the transcripts whose codings changed only, so the
    first `report freq` after it reads them as any later one does. False when some could
    not be stored (another writer: the next report counts them)."""
    return all([refresh(store, unit) for unit in BULK_UNITS])


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
        only, source, params = None, UNIT_CODES.get(unit, "").format(only="", coders=""), {"unit": unit}
        conn.execute("DELETE FROM unit_counts_fresh WHERE unit = ?", (unit,))
        fresh_sql, fresh_params = "SELECT id, :unit FROM transcripts", {"unit": unit}
    else:
        ids = json.dumps(stale)
        conn.execute("DELETE FROM unit_counts WHERE unit = :unit AND transcript_id IN "
                     "(SELECT value FROM json_each(:ids))", {"unit": unit, "ids": ids})
        only, source, params = stale, UNIT_CODES.get(unit, "").format(only=_ONLY, coders=""), \
            {"unit": unit, "ids": ids}
        fresh_sql, fresh_params = "SELECT value, :unit FROM json_each(:ids)", {"unit": unit, "ids": ids}
    if unit == "word_sets":
        conn.execute("DELETE FROM unit_counts WHERE unit = ?", (OLD_WORDS,))
        conn.execute("DELETE FROM unit_counts_fresh WHERE unit = ?", (OLD_WORDS,))
        conn.executemany("INSERT INTO unit_counts(unit, transcript_id, codes, n) VALUES ('word_sets', ?, ?, ?)",
                         turn_word_rows(conn, only=only))
    else:
        conn.execute(f"INSERT INTO unit_counts(unit, transcript_id, codes, n) SELECT :unit, u.tid, u.codes, "
                     f"SUM(u.n) FROM ({source}) u GROUP BY u.tid, u.codes", params)
    conn.execute(f"INSERT OR IGNORE INTO unit_counts_fresh(transcript_id, unit) {fresh_sql}", fresh_params)


def verify(store: Store) -> int:
    """`coder check`: compare the stored counts of every transcript marked current with a
    recount from the codings. Returns how many (transcript, unit) pairs disagree, and marks
    those for recounting (unless the file is read-only). Disagreement means a program wrote
    codings with ids it chose itself below the highest, or a bug in coder."""
    conn = store.conn
    wrong: set[tuple[int, str]] = set()
    pending = new_codings(store)
    for unit in UNITS:
        fresh = {tid for (tid,) in conn.execute("SELECT transcript_id FROM unit_counts_fresh WHERE unit = ?", (unit,))}
        fresh -= pending  # their new codings are counted at the next report, as designed
        if not fresh:
            continue
        stored = _canonical(conn.execute("SELECT transcript_id, codes, n FROM unit_counts WHERE unit = ?", (unit,)),
                            fresh)
        live_sql, live_params = live_rows_sql(store, unit)
        live = _canonical(conn.execute(f"SELECT u.tid, u.codes, u.n FROM ({live_sql}) u", live_params), fresh)
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
        if tid in only and n:
            key = tuple(sorted(codes.split(",")))
            per = out.setdefault(tid, {})
            per[key] = per.get(key, 0) + n
    return out


def forget_transcript(store: Store, transcript_id: int) -> None:
    """Drop a removed transcript's stored counts (a transcript added later may get its id)."""
    store.conn.execute("DELETE FROM unit_counts WHERE transcript_id = ?", (transcript_id,))
    store.conn.execute("DELETE FROM unit_counts_fresh WHERE transcript_id = ?", (transcript_id,))


# -- the reports' tally (coder/reports.py) ---------------------------------------------------

def tally_rows(store: Store, unit: str, axes: tuple[str, ...], *, coders: tuple[str, ...] = (),
               transcript_ids: list[int] | None = None, stored: bool = True) -> Iterator[tuple]:
    """Rows (axis values..., informant, code set, units): how many units of the transcripts
    (all, or `transcript_ids`) carry each set of codes (of `coders`' codings), per value of each
    axis (an SQL value over the transcript `t` and its case `cs`: coder/store/transcripts.py's
    `group_sql`). The informant is None unless the unit is informants. From the stored
    counts, brought up to date first, unless `stored` is False."""
    source = unit_rows_sql if stored else live_rows_sql
    unit_rows, params = source(store, unit, coders=coders)
    # (only what a unit needs: each column here is sorted once per unit)
    informant = ("COALESCE(t.informant, t.name)", ["i"]) if unit == "informants" else ("NULL", [])
    cases = "LEFT JOIN cases cs ON cs.name = t.case_name" if any("cs." in axis for axis in axes) else ""
    where = ""
    if transcript_ids is not None:
        where = "WHERE t.id IN (SELECT value FROM json_each(:tids))"
        params = {**params, "tids": json.dumps(transcript_ids)}
    names = [f"g{i}" for i in range(len(axes))]
    columns = "".join(f"{axis} AS {name}, " for axis, name in zip(axes, names))
    sql = (f"SELECT {columns}{informant[0]} AS i, u.codes, SUM(u.n) FROM ({unit_rows}) u "
           f"JOIN transcripts t ON t.id = u.tid {cases} {where} GROUP BY {', '.join([*names, *informant[1], 'u.codes'])}")
    return store.conn.execute(sql, params)
