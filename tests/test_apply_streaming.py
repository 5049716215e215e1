"""`code apply` streams: rows are read, resolved and written a batch at a time, and only a few
transcripts' texts are kept. Its results must be the same as applying the file in one go."""
import csv

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import CODEBOOK, HAMAR_1, LIER_1, Project, db_rows
from coder import coding as coding_module

HOLMESTRAND_1 = """\
---
case: Holmestrand
---
Intervjuer: Hvem bestemmer hos dere?

Leder: Rådmannen bestemmer det meste, men vi har to sjefer på papiret.

Intervjuer: Og kommunikasjonen?

Leder: Kommunikasjonen går greit, vi snakker sammen hver uke.
"""

HEADER = ("transcript", "code", "segment", "quote", "coder", "memo", "start", "end", "text")

# Transcripts interleaved (hamar, lier, hamar again, holmestrand, lier again, ...), with rows
# coded, duplicated (in the file, of a coding already there, by the same words without the
# full stop), and failed every way a row fails.
ROWS = [
    ("hamar_1", "two_bosses", "2", "", "anna", "", "", "", ""),
    ("lier_1", "equality", "", "Vi er likeverdige parter", "bjorn", "", "", "", ""),
    ("hamar_1", "communication", "", "kommunikasjonen er bedre nå", "", "memo", "", "", ""),
    ("holmestrand_1", "two_bosses", "2", "", "", "", "", "", ""),
    ("lier_1", "nonsense", "2", "", "", "", "", "", ""),
    ("tjome_9", "two_bosses", "1", "", "", "", "", "", ""),
    ("hamar_1", "two_bosses", "2", "", "anna", "", "", "", ""),  # duplicate of row 1, two transcripts later
    ("lier_1", "two_bosses", "", "to sjefer", "", "", "", "", ""),  # ambiguous
    ("holmestrand_1", "communication", "", "finnes slett ikke i teksten noe sted", "", "", "", "", ""),
    ("lier_1", "two_bosses", "99", "", "", "", "", "", ""),  # not_found: no segment 99
    ("hamar_1", "relations", "", "", "", "", "0", "5", "nope!"),  # mismatch
    ("holmestrand_1", "relations", "4", "", "carl", "", "", "", ""),
    ("lier_1", "equality", "", "Vi er likeverdige parter", "bjorn", "", "", "", ""),  # duplicate of row 2
    ("hamar_1", "equality", "4", "", "", "", "", "", ""),  # a duplicate of the coding made before the file
    ("holmestrand_1", "two_bosses", "x", "", "", "", "", "", ""),  # not_found: not a number
    ("", "two_bosses", "1", "", "", "", "", "", ""),  # unknown_transcript: empty
    ("hamar_1", "communication", "", "kommunikasjonen er bedre nå.", "", "", "", "", ""),  # same words
    ("lier_1", "two_bosses", "4", "", "", "", "", "", ""),
]
STATUSES = ["coded", "coded", "coded", "coded", "unknown_code", "unknown_transcript", "duplicate", "ambiguous",
            "not_found", "not_found", "mismatch", "coded", "duplicate", "duplicate", "not_found",
            "unknown_transcript", "duplicate", "coded"]


def _applied(root, monkeypatch, *, batch: int, keep: int, json_: bool):
    """A fresh project, a coding made before, then the file applied with this batch size and
    this many transcripts kept: (exit code, stdout, stderr, codings, audit)."""
    monkeypatch.setattr(coding_module, "APPLY_BATCH", batch)
    monkeypatch.setattr(coding_module, "APPLY_TRANSCRIPTS", keep)
    root.mkdir()
    monkeypatch.chdir(root)  # the file named alike in every run's messages
    proj = Project(root, root / "coder.db")
    proj.write("codebook.yaml", CODEBOOK)
    proj.start("codebook.yaml", {"hamar_1.txt": HAMAR_1, "lier_1.txt": LIER_1, "holmestrand_1.txt": HOLMESTRAND_1})
    assert proj.run("code", "add", "hamar_1", "4", "equality").exit_code == 0
    path = root / "codings.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(ROWS)
        writer.writerow(("",) * len(HEADER))  # a blank row: skipped, not counted
    result = proj.run("code", "apply", "codings.csv", *(["--json"] if json_ else []))
    codings = db_rows(proj.db, "SELECT t.name, c.segment, c.start, c.\"end\", c.code, c.coder, c.memo, c.text, "
                               "c.words, c.source, c.status FROM codings c JOIN transcripts t ON t.id = c.transcript_id "
                               "ORDER BY c.id")
    audit = db_rows(proj.db, "SELECT action, details FROM audit WHERE action = 'code.apply'")
    return result.exit_code, result.stdout, result.stderr, codings, audit


