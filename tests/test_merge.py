"""`coder merge OTHER.db`: two copies of the demo study, coded apart, merged (issue 15).

Every test drives the real command line on copies of a project `coder demo` built, and
checks the databases afterwards: every coding of both copies is in the merged project
exactly once, on the text it was coded on; the other file is never changed; merging again,
or a dry run, changes nothing."""
from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from coder.cli import app
from conftest import CODEBOOK, HAMAR_1, LIER_1, REPO, db_rows

DEMO_TJOME_1 = (REPO / "transcripts" / "demo" / "tjome_1.txt").read_text(encoding="utf-8")


def run(db: Path, *args, env: dict | None = None):
    result = CliRunner().invoke(app, ["--db", str(db), *map(str, args)], catch_exceptions=False, env=env)
    return result


def ok(db: Path, *args):
    result = run(db, *args)
    assert result.exit_code == 0, result.stderr
    return result


def copy_db(source: Path, target: Path) -> Path:
    """A copy as another machine would have it: the whole file, through SQLite's backup."""
    target.parent.mkdir(parents=True, exist_ok=True)
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    src.backup(dst)
    src.close()
    dst.close()
    return target


def codings(db: Path) -> dict[str, tuple]:
    """uuid -> (transcript, start, end, code, coder, status, text, memo) of every coding."""
    return {r[0]: r[1:] for r in db_rows(
        db, 'SELECT c.uuid, t.name, c.start, c."end", c.code, c.coder, c.status, c.text, c.memo FROM codings c '
            "JOIN transcripts t ON t.id = c.transcript_id")}


def dump(db: Path) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def text_of(db: Path, transcript: str) -> str:
    return db_rows(db, "SELECT text FROM transcripts WHERE name = ?", (transcript,))[0][0]


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(app, ["demo", str(folder)], catch_exceptions=False,
                                env={"CODER_NAME": "tester", "CODER_DB": ""})
    assert result.exit_code == 0, result.stderr
    return folder / "coder.db"


