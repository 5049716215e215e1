"""Progress on long work (issue 18): `import`, `code apply` and DOCX/XLSX quote sheets show a
bar on stderr when it is a terminal, and nothing into a pipe or with --json; stdout (the data)
never carries a bar. The terminal is injected (render.Env, progress_after=0 so that the few
rows of a test count as long work); timing itself is not tested."""
from __future__ import annotations

import io
import json

import pytest

from coder.render import Env

BAR = set("━╸╺⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏") | {"\x1b[?25l"}  # rich's bar, its spinner, the hidden cursor


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def run_at(project, monkeypatch, module: str, *args: str, terminal: bool = True):
    """Run `coder ARGS` with stderr a terminal (or a pipe) and stdout a pipe: (stdout, stderr)."""
    env = Env(stdout=io.StringIO(), stderr=Terminal() if terminal else io.StringIO(), progress_after=0)
    monkeypatch.setattr(f"coder.commands.{module}._env", lambda: env)
    result = project.run(*args)
    assert result.exit_code in (0, 1), result.stderr
    return env.stdout.getvalue() + result.stdout, env.stderr.getvalue()


def has_bar(text: str) -> bool:
    return any(mark in text for mark in BAR)


def test_import_shows_progress_on_a_terminal_only(project, monkeypatch):
    project.run("init", "--codebook", project.root / "codebook.yaml")
    for n in range(5):
        project.write(f"transcripts/t{n}.txt", f"Intervjuer: Spørsmål {n}?\n\nLeder: Svar {n}.\n")
    out, err = run_at(project, monkeypatch, "project", "import", project.root / "transcripts")
    assert "importing" in err and has_bar(err) and not has_bar(out)
    project.write("transcripts/t9.txt", "Leder: Nytt.\n")
    out, err = run_at(project, monkeypatch, "project", "import", project.root / "transcripts", "--json")
    assert not has_bar(out + err) and "importing" not in err
    assert {r["transcript"] for r in json.loads(out)} >= {"t9"}
    project.write("transcripts/t8.txt", "Leder: Nyere.\n")
    out, err = run_at(project, monkeypatch, "project", "import", project.root / "transcripts", terminal=False)
    assert not has_bar(out + err) and "importing" not in err


def test_code_apply_shows_progress_and_its_messages_on_a_terminal_only(loaded, monkeypatch):
    rows = "".join(f"hamar_1,{segment},two_bosses\n" for segment in (2, 4)) + "hamar_1,99,two_bosses\n"
    loaded.write("codings.csv", "transcript,segment,code\n" + rows)
    out, err = run_at(loaded, monkeypatch, "code", "code", "apply", loaded.root / "codings.csv")
    assert "applying codings.csv" in err and has_bar(err) and not has_bar(out)
    assert "row 3: not_found" in err and "2 coded, 1 not_found" in err  # the bad row is told, above the bar
    out, err = run_at(loaded, monkeypatch, "code", "code", "apply", loaded.root / "codings.csv", "--json")
    assert not has_bar(out + err) and "applying" not in err
    assert len(json.loads(out)) == 3


@pytest.mark.parametrize("fmt", ["docx", "xlsx"])
def test_quote_sheets_show_progress_on_a_terminal_only(loaded, monkeypatch, fmt):
    loaded.run("code", "add", "hamar_1", "2", "two_bosses")
    loaded.run("code", "add", "lier_1", "2", "two_bosses")
    out, err = run_at(loaded, monkeypatch, "report", "report", "quotes", f"--{fmt}", "--out", f"sheet.{fmt}")
    assert f"writing the {fmt.upper()} sheet" in err and has_bar(err) and not has_bar(out)
    assert (loaded.root / f"sheet.{fmt}").stat().st_size > 0
    out, err = run_at(loaded, monkeypatch, "report", "report", "quotes", f"--{fmt}", "--out", f"piped.{fmt}",
                      terminal=False)
    assert not has_bar(out + err) and "writing the" not in err


def test_json_and_csv_output_into_a_pipe_carry_no_progress(loaded, monkeypatch):
    loaded.run("code", "add", "hamar_1", "2", "two_bosses")
    for args in (("report", "quotes", "--json"), ("report", "quotes", "--csv")):
        out, err = run_at(loaded, monkeypatch, "report", *args)
        assert out.strip() and not has_bar(out + err), args
