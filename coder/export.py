"""Writers: quote sheets as Markdown, CSV, JSON, HTML, DOCX and XLSX.

Each writer takes the same grouped rows and writes them to a stream as they come (`write_*`),
so a sheet of a million quotes is never held: the quotes may be an iterator, read once. The
counts a sheet shows before its quotes (the subtitle's total, each code's "N quote(s)") are
known only once those quotes are written, so what follows a count is written to a spool (in
memory while small, then a temporary file) and copied out after it. `to_*` give the whole
text or bytes, for small sheets. Heavy libraries (python-docx, openpyxl) are imported only by
their writer.
"""
from __future__ import annotations

import csv
import html
import io
import json
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, replace
from itertools import groupby
from pathlib import Path
from typing import BinaryIO, Callable, Iterable, Iterator, Sequence, TextIO

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
    # in report order; an iterator is read once, as the sheet is written (then give levels,
    # context and attribute_keys, which would otherwise be read from the quotes)
    quotes: Iterable[Quote]
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


def grouped(quotes: Iterable[Quote]):
    """[(case, [(dimension_label, [(code, code_label, [quotes])])])] in report order."""
    for case, dimensions in walk(quotes):
        yield case, [(dim_label, [(code, label, list(quotes)) for code, label, quotes in codes])
                     for dim_label, codes in dimensions]


def walk(quotes: Iterable[Quote]):
    """grouped(), lazily: (case, dimensions), each level an iterator over the one below, to be
    read in order (a level left unread is skipped); one code's quotes merged by coders."""
    for case, by_case in groupby(quotes, key=lambda q: q.case or NO_CASE):
        yield case, ((dim_label, ((code, label, iter_merge_coders(by_code))
                                  for (code, label), by_code in groupby(by_dim, key=lambda q: (q.code, q.code_label))))
                     for dim_label, by_dim in groupby(by_case, key=lambda q: q.dimension_label))


def merge_coders(quotes: Iterable[Quote]) -> list[Quote]:
    """One entry per passage: the same span coded with the same code by several coders is
    shown once, "coded by anna, bjorn", with their memos together."""
    return list(iter_merge_coders(quotes))


def iter_merge_coders(quotes: Iterable[Quote]) -> Iterator[Quote]:
    """merge_coders() one passage at a time."""
    for _, same in groupby(quotes, key=lambda q: (q.transcript, q.start, q.end)):
        first = next(same)
        rest = list(same)
        if not rest:
            yield first
            continue
        same = [first, *rest]
        coders = ", ".join(dict.fromkeys(q.coder for q in same))
        memos = " / ".join(dict.fromkeys(q.memo for q in same if q.memo)) or None
        yield replace(first, coder=coders, memo=memos)


def code_title(label: str, quotes: Sequence[Quote]) -> str:
    """The code's label with its parents' labels: Relasjoner › Kommunikasjon."""
    return _code_title(label, quotes[0] if quotes else None)


def _code_title(label: str, first: Quote | None) -> str:
    levels = first.path_labels[1:] if first is not None and first.path_labels else (label,)
    return " › ".join(levels)


class _Spool:
    """Text written now and copied out later, after a count that must come before it: in
    memory while small, then in a temporary file."""

    IN_MEMORY = 4 << 20  # characters

    def __init__(self) -> None:
        self._file = tempfile.SpooledTemporaryFile(max_size=self.IN_MEMORY, mode="w+", encoding="utf-8",
                                                   newline="")
        self.chars = 0

    def write(self, text: str) -> None:
        self._file.write(text)
        self.chars += len(text)

    def copy_to(self, stream) -> None:
        """Everything written, onto `stream` (a text stream), and the spool closed."""
        self._file.seek(0)
        shutil.copyfileobj(self._file, stream, 1 << 20)
        self._file.close()


def _write_codes(sheet: Sheet, out, *, case, dimension, code, quote,
                 progress: Callable[[int, int | None], None] | None = None) -> int:
    """The sheet's walk, written to `out` (anything with write(text)): `case(number, name)`,
    `dimension(label)`, `code(code, label, first quote, count)` and `quote(quote)` give each
    one's text. A code's quotes are spooled so that its heading, which counts them, comes
    first. Returns the number of the sheet's quotes (as given: before merge_coders, as
    len(sheet.quotes) of a list)."""
    read = 0

    def counted():
        nonlocal read
        for each in sheet.quotes:
            read += 1
            yield each

    written = 0
    for number, (case_name, dimensions) in enumerate(walk(counted())):
        out.write(case(number, case_name))
        for dim_label, codes in dimensions:
            out.write(dimension(dim_label))
            for code_path, label, quotes in codes:
                spool, first, count = _Spool(), None, 0
                for each in quotes:
                    if first is None:
                        first = each
                    spool.write(quote(each))
                    count += 1
                    if progress is not None:
                        progress(written + count, None)
                out.write(code(code_path, label, first, count))
                spool.copy_to(out)
                written += count
    return read


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
    buffer = io.StringIO()
    write_markdown(sheet, buffer)
    return buffer.getvalue()


