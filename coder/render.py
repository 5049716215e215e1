"""Printing: rich tables for people, plain JSON/CSV/Markdown for scripts.

stdout carries data; stderr carries diagnostics and progress. Colour follows NO_COLOR and
whether stdout is a terminal.
"""
from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from typing import Iterable, Sequence, TextIO


@dataclass
class Env:
    """The terminal around a command, injectable so tests need no monkey-patching."""

    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)

    @property
    def no_color(self) -> bool:
        return bool(os.environ.get("NO_COLOR"))

    @property
    def stdout_isatty(self) -> bool:
        return getattr(self.stdout, "isatty", lambda: False)()

    @property
    def stderr_isatty(self) -> bool:
        return getattr(self.stderr, "isatty", lambda: False)()

    def console(self, *, stderr: bool = False):
        from rich.console import Console

        stream = self.stderr if stderr else self.stdout
        tty = self.stderr_isatty if stderr else self.stdout_isatty
        return Console(file=stream, no_color=self.no_color, force_terminal=tty or None,
                       highlight=False, soft_wrap=not tty, width=None if tty else 200)

    def out(self, text: str = "") -> None:
        self.stdout.write(text + ("" if text.endswith("\n") else "\n"))

    def err(self, text: str) -> None:
        self.stderr.write(text.rstrip("\n") + "\n")
        self.stderr.flush()


def dumps_json(records: Iterable[dict]) -> str:
    return json.dumps(list(records), ensure_ascii=False, indent=2) + "\n"


def dumps_csv(records: Sequence[dict], columns: Sequence[str] | None = None) -> str:
    from coder.export import table_to_csv

    columns = list(columns or (records[0].keys() if records else []))
    return table_to_csv(columns, [[None if r.get(c) is None else _cell(r.get(c)) for c in columns] for r in records])


def dumps_markdown(records: Sequence[dict], columns: Sequence[str] | None = None) -> str:
    columns = list(columns or (records[0].keys() if records else []))
    esc = lambda v: _cell(v).replace("|", "\\|").replace("\n", " ")  # noqa: E731
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    for record in records:
        lines.append("| " + " | ".join("" if record.get(c) is None else esc(record.get(c)) for c in columns) + " |")
    return "\n".join(lines) + "\n"


def _cell(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def print_records(env: Env, records: Sequence[dict], fmt: str | None, *, columns: Sequence[str] | None = None,
                  title: str | None = None, empty: str = "nothing to show") -> None:
    """One function for every list command: --json, --csv, --md, or a table for people."""
    if fmt == "json":
        env.stdout.write(dumps_json(records))
    elif fmt == "csv":
        env.stdout.write(dumps_csv(records, columns))
    elif fmt == "md":
        env.stdout.write(dumps_markdown(records, columns))
    elif not records:
        env.err(empty)
    else:
        from rich import box
        from rich.table import Table
        from rich.text import Text

        columns = list(columns or records[0].keys())
        table = Table(title=title, box=box.SIMPLE_HEAVY, title_justify="left")
        for column in columns:
            numeric = all(isinstance(r.get(column), (int, float)) or r.get(column) is None for r in records)
            table.add_column(column, justify="right" if numeric else "left",
                             overflow="fold", max_width=60 if column == "text" else None)
        for record in records:
            # Text() keeps [brackets] in interview text literal instead of reading them as markup
            table.add_row(*(Text("" if record.get(c) is None else _cell(record.get(c))) for c in columns))
        env.console().print(table)
