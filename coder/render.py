"""Printing: rich tables for people, plain JSON/CSV/Markdown for scripts.

stdout carries data; stderr carries diagnostics and progress. Colour follows NO_COLOR and
whether stdout is a terminal.
"""
from __future__ import annotations

import io
import json
import os
import re
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable, Iterator, Sequence, TextIO

if TYPE_CHECKING:
    from coder.reports import Matrix, Quote

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
    wide: bool = False  # tables as wide as their cells, not fitted to the terminal
    width: int | None = None  # the terminal's width; None: as the terminal (or $COLUMNS) says
    progress_after: float = 1.0  # seconds of work before a progress bar shows (a quick command shows none)

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
                                highlight=False, soft_wrap=not tty, width=self.width if tty else 200)

    def print_table(self, table) -> None:
        """A rich Table for a person at a terminal, fitted to its width (`fit_table`); as
        plain tab-separated lines when stdout is a pipe or a file."""
        if not self.stdout_isatty:
            self.stdout.write(table_lines(table))
            return
        console = self.console()
        if self.wide:
            console.width = max(console.width, _natural_width(console, table))
            console.print(table)
            return
        for piece in fit_table(table, console, console.width):
            console.print(piece)

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
    columns = list(columns or (records[0].keys() if records else []))
    return table_to_csv(columns, [[None if r.get(c) is None else _cell(r.get(c)) for c in columns] for r in records])