@pytest.fixture
def two_copies(demo_db, tmp_path, monkeypatch):
    """anna's copy (a) and bjorn's (b) of the demo project, coded apart: overlapping work (the
    same passages coded on both), conflicting definitions, case attributes and names, and a
    transcript bjorn edited and re-imported before both coded it further."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CODER_DEBUG", "1")
    monkeypatch.delenv("CODER_DB", raising=False)
    a = copy_db(demo_db, tmp_path / "anna" / "coder.db")
    b = copy_db(demo_db, tmp_path / "bjorn" / "coder.db")
    # the same passages, coded independently on both sides: different ids, one coding
    for db in (a, b):
        ok(db, "code", "quote", "hamar_1", "i praksis har jeg to sjefer, det kommer man ikke bort fra",
           "views_on_partnership", "--coder", "carl")
    ok(a, "code", "add", "lier_1", "3", "horizontal.integration", "--coder", "anna", "--memo", "annas notat")
    ok(a, "memo", "add", "Annas tanker om prosjektet")
    # bjorn edits tjome_1: a new opening turn moves every offset, and a sentence anna coded is cut
    cut = "Så hvis du spør om avtalen styrer hverdagen min, så må jeg nok si nei."
    assert cut in DEMO_TJOME_1
    body_start = DEMO_TJOME_1.index("\n---\n") + 5
    edited = (DEMO_TJOME_1[:body_start] + "Intervjuer: Velkommen, og takk for at du stiller opp.\n\n"
              + DEMO_TJOME_1[body_start:].replace(cut, "Avtalen ligger i en skuff et sted."))
    (tmp_path / "bjorn" / "tjome_1.txt").write_text(edited, encoding="utf-8")
    result = run(b, "import", tmp_path / "bjorn" / "tjome_1.txt", "--replace")
    if result.exit_code == 2 and "--replace" in result.stderr:  # before `import --replace`
        result = run(b, "import", tmp_path / "bjorn" / "tjome_1.txt")
    assert result.exit_code == 0 and "updated" in result.stderr + result.stdout, result.stderr
    # then both code tjome_1 on their own version of it
    ok(a, "code", "quote", "tjome_1", "Jeg kjenner de kommunale rutinene på ryggmargen", "competence",
       "--coder", "anna")
    ok(b, "code", "quote", "tjome_1", "Avtalen ligger i en skuff et sted", "cooperation_agreement",
       "--coder", "bjorn")
    ok(b, "code", "add", "tjome_1", "7", "admin_steals_time", "--coder", "bjorn", "--memo", "bjorns notat")
    ok(b, "code", "add", "hamar_2", "4", "integration", "--coder", "bjorn")
    # bjorn's codebook: a label changed, a code added; his case attributes and names
    conn = sqlite3.connect(b)
    conn.execute("UPDATE codes SET label = 'To sjefer (bjørns ord)' WHERE path = 'vertical.two_bosses'")
    conn.commit()
    conn.close()
    ok(b, "cases", "set", "Hamar", "population=99999", "region=Innlandet")
    ok(b, "names", "add", "Berit Moen", "--as", "Fylkesdirektør")
    ok(b, "memo", "add", "Bjørns tanker", "--transcript", "hamar_2")
    twin = db_rows(b, "SELECT uuid FROM codings WHERE coder = 'carl'")[0][0]
    ok(b, "memo", "add", "carls passasje, sett av bjørn", "--coding", twin)
    return a, b


def test_every_coding_survives_once_on_its_text(two_copies):
    a, b = two_copies
    before_a, before_b, b_sha = codings(a), codings(b), sha(b)
    DEMO_TJOME_1_TEXT = text_of(a, "tjome_1")
    result = ok(a, "merge", b)
    after = codings(a)
    # anna's own codings are untouched
    for uuid, row in before_a.items():
        assert after[uuid] == row
    # each of bjorn's codings is in the merged project exactly once, coded on the same words
    for uuid, (transcript, start, end, code, coder, status, text, memo) in before_b.items():
        same = [u for u, r in after.items() if (r[0], r[3], r[4], r[6]) == (transcript, code, coder, text)]
        assert len(same) == 1, (uuid, transcript, code, coder, text, same)
    assert len(after) == len(before_a) + len(set(before_b) - set(before_a)) - 1  # hamar_1's twin is one coding
    # every coding that is not orphaned quotes the merged project's text exactly
    for uuid, (transcript, start, end, code, coder, status, text, memo) in after.items():
        if status == "ok":
            assert text_of(a, transcript)[start:end] == text, uuid
    # tjome_1 keeps anna's text; bjorn's codings on it moved onto it, the one on his new words orphaned
    assert text_of(a, "tjome_1") == DEMO_TJOME_1_TEXT != text_of(b, "tjome_1")
    new_words = [u for u, r in before_b.items() if r[6] == "Avtalen ligger i en skuff et sted"]
    assert [after[u][5] for u in new_words] == ["orphaned"]
    moved = [u for u, r in before_b.items() if r[0] == "tjome_1" and r[4] == "bjorn" and r[7] == "bjorns notat"]
    assert len(moved) == 1 and after[moved[0]][5] == "ok" and after[moved[0]][1] != before_b[moved[0]][1]
    orphaned = json.loads(ok(a, "code", "list", "--orphaned", "--json").stdout)
    assert any(r["text"] == "Avtalen ligger i en skuff et sted" for r in orphaned)
    # the rest of bjorn's work: a code, a case attribute, a name, a memo; conflicts reported
    assert "region" in db_rows(a, "SELECT attributes FROM cases WHERE name = 'Hamar'")[0][0]
    assert json.loads(db_rows(a, "SELECT attributes FROM cases WHERE name = 'Hamar'")[0][0])["population"] != 99999
    assert db_rows(a, "SELECT alias FROM names WHERE name = 'Berit Moen'") == [("Fylkesdirektør",)]
    assert db_rows(a, "SELECT count(*) FROM memos WHERE text = 'Bjørns tanker'") == [(1,)]
    assert db_rows(a, "SELECT label FROM codes WHERE path = 'vertical.two_bosses'") != [("To sjefer (bjørns ord)",)]
    assert "code vertical.two_bosses: its definition differs (label)" in result.stderr
    assert "case attribute Hamar.population" in result.stderr
    assert "transcript tjome_1: its text differs" in result.stderr
    # a memo on bjorn's twin of carl's coding is on anna's twin now: one coding, one memo
    (carl,) = [u for u, r in after.items() if r[4] == "carl"]
    assert db_rows(a, "SELECT target_type, target FROM memos WHERE text = 'carls passasje, sett av bjørn'") == [
        ("coding", carl)]
    # the other copy was only read
    assert sha(b) == b_sha and codings(b) == before_b
    assert ok(a, "check").exit_code == 0


def test_merging_twice_changes_nothing(two_copies):
    a, b = two_copies
    ok(a, "merge", b)
    once, backups = dump(a), sorted((a.parent / "coder.db.backups").glob("*.db"))
    result = ok(a, "merge", b, "--json")
    assert dump(a) == once
    assert sorted((a.parent / "coder.db.backups").glob("*.db")) == backups  # no change, no backup
    report = json.loads(result.stdout)
    assert report["changes"] == 0
    assert report["counts"]["codings"]["added"] == report["counts"]["codings"]["reanchored"] == 0


def test_dry_run_writes_nothing_and_plans_what_the_merge_does(two_copies):
    a, b = two_copies
    before, a_sha = dump(a), sha(a)
    plan = json.loads(ok(a, "merge", b, "--dry-run", "--json").stdout)
    text = ok(a, "merge", b, "--dry-run")
    assert dump(a) == before and sha(a) == a_sha
    assert not (a.parent / "coder.db.backups").exists()
    assert "nothing was written" in text.stderr
    assert plan["dry_run"] is True and plan["changes"] > 0
    done = json.loads(ok(a, "merge", b, "--json").stdout)
    assert done["counts"] == plan["counts"]
    assert done["dry_run"] is False and done["backup"] and Path(done["backup"]).exists()
    codings_plan = plan["counts"]["codings"]
    assert (codings_plan["added"], codings_plan["reanchored"], codings_plan["orphaned"]) == (1, 1, 1)


def test_merge_is_audited_with_its_source(two_copies):
    a, b = two_copies
    before_a, before_b = codings(a), codings(b)
    ok(a, "merge", b)
    audit = {action: json.loads(details) for action, details in
             db_rows(a, "SELECT action, details FROM audit WHERE action LIKE 'merge%'")}
    assert audit["merge"]["source"] == audit["merge.codings"]["source"] == str(b)
    # the codings it wrote are named by the row ids they took: exactly those new here
    added = {r[0] for r in db_rows(a, "SELECT uuid FROM codings WHERE id BETWEEN ? AND ?",
                                   (audit["merge.codings"]["first_row_id"], audit["merge.codings"]["last_row_id"]))}
    assert added == set(codings(a)) - set(before_a)
    assert added <= set(before_b) and len(added) == audit["merge.codings"]["codings"] == audit["merge"]["codings"]
    assert audit["merge"]["names"] == ["Berit Moen"]
    assert "Hamar.region" in audit["merge"]["case_attributes"]
    assert audit["merge"]["reanchored_onto"] == ["tjome_1"]
    assert added


def test_the_audit_rows_of_a_merge_do_not_grow_with_the_codings_it_brings(demo_db, tmp_path, monkeypatch):
    """Merging three times as many codings writes audit rows of the same size (a merge of a
    million codings once wrote every id into one row, which `coder log` then read whole)."""
    monkeypatch.chdir(tmp_path)
    small, big = copy_db(demo_db, tmp_path / "small.db"), copy_db(demo_db, tmp_path / "big.db")
    segments = db_rows(big, "SELECT t.name, s.number FROM segments s JOIN transcripts t ON t.id = s.transcript_id")
    code = db_rows(big, "SELECT code FROM codings LIMIT 1")[0][0]
    n = len(codings(small))
    extra = tmp_path / "extra.csv"
    rows = [f"{name},{code},{number},,extra{k}," for k in range(-(-2 * n // len(segments)))
            for name, number in segments]
    extra.write_text("transcript,code,segment,quote,coder,memo\n" + "\n".join(rows) + "\n", encoding="utf-8")
    ok(big, "code", "apply", extra)
    assert len(codings(big)) >= 3 * n
    sizes = {}
    for name, source in (("small", small), ("big", big)):
        target = tmp_path / f"into-{name}.db"
        ok(target, "init")
        ok(target, "merge", source)
        details = dict(db_rows(target, "SELECT action, details FROM audit WHERE action LIKE 'merge%'"))
        assert json.loads(details["merge.codings"])["codings"] == len(codings(source)) == len(codings(target))
        sizes[name] = {action: len(text) for action, text in details.items()}
    assert sizes["big"].keys() == sizes["small"].keys() == {"merge", "merge.codings"}
    for action, size in sizes["big"].items():
        assert size <= sizes["small"][action] + 20, (action, sizes)  # a few more digits in its counts


def test_both_directions_end_with_the_same_work(two_copies):
    """a ← b and b ← a: each keeps its own tjome_1 text, and each holds the same codings of every
    other transcript."""
    a, b = two_copies
    a2 = copy_db(a, a.parent / "a2.db")
    ok(a, "merge", b)
    ok(b, "merge", a2)
    def work(db):
        return sorted((r[0], r[3], r[4], r[6]) for r in codings(db).values() if r[0] != "tjome_1")
    assert work(a) == work(b)


def test_an_older_copy_is_read_through_the_migrations_and_left_as_it_was(project):
    fixture = REPO / "tests" / "fixtures" / "schema_v1.db"
    other = project.root / "old.db"
    shutil.copy(fixture, other)
    before = sha(other)
    assert project.run("init").exit_code == 0
    result = project.run("merge", other)
    assert result.exit_code == 0, result.stderr
    assert sha(other) == before
    assert db_rows(other, "PRAGMA user_version") == [(1,)]
    theirs = db_rows(other, "SELECT uuid, start, \"end\", code, coder, text FROM codings ORDER BY uuid")
    ours = db_rows(project.db, "SELECT uuid, start, \"end\", code, coder, text FROM codings ORDER BY uuid")
    assert ours == theirs and ours
    assert project.run("check").exit_code == 0


@pytest.mark.parametrize("kind", ["not sqlite", "another program's", "newer", "damaged", "itself", "missing",
                                  "empty"])
def test_a_file_that_is_not_a_copy_is_refused_in_one_line(loaded, kind):
    other = loaded.root / "other.db"
    if kind == "not sqlite":
        other.write_text("transcript,code\nhamar_1,two_bosses\n")
    elif kind == "another program's":
        conn = sqlite3.connect(other)
        conn.execute("CREATE TABLE t (x)")
        conn.commit()
        conn.close()
    elif kind in ("newer", "damaged"):
        copy_db(loaded.db, other)
        if kind == "newer":
            conn = sqlite3.connect(other)
            conn.execute("PRAGMA user_version = 99")
            conn.close()
        else:
            data = bytearray(other.read_bytes())
            page = 4096
            data[page * 2:page * 2 + 200] = b"\xff" * 200
            other.write_bytes(bytes(data))
    elif kind == "itself":
        other = loaded.db
    elif kind == "empty":
        other.write_bytes(b"")
    before, other_before = dump(loaded.db), other.read_bytes() if other.exists() else None
    result = loaded.run("merge", other)
    assert result.exit_code == 2, (kind, result.stderr)
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: "), result.stderr
    assert dump(loaded.db) == before
    if other_before is not None:
        assert other.read_bytes() == other_before
    if kind == "newer":
        assert "newer coder" in result.stderr


# -- the union, whatever the split ------------------------------------------------------------

CODERS = ("anna", "bjorn")
CODES = ("two_bosses", "horizontal.partnership_meeting", "relations", "communication")
QUOTES = {"hamar_1": ("Jeg har to sjefer", "Det fungerer godt", "kommunikasjonen er bedre nå"),
          "lier_1": ("Vi er likeverdige parter", "det går fint")}
CANDIDATES = ([("hamar_1", str(n), "", code, coder) for n in (2, 3, 4) for code in CODES[:2] for coder in CODERS]
              + [("lier_1", str(n), "", code, coder) for n in (2, 4) for code in CODES[2:] for coder in CODERS]
              + [(t, "", q, code, coder) for t, qs in QUOTES.items() for q in qs for code in CODES[::3]
                 for coder in CODERS])
# where a coding is made: only in a, only in b, in the copy both started from, or in each apart
PLACES = ("a", "b", "base", "apart")


@pytest.fixture(scope="module")
def small_base(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("base")
    (folder / "codebook.yaml").write_text(CODEBOOK, encoding="utf-8")
    (folder / "t").mkdir()
    (folder / "t" / "hamar_1.txt").write_text(HAMAR_1, encoding="utf-8")
    (folder / "t" / "lier_1.txt").write_text(LIER_1, encoding="utf-8")
    db = folder / "coder.db"
    ok(db, "init", "--codebook", folder / "codebook.yaml")
    ok(db, "import", folder / "t")
    return db


def apply(db: Path, rows: list[tuple], folder: Path, name: str) -> None:
    if not rows:
        return
    csv = folder / f"{name}.csv"
    lines = ["transcript,segment,quote,code,coder"] + [",".join(f'"{c}"' for c in row) for row in rows]
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ok(db, "code", "apply", csv)


def spans(db: Path) -> set[tuple]:
    return set(db_rows(db, 'SELECT t.name, c.start, c."end", c.code, c.coder, c.status FROM codings c '
                           "JOIN transcripts t ON t.id = c.transcript_id"))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.sampled_from(range(len(CANDIDATES))), st.sampled_from(PLACES), max_size=14))
def test_merge_gives_exactly_the_union(small_base, split):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rows = {place: [CANDIDATES[i] for i, p in sorted(split.items()) if p == place] for place in PLACES}
        base = copy_db(small_base, folder / "base.db")
        apply(base, rows["base"], folder, "base")
        a, b = copy_db(base, folder / "a.db"), copy_db(base, folder / "b.db")
        apply(a, rows["a"] + rows["apart"], folder, "a")
        apply(b, rows["b"] + rows["apart"], folder, "b")
        union, ids = spans(a) | spans(b), set(codings(a)) | set(codings(b))
        ok(a, "merge", b)
        assert spans(a) == union
        assert len(codings(a)) == len(union)
        assert set(codings(a)) <= ids
        once = dump(a)
        ok(a, "merge", b)
        assert dump(a) == once


def test_a_code_the_other_copy_renamed_is_matched_by_its_id(two_copies):
    """Codes carry UUIDs: bjorn's copy has `integration` under another path (renamed by a
    program, as coder itself never renames), and his codings with it join anna's code."""
    a, b = two_copies
    conn = sqlite3.connect(b)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("UPDATE codes SET path = 'horizontal.integrering', id = 'integrering' "
                 "WHERE path = 'horizontal.integration'")
    conn.commit()
    conn.close()
    codes_before = db_rows(a, "SELECT path FROM codes ORDER BY path")
    result = ok(a, "merge", b)
    assert db_rows(a, "SELECT path FROM codes ORDER BY path") == codes_before
    assert "code horizontal.integrering: is horizontal.integration here (the same code, renamed)" in result.stderr
    bjorns = db_rows(a, "SELECT code FROM codings c JOIN transcripts t ON t.id = c.transcript_id "
                        "WHERE t.name = 'hamar_2' AND coder = 'bjorn' AND code LIKE 'horizontal.integr%'")
    assert bjorns == [("horizontal.integration",)]