@pytest.mark.parametrize("json_", [True, False])
def test_apply_in_small_batches_gives_what_one_batch_gives(project, monkeypatch, json_):
    whole = _applied(project.root / "whole", monkeypatch, batch=10**9, keep=10**9, json_=json_)
    exit_code, stdout, stderr, codings, audit = whole
    assert exit_code == 1
    assert len(codings) == 1 + STATUSES.count("coded")
    assert len(audit) == 1 and '"codings": 6' in audit[0][1]
    assert stderr.splitlines()[-2:] == [
        "codings.csv: 6 coded, 4 duplicate, 3 not_found, 1 ambiguous, 1 unknown_code, 2 unknown_transcript, "
        "1 mismatch", "error: 8 of 18 rows failed"]
    if json_:
        import json

        records = json.loads(stdout)
        assert [r["status"] for r in records] == STATUSES
        assert [r["row"] for r in records] == list(range(1, len(ROWS) + 1))
        assert set(records[0]) == {"row", "status", "transcript", "code", "segment", "start", "end", "score",
                                   "reason"}
    else:
        assert stdout == ""
    for batch, keep in ((1, 1), (2, 1), (3, 2), (5, 8)):
        streamed = _applied(project.root / f"b{batch}k{keep}", monkeypatch, batch=batch, keep=keep, json_=json_)
        assert streamed == whole, (batch, keep)  # exit code, stdout, stderr, codings (in order), audit


def test_apply_keeps_no_rows_nor_every_transcript(project, monkeypatch):
    """The worker drops the least recently coded transcript once it holds APPLY_TRANSCRIPTS."""
    seen = []
    real_forget = coding_module._Coder.forget

    def forget(self, name):
        seen.append(name)
        real_forget(self, name)

    monkeypatch.setattr(coding_module._Coder, "forget", forget)
    _applied(project.root / "p", monkeypatch, batch=4, keep=2, json_=False)
    # hamar, lier, hamar, holmestrand: lier goes (hamar was coded since), then hamar, then holmestrand
    assert seen[:3] == ["lier_1", "hamar_1", "holmestrand_1"]


def test_csv_records_do_not_copy_the_text():
    """csv_records reads the decoded text line by line: io.StringIO would hold a copy at four
    bytes a character (110 MB for a 1,000,000-row CSV of 28 MB)."""
    import tracemalloc

    from coder.text import csv_records

    text = "transcript,code,segment\n" + "hamar_1,two_bosses,2\n" * 100_000  # 2.1 MB
    tracemalloc.start()
    try:
        rows = csv_records(text, "codings.csv")
        next(rows)
        next(rows)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < len(text) // 2


@settings(max_examples=300)
@given(st.text(alphabet='ab,;"\n\r\t é', max_size=60))
def test_csv_records_read_as_csv_reader_reads(text):
    import io

    from coder.errors import InputError
    from coder.text import csv_records, sniff_delimiter

    def rows(read):
        try:
            return list(read())
        except (csv.Error, InputError) as exc:
            return type(exc).__name__

    expected = rows(lambda: csv.reader(io.StringIO(text), delimiter=sniff_delimiter(text)))
    got = rows(lambda: csv_records(text, "x.csv"))
    assert got == (expected if isinstance(expected, list) else "InputError")


