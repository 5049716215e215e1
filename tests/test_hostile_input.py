"""Hostile input (issue 12): data that tries to reach the terminal, a Markdown viewer, a
spreadsheet or an XML writer raw; text that is not valid UTF-8; a database edited by another
program; a reader that goes away. The oracle is the CLI contract: exit 0, 1 or 2, one error
line and no traceback when refused, the project unchanged by a refused command, and nothing
from the data that a terminal would act on in anything printed for a person."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import HAMAR_1, REPO, db_rows
from test_reliability import content_digest, one_line_error

from coder.render import printable

# What a terminal acts on: C0 but tab and newline, DEL, C1, bidi overrides and isolates.
TERMINAL_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
UNSAFE_CHARS = [*map(chr, [*range(0x00, 0x09), *range(0x0b, 0x20), 0x7f, *range(0x80, 0xa0)]),
                "\u061c", "\u200e", "\u200f", "\u2028", "\u2029", *map(chr, range(0x202a, 0x202f)),
                *map(chr, range(0x2066, 0x206a))]
ESC_SEQUENCES = ["\x1b[31m", "\x1b]0;pwned\x07", "\x1b]52;c;ZXZpbA==\x07", "\x9b2J", "\x1b[2J\x1b[H", "\u202e"]

FUZZ = settings(max_examples=12, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def assert_safe_for_a_terminal(*texts: str) -> None:
    for text in texts:
        found = TERMINAL_CONTROLS.search(text)
        assert found is None, f"{found.group()!r} reached the terminal in: {text!r}"


def yaml_quoted(text: str) -> str:
    """A YAML double-quoted scalar holding exactly `text` (escapes for every control)."""
    return '"' + "".join(c if c.isprintable() and c not in '"\\' else f"\\u{ord(c):04x}" if ord(c) > 0xff
                         else f"\\x{ord(c):02x}" for c in text) + '"'


# -- one function escapes what is printed for a person --------------------------------------------

@given(st.text(alphabet=st.one_of(st.sampled_from(UNSAFE_CHARS), st.characters(codec="utf-8")), max_size=40))
def test_printable_leaves_nothing_a_terminal_acts_on_and_keeps_the_rest(text):
    shown = printable(text)
    assert_safe_for_a_terminal(shown)
    assert "\n" not in shown and not re.search("[\ud800-\udfff]", shown)
    shown.encode("utf-8")  # a lone surrogate would raise here, as printing it does
    assert printable(shown) == shown  # escaping twice changes nothing
    if not TERMINAL_CONTROLS.search(text) and not re.search("[\n\u2028\u2029\ud800-\udfff]", text):
        assert shown == text
    assert printable("a\nb", newlines=True) == "a\nb"


def _hostile_project(project, case: str, informant: str, key: str, label: str):
    project.write("codebook.yaml", f"""\
name: {yaml_quoted("Kodebok " + label)}
dimensions:
  - id: vertical
    label: {yaml_quoted("Vertikal " + label)}
    codes:
      - id: two_bosses
        label: {yaml_quoted(label)}
        keywords: [sjefer]
