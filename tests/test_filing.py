"""Work is not lost or misfiled: an interview with another's file name is refused, reviewed
autocode proposals belong to the reviewer, and codings move through CSV exactly."""
from __future__ import annotations

import csv
import io

from conftest import HAMAR_1, LIER_1, db_rows


def test_a_file_named_as_another_folders_transcript_is_refused_unless_it_replaces_it(loaded):
    hamar = loaded.write("Hamar/intervju1.txt", HAMAR_1)
    lier = loaded.write("Lier/intervju1.txt", LIER_1)
    assert loaded.run("import", hamar, "--case", "Hamar").exit_code == 0
    assert loaded.run("code", "add", "intervju1", "2", "two_bosses").exit_code == 0
    before = db_rows(loaded.db, "SELECT t.case_name, t.sha256, c.status, c.start FROM transcripts t "
                                "JOIN codings c ON c.transcript_id = t.id WHERE t.name = 'intervju1'")
    audits = db_rows(loaded.db, "SELECT count(*) FROM audit")
    result = loaded.run("import", lier, "--case", "Lier")
    assert result.exit_code == 2
    assert "Lier/intervju1.txt" in result.stderr and str(hamar.resolve()) in result.stderr
    assert "--replace" in result.stderr
    assert db_rows(loaded.db, "SELECT t.case_name, t.sha256, c.status, c.start FROM transcripts t "
                              "JOIN codings c ON c.transcript_id = t.id WHERE t.name = 'intervju1'") == before
    assert db_rows(loaded.db, "SELECT count(*) FROM audit") == audits
    # the same file, edited, is still its new version
    hamar.write_text(HAMAR_1.replace("Det er krevende.", "Det er svært krevende."), encoding="utf-8")
    result = loaded.run("import", hamar, "--case", "Hamar")
    assert result.exit_code == 0 and result.stdout.startswith("updated")
    # and the user may say the other file replaces it
    result = loaded.run("import", lier, "--case", "Lier", "--replace")
    assert result.exit_code == 0 and result.stdout.startswith("updated")
    assert db_rows(loaded.db, "SELECT case_name FROM transcripts WHERE name = 'intervju1'") == [("Lier",)]


def test_reviewed_autocode_proposals_belong_to_the_reviewer_and_survive_clear(loaded):
    project = loaded
    proposals = project.run("autocode", "--csv").stdout
    rows = list(csv.DictReader(io.StringIO(proposals)))
    assert rows and all(r["coder"] == "" for r in rows)
    project.write("proposals.csv", proposals)
    result = project.run("code", "apply", "proposals.csv", "--coder", "anna")
    assert result.exit_code == 0, result.stderr
    assert db_rows(project.db, "SELECT DISTINCT coder FROM codings") == [("anna",)]
    # without --coder, CODER_NAME is the coder of rows whose coder cell is empty
    assert project.run("code", "apply", "proposals.csv").exit_code == 0
    assert {r[0] for r in db_rows(project.db, "SELECT coder FROM codings")} == {"anna", "tester"}
    reviewed = db_rows(project.db, "SELECT count(*) FROM codings")[0][0]
    assert project.run("autocode", "--apply").exit_code == 0
    assert db_rows(project.db, "SELECT count(*) FROM codings WHERE coder = 'autocode'")[0][0] > 0
    assert project.run("autocode", "--clear").exit_code == 0
    assert db_rows(project.db, "SELECT count(*) FROM codings")[0][0] == reviewed
    assert db_rows(project.db, "SELECT count(*) FROM codings WHERE coder = 'autocode'") == [(0,)]


def _codings(project):
    return db_rows(project.db, 'SELECT t.name, c.start, c."end", c.code, c.coder, c.memo, c.text, c.segment '
                               "FROM codings c JOIN transcripts t ON t.id = c.transcript_id ORDER BY 1, 2, 3, 4, 5")


def test_codings_move_between_projects_through_csv_exactly(loaded, tmp_path):
    assert loaded.run("code", "add", "hamar_1", "2", "two_bosses", "--coder", "anna", "--memo", "hele").exit_code == 0
    assert loaded.run("code", "quote", "hamar_1", "rådmannen og fylkesdirektøren", "two_bosses",
                      "--coder", "bjorn").exit_code == 0
    assert loaded.run("code", "quote", "lier_1", "men staten bestemmer mye", "equality", "--memo",
                      "=1+1 er ingen formel").exit_code == 0
    original = _codings(loaded)
    for export in (("code", "list", "--csv"), ("report", "quotes", "--csv")):
        loaded.write("moved.csv", loaded.run(*export).stdout)
        other = loaded.__class__(tmp_path / export[0], tmp_path / export[0] / "coder.db")
        other.root.mkdir()
        other.write("codebook.yaml", (loaded.root / "codebook.yaml").read_text(encoding="utf-8"))
        other.start("codebook.yaml", {"hamar_1.txt": HAMAR_1, "lier_1.txt": LIER_1})
        result = other.run("code", "apply", loaded.root / "moved.csv")
        assert result.exit_code == 0, result.stderr
        assert _codings(other) == original, export
        assert other.run("code", "apply", loaded.root / "moved.csv").exit_code == 0  # again: nothing added
        assert _codings(other) == original


def test_a_span_whose_text_differs_fails_with_a_reason(loaded):
    assert loaded.run("code", "quote", "hamar_1", "rådmannen og fylkesdirektøren", "two_bosses").exit_code == 0
    rows = list(csv.DictReader(io.StringIO(loaded.run("code", "list", "--csv").stdout)))
    rows[0]["text"] = "rådmannen og ordføreren"
    good = dict(rows[0], code="equality", text="rådmannen og fylkesdirektøren")
    with open(loaded.root / "changed.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows([dict(rows[0], code="communication"), good])
    result = loaded.run("code", "apply", "changed.csv")
    assert result.exit_code == 1
    assert "row 1: mismatch" in result.stderr and "another version of the transcript" in result.stderr
    assert db_rows(loaded.db, "SELECT code FROM codings ORDER BY code") == [("horizontal.relations.equality",),
                                                                            ("vertical.two_bosses",)]
