"""Writers: quote sheets as Markdown, CSV, JSON, HTML, DOCX and XLSX.

Each writer takes the same grouped rows and returns bytes or text; the CLI decides where
they go. Heavy libraries (python-docx, openpyxl) are imported only by their writer.
"""
from __future__ import annotations

import csv
import html
import io
import json
import re
from dataclasses import dataclass, replace
from itertools import groupby
from pathlib import Path
from typing import Callable, Iterable, Sequence, TextIO

from coder.render import FORMULA_START as _FORMULA_START, attribution, markdown_escape as _md_escape
from coder.render import markdown_line as _md_line, write_safe_rows as _write_safe_rows
from coder.render import recode_csv, table_to_csv, write_table_csv  # noqa: F401  (the writers' CSV is render's)
from coder.reports import Quote

FORMATS = ("json", "csv", "md", "docx", "xlsx", "html")
BINARY_FORMATS = ("docx", "xlsx")
NO_CASE = "(no case)"


@dataclass(frozen=True)
class Sheet:
    title: str
    quotes: Sequence[Quote]
    pseudonymised: bool = False
    project: str = ""  # the codebook's name, under the title
    date: str = ""
    filters: tuple[str, ...] = ()  # as the title line shows them: "case Hamar", "where role=leder"
    # The project's columns, so a CSV's header is the same whatever rows it has: code levels
    # (the codebook's depth), context columns, attribute keys. None: from the rows.
    levels: int | None = None
    context: bool | None = None
    attribute_keys: Sequence[str] | None = None
    noun: str = "quote"  # what each entry is called in counts ("3 disagreement(s)")
    empty: str = "No coded quotes match."


def reference(quote: Quote) -> str:
    """Where a quote is: `hamar_1 §4`, and when it was said where the transcript has times:
    `tjome_3 §2 [00:12:31]`."""
    where = f"{quote.transcript} §{quote.segment}" if quote.segment else quote.transcript
    return f"{where} [{quote.time}]" if quote.start_ms is not None else where


def grouped(quotes: Sequence[Quote]):
    """[(case, [(dimension_label, [(code, code_label, [quotes])])])] in report order."""
    for case, by_case in groupby(quotes, key=lambda q: q.case or NO_CASE):
        dimensions = []
        for dim_label, by_dim in groupby(by_case, key=lambda q: q.dimension_label):
            codes = [(code, label, merge_coders(list(by_code)))
                     for (code, label), by_code in groupby(by_dim, key=lambda q: (q.code, q.code_label))]
            dimensions.append((dim_label, codes))
        yield case, dimensions


def merge_coders(quotes: Sequence[Quote]) -> list[Quote]:
    """One entry per passage: the same span coded with the same code by several coders is
    shown once, "coded by anna, bjorn", with their memos together."""
    merged: list[Quote] = []
    for _, same in groupby(quotes, key=lambda q: (q.transcript, q.start, q.end)):
        same = list(same)
        if len(same) == 1:
            merged.append(same[0])
            continue
        coders = ", ".join(dict.fromkeys(q.coder for q in same))
        memos = " / ".join(dict.fromkeys(q.memo for q in same if q.memo)) or None
        merged.append(replace(same[0], coder=coders, memo=memos))
    return merged


def code_title(label: str, quotes: Sequence[Quote]) -> str:
    """The code's label with its parents' labels: Relasjoner › Kommunikasjon."""
    levels = quotes[0].path_labels[1:] if quotes and quotes[0].path_labels else (label,)
    return " › ".join(levels)