""")
    meta = "".join(line + "\n" for line in HAMAR_1.split("---\n")[1].splitlines()
                   if not line.startswith(("case:", "informant:")))
    body = HAMAR_1.split("---\n", 2)[2]
    project.write("transcripts/hamar_1.txt", f"---\n{meta}case: {yaml_quoted(case)}\n"
                                             f"informant: {yaml_quoted(informant)}\n{yaml_quoted(key)}: x\n---\n{body}")
    # the body may carry C1 and bidi controls (C0 ones make it binary, and it is refused)
    project.write("transcripts/lier_1.txt", f"---\ncase: {yaml_quoted(case)}\n---\n"
                                            "Leder: to sjefer \u202eredlof\u202c og \x9b2J her\n")


HUMAN_COMMANDS = [("segments", "hamar_1"), ("segments", "lier_1"), ("cases", "list"), ("report", "freq"),
                  ("report", "freq", "--by", "role"), ("code", "list"), ("codebook", "show"),
                  ("report", "matrix"), ("report", "matrix", "--quotes"), ("search", "sjefer"),
                  ("memo", "list"), ("names", "list"), ("autocode",), ("check",), ("report", "cooccurrence")]


@pytest.mark.parametrize("sequence", ESC_SEQUENCES, ids=repr)
def test_terminal_escapes_from_data_are_escaped_in_everything_printed_for_a_person(project, sequence):
    _hostile_project(project, case=f"Ha{sequence}mar", informant=f"Kari{sequence}", key=f"k{sequence}",
                     label=f"To sjefer{sequence}")
    outputs = []
    for args in [("init", "--codebook", "codebook.yaml"), ("import", "transcripts"),
                 ("code", "add", "hamar_1", "2", "two_bosses", "--coder", f"anna{sequence}"),
                 ("code", "quote", "lier_1", "to sjefer", "two_bosses", "--memo", f"m{sequence}"),
                 ("memo", "add", f"memo {sequence}"), ("names", "add", f"Kari{sequence}", "--as", f"K{sequence}"),
                 ("cases", "set", f"Ha{sequence}mar", f"note=x{sequence}"),
                 ("code", "add", "hamar_1", "99", "two_bosses"), ("segments", f"nope{sequence}"),
                 ("report", "quotes", "--case", f"x{sequence}"), *HUMAN_COMMANDS]:
        result = project.run(*args)
        assert result.exit_code in (0, 1, 2), (args, result.stderr)
        outputs += [result.stdout, result.stderr]
        assert_safe_for_a_terminal(result.stdout, result.stderr)
    assert any("\\x1b" in out or "\\u009b" in out or "\\u202e" in out for out in outputs)


@FUZZ
@given(case=st.text(alphabet=st.sampled_from(UNSAFE_CHARS + ["a", "[", "]", "/"]), min_size=1, max_size=8),
       coder=st.text(alphabet=st.sampled_from(UNSAFE_CHARS[:40] + ["b", "["]), min_size=1, max_size=6))
def test_generated_controls_in_a_case_and_a_coder_name_never_reach_the_terminal(loaded, case, coder):
    for args in [("cases", "set", f"X{case}", "population=1"), ("code", "add", "hamar_1", "2", "two_bosses",
                                                                  "--coder", f"c{coder}"),
                 ("cases", "list"), ("code", "list"), ("report", "freq", "--by", "case")]:
        result = loaded.run(*args)
        assert result.exit_code in (0, 2), (args, result.stderr)
        assert "Traceback" not in result.stderr
        assert_safe_for_a_terminal(result.stdout, result.stderr)


def test_data_formats_are_exact_in_a_pipe(project):
    sequence = "\x1b]0;pwned\x07"
    _hostile_project(project, case=f"Ha{sequence}mar", informant="Kari", key="k", label="To sjefer")
    project.run("init", "--codebook", "codebook.yaml")
    project.run("import", "transcripts")
    assert any(r["case"] == f"Ha{sequence}mar" for r in project.run("cases", "list", "--json").json())
    assert f"Ha{sequence}mar" in project.run("cases", "list", "--csv").stdout


def _in_a_terminal(project, *args: str) -> str:
    pexpect = pytest.importorskip("pexpect")
    env = {**os.environ, "PYTHONPATH": str(REPO), "TERM": "xterm", "LANG": "C.UTF-8", "NO_COLOR": "1"}
    env.pop("CODER_DB", None)
    child = pexpect.spawn(sys.executable, ["-m", "coder", "--db", str(project.db), *args], env=env,
                          cwd=str(project.root), encoding="utf-8", codec_errors="surrogateescape", timeout=60,
                          dimensions=(40, 100))
    child.expect(pexpect.EOF)
    child.close()
    return child.before


def test_markdown_and_csv_sent_to_a_terminal_are_escaped_too(project):
    sequence = "\x1b]0;pwned\x07\u202e"
    _hostile_project(project, case=f"Ha{sequence}mar", informant=f"Kari{sequence}", key=f"k{sequence}",
                     label=f"To sjefer{sequence}")
    project.run("init", "--codebook", "codebook.yaml")
    project.run("import", "transcripts")
    project.run("code", "add", "hamar_1", "2", "two_bosses", "--memo", f"memo{sequence}")
    for args in (("report", "quotes", "--md"), ("report", "quotes", "--csv"), ("cases", "list"), ("codebook", "show")):
        shown = _in_a_terminal(project, *args)
        assert re.search(r"(\\x1b|\\u001b)\\?\]0;pwned", shown), shown  # shown, escaped
        assert "\x1b]0;" not in shown and "\u202e" not in shown, (args, shown)


def test_the_session_screen_escapes_controls_from_the_transcript_and_names(project):
    from coder.session import Session
    from coder.session_screen import SessionScreen, screen_text
    from coder.store import Store

    sequence = "\x1b]0;pwned\x07\u202e\x9b"
    _hostile_project(project, case=f"Ha{sequence}mar", informant=f"Kari{sequence}", key="k",
                     label=f"To sjefer{sequence}")
    project.run("init", "--codebook", "codebook.yaml")
    project.run("import", "transcripts")
    store = Store.open(project.db)
    try:
        for transcript in ("hamar_1", "lier_1"):
            screen = SessionScreen(Session(store, transcript, f"anna{sequence}"))
            for keys in ((), ("a",)):
                for key in keys:
                    screen.press(key)
                text = screen_text(screen.render(100, 30))
                assert_safe_for_a_terminal(text)
                assert "\\x1b" in text or "\\u202e" in text
    finally:
        store.close()


# -- debugging and bugs -------------------------------------------------------------------------

def _a_bug(*args, **kwargs):
    raise RuntimeError("boom")


@pytest.mark.parametrize("value", ["0", "", "false", "no"])
def test_coder_debug_off_values_do_not_turn_debugging_on(loaded, monkeypatch, value):
    monkeypatch.setattr("coder.reports.frequencies", _a_bug)
    monkeypatch.setenv("CODER_DEBUG", value)
    result = loaded.run("report", "freq")
    assert result.exit_code == 70
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "internal error: RuntimeError: boom (this is a bug in coder; run again with CODER_DEBUG=1 to see the "
        "traceback, and please report it)"]


@pytest.mark.parametrize("value", ["1", "true", "YES"])
def test_in_debug_mode_a_crash_prints_the_traceback_and_still_exits_70(loaded, monkeypatch, value):
    monkeypatch.setattr("coder.reports.frequencies", _a_bug)
    monkeypatch.setenv("CODER_DEBUG", value)
    result = loaded.run("report", "freq")
    assert result.exit_code == 70  # never 1: that means "partly done"
    assert "Traceback" in result.stderr and "RuntimeError: boom" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("internal error: RuntimeError: boom")


# -- a reader that goes away ----------------------------------------------------------------------

@pytest.mark.parametrize("args", [("report", "quotes", "--csv"), ("code", "list", "--csv"), ("code", "list"),
                                  ("segments", "hamar_1", "--json"), ("export", "segments")],
                         ids=lambda a: " ".join(a))
def test_output_into_a_closed_pipe_stops_quietly(loaded, args):
    """`coder report quotes --csv | head -1`: the reader closes the pipe; coder stops without
    an error message (exit 1, as Python and click do on EPIPE)."""
    loaded.run("code", "add", "hamar_1", "2", "two_bosses")
    env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"}
    env.pop("CODER_DB", None)
    env.pop("CODER_DEBUG", None)
    read, write = os.pipe()
    os.close(read)  # the reader is gone before coder writes anything
    try:
        result = subprocess.run([sys.executable, "-m", "coder", "--db", str(loaded.db), *args], stdout=write,
                                stderr=subprocess.PIPE, text=True, env=env, cwd=loaded.root, timeout=60)
    finally:
        os.close(write)
    assert result.returncode in (0, 1), result.stderr
    assert result.stderr == "", result.stderr


# -- XML writers: characters XML 1.0 cannot hold --------------------------------------------------

NOT_XML = [*map(chr, [*range(0x00, 0x09), 0x0b, 0x0c, *range(0x0e, 0x20)]), "\ufffe", "\uffff", "\ud800", "\udc80"]
hostile_text = st.text(alphabet=st.one_of(st.sampled_from(NOT_XML + ["=", "<", "[", "&", "#", "|"]),
                                          st.characters(codec="utf-8")), max_size=20)


def _quote(**fields):
    from coder.reports import Quote

    base = dict(case="Hamar", transcript="hamar_1", informant="Kari", role="leder", code="vertical.two_bosses",
                code_label="To sjefer", dimension="vertical", dimension_label="Vertikal", segment=2, text="to sjefer",
                start=0, end=9, coder="anna", memo=None, id="x", path_labels=("Vertikal", "To sjefer"),
                attributes={"population": 1})
    return Quote(**{**base, **fields})


def _read_back(fmt: str, content: bytes) -> str:
    import io
    import zipfile

    from lxml import etree

    with zipfile.ZipFile(io.BytesIO(content)) as package:
        texts = []
        for name in package.namelist():
            if name.endswith(".xml"):
                texts.append(" ".join(etree.fromstring(package.read(name)).itertext()))
    return "\n".join(texts)


@settings(max_examples=12, deadline=None)
@given(case=hostile_text, label=hostile_text, key=hostile_text, text=hostile_text, coder=hostile_text, title=hostile_text)
def test_docx_and_xlsx_hold_any_text_with_what_xml_forbids_replaced(case, label, key, text, coder, title):
    from coder import export

    quote = _quote(case=case or None, code_label=label, dimension_label=label, path_labels=(label, label),
                   attributes={key or "k": text, "n": 1}, text=f"a{text}", coder=coder, memo=text or None,
                   before=text, after=text)
    sheet = export.Sheet(title=title, quotes=[quote])
    for fmt, shown in (("docx", case + label + text + coder + title), ("xlsx", case + label + key + text + coder + title)):
        back = _read_back(fmt, export.render(sheet, fmt))
        assert ("\ufffd" in back) == any(c in NOT_XML for c in shown) or "\ufffd" in shown
    export.render(sheet, "html").encode("utf-8")
    assert not any(c in export.render(sheet, "html") for c in NOT_XML)
    export.table_to_xlsx([key, "=x", "a"], [[text, case, 1]], title=title or "T")
    rows = [{"dimension": "vertical", "dimension_label": label, "label": label, "label_en": text, "path": "vertical.x",
             "depth": 1, "codings": 0, "description": text, "include": [text], "exclude": [], "examples": [],
             "keywords": [key]}]
    _read_back("docx", export.codebook_to_docx(title, rows))


def test_docx_and_xlsx_exports_of_hostile_names_and_text_succeed(project):
    nasty = "".join(NOT_XML[:-2])  # a lone surrogate never gets into a project (see below)
    project.write("codebook.yaml", f"""\
