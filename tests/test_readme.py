"""Every `coder` command in the README's ```sh blocks runs as written, in order, on a fresh
copy of the demo files (codebooks/ and transcripts/), and exits 0."""
from __future__ import annotations

import re
import shlex
import shutil

from typer.testing import CliRunner

from coder.cli import app
from conftest import REPO

# Commands the README shows that cannot run here, each with the reason.
SKIPPED = {
    "coder restore coder.db.backups/coder-20261123-101500.db": "names a backup made on another day",
}
NEEDS_A_TERMINAL = ("session",)  # full-screen commands


def readme_commands() -> list[list[str]]:
    """Each `coder` command line of the ```sh blocks, split as the shell splits it."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    commands = []
    for block in re.findall(r"^```sh\n(.*?)^```", readme, flags=re.MULTILINE | re.DOTALL):
        for line in block.splitlines():
            words = shlex.split(line, comments=True)
            if words[:1] == ["coder"]:
                commands.append(words)
    return commands


def test_every_command_in_the_readme_runs(project):
    for folder in ("codebooks", "transcripts"):
        shutil.copytree(REPO / folder, project.root / folder)
    commands = readme_commands()
    assert len(commands) >= 10, commands  # the parsing found the session, not just a line
    ran = []
    for words in commands:
        command = shlex.join(words)
        if command in SKIPPED or words[1] in NEEDS_A_TERMINAL:
            continue
        output = None
        if ">" in words:
            words, output = words[:words.index(">")], words[words.index(">") + 1]
        result = CliRunner().invoke(app, words[1:], catch_exceptions=False)
        assert result.exit_code == 0, f"{command}\n{result.stderr}"
        if output:
            (project.root / output).write_text(result.stdout, encoding="utf-8")
        ran.append(command)
    assert any(c.startswith("coder code quote") for c in ran)