def write_markdown(sheet: Sheet, stream: TextIO) -> int:
    """The sheet as Markdown, onto `stream` as the quotes are read; returns how many."""
    h = _md_line
    out = _TrimmedEnd(stream)  # the text ends with one newline, whatever its last line
    out.write(f"# {h(sheet.title)}\n\n")
    if sheet.pseudonymised:
        out.write("_Names are pseudonymised._\n\n")
    written = _write_codes(
        sheet, out, case=lambda _, case: f"## {h(case)}\n\n", dimension=lambda label: f"### {h(label)}\n\n",
        code=lambda code, label, first, count: (f"#### {h(_code_title(label, first))}\n\n"
                                                f"{_md_code(code)} · {count} {sheet.noun}(s)\n\n"),
        quote=lambda quote: "".join(line + "\n" for line in _md_quote(quote)))
    if not written:
        out.write(f"_{sheet.empty}_")
    out.close()
    return written


class _TrimmedEnd:
    """A text stream whose end is trimmed of whitespace and given one newline, as
    `text.rstrip() + "\n"` would: whitespace is held back until text follows it."""

    def __init__(self, stream: TextIO) -> None:
        self._stream, self._held = stream, ""

    def write(self, text: str) -> None:
        kept = text.rstrip()
        if kept:
            self._stream.write(self._held + kept)
            self._held = text[len(kept):]
        else:
            self._held += text

    def close(self) -> None:
        self._stream.write("\n")


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
    buffer = io.StringIO()
    write_html(sheet, buffer)
    return buffer.getvalue()


def write_html(sheet: Sheet, stream: TextIO) -> int:
    """The sheet as a printable HTML page, onto `stream`; returns how many quotes. The quotes
    are spooled while the subtitle, which counts them, waits."""
    def e(text: str) -> str:
        return html.escape(_xml_safe(text))

    def quote(quote: Quote) -> str:
        before = f'<span class="ctx">…{e(quote.before)}</span>' if quote.before else ""
        after = f'<span class="ctx">{e(quote.after)}…</span>' if quote.after else ""
        memo = f'<span class="memo">Memo: {e(quote.memo)}</span>\n' if quote.memo else ""
        return (f"<blockquote>{before}«{e(quote.text)}»{after} "
                f'<span class="attr">{e(attribution(quote))}</span>'
                f'<span class="meta">{e(reference(quote))}, coded by {e(quote.coder)}</span>\n'
                f"{memo}</blockquote>\n")

    body = _Spool()
    written = _write_codes(
        sheet, body, case=lambda _, case: f"<h2>{e(case)}</h2>\n",
        dimension=lambda label: f'<h3 class="dimension">{e(label)}</h3>\n',
        code=lambda code, label, first, count: (f"<h4>{e(_code_title(label, first))} <small>({e(code)})</small></h4>\n"
                                                f'<p class="dim">{count} {e(sheet.noun)}(s)</p>\n'),
        quote=quote)
    stream.write("<!DOCTYPE html>\n" '<html lang="nb"><head><meta charset="utf-8">\n'
                 '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
                 f"<title>{e(sheet.title)}</title><style>{HTML_STYLE}</style></head><body>\n<h1>{e(sheet.title)}</h1>\n")
    if subtitle := sheet_subtitle(sheet, written):
        stream.write(f'<p class="subtitle">{e(subtitle)}</p>\n')
    if sheet.pseudonymised:
        stream.write('<p class="dim">Names are pseudonymised.</p>\n')
    if not written:
        stream.write(f"<p><em>{e(sheet.empty)}</em></p>\n")
    body.copy_to(stream)
    stream.write("</body></html>\n")
    return written


def to_docx(sheet: Sheet, progress: Callable[[int, int | None], None] | None = None) -> bytes:
    buffer = io.BytesIO()
    write_docx(sheet, buffer, progress)
    return buffer.getvalue()


_DOCX_BODY = "word/document.xml"
_BODY_MARK = b"<!--coder:body-->"


