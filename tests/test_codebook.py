
import pytest

from conftest import CODEBOOK, db_rows


def test_validate_accepts_a_good_codebook_and_writes_nothing(project):
    result = project.run("codebook", "validate", "codebook.yaml")
    assert result.exit_code == 0
    assert "6 codes" in result.stderr
    assert not project.db.exists()


@pytest.mark.parametrize("text, line, needle", [
    (CODEBOOK.replace("keywords: [sjef, to sjefer]", "keyword: [sjef]"), 11, "did you mean 'keywords'"),
    (CODEBOOK.replace("      - id: partnership_meeting\n        label: Partnerskapsmøtet\n  - id: horizontal",
                      "      - id: two_bosses\n        label: Dup\n  - id: horizontal"), 12, "duplicate code id 'two_bosses'"),
    (CODEBOOK.replace("    color: \"#1f77b4\"", "    color: [unclosed"), 7, "started on line 6"),
    (CODEBOOK.replace("name: Test codebook\n", "name: Test codebook\nfoo: &a [1]\nbar: *a\n"), 3, "aliases"),
    (CODEBOOK.replace("id: vertical", "id: Vertikal"), 4, "lowercase"),
    (CODEBOOK.replace("            label: Kommunikasjon\n", ""), 20, "has no 'label'"),
])
def test_validate_names_file_line_and_fix(project, text, line, needle):
    project.write("bad.yaml", text)
    result = project.run("codebook", "validate", "bad.yaml")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: bad.yaml:{line}: ")
    assert needle in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_validate_missing_file_is_bad_input(project):
    result = project.run("codebook", "validate", "nope.yaml")
    assert result.exit_code == 2
    assert "nope.yaml" in result.stderr


def test_show_json_has_contract_fields(project):
    assert project.run("init", "--codebook", "codebook.yaml").exit_code == 0
    records = project.run("codebook", "show", "--json").json()
    by_path = {r["path"]: r for r in records}
    assert by_path["vertical.two_bosses"] == {**by_path["vertical.two_bosses"], "dimension": "vertical",
                                              "label": "Med to sjefer", "parent": "vertical",
                                              "description": "The leader answers to both owners."}
    assert by_path["horizontal.relations.communication"]["parent"] == "horizontal.relations"
    assert list(by_path) == ["vertical.two_bosses", "vertical.partnership_meeting", "horizontal.relations",
                             "horizontal.relations.communication", "horizontal.relations.equality",
                             "horizontal.partnership_meeting"]


def test_load_twice_records_one_version_and_update_records_another(project):
    project.run("init")
    assert project.run("codebook", "load", "codebook.yaml").exit_code == 0
    assert "unchanged" in project.run("codebook", "load", "codebook.yaml").stderr
    assert db_rows(project.db, "SELECT count(*) FROM codebook_versions") == [(1,)]
    project.write("codebook.yaml", CODEBOOK.replace("Likeverd", "Likeverdighet"))
    assert project.run("codebook", "load", "codebook.yaml").exit_code == 0
    assert db_rows(project.db, "SELECT count(*) FROM codebook_versions") == [(2,)]
    assert db_rows(project.db, "SELECT label FROM codes WHERE path='horizontal.relations.equality'") == [("Likeverdighet",)]


def test_dropping_a_used_code_keeps_it_retired(loaded):
    assert loaded.run("code", "add", "lier_1", "2", "equality").exit_code == 0
    loaded.write("codebook.yaml", CODEBOOK.replace("          - id: equality\n            label: Likeverd\n", ""))
    result = loaded.run("codebook", "load", "codebook.yaml")
    assert result.exit_code == 0
    assert "retired" in result.stderr
    assert db_rows(loaded.db, "SELECT retired FROM codes WHERE path='horizontal.relations.equality'") == [(1,)]
    assert db_rows(loaded.db, "SELECT count(*) FROM codings") == [(1,)]


def test_shipped_codebook_is_valid():
    from coder.codebook import load_codebook
    from conftest import REPO

    path = REPO / "codebooks" / "nav_partnership.yaml"
    if not path.exists():
        pytest.fail("codebooks/nav_partnership.yaml is missing")
    codebook = load_codebook(path)
    assert [d.id for d in codebook.dimensions][:3] == ["vertical", "horizontal", "leadership"]
    paths = [c.path for c in codebook.codes()]
    assert "vertical.two_bosses" in paths and "leadership.partnership_engine" in paths
    assert all(c.label_en and c.description for c in codebook.codes())
