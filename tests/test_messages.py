"""Messages a new user meets (issue 18): a file coder cannot read names what it reads and
where the file would be read; an export refused by its folder names the file asked for; a
memo on a coding says where the coding is; autocode's table shows its brackets as typed; and
after `make demo` the hint says where `coder` is."""
from __future__ import annotations

import errno
import io
import os
import re
import subprocess
import sys
from pathlib import Path

from coder.render import Env

REPO = Path(__file__).resolve().parents[1]
ZIP = b"PK\x03\x04\x14\x00\x06\x00" + bytes(40)


def one_line_error(result, *fragments: str) -> str:
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    [line] = result.stderr.strip().splitlines()
    for fragment in fragments:
        assert fragment in line, line
    return line


def test_a_word_document_given_to_code_apply_says_what_reads_it(loaded):
    loaded.write("codings.docx", ZIP)
    line = one_line_error(loaded.run("code", "apply", "codings.docx"), "a Word document (.docx)",
                          "coder reads CSV files", "Word documents are read as transcripts, by `coder import`")
    assert "spreadsheet" not in line  # a Word document is not saved from a spreadsheet


def test_a_workbook_given_as_a_codebook_names_every_codebook_format(loaded):
    loaded.write("book.xlsx", ZIP)
    for command in (("codebook", "load"), ("codebook", "validate")):
        one_line_error(loaded.run(*command, "book.xlsx"), "an Excel workbook (.xlsx)",
                       "codebooks as YAML (.yaml), CSV (.csv) or REFI-QDA (.qdc)", "Save As > CSV UTF-8",
                       "workbooks are read as transcripts, by `coder import`")


def test_a_binary_codebook_names_the_formats_without_sending_it_to_import(loaded):
    loaded.write("book.yaml", bytes(range(256)))
    line = one_line_error(loaded.run("codebook", "load", "book.yaml"), "binary", "YAML (.yaml), CSV (.csv)")
    assert "coder import" not in line


def test_an_export_refused_by_its_folder_names_the_file_asked_for(loaded, monkeypatch):
    from coder import output_files

    def read_only_folder(path, suffix=".tmp"):
        name = str(path.with_name(f".{path.name}.0000{suffix}"))
        raise PermissionError(errno.EACCES, "Permission denied", name)

    monkeypatch.setattr(output_files, "create_exclusive", read_only_folder)
    (loaded.root / "shared").mkdir()
    for args, name in ((("report", "quotes", "--docx", "--out", "shared/sheet.docx"), "sheet.docx"),
                       (("report", "freq", "--out", "shared/freq.csv"), "freq.csv"),
                       (("export", "segments", "--xlsx", "--out", "shared/data.xlsx"), "data.xlsx"),
                       (("backup", "shared/copy.db"), "copy.db")):
        result = loaded.run(*args)
        assert result.exit_code == 2, (args, result.stderr)
        assert f"shared/{name}" in result.stderr and ".tmp" not in result.stderr \
            and ".partial" not in result.stderr, result.stderr
    assert list((loaded.root / "shared").iterdir()) == []


def test_a_memo_on_a_coding_is_listed_by_where_the_coding_is(loaded):
    assert loaded.run("code", "add", "hamar_1", "2", "two_bosses", "--memo", "tydelig").exit_code == 0
    [coding] = loaded.run("code", "list", "--json").json()
    for args in (("memo", "list"), ("report", "memos")):
        table = loaded.run(*args).stdout
        # the target is the place, not 'hamar_1: vertical.two_bosses (uuid)'; the id has its own column
        assert "hamar_1 §2 vertical.two_bosses" in table and f"({coding['id'][:8]})" not in table, table
    assert loaded.run("memo", "list", "--json").json()[0]["id"] == coding["id"]  # JSON keeps the id


def test_the_autocode_table_shows_the_hit_in_plain_brackets(loaded, monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setenv("NO_COLOR", "1")
    screen = Terminal()
    monkeypatch.setattr("coder.commands.search._env", lambda: Env(stdout=screen, stderr=io.StringIO(), width=160))
    assert loaded.run("autocode").exit_code == 0
    shown = re.sub(r"\x1b\[[0-9;]*m", "", screen.getvalue())
    assert "[sjef" in shown or "[to sjefer]" in shown, shown
    assert "\\[" not in shown


def test_the_demo_hint_says_coder_is_in_the_venv_when_it_is_not_on_path(tmp_path):
    coder = Path(sys.executable).parent / "coder"
    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep)
                           if not (Path(p) / "coder").exists())
    env = {**os.environ, "PATH": path, "CODER_NAME": "demo"}
    env.pop("CODER_DB", None)
    run = subprocess.run([str(coder), "demo", str(tmp_path / "demo")], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    hint = run.stderr.strip().splitlines()[-1]
    assert "coder is not on your PATH" in hint and "bin/activate" in hint, hint


def test_memos_on_codings_are_listed_in_segment_order(loaded):
    for segment in (4, 2):
        assert loaded.run("code", "add", "hamar_1", str(segment), "two_bosses", "--memo", f"on {segment}").exit_code == 0
    lines = [line for line in loaded.run("memo", "list").stdout.splitlines() if "hamar_1 §" in line]
    assert [line.split("§")[1].split()[0] for line in lines] == ["2", "4"]
