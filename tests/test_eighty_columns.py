"""`report freq` and `report matrix` at an 80-column terminal (issue 18): a code's id is never
run into its label (on the label's line when both fit, else on a line of its own at the row's
indentation), and a legend of abbreviated headers never breaks an entry between lines. The
terminal is injected (render.Env), as tests/test_terminal.py does."""
from __future__ import annotations

import io
import re

from coder.render import Env, Labelled, _legend


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def at_80(project, monkeypatch, *args: str) -> list[str]:
    monkeypatch.setenv("NO_COLOR", "1")
    screen = Terminal()
    monkeypatch.setattr("coder.commands.report._env", lambda: Env(stdout=screen, stderr=io.StringIO(), width=80))
    result = project.run(*args)
    assert result.exit_code == 0, result.stderr
    return [line.rstrip() for line in re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", screen.getvalue()).splitlines()]


LONG = ("Samarbeidsavtalen som styringsdokument mellom stat og kommune", "Formelle styrings- og "
        "rapporteringsbetingelser i linja")
CODEBOOK = f"""\
name: long labels
dimensions:
  - id: vertical
    label: Vertikal dimensjon
    codes:
      - id: cooperation_agreement
        label: {LONG[0]}
      - id: steering_reporting
        label: {LONG[1]}
      - id: two_bosses
        label: To sjefer
"""


def coded(project):
    project.write("long.yaml", CODEBOOK)
    project.write("t/hamar_1.txt", "---\ncase: Hamar\nrole: NAV-leder\n---\nLeder: Avtalen styrer lite.\n\n"
                                   "Leder: Vi rapporterer mye.\n\nLeder: To sjefer.\n")
    for office in ("Tjøme", "Trøgstad", "Lier", "Asker"):
        project.write(f"t/{office.lower()}_1.txt", f"---\ncase: {office}\nrole: rådmann\n---\nLeder: Avtalen.\n")
    assert project.run("init", "--codebook", "long.yaml").exit_code == 0
    assert project.run("import", "t").exit_code == 0
    for transcript, segment, code in (("hamar_1", 1, "cooperation_agreement"), ("hamar_1", 2, "steering_reporting"),
                                      ("hamar_1", 3, "two_bosses"), ("lier_1", 1, "cooperation_agreement")):
        assert project.run("code", "add", transcript, str(segment), code).exit_code == 0
    return project


def test_freq_at_80_columns_keeps_each_code_id_whole_and_apart_from_its_label(project, monkeypatch):
    lines = at_80(coded(project), monkeypatch, "report", "freq")
    assert max(map(len, lines)) <= 80, "\n".join(lines)
    for ident in ("cooperation_agreement", "steering_reporting"):  # long labels: the id on a line of its own
        [line] = [line for line in lines if ident in line]
        assert line.split()[0] == ident and line.startswith("    "), "\n".join(lines)
    [short] = [line for line in lines if "two_bosses" in line]
    assert "To sjefer two_bosses" in short  # label and id fit: one line
    assert "Tjøme" in lines[2] and "Trøgstad" in lines[2]  # five offices fit whole


def test_freq_into_a_pipe_still_names_label_and_id_in_one_field(project):
    out = coded(project).run("report", "freq").stdout
    assert f"{LONG[0]} cooperation_agreement\t" in out and "Vertikal dimensjon (vertical)\t" in out


def test_a_legend_of_abbreviations_never_breaks_an_entry():
    entries = ["avd = avdelingsleder kommune", "avde = avdelingsleder stat", "fyl = fylkesdirektør",
               "NAV = NAV-leder", "NAV- = NAV-leder (kommunal)", "NAV-l = NAV-leder (statlig)", "råd = rådmann"]
    lines = _legend(entries, 80).splitlines()
    assert all(len(line) <= 80 for line in lines)
    assert sorted(part.strip() for line in lines for part in line.rstrip(";").split(";")) == sorted(entries)


def test_matrix_legend_at_80_columns_keeps_each_entry_on_one_line(project, monkeypatch):
    project = coded(project)
    for office, role in (("Tjøme", "avdelingsleder kommune"), ("Lier", "avdelingsleder stat"),
                         ("Asker", "NAV-leder (kommunal)"), ("Kristiansand", "NAV-leder (statlig)")):
        project.write(f"t/{office.lower()}_1.txt", f"---\ncase: {office}\nrole: {role}\n---\nLeder: Avtalen.\n")
    project.run("import", "t")
    lines = at_80(project, monkeypatch, "report", "matrix", "--rows", "codes", "--cols", "role")
    assert max(map(len, lines)) <= 80, "\n".join(lines)
    legend = [line for line in lines if " = " in line]
    assert legend, "\n".join(lines)
    entries = [part.strip() for line in legend for part in line.rstrip(";").split(";") if part.strip()]
    assert all(re.fullmatch(r"\S+ = .+", entry) for entry in entries), legend
    assert any(entry.endswith("= NAV-leder (statlig)") for entry in entries), legend


def test_a_labelled_cell_is_its_label_and_id_as_plain_text():
    assert str(Labelled("To sjefer", "two_bosses", indent=2)) == "To sjefer two_bosses"


def test_the_readme_shows_report_freq_heatmap_as_it_prints_at_80_columns(tmp_path, monkeypatch):
    """The README's picture is the real output, kept so: the demo project, 80 columns, no colour."""
    from typer.testing import CliRunner

    from coder.cli import app
    from conftest import REPO

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    command = "coder report freq --heatmap --code vertical --code leadership"
    assert f"`{command}` at 80 columns" in readme
    picture = re.search(r"```text\n(Coded segments by case\n.*?)```", readme, flags=re.DOTALL).group(1)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("CODER_NAME", "demo")
    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(app, ["demo", "demo"]).exit_code == 0
    screen, errors = Terminal(), Terminal()
    monkeypatch.setattr("coder.commands.report._env", lambda: Env(stdout=screen, stderr=errors, width=80))
    result = CliRunner().invoke(app, ["--db", "demo/coder.db", *command.split()[1:]])
    assert result.exit_code == 0, result.stderr
    shown = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", screen.getvalue() + errors.getvalue())
    assert [line.rstrip() for line in shown.splitlines()] == picture.rstrip("\n").splitlines()