def dumps_markdown(records: Sequence[dict], columns: Sequence[str] | None = None) -> str:
    columns = list(columns or (records[0].keys() if records else []))
    esc = lambda v: markdown_line(_cell(v))  # noqa: E731  (a cell is data: no tags, links or | of its own)
    lines = ["| " + " | ".join(map(esc, columns)) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    for record in records:
        lines.append("| " + " | ".join("" if record.get(c) is None else esc(record.get(c)) for c in columns) + " |")
    return "\n".join(lines) + "\n"


# -- tables as CSV and Markdown (export.py's quote sheets and data sets write through these) ----

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet would run a cell starting so as a formula


def table_to_csv(header: Sequence[str], rows: Iterable[Sequence]) -> str:
    import io

    buffer = io.StringIO()
    write_table_csv(header, rows, buffer)
    return buffer.getvalue()


def write_table_csv(header: Sequence[str], rows: Iterable[Sequence], stream: TextIO, *, delimiter: str = ",",
                    prefix: str = "") -> None:
    """A table as CSV into a stream, row by row (formula-like cells escaped); `prefix` first."""
    import csv

    stream.write(prefix)
    writer = csv.writer(stream, lineterminator="\n", delimiter=delimiter)
    write_safe_rows(writer, [header])
    write_safe_rows(writer, rows)


def recode_csv(text: str, delimiter: str) -> str:
    """CSV written with commas, written again with another delimiter (cells unchanged)."""
    import csv
    import io

    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n", delimiter=delimiter).writerows(csv.reader(io.StringIO(text)))
    return buffer.getvalue()


def write_safe_rows(writer, rows: Iterable[Sequence]) -> None:
    """CSV rows with None as "" and each cell through safe_cell, inlined: this runs for every
    cell of an export."""
    formula = FORMULA_START
    for row in rows:
        writer.writerow(["" if v is None else "'" + v if v.__class__ is str and v.startswith(formula) else v
                         for v in row])


# Everything Markdown (or the HTML a Markdown viewer lets through) could read as syntax:
# tags, links and images, code, emphasis, tables, headings, quotes, entities.
_MD_SPECIAL = re.compile(r"([\\`*_<>\[\]|#~&])")
_MD_LIST_START = re.compile(r"^(\s*)([-+=]|\d+[.)])(?=\s|$)", re.MULTILINE)


def markdown_escape(text: str) -> str:
    """Data shown as text in Markdown: every character that could be syntax escaped, and a
    line that would start a list or underline a heading (- + = 1.) too."""
    return _MD_LIST_START.sub(r"\1\\\2", _MD_SPECIAL.sub(r"\\\1", text))


def markdown_line(text: str | None) -> str:
    """Data on one line of Markdown (a heading, an attribution): whitespace and line breaks
    collapsed, so a name cannot start a heading or a block of its own."""
    return markdown_escape(re.sub(r"\s+", " ", text or ""))


def attribution(quote: Quote) -> str:
    """The field's convention: (role, office); the interviewer's words (interviewer, office)."""
    who = "interviewer" if quote.speaker_kind == "interviewer" else quote.role
    parts = [p for p in (who, quote.case) if p]
    return f"({', '.join(parts)})" if parts else f"({quote.transcript})"


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
        env.print_table(table)


def write_json(stream: TextIO, records: Iterable[dict]) -> None:
    """dumps_json's very text, written a record at a time (for output too big to hold)."""
    first = True
    for record in records:
        stream.write(("[\n  " if first else ",\n  ") + json.dumps(record, ensure_ascii=False, indent=2)
                     .replace("\n", "\n  "))
        first = False
    stream.write("[]\n" if first else "\n]\n")


# -- tables: fitted to the terminal, plain lines for a pipe ---------------------------------

# A column whose widest cell is at most this many characters is "short" (a number, a name, a
# code): it is kept whole on one line; only longer (text) columns wrap.
SHORT_COLUMN = 32
# The narrowest a wrapping text column gets before the table is split instead.
MIN_TEXT_WIDTH = 16


def _plain(cell) -> str:
    """A table cell as the text it shows: markup read, styles dropped."""
    from rich.errors import MarkupError
    from rich.text import Text

    if isinstance(cell, Text):
        return cell.plain
    if isinstance(cell, str):
        try:
            return Text.from_markup(cell).plain
        except MarkupError:
            return cell
    return str(cell)


def _width(text: str) -> int:
    from rich.cells import cell_len

    return max((cell_len(line) for line in text.split("\n")), default=0)


def table_lines(table) -> str:
    """A rich Table as plain tab-separated lines (its title and a blank line if it has one, a
    header line, then a line per row), for a pipe: `| grep`, `| cut -f2`, `| sort -t$'\\t'` see every cell whole. A zero shown as `·`
    to a person is 0 here."""
    def field(cell) -> str:
        text = printable(" ".join(_plain(cell).split()))  # as rich's output, the guarantee for every cell
        return "0" if text == "·" else text

    title = [printable(_plain(table.title)), ""] if table.title else []  # what the table is, as a person read it
    lines = [*title, "\t".join(field(column.header) for column in table.columns)]
    for cells in zip(*(column._cells for column in table.columns)):
        lines.append("\t".join(field(cell) for cell in cells))
    return "\n".join(lines) + "\n"


def _measure(console, table) -> int:
    """The narrowest `table` can be drawn, in cells."""
    from rich.measure import Measurement

    return Measurement.get(console, console.options.update(width=100_000), table).minimum


def _abbreviations(headers: Sequence[str], widths: Sequence[int]) -> list[str]:
    """Each header cut to its column's width (3 at least), after the part all of them share
    (`leadership_model=unified`, `leadership_model=split` -> `unified`, `split`), made unique
    by growing it."""
    import os.path

    common = os.path.commonprefix(list(headers)) if len(headers) > 1 else ""
    out = []
    for header, width in zip(headers, widths):
        rest = header[len(common):] or header
        size = max(3, width)
        short = rest if len(rest) <= size + 1 else rest[:size].rstrip()
        while short in out and len(short) < len(rest):
            size += 1
            short = rest[:size].rstrip()
        out.append(short)
    return out


def _copy_table(table, columns: Sequence[int]):
    """A new Table like `table` with only the columns at `columns` (indices)."""
    from rich.table import Table

    new = Table(title=table.title, caption=table.caption, box=table.box, title_justify=table.title_justify,
                show_lines=table.show_lines, show_edge=table.show_edge, pad_edge=table.pad_edge,
                caption_justify="left")
    for index in columns:
        column = table.columns[index]
        new.add_column(column.header, justify=column.justify, style=column.style, no_wrap=column.no_wrap,
                       min_width=column.min_width, max_width=column.max_width, overflow=column.overflow)
    cells = list(zip(*(table.columns[index]._cells for index in columns)))
    section_after = {i for i, row in enumerate(table.rows) if row.end_section}
    for i, row in enumerate(cells):
        new.add_row(*row, end_section=i in section_after)
    return new


def _transposed(table):
    """`table` on its side: its columns become rows (for a matrix with few rows, many columns)."""
    from rich.table import Table

    new = Table(title=table.title, box=table.box, title_justify=table.title_justify, show_lines=table.show_lines)
    first = table.columns[0]
    new.add_column("")  # its header named the rows, which are now the columns
    for cell in first._cells:
        new.add_column(cell, justify=table.columns[-1].justify if len(table.columns) > 1 else "left")
    for column in table.columns[1:]:
        new.add_row(column.header, *column._cells)
    return new


def fit_table(table, console, width: int, *, turn: bool = True) -> list:
    """What to print for `table` in `width` cells, readable: short columns (numbers, names,
    codes) kept whole on one line, text columns wrapped; if that is still too wide, a table
    with many columns and few rows turned on its side, then long headers over short columns
    abbreviated (a legend below, as wide as the terminal, says what they stand for), then the
    columns split over several tables, each repeating the first column. Returns the
    renderables to print."""
    from rich.text import Text

    if _natural_width(console, table) <= width:
        return [table]
    columns = table.columns
    content = [max((_width(_plain(cell)) for cell in column._cells), default=0) for column in columns]
    headers = [_plain(column.header) for column in columns]
    for column, size, header in zip(columns, content, headers):
        if size <= SHORT_COLUMN:
            column.no_wrap = True
            column.min_width = max(size, min(len(header), SHORT_COLUMN))
        else:
            column.overflow = "fold"
            column.min_width = MIN_TEXT_WIDTH
    if _measure(console, table) <= width:
        return [table]
    if turn and len(columns) > 2 and len(table.rows) + 1 < len(columns) and not any(r.end_section for r in table.rows):
        turned = fit_table(_transposed(table), console, width, turn=False)
        if len(turned) == 1:
            return turned
    short = [i for i, size in enumerate(content) if size <= SHORT_COLUMN and len(headers[i]) > max(size, 3) + 1]
    legend = []
    if short:
        abbreviated = _abbreviations([headers[i] for i in short], [content[i] for i in short])
        for i, abbr in zip(short, abbreviated):
            if abbr != headers[i]:
                columns[i].header = Text(abbr)
                columns[i].min_width = max(content[i], len(abbr))
                legend.append(f"{abbr} = {headers[i]}")
        if _measure(console, table) <= width:
            return [table, *_legend_lines(legend, width)]
    # split: the first column (the row's name) repeated in each part
    parts, current = [], []
    for index in range(1, len(columns)):
        trial = _copy_table(table, [0, *current, index])
        if current and _measure(console, trial) > width:
            parts.append(current)
            current = [index]
        else:
            current.append(index)
    if current:
        parts.append(current)
    out = []
    for number, part in enumerate(parts, 1):
        piece = _copy_table(table, [0, *part])
        if len(parts) > 1:  # the title on a line of its own: a narrow part would wrap it
            title = f"{_plain(table.title)} (part {number} of {len(parts)})" if table.title else \
                f"part {number} of {len(parts)}"
            out.append(Text(title, style="italic"))
            piece.title = None
        if number < len(parts):
            piece.caption = None
        out.append(piece)
    return [*out, *_legend_lines(legend, width)]


def _legend_lines(entries: Sequence[str], width: int) -> list:
    """The legend under a table, as wide as the terminal (a caption would wrap at the table's
    width, breaking entries), none when nothing was abbreviated."""
    from rich.text import Text

    return [Text(_legend(entries, width), overflow="fold")] if entries else []


def _legend(entries: Sequence[str], width: int) -> str:
    """`a = b` entries joined by "; " into lines of at most `width` cells, never breaking an
    entry between lines (unless it is wider than a line by itself)."""
    from rich.cells import cell_len

    lines, line = [], ""
    for entry in entries:
        joined = f"{line}; {entry}" if line else entry
        if line and cell_len(joined) + 1 > width:  # the "; " that ends a line keeps its ";"
            lines.append(line + ";")
            line = entry
        else:
            line = joined
    return "\n".join([*lines, line])


class Labelled:
    """A table cell naming something twice, as `label id` (a code's label and its path): on one
    line where both fit, else the label wrapped and the id on a line of its own, every line at
    the row's indentation, so an id never reads as the end of the label. Its plain text (for a
    pipe) is `label id`."""

    def __init__(self, label: str, ident: str, *, indent: int = 0, bold: bool = False):
        self.label, self.ident, self.indent, self.bold = printable(label), printable(ident), indent, bold

    def __str__(self) -> str:
        return f"{self.label} {self.ident}"

    def __rich_measure__(self, console, options):
        from rich.cells import cell_len
        from rich.measure import Measurement

        # as narrow as a text column gets (MIN_TEXT_WIDTH): a longer word is folded
        longest = max([cell_len(word) for word in self.label.split()] + [cell_len(self.ident)])
        return Measurement(min(self.indent + longest, MIN_TEXT_WIDTH),
                           self.indent + cell_len(f"{self.label} {self.ident}")).clamp(max_width=options.max_width)

    def __rich_console__(self, console, options):
        from rich.cells import cell_len
        from rich.console import Group
        from rich.padding import Padding
        from rich.text import Text

        label = Text(self.label, style="bold" if self.bold else "", overflow="fold")
        ident = Text(self.ident, style="" if self.bold else "dim", overflow="fold")
        width = options.max_width
        if self.indent + cell_len(f"{self.label} {self.ident}") <= width:
            yield Padding(Text.assemble(label, " ", ident), (0, 0, 0, self.indent), expand=False)
            return
        # the id whole where the column allows, indented less if need be (never folded mid-name)
        ident_indent = max(0, min(self.indent, width - cell_len(self.ident)))
        yield Group(Padding(label, (0, 0, 0, self.indent), expand=False),
                    Padding(ident, (0, 0, 0, ident_indent), expand=False))


def _natural_width(console, table) -> int:
    """The width of `table` with no cell wrapped."""
    from rich.measure import Measurement

    return Measurement.get(console, console.options.update(width=100_000), table).maximum


# -- progress --------------------------------------------------------------------------------

class Progress:
    """A rich progress bar on stderr for long work: shown only when stderr is a terminal, the
    output is not for a script (`quiet`, as with --json) and the work has run for `after`
    seconds (default: the terminal's `progress_after`; a quick command shows nothing);
    otherwise silent and nearly free. Call it as `progress(done, total)` (the callback
    `importing.import_transcripts` takes), or wrap the items of
    the work in `progress.track(items, total)`; `close()` (or a `with`) removes the bar.

        with Progress(env, "autocoding", quiet=json_) as progress:
            result = autocode.apply(store, progress.track(proposals))
    """

    def __init__(self, env: "Env", label: str, *, quiet: bool = False, after: float | None = None):
        import time

        self.label, self.after = label, env.progress_after if after is None else after
        self.shown = not quiet and env.stderr_isatty
        self._env, self._bar, self._task = env, None, None
        self._started = time.monotonic()

    def __call__(self, done: int, total: int | None = None) -> None:
        if not self.shown:
            return
        if self._bar is None:
            import time

            if time.monotonic() - self._started < self.after:
                return
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress as Bar, SpinnerColumn,
                                       TextColumn, TimeElapsedColumn, TimeRemainingColumn)

            columns = ([TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()]
                       if total else [SpinnerColumn(), TextColumn("{task.description}"),
                                      TextColumn("{task.completed:,}"), TimeElapsedColumn()])
            self._bar = Bar(*columns, console=self._env.console(stderr=True), transient=True)
            self._bar.start()
            self._task = self._bar.add_task(self.label, total=total)
        self._bar.update(self._task, completed=done, total=total)

    def track(self, items, total: int | None = None):
        """`items`, one by one, the bar advancing with each."""
        if total is None and hasattr(items, "__len__"):
            total = len(items)
        if not self.shown:
            yield from items
            return
        for done, item in enumerate(items, 1):
            yield item
            self(done, total)

    def err(self, text: str) -> None:
        """A message on stderr while the work goes on: above the bar when one is shown."""
        if self._bar is None:
            self._env.err(text)
        else:
            self._bar.console.print(printable(text), markup=False, highlight=False, soft_wrap=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# -- a matrix coding query (coder/reports.py `matrix`): a table, JSON/CSV/Markdown, or an HTML
# page whose cells hold the quotes (framework-matrix style) ---------------------------------

MAX_QUOTES_IN_CELL = 5


def matrix_records(m: Matrix, *, with_quotes: bool) -> list[dict]:
    return list(iter_matrix_records(m, with_quotes=with_quotes))


def iter_matrix_records(m: Matrix, *, with_quotes: bool) -> Iterator[dict]:
    """matrix_records() one cell at a time (a cell's quotes are read as its record is made)."""
    for row_key, row_label in m.rows:
        for col_key, col_label in m.cols:
            count = m.counts.get((row_key, col_key), 0)
            quotes = m.quotes.get((row_key, col_key), [])
            if not count and not quotes:
                continue
            record = {"row": row_key, "col": col_key, "count": count}
            if with_quotes:
                record["quotes"] = [{"text": q.text, "attribution": attribution(q), "transcript": q.transcript,
                                     "segment": q.segment, "code": q.code, "coder": q.coder} for q in quotes]
            yield record


def _matrix_cell_summary(quotes, *, limit: int = MAX_QUOTES_IN_CELL, width: int = 140) -> str:
    parts = []
    for q in quotes[:limit]:
        text = " ".join(q.text.split())
        text = text if len(text) <= width else text[:width - 1] + "…"
        parts.append(f"«{text}» {attribution(q)}, coded by {q.coder}")
    if len(quotes) > limit:
        parts.append(f"(+{len(quotes) - limit} more)")
    return "\n".join(parts)


def matrix_wide(m: Matrix) -> tuple[list[str], list[dict]]:
    columns = ["row", *[label for _, label in m.cols]]
    rows = []
    for row_key, row_label in m.rows:
        record = {"row": row_label}
        for col_key, col_label in m.cols:
            count = m.counts.get((row_key, col_key), 0)
            quotes = m.quotes.get((row_key, col_key))
            record[col_label] = f"{count}: {_matrix_cell_summary(quotes)}" if quotes else count
        rows.append(record)
    return columns, rows


def matrix_text(m: Matrix, fmt: str, *, title: str) -> str:
    """A matrix as JSON (one record per cell), CSV or Markdown (one row per row), or an HTML page."""
    buffer = io.StringIO()
    write_matrix(buffer, m, fmt, title=title)
    return buffer.getvalue()


def write_matrix(stream: TextIO, m: Matrix, fmt: str, *, title: str) -> None:
    """matrix_text() onto a stream: JSON and the HTML page, which hold every quote of every
    cell, a cell at a time (the table formats show a few quotes a cell)."""
    with_quotes = bool(m.quotes)
    if fmt == "json":
        write_json(stream, iter_matrix_records(m, with_quotes=with_quotes))
        return
    if fmt == "html":
        _write_matrix_html(stream, m, title)
        return
    columns, rows = matrix_wide(m)
    stream.write(dumps_csv(rows, columns) if fmt == "csv" else dumps_markdown(rows, columns))


def _write_matrix_html(stream: TextIO, m: Matrix, title: str) -> None:
    import html

    e = html.escape
    head = "".join(f"<th>{e(label)}</th>" for _, label in m.cols)
    style = ("body{font-family:Georgia,serif;margin:1.5em}table{border-collapse:collapse}"
             "th,td{border:1px solid #bbb;padding:.4em;vertical-align:top;font-size:.85em;max-width:22em}"
             "thead th{background:#eee;position:sticky;top:0}ul{padding-left:1.1em;margin:.3em 0}")
    stream.write(f'<!DOCTYPE html><html lang="nb"><head><meta charset="utf-8"><title>{e(title)}</title>'
                 f"<style>{style}</style></head><body><h1>{e(title)}</h1><table><thead><tr><th></th>{head}</tr></thead>"
                 "<tbody>")
    for row_key, row_label in m.rows:
        stream.write(f"<tr><th>{e(row_label)}</th>")
        for col_key, _ in m.cols:
            count = m.counts.get((row_key, col_key), 0)
            quotes = m.quotes.get((row_key, col_key), [])
            stream.write(f"<td><b>{count or ''}</b>")
            if quotes:
                stream.write("<ul>")
                for q in quotes:
                    stream.write(f"<li>«{e(q.text)}» <em>{e(attribution(q))}</em>, coded by {e(q.coder)}</li>")
                stream.write("</ul>")
            stream.write("</td>")
        stream.write("</tr>")
    stream.write("</tbody></table></body></html>\n")


def print_matrix(env: Env, m: Matrix, *, rows: str, cols: str, unit: str) -> None:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"{rows} × {cols}: coded {unit}", box=box.SIMPLE_HEAVY, title_justify="left",
                  show_lines=bool(m.quotes))
    table.add_column(Text(printable(rows)))
    for _, label in m.cols:
        table.add_column(Text(printable(label)), justify="left" if m.quotes else "right", overflow="fold")
    for row_key, row_label in m.rows:
        cells = []
        for col_key, _ in m.cols:
            count = m.counts.get((row_key, col_key), 0)
            quotes = m.quotes.get((row_key, col_key))
            cells.append(f"{count}\n{_matrix_cell_summary(quotes, limit=2, width=80)}" if quotes else (str(count) if count
                                                                                                else "·"))
        table.add_row(Text(printable(row_label)), *cells)
    env.print_table(table)
