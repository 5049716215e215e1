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
    from coder.ingest import segment_number

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


# -- encodings: UTF-8, or cp1252 throughout, never a guess ------------------------------------

STRAY = "Leder: Det går fint på Tjøme.\nLeder: Vi har to sjefer, og det m\xe6rkes.\n"


def _stray_bytes() -> bytes:
    """UTF-8, except one letter typed in cp1252 (the æ on line 2)."""
    head, tail = STRAY.split("\xe6")
    return head.encode("utf-8") + "æ".encode("cp1252") + tail.encode("utf-8")


def test_a_utf8_transcript_with_one_cp1252_byte_is_refused_with_line_and_column(loaded):
    loaded.write("stray/stray_1.txt", _stray_bytes())
    message = one_line_error(loaded.run("import", "stray/stray_1.txt"),
                             "stray_1.txt:2: not valid UTF-8: byte 0xE6 at line 2, column 34")
    assert "save the file again as UTF-8" in message
    assert db_rows(loaded.db, "SELECT COUNT(*) FROM transcripts WHERE name = 'stray_1'") == [(0,)]


def test_a_cp1252_file_throughout_is_still_read(loaded):
    loaded.write("win/win_1.txt", STRAY.encode("cp1252"))
    assert loaded.run("import", "win/win_1.txt").exit_code == 0
    assert db_rows(loaded.db, "SELECT encoding, text FROM transcripts WHERE name = 'win_1'") == [("cp1252", STRAY)]


@pytest.mark.parametrize("command", [("codebook", "validate"), ("cases", "import"), ("code", "apply")])
def test_every_reader_refuses_a_stray_byte_the_same_way(loaded, command):
    header = {"codebook": "name,description\n", "cases": "case,note\n", "code": "transcript,code,quote\n"}[command[0]]
    path = loaded.write("stray.csv", header.encode() + "hamar_1,Tjøme,\xe6\n".replace("\xe6", "").encode()
                        + b"hamar_1,x\xe6,y\n")
    one_line_error(loaded.run(*command, path), "stray.csv:3: not valid UTF-8: byte 0xE6 at line 3, column 10")


MIXED_ALPHABET = st.characters(codec="utf-8", categories=("L", "N", "P", "Zs"))


@SMALL
@given(st.lists(st.text(MIXED_ALPHABET, max_size=12), min_size=1, max_size=5), st.data())
def test_a_stray_byte_in_utf8_is_found_where_it_is(lines, data):
    from coder.text import decode_bytes

    text = "\n".join(lines) + "\nLeder: på Tjøme"  # some UTF-8 beyond ASCII in every file
    at = data.draw(st.integers(0, len(text)))
    raw = text[:at].encode("utf-8") + b"\x85" + text[at:].encode("utf-8")  # a cp1252 "…"
    with pytest.raises(InputError) as refused:
        decode_bytes(raw, path="t.txt")
    line = text.count("\n", 0, at) + 1
    column = at - (text.rfind("\n", 0, at) + 1) + 1
    assert f"t.txt:{line}: not valid UTF-8: byte 0x85 at line {line}, column {column} " in str(refused.value)


@SMALL
@given(st.text(st.characters(codec="cp1252", exclude_characters="\r") | st.sampled_from("æøåÆØÅ"), max_size=60))
def test_text_in_utf8_or_in_cp1252_letters_decodes_to_itself(text):
    import unicodedata

    from coder.text import decode_bytes

    text = "".join(c for c in text if c.isprintable() or c in "\n\t")
    expected = unicodedata.normalize("NFC", text.lstrip("\ufeff"))
    assert decode_bytes(text.encode("utf-8"), path="t.txt").text == expected
    norwegian = "".join(c for c in text if c.isascii() or c in "æøåÆØÅ")  # no byte pair of these is UTF-8
    assert decode_bytes(norwegian.encode("cp1252"), path="t.txt").text == norwegian


# -- CSV as people save it ---------------------------------------------------------------------

def test_code_apply_reads_a_norwegian_excel_csv(loaded):
    """Semicolons, a BOM, cp1252 or UTF-8: as Excel writes "CSV" where the decimal mark is a comma."""
    loaded.write("excel_utf8.csv", "\ufefftranscript;code;quote\r\nlier_1;equality;Det er ærlig talt en utfordring\r\n"
                 .encode("utf-8"))
    loaded.write("excel_1252.csv", "transcript;code;segment;memo\r\nhamar_1;two_bosses;2;tja, kanskje\r\n"
                 .encode("cp1252"))
    loaded.write("tabs.csv", "transcript\tcode\tsegment\nhamar_1\tcommunication\t4\n")
    for name in ("excel_utf8.csv", "excel_1252.csv", "tabs.csv"):
        result = loaded.run("code", "apply", name, "--json")
        assert result.exit_code == 0, result.stderr
        assert [r["status"] for r in result.json()] == ["coded"]
    assert db_rows(loaded.db, "SELECT memo FROM codings WHERE code = 'vertical.two_bosses'") == [("tja, kanskje",)]