name: "Kodebok \\x01"
dimensions:
  - id: vertical
    label: "Vertikal \\x02\\uffff"
    codes:
      - id: two_bosses
        label: {yaml_quoted("To sjefer " + nasty)}
""")
    project.write("t/hamar_1.txt", f"---\ncase: {yaml_quoted('Ha' + nasty + 'mar')}\n{yaml_quoted('k' + nasty)}: "
                                   f"{yaml_quoted(nasty)}\n---\nLeder: to sjefer \ufffe og \uffff her\n")
    project.run("init", "--codebook", "codebook.yaml")
    assert project.run("import", "t").exit_code == 0
    assert project.run("code", "add", "hamar_1", "1", "two_bosses", "--coder", "anna\x01").exit_code == 0
    for args in (("report", "quotes", "--docx", "--out", "q.docx"), ("report", "quotes", "--xlsx", "--out", "q.xlsx"),
                 ("report", "quotes", "--html", "--out", "q.html"), ("codebook", "export", "--docx", "--out", "c.docx"),
                 ("export", "segments", "--xlsx", "--out", "s.xlsx"),
                 ("report", "quotes", "--case", "Ha\x01", "--docx", "--out", "none.docx")):
        result = project.run(*args)
        assert result.exit_code in (0, 2), (args, result.stderr)
        if result.exit_code == 2:
            one_line_error(result)
    for name in ("q.docx", "q.xlsx", "c.docx", "s.xlsx"):
        back = _read_back(name[-4:], (project.root / name).read_bytes())
        assert "\ufffd" in back, name
    assert "Ha\ufffd" in _read_back("docx", (project.root / "q.docx").read_bytes())


# -- Markdown: data stays text ---------------------------------------------------------------------

MARKDOWN_ATTACKS = ["<script>alert(1)</script>", "[x](javascript:alert(1))", "![i](http://x/t.png)", "`code`",
                    "a | b", "# heading", "x\n# heading", "<img src=x onerror=alert(1)>", "**bold**", "- item",
                    "1. item", "> quote", "&lt;script&gt;", "line\n\n<script>"]


def _tags(md: str) -> list[str]:
    import markdown_it

    return re.findall(r"<[^>]*>", markdown_it.MarkdownIt("commonmark").enable("table").render(md))


@pytest.mark.parametrize("attack", MARKDOWN_ATTACKS, ids=repr)
def test_markdown_sheets_show_names_labels_and_quotes_as_text(attack):
    """The oracle: with the attack in every field the rendered HTML has exactly the elements
    it has with plain letters there (same lines and spaces), and the attack's words show."""
    pytest.importorskip("markdown_it")
    import html

    import markdown_it

    from coder import export
    from coder.render import dumps_markdown

    def documents(value: str) -> list[str]:
        quote = _quote(case=f"Ha {value}", code_label=value, dimension_label=value, path_labels=(value, value),
                       text=value, coder=value, memo=value, role=value, before=value, after=value)
        rows = [{"dimension": "vertical", "dimension_label": value, "label": value, "label_en": value,
                 "path": "vertical.two_bosses", "depth": 1, "codings": 0, "description": value, "include": [value],
                 "exclude": [], "examples": [], "keywords": [value]}]
        return [export.render(export.Sheet(title=value, quotes=[quote]), "md"), export.codebook_to_markdown(value, rows),
                dumps_markdown([{"case": value, value: value}])]

    plain = re.sub(r"[^\n ]", "a", attack)
    for hostile, harmless in zip(documents(attack), documents(plain)):
        assert _tags(hostile) == _tags(harmless), hostile
        shown = html.unescape(markdown_it.MarkdownIt("commonmark").enable("table").render(hostile))
        for word in re.findall(r"[a-z]{4,}", attack):
            assert word in shown


