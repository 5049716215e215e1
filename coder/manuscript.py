"""Reading a manuscript (a thesis chapter, an article) for `coder verify`: its paragraphs,
each with where it is in the file and whether it is set apart as a block quote.

Markdown and plain text keep their line numbers (a `>` line is a block quote; the lines of
one paragraph stay one paragraph, so a quote may wrap). DOCX and ODT are read paragraph by
paragraph, numbered from 1 in document order (empty paragraphs counted), and a paragraph is
a block quote when its style is a quotation style ("Quote", "Intense Quote", LibreOffice's
"Quotations") or when it is indented from the left. Transcripts have their own readers
(coder/ingest.py); a manuscript only needs its text and where each piece of it is.
"""
from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from coder.errors import InputError
from coder.text import Readable, decode_bytes, normalise, read_regular_file

MANUSCRIPT = Readable("manuscripts as Markdown (.md), plain text (.txt), Word (.docx) or OpenDocument (.odt)",
                      "save it as .docx, .odt, .md or .txt")
_TEXT_SUFFIXES = (".md", ".markdown", ".txt", ".text")
_QUOTE_STYLES = ("quote", "intensequote", "intense quote", "quotations", "quotation", "sitat", "blockquote",
                 "block quote", "block text")
_FENCE = re.compile(r"^\s*(```|~~~)")
_BLOCK_QUOTE_LINE = re.compile(r"^\s{0,3}>\s?")


@dataclass(frozen=True)
class Paragraph:
    text: str  # the paragraph's text; lines of a Markdown paragraph joined by "\n"
    lines: tuple[int, ...]  # the manuscript line (DOCX/ODT: paragraph number) of each line of text
    block_quote: bool

    def line_at(self, offset: int) -> int:
        return self.lines[min(self.text.count("\n", 0, offset), len(self.lines) - 1)]


@dataclass(frozen=True)
class Manuscript:
    path: str
    paragraphs: tuple[Paragraph, ...]

    @property
    def text(self) -> str:
        return "\n\n".join(p.text for p in self.paragraphs)


def read_manuscript(path: Path) -> Manuscript:
    """The manuscript's paragraphs; one InputError line naming the file when it cannot be read."""
    if not path.exists():
        raise InputError("no such manuscript", path=str(path), hint="check the path and the file name")
    suffix = path.suffix.lower()
    data = read_regular_file(path)
    if suffix == ".docx":
        return Manuscript(str(path), tuple(_docx_paragraphs(path, data)))
    if suffix == ".odt":
        return Manuscript(str(path), tuple(_odt_paragraphs(path, data)))
    if suffix in _TEXT_SUFFIXES or not suffix:
        text = decode_bytes(data, path=str(path), reads=MANUSCRIPT).text
        return Manuscript(str(path), tuple(_text_paragraphs(text, markdown=suffix != ".txt")))
    raise InputError(f"cannot read {suffix} files: coder reads {MANUSCRIPT.formats}", path=str(path),
                     hint=MANUSCRIPT.save_as)


# -- Markdown and plain text ----------------------------------------------------------------

def _text_paragraphs(text: str, *, markdown: bool) -> list[Paragraph]:
    """Paragraphs separated by blank lines; a run of `>` lines is a block quote paragraph of
    its own. Fenced code blocks are left out."""
    paragraphs: list[Paragraph] = []
    lines: list[tuple[int, str]] = []
    quoting = False
    fenced = False

    def flush() -> None:
        nonlocal lines
        if lines and any(line.strip() for _, line in lines):
            paragraphs.append(Paragraph("\n".join(line for _, line in lines), tuple(n for n, _ in lines), quoting))
        lines = []

    for number, line in enumerate(text.split("\n"), start=1):
        if markdown and _FENCE.match(line):
            flush()
            fenced = not fenced
            continue
        if fenced:
            continue
        quote_line = markdown and _BLOCK_QUOTE_LINE.match(line)
        if quote_line:
            content = line[quote_line.end():]
            if not quoting:
                flush()
                quoting = True
            if not content.strip():  # "> " alone: a paragraph break inside the block quote
                flush()
                continue
            lines.append((number, content))
            continue
        if quoting or not line.strip():
            flush()
            quoting = False
        if line.strip():
            lines.append((number, line))
    flush()
    if markdown:
        paragraphs = [Paragraph(_plain_markdown(p.text), p.lines, p.block_quote) for p in paragraphs]
    return paragraphs


_EMPHASIS = re.compile(r"(?<![\w*])(\*{1,3}|_{1,3})(?=\S)(.+?)(?<=\S)\1(?![\w*])", re.DOTALL)
_HEADING = re.compile(r"^#{1,6}\s+", re.MULTILINE)
_LINK = re.compile(r"\[([^\]\n]+)\]\((?:[^()\s]+)\)")
_FOOTNOTE = re.compile(r"\[\^[^\]\s]+\]")


def _plain_markdown(text: str) -> str:
    """Markdown markup that is not the text's own: emphasis around words, heading marks,
    links (their text stays), footnote marks. One code point is never turned into two, and
    line breaks stay where they were, so line numbers hold."""
    text = _HEADING.sub("", text)
    text = _FOOTNOTE.sub("", text)
    text = _LINK.sub(r"\1", text)
    previous = None
    while previous != text:
        previous = text
        text = _EMPHASIS.sub(r"\2", text)
    return text


