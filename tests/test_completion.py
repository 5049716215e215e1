"""Shell completion (issue 18): bash, zsh and fish complete commands, options, their fixed
values, and the names in the open project (transcripts, codes, cases, coders), read-only
and without the heavy libraries, so that Tab answers at once."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from coder.cli import app

REPO = Path(__file__).resolve().parents[1]


def complete(project, line: str, shell: str = "bash") -> list[str]:
    """What the shell offers at the end of `line` (a trailing space: a new word), as
    the script `coder --show-completion` installs asks for it."""
    words = line.split()
    if line.endswith(" "):
        words.append("")
    env = {"_CODER_COMPLETE": f"complete_{shell}", "COMP_WORDS": " ".join(words), "COMP_CWORD": str(len(words) - 1),
           "_TYPER_COMPLETE_ARGS": line, "_TYPER_COMPLETE_FISH_ACTION": "get-args", "CODER_DB": str(project.db)}
    result = CliRunner().invoke(app, [], prog_name="coder", env=env)
    assert result.exit_code == 0, result.output
    return [value for value in result.output.splitlines() if value]


def test_transcript_names_complete_from_the_open_project(loaded):
    assert complete(loaded, "coder segments ha") == ["hamar_1"]
    assert complete(loaded, "coder segments ") == ["hamar_1", "lier_1"]
    assert complete(loaded, "coder report quotes --transcript li") == ["lier_1"]


def test_codes_cases_and_coders_complete(loaded):
    loaded.run("code", "add", "hamar_1", "2", "two_bosses", "--coder", "anna")
    assert "two_bosses" in complete(loaded, "coder code add hamar_1 2 tw")
    assert "vertical.two_bosses" in complete(loaded, "coder code add hamar_1 2 vertical.")
    assert complete(loaded, "coder report freq --case L") == ["Lier"]
    assert complete(loaded, "coder report quotes --coder a") == ["anna"]


def test_fixed_values_and_commands_complete(loaded):
    assert complete(loaded, "coder report freq --unit ") == ["segments", "documents", "informants", "words"]
    assert complete(loaded, "coder rep") == ["report"]


def test_zsh_and_fish_get_the_same_names(loaded):
    assert any(value.startswith("hamar_1") or "hamar_1" in value for value in complete(loaded, "coder segments ha", "zsh"))
    assert complete(loaded, "coder segments ha", "fish")[0].startswith("hamar_1")


def test_completion_with_no_project_offers_nothing_and_creates_nothing(project):
    assert not project.db.exists()
    assert complete(project, "coder segments ha") == []
    assert not project.db.exists()


def test_the_completion_script_is_printed_for_each_shell(monkeypatch):
    monkeypatch.setenv("_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION", "1")  # name the shell, as a user may
    for shell, marker in (("bash", "complete -o"), ("zsh", "compdef"), ("fish", "complete --command coder")):
        result = CliRunner().invoke(app, ["--show-completion", shell], prog_name="coder")
        assert result.exit_code == 0 and "_CODER_COMPLETE" in result.output and marker in result.output, result.output


def test_completing_loads_no_heavy_library(loaded):
    env = {**os.environ, "PYTHONPATH": str(REPO), "_CODER_COMPLETE": "complete_bash", "COMP_WORDS": "coder segments ha",
           "COMP_CWORD": "2", "CODER_DB": str(loaded.db)}
    run = subprocess.run([sys.executable, "-X", "importtime", "-m", "coder"], env=env, capture_output=True, text=True,
                         timeout=120)
    assert run.stdout.split() == ["hamar_1"]
    loaded_modules = {line.rsplit("|", 1)[1].strip().split(".")[0] for line in run.stderr.splitlines()
                      if line.startswith("import time:")}
    assert not loaded_modules & {"rich", "yaml", "docx", "openpyxl", "rapidfuzz", "pydantic", "prompt_toolkit"}


def test_attributes_complete_for_by_rows_cols_and_where(loaded):
    loaded.run("cases", "set", "Hamar", "leadership_model=unified", "population=27000")
    assert complete(loaded, "coder report freq --by lea") == ["leadership_model"]
    assert complete(loaded, "coder report matrix --rows ")[:3] == ["codes", "cases", "dimensions"]
    assert "population" in complete(loaded, "coder report matrix --cols p")
    assert complete(loaded, "coder report quotes --where pop") == ["population="]
    assert complete(loaded, "coder cases set Hamar lea") == ["leadership_model="]
