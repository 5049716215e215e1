"""The `coder` command line, its entry point (`coder.cli:main`, the script pyproject.toml
installs): the app of coder/commands/base.py with every command group registered on it.

Each group is a module of coder/commands/, named by its noun; importing it registers its
commands, in the order `coder --help` lists them.
"""
from __future__ import annotations

import sys

from coder.commands import (project, codebook, cases, code, report, notes, export, verify,  # noqa: F401
                            session, search, backup, refi, coders, merge, transcripts, orphans, log)
from coder.commands.base import _err, app

__all__ = ["app", "main"]


def main() -> None:
    """Entry point: run the app; the group turns errors into exit codes."""
    try:
        app(prog_name="coder")
    except KeyboardInterrupt:
        _err("interrupted")
        sys.exit(130)
