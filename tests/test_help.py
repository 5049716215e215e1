"""`--help` reads as a man page (issue 18): placeholders name what goes there (TRANSCRIPT,
CODE, FILE, N), fixed values are listed, each command is summed up in one whole sentence,
and the main commands show examples. Walks every command, so a new one is held to it too."""
from __future__ import annotations

import re

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from coder.cli import app

TYPE_PLACEHOLDERS = re.compile(r"\{|<str>|<int|<path>|<float|<text>|<integer")


def _commands(command=None, path=()):
    command = command or get_command(app)
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, (*path, name))


ALL = [path for path, _ in _commands()]


def _help(*args: str) -> str:
    result = CliRunner().invoke(app, [*args, "--help"], prog_name="coder", env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    return result.output


def _listed(help_text: str) -> dict[str, str]:
    """The Commands section of a group's help: name -> its summary, wrapped lines joined."""
    listed: dict[str, str] = {}
    section = help_text.partition("\nCommands:\n")[2]
    name = None
    for line in section.splitlines():
        if not line.strip():
            break
        match = re.match(r"  (\S+)\s+(.*)", line)
        if match and not line.startswith("    "):
            name = match.group(1)
            listed[name] = match.group(2).strip()
        elif name:
            listed[name] += " " + line.strip()
    return listed


@pytest.mark.parametrize("path", ALL, ids=[" ".join(p) or "coder" for p in ALL])
def test_every_help_names_its_placeholders_and_lists_whole_sentences(path):
    text = _help(*path)
    assert not TYPE_PLACEHOLDERS.search(text), f"coder {' '.join(path)} --help shows a type placeholder:\n{text}"
    assert f"Usage: coder {' '.join(path)}".rstrip() in text
    for name, summary in _listed(text).items():
        assert summary.endswith((".", ".)")) and not summary.endswith("..."), \
            f"`coder {' '.join(path)} --help` cuts the summary of {name}: {summary!r}"


def test_arguments_and_options_read_as_in_a_man_page():
    assert "Usage: coder code add [OPTIONS] TRANSCRIPT SEGMENT CODE" in _help("code", "add")
    assert "Usage: coder import [OPTIONS] PATH..." in _help("import")
    assert "Usage: coder demo [OPTIONS] [FOLDER]" in _help("demo")
    quotes = _help("report", "quotes")
    for option in ("--case CASE", "--code CODE", "--transcript TRANSCRIPT", "--out FILE", "--context N"):
        assert option in quotes


@pytest.mark.parametrize("command, listed", [
    (("report", "freq"), "--unit [segments|documents|informants|words]"),
    (("report", "matrix"), "--unit [segments|documents|informants|words]"),
    (("report", "cooccurrence"), "--unit [segments|documents]"),
    (("report", "agreement"), "--unit [segments|characters]"),
    (("report", "memos"), "--type [project|transcript|code|coding]"),
    (("memo", "list"), "--type [project|transcript|code|coding]"),
    (("names", "add"), "--kind [person|place]"),
    (("demo",), "--format [md|html|docx|xlsx|csv]"),
])
def test_options_with_fixed_values_list_them(command, listed):
    assert listed in _help(*command)


def test_matrix_axes_list_their_fixed_values_in_the_help():
    text = " ".join(_help("report", "matrix").split())
    assert "--rows ROWS codes, cases, dimensions, or a case/transcript attribute" in text


def test_the_listed_values_are_still_checked_by_the_command_with_a_did_you_mean(loaded):
    result = loaded.run("memo", "list", "--type", "codes")
    assert result.exit_code == 2 and "did you mean 'code'?" in result.stderr


def test_a_command_summary_is_its_first_sentence_whole():
    listed = _listed(_help("report"))
    assert listed["matrix"] == "Matrix coding query: rows × columns, counts or quotes."
    assert _listed(_help())["session"] == "Code a transcript turn by turn from the keyboard."


def test_codebook_files_and_markdown_documents_are_described_as_they_are():
    for command in (("init",), ("codebook", "load"), ("codebook", "validate")):
        assert "YAML, CSV" in _help(*command)
    for command in (("report", "quotes"), ("codebook", "export"), ("report", "disagreements")):
        assert "--md" in _help(*command) and "Markdown document" in " ".join(_help(*command).split())
    assert "Markdown table" in _help("report", "freq")


@pytest.mark.parametrize("command", [("import",), ("code", "add"), ("code", "quote"), ("code", "apply"),
                                     ("report", "freq"), ("report", "quotes"), ("export", "segments"),
                                     ("export", "qdpx")])
def test_the_main_commands_show_examples_as_typed(command):
    text = _help(*command)
    examples = text.partition("\nExamples:\n")[2]
    lines = [line.strip() for line in examples.splitlines() if line.strip()]
    assert lines and all(line.startswith(f"coder {' '.join(command)}") or line.startswith("coder ")
                         for line in lines)
    assert any(line.startswith(f"coder {' '.join(command)}") for line in lines)