# -- CSV: formulas in headers too ------------------------------------------------------------------

@pytest.mark.parametrize("key", ["=HYPERLINK(\"http://x\",\"y\")", "+1", "-1+2", "@SUM(A1)"])
def test_csv_headers_from_data_are_formula_escaped(loaded, key):
    loaded.write("transcripts/evil.txt", f"---\ncase: Lier\n{yaml_quoted(key)}: x\n---\nLeder: to sjefer her\n")
    assert loaded.run("import", "transcripts/evil.txt").exit_code == 0
    loaded.run("code", "add", "evil", "1", "two_bosses")
    import csv
    import io

    cases = io.StringIO()
    csv.writer(cases).writerows([["case", key], ["Lier", "1"]])
    loaded.write("cases.csv", cases.getvalue())
    assert loaded.run("cases", "import", "cases.csv").exit_code == 0

    for args in (("report", "quotes", "--csv"), ("export", "segments", "--csv"), ("cases", "list", "--csv"),
                 ("report", "freq", "--by", key, "--csv")):
        result = loaded.run(*args)
        assert result.exit_code == 0, (args, result.stderr)
        header = next(csv.reader(io.StringIO(result.stdout)))
        assert all(not cell.startswith(("=", "+", "-", "@")) for cell in header), (args, header)
        assert "'" + key in header or args[0] == "report" and args[1] == "freq", (args, header)


