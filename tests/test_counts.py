"""The precomputed counts behind `report freq` (coder/counts.py) always give the numbers that
counting the codings gives, whatever wrote the codings and in whatever order."""
from __future__ import annotations

import sqlite3
import uuid

from hypothesis import HealthCheck, given, settings, strategies as st

from coder.reports import UNITS, frequencies
from coder.store import Store
from coder.text import count_words
from conftest import CODEBOOK, HAMAR_1, LIER_1, db_rows


def _live(db, unit: str, level: str = "code") -> list[dict]:
    store = Store.open(db)
    try:
        return list(frequencies(store, unit=unit, level=level, stored=False).cells)
    finally:
        store.close()


def _cooccurrence_by_join(db, unit: str, codes: tuple[str, ...] = ()) -> list[dict]:
    """Co-occurrence the plain way, joining the codings to themselves on the unit: what
    `report cooccurrence` must equal. A code counts its sub-codes (with or without `codes`),
    and is not paired with them."""
    unit_sql = "(c.transcript_id << 24) | c.segment" if unit == "segments" else "c.transcript_id"
    units = (f"SELECT DISTINCT {unit_sql} AS u, cl.ancestor AS code FROM codings c JOIN code_closure cl "
             f"ON cl.descendant = c.code WHERE c.status = 'ok' AND c.segment IS NOT NULL")
    if codes:
        units += f" AND cl.ancestor IN ({','.join('?' * len(codes))})"
    if unit == "documents":
        units = units.replace(" AND c.segment IS NOT NULL", "")
    rows = db_rows(db, f"WITH units AS ({units}) SELECT a.code, b.code, COUNT(*) FROM units a JOIN units b "
                       "ON a.u = b.u AND a.code < b.code WHERE NOT EXISTS (SELECT 1 FROM code_closure x WHERE "
                       "(x.ancestor = a.code AND x.descendant = b.code) OR (x.ancestor = b.code AND "
                       "x.descendant = a.code)) GROUP BY a.code, b.code ORDER BY a.code, b.code", codes)
    return [{"code_a": a, "code_b": b, "count": n} for a, b, n in rows]


def assert_counts_match(project) -> None:
    """`report freq` and `report cooccurrence` (from the stored counts, brought up to date by
    the command) equal counting the codings, for every unit and both levels."""
    for unit in UNITS:
        for level in ("code", "dimension"):
            result = project.run("report", "freq", "--unit", unit, "--level", level, "--json")
            assert result.exit_code == 0, result.stderr
            assert result.json() == _live(project.db, unit, level), f"unit={unit} level={level}"
    for unit in ("segments", "documents"):
        for codes in ((), ("horizontal.relations", "vertical.two_bosses", "horizontal.partnership_meeting")):
            args = [arg for code in codes for arg in ("--codes", code)]
            result = project.run("report", "cooccurrence", "--unit", unit, *args, "--json")
            assert result.exit_code == 0, result.stderr
            assert result.json() == _cooccurrence_by_join(project.db, unit, codes), f"cooccurrence {unit} {codes}"


def _code(project, *args) -> None:
    result = project.run("code", *args)
    assert result.exit_code == 0, result.stderr


def test_a_report_stores_the_counts_and_reads_them_back(loaded):
    _code(loaded, "add", "hamar_1", "2", "two_bosses")
    _code(loaded, "add", "hamar_1", "2", "communication")
    _code(loaded, "add", "lier_1", "4", "two_bosses")
    assert_counts_match(loaded)
    transcripts = db_rows(loaded.db, "SELECT count(*) FROM transcripts")[0][0]
    fresh = db_rows(loaded.db, "SELECT unit, count(*) FROM unit_counts_fresh GROUP BY unit ORDER BY unit")
    assert fresh == [(unit, transcripts) for unit in ("documents", "segments", "word_sets")]
    # the report reads the stored rows: a stored count changed behind coder's back shows
    with sqlite3.connect(loaded.db) as conn:
        conn.execute("UPDATE unit_counts SET n = n + 40 WHERE unit = 'segments'")
    cells = loaded.run("report", "freq", "--json").json()
    assert {c["code"]: c["count"] for c in cells if c["group"] == "Lier"} == {"vertical.two_bosses": 41}