def write_docx(sheet: Sheet, stream: BinaryIO, progress: Callable[[int, int | None], None] | None = None) -> int:
    """The sheet as a Word document, onto `stream` (a binary file that can seek, as a zip
    needs); returns how many quotes.

    python-docx builds a whole document in memory (a sheet of 40,000 quotes took 360 MB), so
    it makes only the fixed parts here: styles, settings, properties, the footer. Its body is
    saved with a mark where the paragraphs go, and the package is copied part by part into
    `stream`, the body's paragraphs written into it as XML text as the quotes are read (as
    python-docx would serialise them: see _DocxParagraphs).

    Layout, as the HTML sheet prints: each case office starts a page; a quote is kept whole and
    with its grey caption (and memo) below it; headings stay with what follows; the footer
    numbers the pages. `progress(done, None)` is told of each quote written."""
    from docx import Document
    from lxml import etree

    document = Document()
    _document_properties(document.core_properties, sheet.title)
    style = {name: document.styles[name].style_id
             for name in ("Title", "Subtitle", "Heading 1", "Heading 2", "Heading 3", "Quote")}
    body_element = document.element.body
    section = body_element.sectPr
    if section is not None:
        body_element.remove(section)
    body_element.append(etree.Comment(_BODY_MARK[4:-3].decode()))
    if section is not None:
        body_element.append(section)
    _page_numbers(document)
    fixed = io.BytesIO()
    document.save(fixed)

    paragraphs = _DocxParagraphs()
    p = paragraphs.paragraph

    def quote(quote: Quote) -> str:
        runs = []
        if quote.before:
            runs.append((f"…{quote.before}", True))
        runs.append((f"«{quote.text}»", False))
        if quote.after:
            runs.append((f"{quote.after}…", True))
        runs.append((f" {attribution(quote)}", False))
        return "".join((
            p(runs, style=style["Quote"], indent=True, keep_next=True, keep_lines=True, after=60),
            p(f"{reference(quote)}, coded by {quote.coder}", grey=True, size=16, indent=True,
              keep_next=bool(quote.memo), keep_lines=True, after=0 if quote.memo else None),
            p(f"Memo: {quote.memo}", indent=True, keep_lines=True, size=18) if quote.memo else ""))

    body = _Spool()
    written = _write_codes(
        sheet, body, progress=progress,
        case=lambda number, case: p(case, style=style["Heading 1"], page_break=number > 0, keep_next=True),
        dimension=lambda label: p(label, style=style["Heading 2"], keep_next=True),
        code=lambda code, label, first, count: (
            p(f"{_code_title(label, first)} ({code})", style=style["Heading 3"], keep_next=True)
            + p(f"{count} {sheet.noun}(s)", grey=True, size=16, keep_next=True)),
        quote=quote)
    head = [p(sheet.title, style=style["Title"])]
    if subtitle := sheet_subtitle(sheet, written):
        head.append(p(subtitle, style=style["Subtitle"]))
    if sheet.pseudonymised:
        head.append(p("Names are pseudonymised."))
    if not written:
        head.append(p(sheet.empty))

    with zipfile.ZipFile(fixed) as source, zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename != _DOCX_BODY:
                target.writestr(info, source.read(info))
                continue
            before, after = source.read(info).split(_BODY_MARK)
            # a part of 2 GiB or more needs the zip64 format; say so before writing (a UTF-8
            # character is at most 4 bytes), and only then, as python-docx's parts never do
            largest = len(before) + len(after) + 4 * (body.chars + sum(map(len, head)))
            with target.open(info, "w", force_zip64=largest >= zipfile.ZIP64_LIMIT) as part:
                part.write(before)
                text = io.TextIOWrapper(part, encoding="utf-8", newline="")
                text.write("".join(head))
                body.copy_to(text)
                text.flush()
                text.detach()
                part.write(after)
    return written


def sheet_subtitle(sheet: Sheet, count: int | None = None) -> str:
    """The line under a sheet's title: the project (its codebook), the date, the filters used
    and the number of quotes (`count`, or the sheet's when they are a list)."""
    if count is None:
        count = len(sheet.quotes)
    parts = [sheet.project, sheet.date,
             ("filters: " + ", ".join(sheet.filters)) if sheet.filters else "all coded quotes" if sheet.date else "",
             f"{count} {sheet.noun}(s)" if sheet.date else ""]
    return " · ".join(p for p in parts if p)