# -- text that is not UTF-8: file names, arguments, YAML escapes -----------------------------------

def _files(root) -> set:
    """Every file under the project folder but the database, its journals and its backups."""
    return {p for p in root.rglob("*") if not p.name.startswith("coder.db")}


def assert_contract(project, result, before: str, *, per_file: bool = False, data: bool = False) -> None:
    """The CLI contract after any command: 0, 1 or 2; never a traceback; refused (2): one
    error line (with `per_file`, as a folder import: one per file and the summary) and the
    project as it was."""
    assert result.exit_code in (0, 1, 2), result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr
    assert_safe_for_a_terminal(result.stderr, *([] if data else [result.stdout]))  # data is exact in a pipe
    if result.exit_code == 2:
        if per_file:
            assert result.stderr.startswith("error: ") and result.stderr.rstrip().splitlines()[-1].startswith(
                "error: "), result.stderr
        else:
            one_line_error(result)
        assert content_digest(project.db) == before


def test_a_file_named_with_bytes_that_are_not_utf8_is_an_error_for_that_file_only(loaded):
    folder = loaded.root / "batch"
    folder.mkdir()
    (folder / "hamar_9.txt").write_text(HAMAR_1, encoding="utf-8")
    bad = os.path.join(os.fsencode(folder), b"lier_\xff\xfe.txt")
    with open(bad, "wb") as handle:
        handle.write(HAMAR_1.encode())
    result = loaded.run("import", "batch")
    assert result.exit_code == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert errors[0] == "error: batch/lier_\\xff\\xfe.txt: the file name is not valid UTF-8; rename the file"
    assert "imported  hamar_9" in result.stdout
    as_json = loaded.run("import", "batch", "--json")
    assert as_json.exit_code == 1
    assert {(r["path"], r["status"]) for r in as_json.json()} == {("batch/lier_\\xff\\xfe.txt", "error"),
                                                                 ("batch/hamar_9.txt", "unchanged")}
    before = content_digest(loaded.db)
    alone = loaded.run("import", os.fsdecode(bad))
    assert "lier_\\xff\\xfe.txt" in one_line_error(alone)
    assert content_digest(loaded.db) == before


@pytest.mark.parametrize("args", [
    ("code", "add", "hamar_1", "2", "two_bosses", "--coder", "anna\udcff"),
    ("code", "add", "hamar_\udcc3", "2", "two_bosses"),
    ("cases", "set", "Ha\udcffmar", "population=1"),
    ("cases", "set", "Hamar", "population=\udc80"),
    ("memo", "add", "notat \udcff"),
    ("names", "add", "Kari \udcff", "--as", "K"),
    ("search", "sjef\udcff"),
    ("import", "transcripts/\udcffhamar.txt"),
    ("report", "quotes", "--case", "\udcff"),
], ids=lambda a: " ".join(a[:2]))
def test_an_argument_with_bytes_that_are_not_utf8_is_refused_in_one_line(loaded, args):
    before = content_digest(loaded.db)
    line = one_line_error(loaded.run(*args))
    assert "is not valid UTF-8" in line and re.search(r"\\x(ff|c3|80)", line), line
    assert content_digest(loaded.db) == before