def test_cases_and_codebook_csv_read_semicolons(loaded):
    loaded.write("cases.csv", "\ufeffcase;population;leadership_model\nHamar;27 000;unified\n".encode("utf-8"))
    assert loaded.run("cases", "import", "cases.csv").exit_code == 0
    (case,) = [c for c in loaded.run("cases", "list", "--json").json() if c["case"] == "Hamar"]
    assert case["population"] == "27 000" and case["leadership_model"] == "unified"
    loaded.write("flat.csv", "name;description\nTo sjefer;Lederen har to sjefer, begge eiere\n".encode("cp1252"))
    assert loaded.run("codebook", "validate", "flat.csv").exit_code == 0


def test_a_missing_column_names_the_columns_found(loaded):
    loaded.write("odd.csv", "Transkripsjon;kode;segment\nhamar_1;two_bosses;2\n")
    one_line_error(loaded.run("code", "apply", "odd.csv"),
                   "odd.csv:1: missing column 'transcript' (the header has 'transkripsjon', 'kode', 'segment')")
    loaded.write("cases.csv", "kontor,population\nHamar,1\n")
    one_line_error(loaded.run("cases", "import", "cases.csv"), "missing column 'case' (the header has 'kontor', ")


@pytest.mark.parametrize("command, header", [
    (("code", "apply"), "transcript,code,segment,Segment"),
    (("cases", "import"), "case,population,population"),
    (("codebook", "validate"), "path,label,label"),
])
def test_a_column_given_twice_is_refused(loaded, command, header):
    loaded.write("twice.csv", header + "\nhamar_1,two_bosses,2,3\n")
    before = codings(loaded.db)
    column = header.rsplit(",", 1)[1].lower()
    one_line_error(loaded.run(*command, "twice.csv"), f"twice.csv:1: column '{column}' appears twice")
    assert codings(loaded.db) == before


@pytest.mark.parametrize("name, content, what", [
    ("batch.xlsx", b"PK\x03\x04\x14\x00\x06\x00" + bytes(40), "an Excel workbook (.xlsx)"),
    ("batch.csv", b"PK\x03\x04\x14\x00\x06\x00" + bytes(40), "a zip archive"),
    ("batch.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(40), "an Excel workbook (.xls)"),
    ("batch.bin", bytes(range(256)), "binary file"),
])
def test_code_apply_on_a_workbook_names_what_it_reads(loaded, name, content, what):
    loaded.write(name, content)
    one_line_error(loaded.run("code", "apply", name), what, "coder reads CSV files (comma-, semicolon- or tab",
                   "Save As > CSV UTF-8")


CELL = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")) | st.sampled_from("\n\t\";,"),
               max_size=15)


@SMALL
@given(st.lists(st.from_regex(r"[a-z_]{1,8}", fullmatch=True), min_size=2, max_size=4, unique=True), st.data(),
       st.sampled_from([",", ";", "\t"]), st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]))
def test_csv_cells_read_back_as_written_whatever_the_delimiter(header, data, delimiter, encoding):
    import csv
    import io
    import unicodedata

    from coder.text import csv_header, csv_records, decode_bytes

    cell = CELL if encoding != "cp1252" else st.text(st.sampled_from("abc æøåÆØÅ\n\";,\t"), max_size=10)
    rows = data.draw(st.lists(st.lists(cell, min_size=len(header), max_size=len(header)), max_size=4))
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows([header, *rows])
    decoded = decode_bytes(buffer.getvalue().encode(encoding), path="t.csv")
    records = csv_records(decoded.text, "t.csv")
    assert csv_header(records, "t.csv") == header
    assert list(records) == [[unicodedata.normalize("NFC", c) for c in row] for row in rows]


# -- YAML: tags and values that are not text ---------------------------------------------------

@pytest.mark.parametrize("tagged, tag", [
    ("keywords: !!set {sjef: null, to sjefer: null}", "!!set on a mapping"),
    ("keywords: !!omap [{sjef: 1}]", "!!omap on a list"),
    ("keywords: !mine [sjef]", "!mine on a list"),
    ("keywords: !!python/tuple [sjef]", "!!python/tuple on a list"),
])
def test_yaml_tags_on_collections_are_refused(project, tagged, tag):
    project.write("tagged.yaml", CODEBOOK.replace("keywords: [sjef, to sjefer]", tagged))
    one_line_error(project.run("init", "--codebook", "tagged.yaml"), f"tagged.yaml:11: YAML tag {tag}",
                   "remove the tag")
    assert not project.db.exists() or db_rows(project.db, "SELECT COUNT(*) FROM codes") == [(0,)]


