"""Printing: rich tables for people, plain JSON/CSV/Markdown for scripts.

stdout carries data; stderr carries diagnostics and progress. Colour follows NO_COLOR and
whether stdout is a terminal.
"""
from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass, field
from typing import Iterable, Sequence, TextIO

# What must never reach a terminal raw from data (a file name, front matter, a codebook label,
# an argument): C0 controls but tab (ESC starts the sequences that recolour, retitle, move the
# cursor or, with OSC 52, write the clipboard), DEL, C1 controls (0x9b is a one-byte CSI on
# some terminals), the bidi controls that reorder what is shown (U+202E "Trojan Source"), the
# Unicode line and paragraph separators, and lone surrogates (a non-UTF-8 file name or
# argument; printing one raises).
_UNSAFE = "\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff"
_UNSAFE_ONE_LINE = re.compile(f"[\n{_UNSAFE}]")
_UNSAFE_LINES = re.compile(f"[{_UNSAFE}]")


def printable(text: str, *, newlines: bool = False) -> str:
    """`text` as it may be shown to a person: every control character, bidi override and lone
    surrogate written as its escape (\\x1b, \\n, \\u202e), so data can never drive the
    terminal. Newlines are escaped too unless `newlines` (a table cell, a document on screen).
    The one function every human-facing print goes through: error lines, plain lines, rich
    tables (`Env.console`), and data formats when stdout is a terminal."""
    pattern = _UNSAFE_LINES if newlines else _UNSAFE_ONE_LINE
    if pattern.search(text) is None:  # the usual case: no copy
        return text
    return pattern.sub(_escape, text)


def _escape(match: re.Match) -> str:
    char = match.group()
    code = ord(char)
    if code < 0x20:
        return repr(char)[1:-1]  # \n, \r, \x1b as Python writes them
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"  # a byte of a file name or argument that is not UTF-8
    return f"\\u{code:04x}"  # also valid inside a JSON string, where the rest is escaped already


class _TerminalStream:
    """stdout when it is a terminal: data written for scripts (JSON, CSV, Markdown) is shown
    with control characters escaped; everything else about the stream is the terminal's."""

    def __init__(self, stream: TextIO):
        self._stream = stream

    def write(self, text: str) -> int:
        return self._stream.write(printable(text, newlines=True))

    def __getattr__(self, name):
        return getattr(self._stream, name)


@dataclass
class Env:
    """The terminal around a command, injectable so tests need no monkey-patching. Data that
    goes to a terminal (stdout that is a tty, stderr) is shown with controls escaped."""

    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)

    def __post_init__(self):
        self.terminal = self.stdout  # what rich writes its own colours to
        if self.stdout_isatty and not isinstance(self.stdout, _TerminalStream):
            self.stdout = _TerminalStream(self.stdout)

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
        stream = self.stderr if stderr else self.terminal
        tty = self.stderr_isatty if stderr else self.stdout_isatty
        return _console_class()(file=stream, no_color=self.no_color, force_terminal=tty or None,
                                highlight=False, soft_wrap=not tty, width=None if tty else 200)

    def out(self, text: str = "") -> None:
        """A line (or lines) for a person on stdout."""
        self.stdout.write(printable(text, newlines=True) + ("" if text.endswith("\n") else "\n"))

    def err(self, text: str) -> None:
        """One line for a person on stderr."""
        self.stderr.write(printable(text.rstrip("\n")) + "\n")
        self.stderr.flush()


_CONSOLE = None


def _console_class():
    """rich's Console, with every piece of text it renders passed through `printable`: the
    callers escape their cells already (so columns line up); this is the guarantee."""
    global _CONSOLE
    if _CONSOLE is None:
        from rich.console import Console
        from rich.segment import Segment

        class SafeConsole(Console):
            def render(self, renderable, options=None):
                for segment in super().render(renderable, options):
                    if segment.control or _UNSAFE_LINES.search(segment.text) is None:
                        yield segment
                    else:
                        yield Segment(printable(segment.text, newlines=True), segment.style)

        _CONSOLE = SafeConsole
    return _CONSOLE


def dumps_json(records: Iterable[dict]) -> str:
    return json.dumps(list(records), ensure_ascii=False, indent=2) + "\n"


def dumps_csv(records: Sequence[dict], columns: Sequence[str] | None = None) -> str:
    from coder.export import table_to_csv

    columns = list(columns or (records[0].keys() if records else []))
    return table_to_csv(columns, [[None if r.get(c) is None else _cell(r.get(c)) for c in columns] for r in records])


def dumps_markdown(records: Sequence[dict], columns: Sequence[str] | None = None) -> str:
    from coder.export import _md_line

    columns = list(columns or (records[0].keys() if records else []))
    esc = lambda v: _md_line(_cell(v))  # noqa: E731  (a cell is data: no tags, links or | of its own)
    lines = ["| " + " | ".join(map(esc, columns)) + " |", "|" + "|".join("---" for _ in columns) + "|"]
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
        table = Table(title=Text(printable(title)) if title else None, box=box.SIMPLE_HEAVY, title_justify="left")
        for column in columns:
            numeric = all(isinstance(r.get(column), (int, float)) or r.get(column) is None for r in records)
            table.add_column(Text(printable(column)), justify="right" if numeric else "left",
                             overflow="fold", max_width=60 if column == "text" else None)
        for record in records:
            # Text() keeps [brackets] in interview text literal instead of reading them as markup
            table.add_row(*(Text("" if record.get(c) is None else printable(_cell(record.get(c)), newlines=True))
                            for c in columns))
        env.console().print(table)


def write_json(stream: TextIO, records: Iterable[dict]) -> None:
    """dumps_json's very text, written a record at a time (for output too big to hold)."""
    first = True
    for record in records:
        stream.write(("[\n  " if first else ",\n  ") + json.dumps(record, ensure_ascii=False, indent=2)
                     .replace("\n", "\n  "))
        first = False
    stream.write("[]\n" if first else "\n]\n")