def test_a_transcript_only_in_the_other_copy_comes_whole(two_copies, tmp_path):
    """Added with every column of its rows: the turns' times of a subtitle file (schema 4),
    the speakers its front matter names (schema 3), and its codings in place."""
    a, b = two_copies
    ok(b, "import", REPO / "transcripts" / "arrived" / "tjome_3.vtt")
    focus = tmp_path / "fokus_1.txt"
    focus.write_text("---\ncase: Lier\nspeakers:\n  A: {informant: Anne Li, role: veileder}\n"
                     "  B: {informant: Bo Ek, role: leder}\n---\nIntervjuer: Hva mener dere?\n\n"
                     "A: Vi samarbeider godt.\n\nB: Det er jeg enig i.\n", encoding="utf-8")
    ok(b, "import", focus)
    ok(b, "code", "add", "tjome_3", "2", "two_bosses", "--coder", "bjorn")
    ok(b, "code", "add", "fokus_1", "2", "two_bosses", "--coder", "bjorn")
    ok(a, "merge", b)
    for name in ("tjome_3", "fokus_1"):
        for sql in ('SELECT s.* FROM segments s JOIN transcripts t ON t.id = s.transcript_id WHERE t.name = ? '
                    "ORDER BY s.number",
                    "SELECT s.* FROM speakers s JOIN transcripts t ON t.id = s.transcript_id WHERE t.name = ? "
                    "ORDER BY s.label",
                    "SELECT t.* FROM transcripts t WHERE t.name = ?"):
            drop_ids = lambda rows: [r[2:] if "segments" in sql else r[1:] for r in rows]  # noqa: E731
            assert drop_ids(db_rows(a, sql, (name,))) == drop_ids(db_rows(b, sql, (name,))), (name, sql)
    times = db_rows(a, "SELECT s.start_ms FROM segments s JOIN transcripts t ON t.id = s.transcript_id "
                       "WHERE t.name = 'tjome_3' AND s.start_ms IS NOT NULL")
    speakers = db_rows(a, "SELECT s.informant FROM speakers s JOIN transcripts t ON t.id = s.transcript_id "
                          "WHERE t.name = 'fokus_1' ORDER BY s.label")
    assert times and speakers == [("Anne Li",), ("Bo Ek",)]
    theirs = {u: r for u, r in codings(b).items() if r[0] in ("tjome_3", "fokus_1")}
    assert {u: codings(a)[u] for u in theirs} == theirs


def test_damage_met_while_reading_the_other_copy_names_it_and_changes_nothing(two_copies, monkeypatch):
    """A large file gets only the cheap check before reading (store/integrity.QUICK_CHECK_MAX_BYTES):
    damage in its codings, met half-way through the merge, names the other file, not this
    project, and the merge is rolled back."""
    from coder.store import integrity

    a, b = two_copies
    monkeypatch.setattr(integrity, "QUICK_CHECK_MAX_BYTES", 0)
    conn = sqlite3.connect(b)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    pages = [p for (p,) in conn.execute("SELECT pageno FROM dbstat WHERE name = 'codings' AND pagetype = 'leaf'")]
    size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    data = bytearray(b.read_bytes())
    page = pages[len(pages) // 2]
    data[(page - 1) * size + 8:(page - 1) * size + 300] = b"\xfe" * 292
    b.write_bytes(bytes(data))
    before = dump(a)
    result = run(a, "merge", b)
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith(f"error: {b}: ") and "damaged" in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1
    assert dump(a) == before
