"""Shared fixtures: a small codebook and transcripts written fresh in tmp_path, and `cli`,
which runs the real command line (typer's CliRunner) against a project database there."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings
from typer.testing import CliRunner

from coder.cli import app

settings.register_profile("ci", deadline=None, max_examples=150, derandomize=True)
settings.register_profile("dev", deadline=None, max_examples=100)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

REPO = Path(__file__).resolve().parent.parent

CODEBOOK = """\
name: Test codebook
version: "1"
dimensions:
  - id: vertical
    label: {nb: Vertikal dimensjon, en: Vertical dimension}
    color: "#1f77b4"
    codes:
      - id: two_bosses
        label: {nb: Med to sjefer, en: Two bosses}
        description: The leader answers to both owners.
        keywords: [sjef, to sjefer]
      - id: partnership_meeting
        label: Partnerskapsmøtet
  - id: horizontal
    label: Horisontal dimensjon
    codes:
      - id: relations
        label: Relasjoner
        codes:
          - id: communication
            label: Kommunikasjon
          - id: equality
            label: Likeverd
      - id: partnership_meeting
        label: Partnerskapsmøtet
"""

HAMAR_1 = """\
---
case: Hamar
informant: Kari Solberg
role: NAV-leder
date: 2007-03-01
interviewer: A
---
Intervjuer: Hvordan er det å ha to sjefer?

Leder: Det er krevende. Jeg har to sjefer, rådmannen og fylkesdirektøren.
Klokka 10:30 hver mandag har vi møte.

Intervjuer: Og partnerskapsmøtet?

Leder: Det fungerer godt 👍 for oss. Karis kontor får ofte skryt.

Vi snakker sammen hver uke, og kommunikasjonen er bedre nå.
"""

LIER_1 = """\
---
case: Lier
informant: Per Hovland
role: avdelingsleder kommune
---
Intervjuer: Hvordan er samarbeidet mellom stat og kommune?

Avdelingsleder: Vi er likeverdige parter, men staten bestemmer mye. Det er ærlig talt en utfordring.

Intervjuer: Har dere to sjefer?

Avdelingsleder: Ja, jeg har to sjefer, og det går fint.
"""


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    def json(self):
        return json.loads(self.stdout)


@dataclass
class Project:
    root: Path
    db: Path

    def run(self, *args: str, input: str | None = None) -> Result:
        runner = CliRunner()
        result = runner.invoke(app, ["--db", str(self.db), *map(str, args)], input=input, catch_exceptions=False)
        return Result(result.exit_code, result.stdout, result.stderr)

    def start(self, codebook: str, transcripts: dict[str, str]) -> "Project":
        """`init` with the codebook file (in root), then import these transcripts (name ->
        text) from root/transcripts: a project ready to code."""
        assert self.run("init", "--codebook", self.root / codebook).exit_code == 0
        for name, text in transcripts.items():
            self.write(f"transcripts/{name}", text)
        result = self.run("import", self.root / "transcripts")
        assert result.exit_code == 0, result.stderr
        return self

    def write(self, name: str, content: str | bytes) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path


@pytest.fixture
def project(tmp_path, monkeypatch) -> Project:
    """An empty folder with a codebook file; no database yet."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CODER_NAME", "tester")
    monkeypatch.setenv("CODER_DEBUG", "1")  # a bug shows its traceback in the test instead of exit 70
    monkeypatch.delenv("CODER_DB", raising=False)
    proj = Project(tmp_path, tmp_path / "coder.db")
    proj.write("codebook.yaml", CODEBOOK)
    return proj


@pytest.fixture
def loaded(project) -> Project:
    """A project with the codebook loaded and two transcripts imported."""
    return project.start("codebook.yaml", {"hamar_1.txt": HAMAR_1, "lier_1.txt": LIER_1})


def db_rows(db: Path, sql: str, params=()):
    import sqlite3

    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()