def test_coding_removing_and_editing_a_transcript_keep_the_counts_right(loaded):
    assert_counts_match(loaded)  # stored while nothing is coded
    _code(loaded, "quote", "lier_1", "Det er ærlig talt en utfordring.", "equality")
    _code(loaded, "add", "lier_1", "4", "communication", "--coder", "bjorn")
    _code(loaded, "add", "hamar_1", "4", "vertical.partnership_meeting")
    assert_counts_match(loaded)
    coding = loaded.run("code", "list", "--transcript", "hamar_1", "--json").json()[0]
    _code(loaded, "remove", coding["id"])
    assert_counts_match(loaded)
    # the quoted sentence goes: its coding is orphaned and no longer counts
    loaded.write("transcripts/lier_1.txt", LIER_1.replace(" Det er ærlig talt en utfordring.", ""))
    assert loaded.run("import", "transcripts/lier_1.txt").exit_code == 0
    assert_counts_match(loaded)
    cells = loaded.run("report", "freq", "--json").json()
    assert [c["code"] for c in cells if c["group"] == "Lier"] == ["horizontal.relations",
                                                                  "horizontal.relations.communication"]


def test_a_reused_coding_id_is_still_seen_as_new(loaded):
    """SQLite gives the highest id again once its row is gone: the delete lowers the mark."""
    _code(loaded, "add", "hamar_1", "2", "two_bosses")
    _code(loaded, "add", "hamar_1", "4", "communication")
    assert_counts_match(loaded)
    top = db_rows(loaded.db, "SELECT max(id) FROM codings")[0][0]
    with sqlite3.connect(loaded.db) as conn:  # another program deletes the newest coding
        conn.execute("DELETE FROM codings WHERE id = ?", (top,))
    _code(loaded, "add", "lier_1", "4", "equality")
    assert db_rows(loaded.db, "SELECT max(id), transcript_id FROM codings")[0][0] == top
    assert_counts_match(loaded)


def test_edits_by_another_program_are_seen(loaded):
    _code(loaded, "add", "hamar_1", "2", "two_bosses")
    _code(loaded, "add", "lier_1", "2", "communication")
    assert_counts_match(loaded)
    with sqlite3.connect(loaded.db) as conn:
        conn.execute("UPDATE codings SET code = 'horizontal.relations.equality' WHERE code LIKE '%communication'")
    assert_counts_match(loaded)
    with sqlite3.connect(loaded.db) as conn:
        conn.execute("UPDATE codings SET status = 'orphaned', segment = NULL")
    assert_counts_match(loaded)
    assert loaded.run("report", "freq", "--json").json() == []


