"""Input that must be refused, or read exactly as written: code ids, coding id prefixes,
segment numbers, CSV files as spreadsheets save them, YAML scalars and tags, encodings.
Generated inputs where a class of input, not one example, is at stake."""
from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from coder.errors import CoderError, InputError

from conftest import CODEBOOK, db_rows

SMALL = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))


def one_line_error(result, *fragments: str) -> str:
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def codings(db) -> list[tuple]:
    return db_rows(db, "SELECT uuid, code, segment FROM codings ORDER BY uuid")


# -- code ids are whole-value matches ---------------------------------------------------------

def test_a_code_id_ending_in_a_newline_is_refused(project):
    project.write("nl.yaml", CODEBOOK.replace("- id: two_bosses", '- id: "two_bosses\\n"'))
    one_line_error(project.run("init", "--codebook", "nl.yaml"), "nl.yaml:8:", "lowercase letters")
    project.write("colour.yaml", CODEBOOK.replace('color: "#1f77b4"', 'color: "#1f77b4\\n"'))
    one_line_error(project.run("codebook", "validate", "colour.yaml"), "colour.yaml:6:", "#RRGGBB")


@SMALL
@given(st.text(alphabet="ab_1\n\r é", min_size=1, max_size=8))
@example("two\n")
def test_code_ids_are_exactly_lowercase_letters_digits_and_underscores(code_id):
    from coder.codebook import parse_codebook

    text = 'name: c\ndimensions:\n  - id: d\n    label: D\n    codes:\n      - id: %s\n        label: L\n' % (
        '"' + code_id.encode("unicode_escape").decode("ascii").replace('"', '\\"') + '"')
    valid = re.fullmatch(r"[a-z0-9_]+", code_id) is not None
    try:
        parsed = parse_codebook(text, source="c.yaml")
    except InputError:
        assert not valid
    else:
        assert valid and [c.id for c in parsed.codes()] == [code_id]


# -- coding id prefixes are not LIKE patterns ---------------------------------------------

@pytest.fixture
def one_coding(loaded):
    assert loaded.run("code", "add", "hamar_1", "2", "two_bosses").exit_code == 0
    return loaded


@pytest.mark.parametrize("ref", ["%%%%%%", "______", "%%%%%%%%%%", "______-_", "%"])
def test_code_remove_does_not_take_wildcards(one_coding, ref):
    before = codings(one_coding.db)
    one_line_error(one_coding.run("code", "remove", ref), "not a coding id")
    one_line_error(one_coding.run("memo", "add", "x", "--coding", ref), "not a coding id")
    assert codings(one_coding.db) == before


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.text(alphabet="0123456789abcdefABCDEF-%_ x", min_size=0, max_size=12))
@example("%%%%%%")
@example("_______")
def test_code_remove_removes_only_the_coding_its_id_starts_with(one_coding, ref):
    (uuid, _, _), = codings(one_coding.db)
    result = one_coding.run("code", "remove", "--", ref)
    typed = ref.strip().lower()
    if result.exit_code == 0:
        assert uuid.startswith(typed) and len(typed) >= 6 and re.fullmatch(r"[0-9a-f-]+", typed)
        assert one_coding.run("code", "add", "hamar_1", "2", "two_bosses").exit_code == 0  # for the next example
    else:
        one_line_error(result)
        assert len(codings(one_coding.db)) == 1


def test_code_remove_with_an_id_prefix_still_works(one_coding):
    (uuid, _, _), = codings(one_coding.db)
    assert one_coding.run("code", "remove", uuid[:8].upper()).exit_code == 0
    assert codings(one_coding.db) == []


# -- segment numbers are ASCII digits ---------------------------------------------------------

@pytest.mark.parametrize("typed", ["1_0", "+4", "٣", "4.0", "0x2", "²", "4 5"])
def test_code_add_refuses_segment_numbers_python_would_read(loaded, typed):
    one_line_error(loaded.run("code", "add", "hamar_1", typed, "two_bosses"), "not a number")
    assert codings(loaded.db) == []


def test_code_apply_refuses_such_segment_cells_and_says_why(loaded):
    loaded.write("batch.csv", "transcript,code,segment\nhamar_1,two_bosses,1_0\nhamar_1,two_bosses,+4\n"
                              "hamar_1,two_bosses,٣\nhamar_1,two_bosses, 2 \n")
    result = loaded.run("code", "apply", "batch.csv", "--json")
    assert result.exit_code == 1
    rows = result.json()
    assert [r["status"] for r in rows] == ["not_found", "not_found", "not_found", "coded"]
    assert all("not a number" in r["reason"] for r in rows[:3]) and rows[3]["reason"] is None
    assert [c[2] for c in codings(loaded.db)] == [2]


@SMALL
@given(st.text(max_size=6))
@example("1_0")
@example("٣")
@example("+4")
@example("4\n")
def test_segment_numbers_are_read_only_from_ascii_digits(raw):
    from coder.project import segment_number

    number = segment_number(raw)
    if re.fullmatch(r"[0-9]+", raw.strip()):
        assert number == int(raw.strip())
    else:
        assert number is None


# -- smaller wrong answers ------------------------------------------------------------------

def test_memo_list_refuses_an_unknown_type(loaded):
    assert loaded.run("memo", "add", "a project memo").exit_code == 0
    one_line_error(loaded.run("memo", "list", "--type", "nope"), "unknown memo type 'nope'",
                   "project, transcript, code, coding")
    one_line_error(loaded.run("report", "memos", "--type", "codes"), "did you mean 'code'?")
    assert len(loaded.run("memo", "list", "--type", "project", "--json").json()) == 1


def test_import_with_case_on_a_file_without_one_says_assigned(project):
    project.start("codebook.yaml", {"plain.txt": "Leder: Hei.\n"})
    result = project.run("import", "transcripts/plain.txt", "--case", "Hamar")
    assert result.exit_code == 0
    assert "assigned to case 'Hamar'" in result.stdout and "None" not in result.stdout
    result = project.run("import", "transcripts/plain.txt", "--case", "Lier")
    assert "moved from case 'Hamar' to 'Lier'" in result.stdout


def test_cases_import_counts_new_updated_and_unchanged(loaded):
    # hamar and lier exist (from the transcripts), without attributes
    assert loaded.run("cases", "set", "Lier", "population=26000").exit_code == 0
    loaded.write("cases.csv", "case,population\nHamar,27000\nLier,26000\nAsker,94000\nTjøme,5000\n")
    result = loaded.run("cases", "import", "cases.csv")
    assert result.exit_code == 0
    assert "2 new, 1 updated, 1 unchanged" in result.stderr
    result = loaded.run("cases", "import", "cases.csv")
    assert "0 new, 0 updated, 4 unchanged" in result.stderr


def test_code_apply_json_gives_the_reason_of_a_failed_row(loaded):
    loaded.write("batch.csv", "transcript,code,segment\nhamar_1,nope,1\nnobody,two_bosses,1\nhamar_1,two_bosses,99\n")
    rows = loaded.run("code", "apply", "batch.csv", "--json").json()
    assert [r["status"] for r in rows] == ["unknown_code", "unknown_transcript", "not_found"]
    assert "unknown code 'nope'" in rows[0]["reason"]
    assert "unknown transcript 'nobody'" in rows[1]["reason"]
    assert "not 99" in rows[2]["reason"]