@pytest.mark.parametrize("line, replacement, where", [
    ("name: Test codebook", "name: [a, b]", "1:"),
    ("name: Test codebook", "name: yes", "1:"),
    ("        label: Partnerskapsmøtet", "        label: 2020-01-01", "13:"),
    ("        label: Partnerskapsmøtet", "        label: {nb: [a, b]}", "13:"),
    ("        label: Partnerskapsmøtet", "        label: {nb: Møtet, en: 1.10}", "13:"),
    ("keywords: [sjef, to sjefer]", "keywords: [sjef, yes]", "11:"),
    ("        description: The leader answers to both owners.", "        description: [a, b]", "10:"),
    ("      - id: two_bosses", "      - id: 010", "8:"),
])
def test_names_labels_and_keywords_must_be_text(project, line, replacement, where):
    assert line in CODEBOOK
    project.write("typed.yaml", CODEBOOK.replace(line, replacement, 1))
    message = one_line_error(project.run("codebook", "validate", "typed.yaml"), f"typed.yaml:{where}",
                             "must be text")
    assert "[" not in message.split("must be text")[1].split(";")[0] or "list" in message


def test_quoted_values_stay_text(project):
    project.write("quoted.yaml", CODEBOOK.replace("name: Test codebook", 'name: "yes"')
                  .replace("keywords: [sjef, to sjefer]", 'keywords: [sjef, "1.10", "010"]'))
    assert project.run("init", "--codebook", "quoted.yaml").exit_code == 0
    assert db_rows(project.db, "SELECT name FROM codebook_versions") == [("yes",)]
    assert db_rows(project.db, "SELECT keywords FROM codes WHERE id = 'two_bosses'") == [('["sjef", "1.10", "010"]',)]


@pytest.mark.parametrize("cases, where", [
    ("- case: [Hamar, Lier]\n  population: 1\n", "cases.yaml:1:"),
    ("yes:\n  population: 1\n", "cases.yaml:1:"),
    ("Hamar:\n  2020: 1\n", "cases.yaml:2:"),
    ("Hamar: !!set {population: null}\n", "cases.yaml:1: YAML tag !!set"),
])
def test_cases_yaml_names_must_be_text(loaded, cases, where):
    loaded.write("cases.yaml", cases)
    one_line_error(loaded.run("cases", "import", "cases.yaml"), where)
    assert db_rows(loaded.db, "SELECT COUNT(*) FROM cases WHERE name LIKE '%[%' OR name = 'True'") == [(0,)]


SCALAR = st.one_of(st.sampled_from(["yes", "no", "on", "off", "null", "~", "1.10", "010", "0x1F", "1_0", "2020-01-01",
                                    ".inf", "-.nan", "[a, b]", "{a: 1}", "'q'", '"q"']),
                   st.from_regex(r"[A-Za-zæøå0-9 .:_-]{1,12}", fullmatch=True))


@SMALL
@given(SCALAR)
def test_a_yaml_label_is_its_text_or_refused(scalar):
    """Whatever is written after `label:`, the label is exactly what YAML reads as text, or
    the codebook is refused: never a Python repr of a list, a number or a boolean."""
    import yaml

    from coder.codebook import parse_codebook

    text = CODEBOOK.replace("        label: Partnerskapsmøtet", f"        label: {scalar}", 1)
    try:
        read = yaml.safe_load(text)["dimensions"][0]["codes"][1]["label"]
    except yaml.YAMLError:
        read = None
    try:
        parsed = parse_codebook(text, source="c.yaml")
    except InputError as error:
        assert "\n" not in str(error)
        assert not isinstance(read, str) or not read.strip()
        return
    label = [c.label for c in parsed.codes() if c.path == "vertical.partnership_meeting"][0]
    assert isinstance(read, str) and label == read


# -- the codebook CSV loads back as the same codebook --------------------------------------------

def _codebook_state(project, db=None) -> dict:
    db = db or project.db
    shown = project.run("codebook", "show", "--json") if db == project.db else None
    return {
        "show": shown.json() if shown else None,
        "name": db_rows(db, "SELECT name FROM codebook_versions ORDER BY id DESC LIMIT 1"),
        "dimensions": db_rows(db, "SELECT id, label, label_en, description, color FROM dimensions ORDER BY position"),
        "codes": db_rows(db, "SELECT path, label, label_en, description, include, exclude, examples, keywords, color "
                             "FROM codes ORDER BY position"),
    }