# -- DOCX -----------------------------------------------------------------------------------

def _docx_paragraphs(path: Path, data: bytes) -> list[Paragraph]:
    import io

    try:
        from docx import Document
        from docx.opc.exceptions import PackageNotFoundError
    except ImportError:  # pragma: no cover - python-docx is a dependency
        raise InputError("reading DOCX needs python-docx", path=str(path), hint="pip install python-docx") from None
    try:
        document = Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise InputError(f"not a readable Word document ({type(exc).__name__})", path=str(path),
                         hint="open it in Word or LibreOffice and save it again as .docx") from None
    except Exception as exc:  # lxml's XMLSyntaxError and friends: a damaged package
        if type(exc).__module__.startswith(("lxml", "docx")):
            raise InputError("not a readable Word document (damaged XML)", path=str(path),
                             hint="open it in Word or LibreOffice and save it again as .docx") from None
        raise
    paragraphs = []
    for number, paragraph in enumerate(document.paragraphs, start=1):
        text = normalise(paragraph.text).replace("\t", " ")
        if text.strip():
            paragraphs.append(Paragraph(text.replace("\n", " "), (number,), _docx_block_quote(paragraph)))
    return paragraphs


def _docx_block_quote(paragraph) -> bool:
    style = paragraph.style
    while style is not None:
        names = {(style.name or "").casefold(), (style.style_id or "").casefold()}
        if names & set(_QUOTE_STYLES):
            return True
        style = style.base_style
    indent = paragraph.paragraph_format.left_indent
    style = paragraph.style
    while indent is None and style is not None:
        indent = style.paragraph_format.left_indent
        style = style.base_style
    return bool(indent and indent > 0)


# -- ODT ------------------------------------------------------------------------------------

_ODF_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_ODF_STYLE = "urn:oasis:names:tc:opendocument:xmlns:style:1.0"
_ODF_FO = "urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0"
_ODF_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"


def _odt_paragraphs(path: Path, data: bytes) -> list[Paragraph]:
    """text:p and text:h in document order (in lists and tables too)."""
    import io

    from defusedxml import ElementTree
    from defusedxml.common import DefusedXmlException

    bad = InputError("not a readable OpenDocument text", path=str(path),
                     hint="open it in LibreOffice or Word and save it again as .odt")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            content = archive.read("content.xml")
            styles_xml = archive.read("styles.xml") if "styles.xml" in archive.namelist() else b""
        root = ElementTree.fromstring(content)
        styles_root = ElementTree.fromstring(styles_xml) if styles_xml else None
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError, DefusedXmlException, ValueError):
        raise bad from None
    styles = _odt_styles(root)
    if styles_root is not None:
        styles = {**_odt_styles(styles_root), **styles}
    paragraphs = []
    number = 0
    for element in root.iter():
        if element.tag not in (f"{{{_ODF_TEXT}}}p", f"{{{_ODF_TEXT}}}h"):
            continue
        number += 1
        text = normalise(_odt_text(element)).replace("\n", " ")
        if text.strip():
            style = element.get(f"{{{_ODF_TEXT}}}style-name")
            paragraphs.append(Paragraph(text, (number,), _odt_block_quote(style, styles)))
    return paragraphs


def _odt_styles(root) -> dict[str, tuple[str | None, bool]]:
    """Paragraph styles: name -> (parent style name, indented from the left)."""
    styles = {}
    for style in root.iter(f"{{{_ODF_STYLE}}}style"):
        name = style.get(f"{{{_ODF_STYLE}}}name")
        if not name:
            continue
        properties = style.find(f"{{{_ODF_STYLE}}}paragraph-properties")
        margin = properties.get(f"{{{_ODF_FO}}}margin-left") if properties is not None else None
        indented = bool(margin and re.match(r"\s*0*\.?0*[1-9]", margin))
        styles[name] = (style.get(f"{{{_ODF_STYLE}}}parent-style-name"), indented)
    return styles


def _odt_block_quote(style: str | None, styles: dict) -> bool:
    seen = set()
    while style and style not in seen:
        seen.add(style)
        if style.replace("_20_", " ").casefold() in _QUOTE_STYLES:
            return True
        parent, indented = styles.get(style, (None, False))
        if indented:
            return True
        style = parent
    return False


def _odt_text(element) -> str:
    """A paragraph's text: spans, links and notes' anchors inline; text:s is spaces, text:tab
    a tab, text:line-break a line break; notes' own text (footnotes) left out."""
    pieces = [element.text or ""]
    for child in element:
        tag = child.tag
        if tag == f"{{{_ODF_TEXT}}}s":
            pieces.append(" " * int(child.get(f"{{{_ODF_TEXT}}}c", "1") or 1))
        elif tag == f"{{{_ODF_TEXT}}}tab":
            pieces.append(" ")
        elif tag == f"{{{_ODF_TEXT}}}line-break":
            pieces.append("\n")
        elif tag in (f"{{{_ODF_TEXT}}}note", f"{{{_ODF_OFFICE}}}annotation"):
            pass
        else:
            pieces.append(_odt_text(child))
        pieces.append(child.tail or "")
    return "".join(pieces)