def test_a_coder_name_from_the_environment_with_bytes_that_are_not_utf8_is_refused(loaded, monkeypatch):
    monkeypatch.setenv("CODER_NAME", "anna\udcff")
    before = content_digest(loaded.db)
    line = one_line_error(loaded.run("code", "add", "hamar_1", "2", "two_bosses"))
    assert "'anna\\xff' is not valid UTF-8" in line and "nothing was written" in line
    assert content_digest(loaded.db) == before


LONE_SURROGATES = ['"\\udc80"', '"\\ude00\\ud83d"']  # half a pair; a pair the wrong way round


@pytest.mark.parametrize("scalar", LONE_SURROGATES)
@pytest.mark.parametrize("where", ["codebook label", "codebook key", "front matter value", "front matter key",
                                   "cases yaml"])
def test_a_yaml_escape_for_half_a_surrogate_pair_is_refused_with_its_line(loaded, where, scalar):
    before = content_digest(loaded.db)
    if where.startswith("codebook"):
        text = CODEBOOK_WITH.replace("LABEL", scalar if where == "codebook label" else "x")
        text = text.replace("KEY", scalar if where == "codebook key" else "extra")
        loaded.write("hostile.yaml", text)
        result, line = loaded.run("codebook", "load", "hostile.yaml"), 7 if where == "codebook label" else 8
        prefix = "hostile.yaml"
    elif where.startswith("front matter"):
        meta = f"note: {scalar}" if where == "front matter value" else f"{scalar}: x"
        loaded.write("hostile/t.txt", f"---\ncase: Hamar\n{meta}\n---\nLeder: hei\n")
        result, line, prefix = loaded.run("import", "hostile/t.txt"), 3, "hostile/t.txt"
    else:
        loaded.write("cases.yaml", f"Hamar:\n  population: 1\n  note: {scalar}\n")
        result, line, prefix = loaded.run("cases", "import", "cases.yaml"), 3, "cases.yaml"
    message = one_line_error(result)
    assert message.startswith(f"error: {prefix}:{line}: ") and "surrogate" in message, message
    assert content_digest(loaded.db) == before


CODEBOOK_WITH = """\
name: Hostile
dimensions:
  - id: vertical
    label: Vertikal
    codes:
      - id: two_bosses
        label: LABEL
        KEY: 1
"""


def test_a_surrogate_pair_written_as_two_escapes_is_the_character(loaded):
    loaded.write("pair/t.txt", '---\ncase: "Hamar \\ud83d\\ude00"\n---\nLeder: hei\n')
    assert loaded.run("import", "pair/t.txt").exit_code == 0
    assert any(r["case"] == "Hamar 😀" for r in loaded.run("cases", "list", "--json").json())


# generated file names, bytes included: whatever the name, a result or an error for that file
file_names = st.binary(min_size=1, max_size=12).map(lambda b: b.replace(b"/", b"_").replace(b"\x00", b"_"))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(file_names, min_size=1, max_size=4, unique=True))
def test_generated_file_names_import_or_are_reported_one_by_one(loaded, names):
    import shutil
    import tempfile

    folder = tempfile.mkdtemp(dir=loaded.root)
    for index, name in enumerate(names):
        with open(os.path.join(os.fsencode(folder), name + b".txt"), "wb") as handle:
            handle.write(f"---\ncase: Hamar\n---\nLeder: fil {index}\n".encode())
    try:
        before = content_digest(loaded.db)
        result = loaded.run("import", folder)
        assert_contract(loaded, result, before, per_file=True)
        errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
        stored = {r[0] for r in db_rows(loaded.db, "SELECT name FROM transcripts")}
        for name in names:
            text = os.fsdecode(name)
            ok = text.isprintable() and "\udc80" > text  # plain
            if text in stored:
                continue
            assert any(printable(os.path.join(folder, text + ".txt")) in line for line in errors) or not ok, \
                (text, result.stderr)
    finally:
        shutil.rmtree(folder)
        loaded.run("import", "transcripts")  # nothing to undo: the generated transcripts just stay


# -- a database edited by another program ----------------------------------------------------------

def _edit(db, *statements):
    import sqlite3

    conn = sqlite3.connect(db)
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()


INVALID_JSON = {
    "case attributes": ("UPDATE cases SET attributes = '{\"population\": ' WHERE name = 'Hamar'",
                        "cases.attributes of 'Hamar' is not valid JSON"),
    "transcript attributes": ("UPDATE transcripts SET attributes = 'not json' WHERE name = 'lier_1'",
                              "transcripts.attributes of 'lier_1' is not valid JSON"),
    "code keywords": ("UPDATE codes SET keywords = '[\"sjef\"' WHERE path = 'vertical.two_bosses'",
                      "codes.keywords of 'vertical.two_bosses' is not valid JSON"),
}
READERS = [("cases", "list"), ("report", "freq", "--by", "population"), ("report", "quotes"),
           ("report", "quotes", "--where", "population=1"), ("export", "segments"), ("autocode",),
           ("report", "matrix", "--rows", "population"), ("codebook", "export", "--md"),
           ("cases", "set", "Hamar", "county=x")]