def safe_cell(value):
    """Spreadsheet cells starting with = + - @ would run as formulas: prefix a quote mark."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


COLUMNS = ("case", "transcript", "informant", "role", "dimension", "code", "code_label", "segment", "start", "end",
           "text", "attribution", "coder", "memo", "speaker", "speaker_kind", "time")


def columns_for(sheet: Sheet) -> list[str]:
    """The fixed columns, then one per code level (MAXQDA style), context, and attributes."""
    depth = sheet.levels if sheet.levels is not None else max((len(q.path_labels) for q in sheet.quotes), default=0)
    levels = [f"level_{i}" for i in range(1, depth + 1)]
    with_context = sheet.context if sheet.context is not None else any(q.before or q.after for q in sheet.quotes)
    context = ["before", "after"] if with_context else []
    attributes = sorted(sheet.attribute_keys if sheet.attribute_keys is not None
                        else {k for q in sheet.quotes for k in q.attributes})
    attributes = [a for a in attributes if a not in COLUMNS]
    return [*COLUMNS, *levels, *context, *attributes]


def _record(quote: Quote) -> dict:
    record = {"case": quote.case, "transcript": quote.transcript, "informant": quote.informant, "role": quote.role,
              "dimension": quote.dimension, "code": quote.code, "code_label": quote.code_label,
              "segment": quote.segment, "start": quote.start, "end": quote.end, "text": quote.text,
              "attribution": attribution(quote), "coder": quote.coder, "memo": quote.memo,
              "speaker": quote.speaker, "speaker_kind": quote.speaker_kind, "before": quote.before,
              "after": quote.after, "time": quote.time}
    for index, label in enumerate(quote.path_labels, start=1):
        record[f"level_{index}"] = label
    for key, value in quote.attributes.items():
        record.setdefault(key, value)
    return record


def to_json(sheet: Sheet) -> str:
    return json.dumps([q.as_json() for q in sheet.quotes], ensure_ascii=False, indent=2) + "\n"


def to_csv(sheet: Sheet) -> str:
    buffer = io.StringIO()
    write_csv(sheet, buffer)
    return buffer.getvalue()


def write_csv(sheet: Sheet, stream: TextIO, *, delimiter: str = ",", prefix: str = "") -> None:
    """The quote sheet as CSV, row by row into a stream: a sheet of 100,000 quotes is never
    held as one string. `prefix` goes first (Excel's byte-order mark)."""
    stream.write(prefix)
    writer = csv.writer(stream, lineterminator="\n", delimiter=delimiter)
    columns = columns_for(sheet)
    _write_safe_rows(writer, [columns])  # a front-matter key is data too: "=HYPERLINK(...)"
    _write_safe_rows(writer, (list(map(_record(quote).get, columns)) for quote in sheet.quotes))


def to_markdown(sheet: Sheet) -> str:
    h = _md_line
    lines = [f"# {h(sheet.title)}", ""]
    if sheet.pseudonymised:
        lines += ["_Names are pseudonymised._", ""]
    if not sheet.quotes:
        lines.append(f"_{sheet.empty}_")
    for case, dimensions in grouped(sheet.quotes):
        lines += [f"## {h(case)}", ""]
        for dim_label, codes in dimensions:
            lines += [f"### {h(dim_label)}", ""]
            for code, label, quotes in codes:
                lines += [f"#### {h(code_title(label, quotes))}", "", f"{_md_code(code)} · {len(quotes)} {sheet.noun}(s)", ""]
                for quote in quotes:
                    lines += _md_quote(quote)
    return "\n".join(lines).rstrip() + "\n"


def _md_quote(quote: Quote) -> list[str]:
    text = " ".join(quote.text.split())
    before = f"…{_md_line(quote.before)}" if quote.before else ""
    after = f"{_md_line(quote.after)}…" if quote.after else ""
    lines = [f"> {before}«{_md_escape(text)}»{after} {_md_line(attribution(quote))}  "]
    lines.append(f"> <sub>{_md_line(reference(quote))}, coded by {_md_line(quote.coder)}</sub>")
    if quote.memo:  # a memo's lines stay lines, inside the quote
        lines.append(">\n> Memo: " + "  \n> ".join(_md_escape(line) for line in quote.memo.splitlines()))
    lines.append("")
    return lines


def _md_code(text: str) -> str:
    """An id as inline code; as escaped text when it holds what a code span cannot."""
    return f"`{text}`" if re.fullmatch(r"[^`\s]+", text) else _md_line(text)


HTML_STYLE = """
body{font-family:Georgia,'Times New Roman',serif;max-width:46em;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em}h2{border-bottom:2px solid #444;margin-top:2em}h3{font-size:1.05em;margin-bottom:.2em}
.dim{color:#666;font-size:.85em;margin:0 0 .6em}
blockquote{margin:.6em 0 1em;padding:.4em .9em;border-left:4px solid #999;background:#f7f7f7}
.attr{font-style:italic}.meta{display:block;color:#666;font-size:.8em;margin-top:.3em}
.memo{display:block;font-size:.85em;margin-top:.3em}.ctx{color:#777}.subtitle{color:#555;margin-top:-.5em}
h3.dimension{color:#555;font-size:1.1em;text-transform:uppercase;letter-spacing:.05em}h4{margin-bottom:.2em}
@media print{body{margin:0;max-width:none}blockquote{break-inside:avoid}h2,h3,h4,.dim{break-after:avoid}h2{break-before:page}h2:first-of-type{break-before:auto}}
"""


def to_html(sheet: Sheet) -> str:
    def e(text: str) -> str:
        return html.escape(_xml_safe(text))

    out = ["<!DOCTYPE html>", '<html lang="nb"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{e(sheet.title)}</title><style>{HTML_STYLE}</style></head><body>", f"<h1>{e(sheet.title)}</h1>"]
    if subtitle := sheet_subtitle(sheet):
        out.append(f'<p class="subtitle">{e(subtitle)}</p>')
    if sheet.pseudonymised:
        out.append('<p class="dim">Names are pseudonymised.</p>')
    if not sheet.quotes:
        out.append(f"<p><em>{e(sheet.empty)}</em></p>")
    for case, dimensions in grouped(sheet.quotes):
        out.append(f"<h2>{e(case)}</h2>")
        for dim_label, codes in dimensions:
            out.append(f'<h3 class="dimension">{e(dim_label)}</h3>')
            for code, label, quotes in codes:
                out.append(f"<h4>{e(code_title(label, quotes))} <small>({e(code)})</small></h4>")
                out.append(f'<p class="dim">{len(quotes)} {e(sheet.noun)}(s)</p>')
                for quote in quotes:
                    before = f'<span class="ctx">…{e(quote.before)}</span>' if quote.before else ""
                    after = f'<span class="ctx">{e(quote.after)}…</span>' if quote.after else ""
                    out.append(f"<blockquote>{before}«{e(quote.text)}»{after} "
                               f'<span class="attr">{e(attribution(quote))}</span>'
                               f'<span class="meta">{e(reference(quote))}, coded by {e(quote.coder)}</span>')
                    if quote.memo:
                        out.append(f'<span class="memo">Memo: {e(quote.memo)}</span>')
                    out.append("</blockquote>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def to_docx(sheet: Sheet, progress: Callable[[int, int], None] | None = None) -> bytes:
    """The sheet as a Word document, its paragraphs written straight into the body's XML.

    python-docx's `add_paragraph(style=...)` looks the style up by name among all styles and
    inserts each paragraph by scanning the body for its last element: a few milliseconds a
    paragraph, and growing with the document (27,000 quotes took 7 minutes). Here the style ids
    are looked up once and each paragraph is appended at the end: linear, about 10,000 quotes
    a second.

    Layout, as the HTML sheet prints: each case office starts a page; a quote is kept whole and
    with its grey caption (and memo) below it; headings stay with what follows; the footer
    numbers the pages. `progress(done, total)` is told of each quote written."""
    from docx import Document

    document = Document()
    _document_properties(document.core_properties, sheet.title)
    style = {name: document.styles[name].style_id
             for name in ("Title", "Subtitle", "Heading 1", "Heading 2", "Heading 3", "Quote")}
    body = _DocxBody(document)
    body.paragraph(sheet.title, style=style["Title"])
    if subtitle := sheet_subtitle(sheet):
        body.paragraph(subtitle, style=style["Subtitle"])
    if sheet.pseudonymised:
        body.paragraph("Names are pseudonymised.")
    if not sheet.quotes:
        body.paragraph(sheet.empty)
    written = 0
    for number, (case, dimensions) in enumerate(grouped(sheet.quotes)):
        body.paragraph(case, style=style["Heading 1"], page_break=number > 0, keep_next=True)
        for dim_label, codes in dimensions:
            body.paragraph(dim_label, style=style["Heading 2"], keep_next=True)
            for code, label, quotes in codes:
                body.paragraph(f"{code_title(label, quotes)} ({code})", style=style["Heading 3"], keep_next=True)
                body.paragraph(f"{len(quotes)} {sheet.noun}(s)", grey=True, size=16, keep_next=True)
                for quote in quotes:
                    runs = []
                    if quote.before:
                        runs.append((f"…{quote.before}", True))
                    runs.append((f"«{quote.text}»", False))
                    if quote.after:
                        runs.append((f"{quote.after}…", True))
                    runs.append((f" {attribution(quote)}", False))
                    body.paragraph(runs, style=style["Quote"], indent=True, keep_next=True, keep_lines=True, after=60)
                    body.paragraph(f"{reference(quote)}, coded by {quote.coder}", grey=True, size=16, indent=True,
                                   keep_next=bool(quote.memo), keep_lines=True, after=0 if quote.memo else None)
                    if quote.memo:
                        body.paragraph(f"Memo: {quote.memo}", indent=True, keep_lines=True, size=18)
                    written += 1
                    if progress is not None:
                        progress(written, len(sheet.quotes))
    body.close()
    _page_numbers(document)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def sheet_subtitle(sheet: Sheet) -> str:
    """The line under a sheet's title: the project (its codebook), the date, the filters used
    and the number of quotes."""
    parts = [sheet.project, sheet.date,
             ("filters: " + ", ".join(sheet.filters)) if sheet.filters else "all coded quotes" if sheet.date else "",
             f"{len(sheet.quotes)} {sheet.noun}(s)" if sheet.date else ""]
    return " · ".join(p for p in parts if p)


class _DocxBody:
    """Paragraphs appended to a python-docx document's body as plain XML elements (see
    to_docx): the section properties, the body's last child, are taken out while the
    paragraphs are added and put back by close()."""

    GREY = "666666"

    def __init__(self, document) -> None:
        from docx.oxml.ns import qn
        from lxml import etree

        self._qn, self._sub = qn, etree.SubElement
        self._body = document.element.body
        self._section = self._body.sectPr
        if self._section is not None:
            self._body.remove(self._section)
        self._space = "{http://www.w3.org/XML/1998/namespace}space"

    def paragraph(self, runs: str | list[tuple[str, bool]], *, style: str | None = None, grey: bool = False,
                  size: int | None = None, indent: bool = False, keep_next: bool = False, keep_lines: bool = False,
                  page_break: bool = False, after: int | None = None) -> None:
        """One paragraph: text (or (text, grey) runs), its style id, the text's size in
        half-points, and how it breaks across pages."""
        qn, sub = self._qn, self._sub
        p = sub(self._body, qn("w:p"))
        properties = sub(p, qn("w:pPr"))
        if style:
            sub(properties, qn("w:pStyle")).set(qn("w:val"), style)
        if keep_next:
            sub(properties, qn("w:keepNext"))
        if keep_lines:
            sub(properties, qn("w:keepLines"))
        if page_break:
            sub(properties, qn("w:pageBreakBefore"))
        if after is not None:
            sub(properties, qn("w:spacing")).set(qn("w:after"), str(after))
        if indent:  # a quote, its caption and its memo in one column, set in from the headings
            sub(properties, qn("w:ind")).set(qn("w:left"), "432")
        for text, grey_run in ([(runs, grey)] if isinstance(runs, str) else runs):
            r = sub(p, qn("w:r"))
            if grey_run or size:
                run_properties = sub(r, qn("w:rPr"))
                if grey_run:
                    sub(run_properties, qn("w:color")).set(qn("w:val"), self.GREY)
                if size:
                    sub(run_properties, qn("w:sz")).set(qn("w:val"), str(size))
            for index, line in enumerate(_xml_safe(text).split("\n")):
                if index:
                    sub(r, qn("w:br"))
                t = sub(r, qn("w:t"))
                t.text = line
                t.set(self._space, "preserve")

    def close(self) -> None:
        if self._section is not None:
            self._body.append(self._section)


def _page_numbers(document) -> None:
    """"Page 3 of 12" in the footer, as fields Word and LibreOffice fill in."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    paragraph = document.sections[0].footer.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for text, field in (("Page ", "PAGE"), (" of ", "NUMPAGES")):
        paragraph.add_run(text)
        simple = OxmlElement("w:fldSimple")
        simple.set(qn("w:instr"), field)
        run = OxmlElement("w:r")
        placeholder = OxmlElement("w:t")
        placeholder.text = "1"
        run.append(placeholder)
        simple.append(run)
        paragraph._p.append(simple)


def _document_properties(properties, title: str) -> None:
    """The document's properties say what it is and nothing else: the title (pseudonymised
    with the sheet), coder as its author, and no subject, keywords or comments (python-docx's
    template would put its own there)."""
    properties.title = _xml_safe(title)
    properties.author = properties.last_modified_by = "coder"
    for empty in ("subject", "keywords", "comments", "category", "content_status", "identifier", "language",
                  "version"):
        setattr(properties, empty, "")


# What XML 1.0 cannot carry at all (C0 controls but tab, LF and CR; lone surrogates; U+FFFE
# and U+FFFF): python-docx and openpyxl raise on them.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_safe(text: str | None) -> str:
    """Text as DOCX, XLSX and HTML can hold it: each character XML 1.0 forbids becomes U+FFFD
    (visible, and plainly a replaced character). The one sanitiser of those writers."""
    text = text or ""
    return _NOT_XML.sub("\ufffd", text) if _NOT_XML.search(text) else text


# Column widths in characters; a column not named here is 14 wide.
_XLSX_WIDTHS = {"text": 70, "memo": 40, "attribution": 28, "code": 30, "code_label": 28, "before": 30, "after": 30,
                "dimension": 16, "transcript": 18, "informant": 18, "role": 18, "coder": 12, "segment": 8,
                "start": 8, "end": 8}
_XLSX_LINE_POINTS = 15  # one wrapped line of 11-point text
_XLSX_MAX_ROW_POINTS = 409  # the tallest row a spreadsheet allows


def to_xlsx(sheet: Sheet, progress: Callable[[int, int], None] | None = None) -> bytes:
    """A workbook written row by row (openpyxl's write-only mode: a sheet of 100,000 quotes
    is not held as cell objects).

    For the screen: the header row frozen and filtered, every cell wrapped and aligned to the
    top. For paper: landscape, across as many pages as the columns need (never shrunk to one
    page's width), the header row and the case and transcript columns repeated on each. Each row is as tall as its longest cell
    wraps to: a spreadsheet measures rows when a person edits them, not when it opens a file,
    and LibreOffice prints unmeasured wrapped rows over each other."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    workbook.properties.title = _xml_safe(sheet.title)
    workbook.properties.creator = workbook.properties.lastModifiedBy = "coder"
    ws = workbook.create_sheet("Quotes")
    columns = columns_for(sheet)
    widths = [_XLSX_WIDTHS.get(column, 14) for column in columns]
    for index, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(sheet.quotes) + 1}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = "9"  # A4
    ws.print_title_rows = "1:1"
    ws.print_title_cols = "A:B"  # each page says which case and transcript its rows are from
    ws.page_setup.pageOrder = "overThenDown"  # a row's columns on consecutive pages
    ws.print_options.gridLines = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.oddFooter.center.text = "Page &P of &N"
    top = Alignment(wrap_text=True, vertical="top")
    bold = Font(bold=True)
    ws.row_dimensions[1].height = _XLSX_LINE_POINTS * max(_lines(column, width) for column, width in
                                                          zip(columns, widths))
    ws.append([_xlsx_cell(ws, column, alignment=top, font=bold) for column in columns])
    for row_number, quote in enumerate(sheet.quotes, start=2):
        record = _record(quote)
        values = [record.get(column) for column in columns]
        lines = max((_lines(value, width) for value, width in zip(values, widths) if value.__class__ is str),
                    default=1)
        ws.row_dimensions[row_number].height = min(_XLSX_MAX_ROW_POINTS, _XLSX_LINE_POINTS * lines + 2)
        ws.append([_xlsx_cell(ws, value, alignment=top) for value in values])
        if progress is not None:
            progress(row_number - 1, len(sheet.quotes))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _lines(text: str, width: int) -> int:
    """How many lines `text` wraps to in a column `width` characters wide (a little generous:
    a line breaks at a word, not at the last character)."""
    per_line = max(1, int(width * 0.95))
    return sum(max(1, -(-len(line) // per_line)) for line in str(text).split("\n")) or 1


def _xlsx_cell(ws, value, **styles):
    """A cell for a write-only sheet. Text is always a text cell, even when it starts like a
    formula (= + - @): no spreadsheet runs a text cell, so it needs no visible ' in front
    (that is CSV's defence, which has no cell types)."""
    from openpyxl.cell import WriteOnlyCell

    if isinstance(value, str):
        cell = WriteOnlyCell(ws, value=_xml_safe(value))
        cell.data_type = "s"
    else:
        cell = WriteOnlyCell(ws, value=value)
    for name, style in styles.items():
        setattr(cell, name, style)
    return cell


WRITERS = {"json": to_json, "csv": to_csv, "md": to_markdown, "html": to_html, "docx": to_docx, "xlsx": to_xlsx}


def render(sheet: Sheet, fmt: str, progress: Callable[[int, int], None] | None = None) -> str | bytes:
    """The sheet in one format; the slow ones (DOCX, XLSX) tell `progress(done, total)` of each quote."""
    if progress is not None and fmt in ("docx", "xlsx"):
        return WRITERS[fmt](sheet, progress)
    return WRITERS[fmt](sheet)


def safe_filename(*parts: str | None) -> str:
    """A file name from free text: ASCII letters, digits, - and _ only (no dots, no slashes)."""
    words = []
    for part in parts:
        if not part:
            continue
        word = part.lower().replace("æ", "ae").replace("ø", "o").replace("å", "a")
        word = re.sub(r"[^a-z0-9_]+", "-", word).strip("-_")
        if word:
            words.append(word)
    return "_".join(words)[:120] or "export"


def write_file(path: Path, content: str | bytes | Callable[[TextIO], None], *, force: bool,
               db: Path | None = None) -> Path:
    """Write an output file whole or not at all, never over an existing one without `force`,
    never over the project `db` (see output_files.write_output). `content` may be a function writing
    text to a stream."""
    from coder.output_files import write_output

    return write_output(path, content, force=force, db=db)


# -- plain tables (data set, matrix, memos) ------------------------------------------------

def table_to_xlsx(header: Sequence[str], rows: Iterable[Sequence], *, title: str = "Data") -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    workbook.properties.creator = workbook.properties.lastModifiedBy = "coder"
    ws = workbook.create_sheet(re.sub(r"[\\/*?:\[\]]", "-", _xml_safe(title))[:31] or "Data")
    ws.freeze_panes = "A2"
    ws.append([_header_cell(ws, h, Font) for h in header])
    for row in rows:
        ws.append([(_xlsx_cell(ws, v) if v.startswith(_FORMULA_START) else _xml_safe(v)) if v.__class__ is str else v
                   for v in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _header_cell(ws, value, font_cls):
    cell = _xlsx_cell(ws, value)
    cell.font = font_cls(bold=True)
    return cell


# -- the codebook as a reviewer document --------------------------------------------------

def codebook_to_markdown(name: str, rows: Sequence[dict]) -> str:
    lines = [f"# {_md_line(name)}", ""]
    for dimension, codes in groupby(rows, key=lambda r: (r["dimension"], r["dimension_label"])):
        lines += [f"## {_md_line(dimension[1])} ({_md_code(dimension[0])})", ""]
        for row in codes:
            heading = "#" * min(6, 2 + row["depth"])
            english = f" / {row['label_en']}" if row["label_en"] else ""
            lines += [f"{heading} {_md_line(row['label'])}{_md_line(english)}", "",
                      f"{_md_code(row['path'])} · {row['codings']} coding(s)", ""]
            if row["description"]:
                lines += [_md_escape(row["description"]), ""]
            for key, title in (("include", "Use when"), ("exclude", "Do not use when"), ("examples", "Examples"),
                               ("keywords", "Keywords")):
                if row[key]:
                    lines.append(f"**{title}:**")
                    lines += [f"- {_md_line(item)}" for item in row[key]]
                    lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def codebook_to_docx(name: str, rows: Sequence[dict]) -> bytes:
    from docx import Document

    document = Document()
    _document_properties(document.core_properties, name)
    document.add_heading(_xml_safe(name), level=0)
    for dimension, codes in groupby(rows, key=lambda r: (r["dimension"], r["dimension_label"])):
        document.add_heading(_xml_safe(f"{dimension[1]} ({dimension[0]})"), level=1)
        for row in codes:
            english = f" / {row['label_en']}" if row["label_en"] else ""
            document.add_heading(_xml_safe(f"{row['label']}{english}"), level=min(9, 1 + row["depth"]))
            document.add_paragraph(_xml_safe(f"{row['path']} · {row['codings']} coding(s)")).runs[0].italic = True
            if row["description"]:
                document.add_paragraph(_xml_safe(row["description"]))
            for key, title in (("include", "Use when"), ("exclude", "Do not use when"), ("examples", "Examples"),
                               ("keywords", "Keywords")):
                if row[key]:
                    document.add_paragraph().add_run(title).bold = True
                    for item in row[key]:
                        document.add_paragraph(_xml_safe(item), style="List Bullet")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


CODEBOOK_COLUMNS = ("path", "dimension", "label", "label_en", "description", "include", "exclude", "examples",
                    "keywords", "color", "codings")


CODEBOOK_CSV_COLUMNS = (*CODEBOOK_COLUMNS, "codebook")


def codebook_to_csv(rows: Sequence[dict], *, name: str = "", dimensions: Sequence[dict] = ()) -> str:
    """What `coder codebook load FILE.csv` reads back as the same codebook: each dimension's
    row (its path is its id) before its codes, the codebook's name in every row, lists joined
    with ' | ' (see codebook.csv_list), and texts a spreadsheet would run as formulas quoted
    so that loading takes exactly that quote off (codebook.csv_text)."""
    from coder.codebook import csv_list, csv_text

    def cell(value):
        if isinstance(value, (list, tuple)):
            value = csv_list(value)
        return csv_text(value) if isinstance(value, str) else value

    by_id = {d["id"]: d for d in dimensions}
    table, written = [], set()
    for row in rows:
        dimension = by_id.get(row["dimension"])
        if dimension is not None and dimension["id"] not in written:
            written.add(dimension["id"])
            table.append([cell(v) for v in (dimension["id"], dimension["id"], dimension["label"],
                                             dimension["label_en"], dimension["description"], "", "", "", "",
                                             dimension["color"], "", name)])
        table.append([cell(row[c]) for c in CODEBOOK_COLUMNS] + [cell(name)])
    return table_to_csv(CODEBOOK_CSV_COLUMNS, table)