def test_a_report_does_not_wait_for_another_writer(loaded):
    _code(loaded, "add", "hamar_1", "2", "two_bosses")
    other = sqlite3.connect(loaded.db, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # a long import in another process holds the write lock
        result = loaded.run("report", "freq", "--json")  # the lock is held: it counts from the codings
        assert result.exit_code == 0, result.stderr
        assert result.json() == [{"group": "Hamar", "code": "vertical.two_bosses", "count": 1}]
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert db_rows(loaded.db, "SELECT count(*) FROM unit_counts_fresh") == [(0,)]  # counted from the codings
    assert_counts_match(loaded)


# -- property: any sequence of edits, by coder or by another program ----------------------

_SEGMENTS = {"hamar_1": 4, "lier_1": 4}
_CODES = ["two_bosses", "vertical.partnership_meeting", "communication", "equality", "relations", "horizontal.partnership_meeting"]
_add = st.tuples(st.just("add"), st.sampled_from(sorted(_SEGMENTS)), st.integers(1, 4), st.sampled_from(_CODES),
                 st.sampled_from(["anna", "bjorn"]))
_quote = st.tuples(st.just("quote"), st.sampled_from([
    ("hamar_1", "Jeg har to sjefer, rådmannen og fylkesdirektøren."), ("hamar_1", "Det er krevende."),
    ("hamar_1", "Det fungerer godt 👍 for oss."), ("lier_1", "Det er ærlig talt en utfordring."),
    ("lier_1", "Vi er likeverdige parter")]), st.sampled_from(_CODES))
_remove = st.tuples(st.just("remove"), st.integers(0, 50))
_external = st.tuples(st.just("external"), st.sampled_from(["delete_newest", "recode", "orphan_one", "move"]))
_edit = st.tuples(st.just("edit"), st.sampled_from(["prepend", "drop_sentence", "restore"]))
_report = st.tuples(st.just("report"))
# another program codes any span of a transcript (its text and words as coder writes them):
# inside a word, across turns, empty, the whole turn
_span = st.tuples(st.just("span"), st.sampled_from(sorted(_SEGMENTS)), st.integers(0, 400), st.integers(0, 120),
                  st.sampled_from(_CODES + ["horizontal.relations"]))


def _apply(project, op) -> None:
    kind = op[0]
    if kind == "add":
        _, transcript, segment, code, coder = op
        result = project.run("code", "add", transcript, str(segment), code, "--coder", coder)
        assert result.exit_code in (0, 1), result.stderr  # 1: already coded so
    elif kind == "quote":  # part of a turn: its own words, overlapping other codings
        (transcript, fragment), code = op[1], op[2]
        result = project.run("code", "quote", transcript, fragment, code)
        assert result.exit_code in (0, 1, 2), result.stderr  # 2: the fragment was dropped by an edit
    elif kind == "remove":
        ids = [c["id"] for c in project.run("code", "list", "--json").json()]
        if ids:
            _code(project, "remove", ids[op[1] % len(ids)])
    elif kind == "external":
        with sqlite3.connect(project.db) as conn:
            conn.execute("PRAGMA foreign_keys = ON")
            if op[1] == "delete_newest":
                conn.execute("DELETE FROM codings WHERE id = (SELECT max(id) FROM codings)")
            elif op[1] == "recode":
                conn.execute("UPDATE OR IGNORE codings SET code = 'vertical.partnership_meeting' "
                             "WHERE id = (SELECT min(id) FROM codings)")
            elif op[1] == "orphan_one":
                conn.execute("UPDATE codings SET status = 'orphaned', segment = NULL "
                             "WHERE id = (SELECT max(id) FROM codings WHERE status = 'ok')")
            else:  # another program moves a coding to the other transcript
                conn.execute("UPDATE OR IGNORE codings SET transcript_id = 3 - transcript_id "
                             "WHERE id = (SELECT min(id) FROM codings)")
    elif kind == "span":
        _, transcript, offset, length, code = op
        code = code if "." in code else {"two_bosses": "vertical.two_bosses", "communication":
                                         "horizontal.relations.communication", "equality":
                                         "horizontal.relations.equality", "relations": "horizontal.relations"}[code]
        with sqlite3.connect(project.db) as conn:
            tid, text = conn.execute("SELECT id, text FROM transcripts WHERE name = ?", (transcript,)).fetchone()
            start = min(offset * len(text) // 400, len(text))
            end = min(start + length, len(text))
            segment = conn.execute("SELECT COALESCE(max(number), 1) FROM segments WHERE transcript_id = ? AND "
                                   "start <= ?", (tid, start)).fetchone()[0]
            conn.execute("INSERT OR IGNORE INTO codings(uuid, transcript_id, segment, start, \"end\", code, coder, "
                         "text, words, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'other', ?, ?, 'now', 'now')",
                         (str(uuid.uuid5(uuid.NAMESPACE_URL, f"{tid}-{start}-{end}-{code}")), tid, segment, start, end, code, text[start:end],
                          count_words(text[start:end])))
    elif kind == "edit":
        text = {"prepend": "Intervjuer: Velkommen.\n\n" + HAMAR_1.split("---\n", 2)[2],
                "drop_sentence": HAMAR_1.replace(" Jeg har to sjefer, rådmannen og fylkesdirektøren.", ""),
                "restore": HAMAR_1}[op[1]]
        if op[1] == "prepend":
            text = HAMAR_1.split("---\n", 2)[0] + "---\n" + HAMAR_1.split("---\n", 2)[1] + "---\n" + text
        result = project.run("import", project.write("transcripts/hamar_1.txt", text))
        assert result.exit_code == 0, result.stderr
    else:
        assert project.run("report", "freq", "--unit", "words").exit_code == 0  # a report refreshes one unit


@settings(max_examples=12, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
          deadline=None)
@given(ops=st.lists(st.one_of(_add, _add, _quote, _span, _remove, _external, _edit, _report), min_size=1, max_size=7))
def test_stored_counts_equal_counting_the_codings_after_any_edits(tmp_path_factory, monkeypatch, ops):
    from conftest import Project

    monkeypatch.setenv("CODER_NAME", "tester")
    monkeypatch.setenv("CODER_DEBUG", "1")
    root = tmp_path_factory.mktemp("counts")
    project = Project(root, root / "coder.db")
    project.write("codebook.yaml", CODEBOOK)
    project.start("codebook.yaml", {"hamar_1.txt": HAMAR_1, "lier_1.txt": LIER_1})
    for op in ops:
        _apply(project, op)
        assert_counts_match(project)


def _word_rows_both_ways(text: str, turn_starts: list[int], spans: list[tuple[int, int, str]]):
    """(by turns, from the text) rows of a one-transcript project with these codings."""
    from bisect import bisect_right

    from coder.store import unit_counts

    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE transcripts (id INTEGER PRIMARY KEY, text TEXT)")
    conn.execute('CREATE TABLE codings (id INTEGER PRIMARY KEY, transcript_id INTEGER, segment INTEGER, start INTEGER, '
                 '"end" INTEGER, code TEXT, words INTEGER, status TEXT)')
    conn.execute('CREATE INDEX codings_units ON codings(status, transcript_id, segment, start, "end", words, code)')
    conn.execute("INSERT INTO transcripts VALUES (7, ?)", (text,))
    conn.executemany('INSERT INTO codings(transcript_id, segment, start, "end", code, words, status) '
                     "VALUES (7, ?, ?, ?, ?, ?, 'ok')",
                     [(max(1, bisect_right(turn_starts, start)), start, end, code, count_words(text[start:end]))
                      for start, end, code in spans])
    by_turns = unit_counts._canonical(unit_counts.turn_word_rows(conn), {7})
    from_text = unit_counts._canonical(unit_counts.word_rows(conn), {7})
    only = unit_counts._canonical(unit_counts.turn_word_rows(conn, only=[7, 8]), {7})
    conn.close()
    return by_turns, from_text, only


@st.composite
def _turns_and_spans(draw):
    """A text of words, punctuation and turns, and codings on it: whole turns (the usual
    segment coding, by several codes), quotes in them, and spans anywhere (inside a word,
    across turns, empty)."""
    pieces = draw(st.lists(st.sampled_from(["ab", "c", "_d", "æø", "12", " ", ", ", ".", "👍", "\n\nI: ", "\nLeder: "]),
                           min_size=1, max_size=30))
    text = "".join(pieces)
    turns, position = [], 0
    for piece in pieces:
        if piece.endswith(": "):
            turns.append(position + len(piece))
        position += len(piece)
    turns = turns or [0]
    bounds = [(start, (turns + [len(text) + 1])[i + 1] - 1) for i, start in enumerate(turns)]
    bounds = [(start, max(start, end - (end < len(text)))) for start, end in bounds]  # up to the newline
    codes = st.sampled_from(["a", "b", "c/d", "e"])
    whole = st.tuples(st.sampled_from(bounds), codes).map(lambda b: (b[0][0], b[0][1], b[1]))
    offsets = st.integers(0, len(text))
    anywhere = st.tuples(offsets, offsets, codes).map(lambda s: (min(s[:2]), max(s[:2]), s[2]))
    quote = st.tuples(st.sampled_from(bounds), st.integers(0, 8), st.integers(0, 8), codes).map(
        lambda q: (min(q[0][0] + q[1], q[0][1]), max(min(q[0][0] + q[1], q[0][1]), q[0][1] - q[2]), q[3]))
    spans = draw(st.lists(st.one_of(whole, whole, quote, anywhere), max_size=8, unique=True))
    return text, turns, spans


@settings(max_examples=300, deadline=None)
@given(case=_turns_and_spans())
def test_counting_words_by_turn_gives_what_the_text_gives(case):
    """Issue 19: the stored word counts are recounted from the codings' own word counts where
    a turn is coded whole, and from the text elsewhere: the same rows as counting every span
    in the text (`word_rows`), for any text and spans (quotes overlapping, cutting words,
    across turns, coded by several codes)."""
    text, turns, spans = case
    by_turns, from_text, only = _word_rows_both_ways(text, turns, spans)
    assert by_turns == from_text
    assert only == from_text


def test_the_first_words_report_after_code_apply_counts_turns_coded_whole_from_their_codings(loaded, monkeypatch):
    """Issue 19: after a bulk `code apply` the first `report freq --unit words` counts turns
    coded whole, and quotes side by side in them, from their codings' words: only a turn with
    overlapping quotes goes through `word_sets` (counting the words in the text), not every
    coded transcript's spans."""
    from coder.store import unit_counts

    rows = ["transcript,code,segment,coder", "hamar_1,two_bosses,2,anna", "hamar_1,communication,2,bjorn",
            "hamar_1,equality,4,anna", "lier_1,two_bosses,2,anna", "lier_1,equality,4,anna",
            "lier_1,equality,4,bjorn"]
    result = loaded.run("code", "apply", loaded.write("codings.csv", "\n".join(rows) + "\n"))
    assert result.exit_code == 0, result.stderr
    _code(loaded, "quote", "lier_1", "Det er ærlig talt en utfordring.", "equality")
    _code(loaded, "quote", "lier_1", "ærlig talt", "communication")
    counted: list[list] = []
    original = unit_counts.word_sets

    def recording(text, spans):
        counted.append([(start, end, code) for start, end, code in spans])
        return original(text, spans)

    monkeypatch.setattr(unit_counts, "word_sets", recording)
    result = loaded.run("report", "freq", "--unit", "words", "--json")
    assert result.exit_code == 0, result.stderr
    turn = db_rows(loaded.db, 'SELECT s.start, s."end" FROM segments s JOIN transcripts t ON t.id = s.transcript_id '
                              "WHERE t.name = 'lier_1' AND s.number = 2")[0]
    quotes = db_rows(loaded.db, 'SELECT start, "end", code FROM codings WHERE coder = \'tester\' ORDER BY start')
    assert counted == [[(*turn, "vertical.two_bosses"), *quotes]]
    assert db_rows(loaded.db, "SELECT count(*) FROM unit_counts_fresh WHERE unit = 'word_sets'") == [(2,)]
    assert result.json() == _live(loaded.db, "words")
    assert_counts_match(loaded)


def test_check_finds_stored_counts_that_disagree_and_has_them_recounted(loaded):
    _code(loaded, "add", "hamar_1", "2", "two_bosses")
    _code(loaded, "add", "lier_1", "4", "equality")
    assert_counts_match(loaded)
    assert loaded.run("check", "--json").json()[0]["stored_counts"] == "ok"
    # a program inserts a coding with an id it chose below the highest: no mark shows it
    with sqlite3.connect(loaded.db) as conn:
        conn.execute("DELETE FROM codings WHERE transcript_id = 1")
    assert_counts_match(loaded)
    # (a whole coding: its text, and the number of words in it, as coder would write them)
    words = count_words(db_rows(loaded.db, "SELECT text FROM segments WHERE transcript_id = 1 AND number = 4")[0][0])
    with sqlite3.connect(loaded.db) as conn:
        conn.execute("INSERT INTO codings(id, uuid, transcript_id, segment, start, \"end\", code, coder, text, words, "
                     "created_at, updated_at) SELECT 1, 'u-1', 1, number, start, \"end\", 'vertical.two_bosses', "
                     "'other', text, ?, 'now', 'now' FROM segments WHERE transcript_id = 1 AND number = 4", (words,))
    result = loaded.run("check", "--json")
    assert result.exit_code == 1
    # hamar_1's segments, words and documents; check itself changed nothing
    assert result.json()[0]["stored_counts"].startswith("3 disagree with a recount")
    assert loaded.run("check", "--recount").exit_code == 0
    assert_counts_match(loaded)  # recounted
    assert loaded.run("check", "--json").json()[0]["stored_counts"] == "ok"


def test_with_a_rollback_journal_a_report_does_not_wait_for_readers(loaded, monkeypatch):
    """On a network drive (rollback journal) a reader holds a commit back: the report gives up
    storing the counts after a moment and counts from the codings."""
    monkeypatch.setenv("CODER_JOURNAL_MODE", "delete")
    _code(loaded, "add", "lier_1", "4", "two_bosses")
    assert db_rows(loaded.db, "PRAGMA journal_mode") == [("delete",)]
    reader = sqlite3.connect(loaded.db, isolation_level=None)
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM codings").fetchone()  # holds a shared lock until it ends
        result = loaded.run("report", "freq", "--json")
        assert result.exit_code == 0, result.stderr
        assert result.json() == [{"group": "Lier", "code": "vertical.two_bosses", "count": 1}]
    finally:
        reader.execute("ROLLBACK")
        reader.close()
    assert db_rows(loaded.db, "SELECT count(*) FROM unit_counts_fresh") == [(0,)]
    assert_counts_match(loaded)


def test_cooccurrence_counts_every_unit_that_carries_both_codes(loaded):
    for transcript, segment in (("hamar_1", "2"), ("hamar_1", "4"), ("lier_1", "4")):
        _code(loaded, "add", transcript, segment, "two_bosses")
        _code(loaded, "add", transcript, segment, "communication", "--coder", "bjorn")
    _code(loaded, "add", "lier_1", "2", "equality")
    # a parent code counts its sub-codes, and is not paired with them
    pairs = [{"code_a": "horizontal.relations", "code_b": "vertical.two_bosses", "count": 3},
             {"code_a": "horizontal.relations.communication", "code_b": "vertical.two_bosses", "count": 3}]
    assert loaded.run("report", "cooccurrence", "--json").json() == pairs
    by_document = loaded.run("report", "cooccurrence", "--unit", "documents", "--json").json()
    assert {(p["code_a"], p["code_b"]): p["count"] for p in by_document} == {
        ("horizontal.relations", "vertical.two_bosses"): 2,
        ("horizontal.relations.communication", "vertical.two_bosses"): 2,
        ("horizontal.relations.communication", "horizontal.relations.equality"): 1,
        ("horizontal.relations.equality", "vertical.two_bosses"): 1}
    # a parent code counts its sub-codes: relations is on four segments, with two_bosses on three
    parents = loaded.run("report", "cooccurrence", "--codes", "relations", "--codes", "two_bosses", "--json").json()
    assert parents == [{"code_a": "horizontal.relations", "code_b": "vertical.two_bosses", "count": 3}]
    assert_counts_match(loaded)


def _stored_counts_are_current(db) -> bool:
    """Every transcript's segment and document counts stored, and no coding newer than they
    are (words are counted by the first report that asks for them)."""
    transcripts = db_rows(db, "SELECT count(*) FROM transcripts")[0][0]
    fresh = db_rows(db, "SELECT unit, count(*) FROM unit_counts_fresh WHERE unit IN ('segments', 'documents') "
                        "GROUP BY unit ORDER BY unit")
    seen = db_rows(db, "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'unit_counts_seen'")
    top = db_rows(db, "SELECT COALESCE(max(id), 0) FROM codings")[0][0]
    return fresh == [(unit, transcripts) for unit in ("documents", "segments")] and seen == [(top,)]


_apply_row = st.tuples(st.sampled_from(["hamar_1", "lier_1"]), st.integers(1, 4),
                       st.sampled_from(["two_bosses", "communication", "equality", "vertical.partnership_meeting"]),
                       st.sampled_from(["anna", "bjorn"]))


@settings(max_examples=5, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
          deadline=None)
@given(batches=st.lists(st.tuples(st.lists(_apply_row, min_size=1, max_size=8), st.integers(0, 3)),
                        min_size=1, max_size=3))
def test_code_apply_stores_the_counts_as_a_recount_gives_them(tmp_path_factory, monkeypatch, batches):
    """Issue 19: a bulk `code apply` brings the stored counts up to date itself (the first
    report after it reads them as any later one), and they equal counting the codings after
    any mix of bulk applies and removals."""
    from conftest import Project

    monkeypatch.setenv("CODER_NAME", "tester")
    root = tmp_path_factory.mktemp("bulk")
    project = Project(root, root / "coder.db")
    project.write("codebook.yaml", CODEBOOK)
    project.start("codebook.yaml", {"hamar_1.txt": HAMAR_1, "lier_1.txt": LIER_1})
    for number, (rows, removals) in enumerate(batches):
        lines = ["transcript,code,segment,coder"] + [f"{t},{c},{s},{who}" for t, s, c, who in rows]
        path = project.write(f"batch{number}.csv", "\n".join(lines) + "\n")
        result = project.run("code", "apply", str(path))
        assert result.exit_code == 0, result.stderr
        assert _stored_counts_are_current(project.db)
        assert_counts_match(project)
        ids = [c["id"] for c in project.run("code", "list", "--json").json()]
        for coding in ids[:removals]:
            _code(project, "remove", coding)
        assert_counts_match(project)