def test_apply_json_into_a_closed_pipe_still_applies_every_row(loaded, monkeypatch):
    """The results are written while the rows are applied: a reader that goes away (`| head`)
    stops the output, not the apply, which commits every row as before."""
    import coder.render

    def write_json(stream, records):
        next(iter(records))
        raise BrokenPipeError

    monkeypatch.setattr(coder.render, "write_json", write_json)
    path = loaded.write("rows.csv", "transcript,code,segment\nhamar_1,two_bosses,2\nlier_1,equality,2\n"
                                    "hamar_1,communication,4\n")
    with pytest.raises(BrokenPipeError):
        loaded.run("code", "apply", str(path), "--json")
    assert db_rows(loaded.db, "SELECT count(*) FROM codings") == [(3,)]


def _traced_apply(root, monkeypatch, rows: list[tuple[str, ...]]) -> tuple[list[str], Project]:
    """Apply these rows (transcript, code, segment, quote) in batches of 7 to a fresh project
    of hamar_1, lier_1 and holmestrand_1: the SQL statements the apply ran before its audit
    row (its own work; the stored counts are brought up to date after it), as executed."""
    from coder.store import Store

    statements: list[str] = []
    real_connect = Store._connect

    def connect(cls, path, *, read_only=False):
        conn = real_connect(path, read_only=read_only)
        conn.set_trace_callback(statements.append)
        return conn

    monkeypatch.setattr(Store, "_connect", classmethod(connect))
    monkeypatch.setattr(coding_module, "APPLY_BATCH", 7)
    root.mkdir()
    project = Project(root, root / "coder.db")
    project.write("codebook.yaml", CODEBOOK)
    project.start("codebook.yaml", {"hamar_1.txt": HAMAR_1, "lier_1.txt": LIER_1,
                                    "holmestrand_1.txt": HOLMESTRAND_1})
    path = project.write("rows.csv", "transcript,code,segment,quote\n"
                         + "".join(",".join(row) + "\n" for row in rows))
    statements.clear()
    result = project.run("code", "apply", str(path))
    assert result.exit_code == 0, result.stderr
    audit = next(i for i, s in enumerate(statements) if s.startswith("INSERT INTO audit"))
    return statements[:audit], project


def test_apply_reads_each_transcript_once_and_looks_rows_up_by_index(project, monkeypatch):
    """However many rows name a transcript (interleaved, in many batches), its text, segments
    and codings are read once; no statement is run per row; and each per-transcript read is
    an index search, not a scan of a table that grows with the project."""
    codes = ("two_bosses", "communication", "equality", "relations")
    rows = [(name, code, str(segment), "")
            for segment in (2, 4) for code in codes for name in ("hamar_1", "lier_1", "holmestrand_1")]
    rows += [("holmestrand_1", code, "", "Rådmannen bestemmer det meste") for code in codes]
    rows += [("lier_1", code, "", "Vi er likeverdige parter") for code in codes]
    statements, project = _traced_apply(project.root / "once", monkeypatch, rows)
    selects = [s for s in statements if s.lstrip().upper().startswith(("SELECT", "WITH"))]
    text_reads = [s for s in selects if "FROM transcripts WHERE name" in s]
    assert sorted(text_reads) == sorted(f"SELECT id, uuid, name, case_name, informant, role, sha256, text "
                                        f"FROM transcripts WHERE name = '{name}'"
                                        for name in ("hamar_1", "lier_1", "holmestrand_1"))
    # four times the rows (the file four times over: the same transcripts, codes and coders)
    statements, _ = _traced_apply(project.root / "four_times", monkeypatch, rows * 4)
    assert sorted(s for s in statements if s.lstrip().upper().startswith(("SELECT", "WITH"))) == sorted(selects)
    per_transcript = [s for s in selects if "transcript_id = " in s or "WHERE name = " in s]
    assert per_transcript
    import sqlite3

    with sqlite3.connect(project.db) as conn:
        for sql in per_transcript:
            plan = " | ".join(row[-1] for row in conn.execute("EXPLAIN QUERY PLAN " + sql))
            assert "SEARCH" in plan and not any(f"SCAN {table}" in plan for table in
                                                ("codings", "segments", "transcripts")), (sql, plan)