class _DocxParagraphs:
    """A body's paragraphs as WordprocessingML text, each exactly as python-docx (lxml)
    serialises the element it would build: the same elements in the same order, the text
    escaped as libxml2 escapes it (& < > and a carriage return)."""

    GREY = "666666"
    _ESCAPE = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})

    def paragraph(self, runs: str | list[tuple[str, bool]], *, style: str | None = None, grey: bool = False,
                  size: int | None = None, indent: bool = False, keep_next: bool = False, keep_lines: bool = False,
                  page_break: bool = False, after: int | None = None) -> str:
        """One paragraph: text (or (text, grey) runs), its style id, the text's size in
        half-points, and how it breaks across pages."""
        properties = "".join((
            f'<w:pStyle w:val="{_xml_attribute(style)}"/>' if style else "",
            "<w:keepNext/>" if keep_next else "", "<w:keepLines/>" if keep_lines else "",
            "<w:pageBreakBefore/>" if page_break else "",
            f'<w:spacing w:after="{after}"/>' if after is not None else "",
            '<w:ind w:left="432"/>' if indent else ""))  # a quote, its caption and memo set in from the headings
        xml = [f"<w:p><w:pPr>{properties}</w:pPr>" if properties else "<w:p><w:pPr/>"]
        for text, grey_run in ([(runs, grey)] if isinstance(runs, str) else runs):
            xml.append("<w:r>")
            if grey_run or size:
                xml.append("<w:rPr>" + (f'<w:color w:val="{self.GREY}"/>' if grey_run else "")
                           + (f'<w:sz w:val="{size}"/>' if size else "") + "</w:rPr>")
            xml.append("<w:br/>".join(f'<w:t xml:space="preserve">{line.translate(self._ESCAPE)}</w:t>'
                                      for line in _xml_safe(text).split("\n")))
            xml.append("</w:r>")
        xml.append("</w:p>")
        return "".join(xml)


def _xml_attribute(value: str) -> str:
    return html.escape(value, quote=True).replace("&#x27;", "'")


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


def to_xlsx(sheet: Sheet, progress: Callable[[int, int | None], None] | None = None) -> bytes:
    buffer = io.BytesIO()
    write_xlsx(sheet, buffer, progress)
    return buffer.getvalue()


def write_xlsx(sheet: Sheet, stream: BinaryIO, progress: Callable[[int, int | None], None] | None = None) -> int:
    """A workbook written row by row as the quotes are read (openpyxl's write-only mode writes
    each row to a temporary file as it is appended, its text as inline strings, not a shared
    table), onto `stream`; returns how many quotes.

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
    row_number = 1
    for row_number, quote in enumerate(sheet.quotes, start=2):
        record = _record(quote)
        values = [record.get(column) for column in columns]
        lines = max((_lines(value, width) for value, width in zip(values, widths) if value.__class__ is str),
                    default=1)
        ws.row_dimensions[row_number].height = min(_XLSX_MAX_ROW_POINTS, _XLSX_LINE_POINTS * lines + 2)
        ws.append([_xlsx_cell(ws, value, alignment=top) for value in values])
        del ws.row_dimensions[row_number]  # written with its row: kept, a million rows' would add up
        if progress is not None:
            progress(row_number - 1, None)
    # the filter's range is written after the rows, so it can count them now
    ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{row_number}"
    workbook.save(stream)
    return row_number - 1


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


def render(sheet: Sheet, fmt: str, progress: Callable[[int, int | None], None] | None = None) -> str | bytes:
    """The sheet in one format, whole (for small sheets; a large one is written to a file by
    writer()); the slow ones (DOCX, XLSX) tell `progress(done, total)` of each quote."""
    if progress is not None and fmt in ("docx", "xlsx"):
        return WRITERS[fmt](sheet, progress)
    return WRITERS[fmt](sheet)


class BinaryContent:
    """Content for write_file (and the CLI's _emit) that a function writes to a binary stream
    that can seek (a file: a zip is written back and forth), instead of bytes held whole."""

    binary = True

    def __init__(self, write: Callable[[BinaryIO], object]) -> None:
        self._write = write

    def __call__(self, stream: BinaryIO) -> None:
        self._write(stream)


def writer(sheet: Sheet, fmt: str, *, progress: Callable[[int, int | None], None] | None = None,
           delimiter: str = ",", prefix: str = "", done: Callable[[int], None] | None = None):
    """The sheet in one format as content for write_file: a function writing it as the quotes
    are read (BinaryContent for DOCX and XLSX), never the whole text in memory. `done(n)` is
    told how many quotes were written."""
    def finish(count) -> None:
        if done is not None:
            done(count)

    if fmt in BINARY_FORMATS:
        write = write_docx if fmt == "docx" else write_xlsx
        return BinaryContent(lambda stream: finish(write(sheet, stream, progress)))
    if fmt == "csv":
        return lambda stream: write_csv(sheet, stream, delimiter=delimiter, prefix=prefix)
    if fmt == "json":
        from coder.render import write_json

        return lambda stream: write_json(stream, (quote.as_json() for quote in sheet.quotes))  # to_json's very text
    write_text = {"md": write_markdown, "html": write_html}[fmt]
    return lambda stream: finish(write_text(sheet, stream))


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
    buffer = io.BytesIO()
    write_table_xlsx(header, rows, buffer, title=title)
    return buffer.getvalue()


def write_table_xlsx(header: Sequence[str], rows: Iterable[Sequence], stream, *,
                     title: str = "Data") -> None:
    """The table as a workbook written into `stream` (a file: the rows go through openpyxl's
    write-only sheet, so only the finished file holds them all)."""
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
    workbook.save(stream)


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