@pytest.mark.parametrize("edit", INVALID_JSON, ids=str)
def test_json_another_program_broke_is_named_in_one_line(loaded, edit):
    statement, what = INVALID_JSON[edit]
    loaded.run("code", "add", "hamar_1", "2", "two_bosses")
    loaded.run("cases", "set", "Hamar", "population=1")
    _edit(loaded.db, statement)
    hits = 0
    for args in READERS:
        before = content_digest(loaded.db)
        result = loaded.run(*args)
        assert result.exit_code in (0, 2), (args, result.stderr)
        if result.exit_code == 2:
            line = one_line_error(result)
            assert f"the database was edited outside coder: {what}" in line and "restore" in line, (args, line)
            assert content_digest(loaded.db) == before
            hits += 1
    assert hits


@pytest.mark.parametrize("statements, what", [
    (["CREATE TRIGGER no_more BEFORE INSERT ON codings BEGIN SELECT RAISE(ABORT, 'no more codings'); END"],
     "a trigger 'no_more' that is not coder's was added"),
    (["DROP TRIGGER codings_delete_stales_counts",
      "CREATE TRIGGER codings_delete_stales_counts AFTER DELETE ON codings BEGIN "
      "INSERT INTO codes(path) VALUES ('x'); END"],
     "coder's trigger 'codings_delete_stales_counts' was changed"),
], ids=["trigger added", "trigger changed"])
def test_a_trigger_another_program_added_or_changed_is_named_in_one_line(loaded, statements, what):
    assert loaded.run("code", "add", "hamar_1", "2", "two_bosses").exit_code == 0
    coded = loaded.run("code", "list", "--json").json()[0]["id"]
    _edit(loaded.db, *statements)
    refused = 0
    for args in (("code", "add", "lier_1", "2", "two_bosses"), ("code", "remove", coded)):
        before = content_digest(loaded.db)
        result = loaded.run(*args)
        if result.exit_code != 0:
            line = one_line_error(result)
            assert f"the database was edited outside coder: {what}" in line, line
            assert content_digest(loaded.db) == before
            refused += 1
    assert refused == 1


# -- generated YAML scalars wherever YAML is read --------------------------------------------------

YAML_SCALARS = ["!!str 1", '!!int "x"', "!!float nan", ".nan", ".inf", "-.inf", "1e400", "9" * 400, "0x" + "f" * 80,
                "!!binary AAAA", "!!set {a: null}", "!!omap [a: 1]", "!!python/name:os.system", '"\\udc80"',
                '"\\ud83d\\ude00"', "!!timestamp 2020-13-45", "[1, 2]", "{a: 1}", "!!seq [a]", "~", '"\\e[31m"',
                '"\\x00"', '"\\x85\\u2028"', "2007-03-01", "yes", "'=HYPERLINK(1)'", '"<script>"', "!!null x"]
yaml_scalars = st.one_of(st.sampled_from(YAML_SCALARS), st.text(max_size=8).map(yaml_quoted))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scalar=yaml_scalars, where=st.sampled_from(["case", "informant", "value", "key", "label", "cases"]))
def test_generated_yaml_scalars_are_taken_or_refused_by_the_contract(loaded, scalar, where):
    import tempfile

    folder = tempfile.mkdtemp(dir=loaded.root)
    before = content_digest(loaded.db)
    if where == "label":
        path = os.path.join(folder, "codebook.yaml")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(CODEBOOK_WITH.replace("LABEL", scalar).replace("KEY", "description"))
        result = loaded.run("codebook", "load", path)
    elif where == "cases":
        path = os.path.join(folder, "cases.yaml")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(f"Hamar:\n  population: {scalar}\n")
        result = loaded.run("cases", "import", path)
    else:
        meta = {"case": f"case: {scalar}", "informant": f"case: Hamar\ninformant: {scalar}",
                "value": f"case: Hamar\nnote: {scalar}", "key": f"case: Hamar\n{scalar}: x"}[where]
        path = os.path.join(folder, "t.txt")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(f"---\n{meta}\n---\nLeder: to sjefer her\n")
        result = loaded.run("import", path)
    assert_contract(loaded, result, before)
    if result.exit_code == 0:
        for args in (("cases", "list"), ("cases", "list", "--json"), ("report", "freq", "--by", "note"),
                     ("report", "quotes", "--csv"), ("export", "segments"), ("codebook", "show")):
            before = content_digest(loaded.db)
            assert_contract(loaded, loaded.run(*args), before, data=args[-1].startswith("--") or args[0] == "export")