def _round_trip(project, yaml_text: str) -> tuple[dict, dict]:
    from typer.testing import CliRunner

    from coder.cli import app

    project.write("book.yaml", yaml_text)
    first = project.db.parent / "first.db"
    second = project.db.parent / "second.db"
    for db in (first, second):
        if db.exists():
            db.unlink()
    runner = CliRunner()
    loaded = runner.invoke(app, ["--db", str(first), "init", "--codebook", "book.yaml"])
    assert loaded.exit_code == 0, loaded.stderr
    exported = runner.invoke(app, ["--db", str(first), "codebook", "export", "--csv"])
    assert exported.exit_code == 0, exported.stderr
    project.write("book.csv", exported.stdout)
    reloaded = runner.invoke(app, ["--db", str(second), "init", "--codebook", "book.csv"])
    assert reloaded.exit_code == 0, (reloaded.stderr, exported.stdout)
    states = []
    for db in (first, second):
        shown = runner.invoke(app, ["--db", str(db), "codebook", "show", "--json"])
        state = _codebook_state(project, db)
        state["show"] = __import__("json").loads(shown.stdout)
        states.append(state)
    return states[0], states[1]


def test_the_codebook_csv_keeps_name_dimensions_and_formula_like_texts(project):
    text = CODEBOOK.replace("name: Test codebook", 'name: "=Test codebook"').replace(
        "keywords: [sjef, to sjefer]", 'keywords: ["sjef|leder", "to; sjefer", "-minus", "\'=sitert", "C:\\\\mappe"]'
    ).replace("label: Relasjoner", 'label: "- Relasjoner"').replace("label: Likeverd", 'label: "@likeverd"')
    before, after = _round_trip(project, text)
    assert after == before
    assert before["name"] == [("=Test codebook",)]
    assert before["dimensions"][0] == ("vertical", "Vertikal dimensjon", "Vertical dimension", None, "#1f77b4")
    keywords = [c[7] for c in before["codes"] if c[0] == "vertical.two_bosses"]
    assert keywords == ['["sjef|leder", "to; sjefer", "-minus", "\'=sitert", "C:\\\\mappe"]']


def test_a_taguette_codebook_loads(project):
    project.write("taguette.csv", "tag,description,number of highlights\ninteresting,Worth a second look,3\n"
                                  "Two bosses,The leader answers to two owners,5\n")
    assert project.run("init", "--codebook", "taguette.csv").exit_code == 0
    shown = project.run("codebook", "show", "--json").json()
    assert [(c["path"], c["label"], c["description"]) for c in shown] == [
        ("codes.interesting", "interesting", "Worth a second look"),
        ("codes.two_bosses", "Two bosses", "The leader answers to two owners")]


def _tidy(text: str) -> str:
    import unicodedata

    return unicodedata.normalize("NFC", text).strip()


TEXT = st.one_of(
    st.sampled_from(["=SUM(A1)", "-x", "+47 22", "@anna", "'=x", "''-y", "'", "a|b", "a;b", "a\\|b", "\\", "a\\",
                     "x | y", "a\\;", "|", "; ;", "'hei", "\"q\"", "a,b"]),
    st.text(st.characters(exclude_categories=("Cc", "Cs", "Co", "Cn", "Zl", "Zp")) | st.sampled_from("|;\\'=-+@,\""),
            min_size=1, max_size=10),
).map(_tidy).filter(bool)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(name=TEXT, dimension_label=TEXT, labels=st.lists(TEXT, min_size=1, max_size=3),
       label_en=st.none() | TEXT, description=st.none() | TEXT,
       keywords=st.lists(TEXT, max_size=4), examples=st.lists(TEXT, max_size=2))
def test_codebook_csv_round_trip_is_exact(project, name, dimension_label, labels, label_en, description, keywords,
                                          examples):
    import yaml

    codes = []
    for index, label in enumerate(labels):
        code = {"id": f"c{index}", "label": {"nb": label, "en": label_en} if label_en else label}
        if index == 0:
            code.update({k: v for k, v in (("description", description), ("keywords", keywords),
                                           ("examples", examples)) if v})
        codes.append(code)
    book = {"name": name, "dimensions": [{"id": "d", "label": dimension_label, "codes": codes},
                                         {"id": "e", "label": labels[0], "codes": [{"id": "x", "label": name}]}]}
    before, after = _round_trip(project, yaml.safe_dump(book, allow_unicode=True, width=10**6))
    assert after == before