# -- file names in decomposed Unicode (as a Mac writes them) ------------------------------------------

def test_a_transcript_from_a_decomposed_file_name_is_reached_by_the_name_as_typed(loaded):
    """`Åsa_intervju.txt` from a Mac's file system is `A` + combining ring in its name: stored
    so, `code quote Åsa_intervju ...` and `code apply` with the name as typed found nothing."""
    import unicodedata

    typed = "Åsa_intervju"
    decomposed = unicodedata.normalize("NFD", typed)
    assert decomposed != typed
    written = loaded.write(f"mac/{decomposed}.txt", "---\ncase: Asker\n---\nIntervjuer: Hei?\n\nLeder: Vi har to sjefer her.\n")
    # written a while ago, so its size and time are recorded at once, however slow the machine
    # (a file changed a moment ago is hashed again on the next import, which then records them)
    os.utime(written, (written.stat().st_mtime - 60,) * 2)
    assert loaded.run("import", "mac").exit_code == 0
    assert db_rows(loaded.db, "SELECT name FROM transcripts WHERE case_name = 'Asker'") == [(typed,)]
    result = loaded.run("code", "quote", typed, "to sjefer", "two_bosses")
    assert result.exit_code == 0, result.stderr
    loaded.write("codings.csv", f"transcript,code,segment\n{typed},relations,2\n{decomposed},equality,2\n")
    result = loaded.run("code", "apply", "codings.csv")
    assert result.exit_code == 0, result.stderr
    assert loaded.run("segments", decomposed, "--json").exit_code == 0  # typed decomposed too
    assert len(loaded.run("code", "list", "--transcript", typed, "--json").json()) == 3
    before = content_digest(loaded.db)
    again = loaded.run("import", "mac")  # the same file again: the same transcript, unchanged
    assert again.exit_code == 0 and "unchanged" in again.stdout, again.stdout
    assert content_digest(loaded.db) == before


def test_a_transcript_stored_decomposed_by_an_older_coder_is_still_found(loaded):
    import sqlite3
    import unicodedata

    typed = "Åsa_intervju"
    loaded.write(f"mac/{typed}.txt", "---\ncase: Asker\n---\nLeder: Vi har to sjefer her.\n")
    assert loaded.run("import", "mac").exit_code == 0
    conn = sqlite3.connect(loaded.db)  # as an older coder stored it
    conn.execute("UPDATE transcripts SET name = ? WHERE name = ?", (unicodedata.normalize("NFD", typed), typed))
    conn.commit()
    conn.close()
    assert loaded.run("code", "add", typed, "1", "two_bosses").exit_code == 0
    again = loaded.run("import", "mac", "--checksum")
    assert again.exit_code == 0 and "unchanged" in again.stdout, again.stdout
    assert db_rows(loaded.db, "SELECT count(*) FROM transcripts WHERE case_name = 'Asker'") == [(1,)]


# -- generated CSV cells through the command line -------------------------------------------------------

csv_cells = st.one_of(st.sampled_from(["hamar_1", "lier_1", "two_bosses", "relations", "2", "1_0", "+4", "٣", "",
                                       "=1+1", "'=1", "\"", "a,b", "x;y", "\ufeff", "9" * 30, "nan", "-1"]),
                      st.text(alphabet=st.one_of(st.sampled_from(UNSAFE_CHARS), st.characters(codec="utf-8")),
                              max_size=8))


@FUZZ
@given(header=st.lists(st.sampled_from(["transcript", "code", "segment", "quote", "start", "end", "coder", "memo",
                                        "text", "Transcript", "other", ""]), min_size=1, max_size=5),
       rows=st.lists(st.lists(csv_cells, min_size=1, max_size=5), max_size=4),
       delimiter=st.sampled_from([",", ";", "\t"]))
def test_generated_coding_and_case_csv_files_keep_the_contract(loaded, header, rows, delimiter):
    """Any CSV given to `code apply` or `cases import`: exit 0, 1 (some rows failed) or 2 (the
    file refused, in one line, the project as it was); never a traceback."""
    import csv as _csv
    import io

    buffer = io.StringIO()
    writer = _csv.writer(buffer, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(rows)
    loaded.write("generated.csv", buffer.getvalue().encode("utf-8", "surrogatepass"))
    for args in (("code", "apply", "generated.csv"), ("cases", "import", "generated.csv")):
        before = content_digest(loaded.db)
        result = loaded.run(*args)
        assert_contract(loaded, result, before)
        if result.exit_code == 1:
            assert result.stderr.rstrip().splitlines()[-1].startswith("error: "), result.stderr
