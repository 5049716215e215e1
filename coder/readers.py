"""Transcripts as they arrive: Word, OpenDocument, subtitles and spreadsheets, read into the
text a plain-text transcript of the same interview would hold.

Each reader writes what a person would type into a .txt file: optional front matter
(`key: value` lines between `---`), then `Name: words` turns separated by blank lines. That
text then goes through `ingest.parse_transcript` like any .txt file, so normalisation,
segmentation into turns and offsets (code points into the normalised text, end exclusive)
are the same whatever the file was: an interview saved as .docx and as .txt gives the same
segments and the same quote offsets.

Subtitle and spreadsheet turns carry times. A reader notes where each timed turn's text
starts in the text it writes; after segmentation, each segment takes the times of the turn
it lies in.

Zip-based files (.docx, .odt, .xlsx) are read from memory after `_checked_zip` has
decompressed every member once, counting the bytes that actually come out (a zip's header
may lie): too many members, too much in all, a member that expands too far (a zip bomb), a
damaged archive, or XML with a document type declaration (external entities, entity
expansion; office files never need one) is refused before any XML parser sees it.
"""
from __future__ import annotations

import dataclasses
import html
import io
import json
import re
import unicodedata
import zipfile
import zlib
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache
from json.encoder import encode_basestring as _json_string
from pathlib import Path
from typing import Iterable, Iterator

from coder.errors import InputError, NotATranscript
from coder.ingest import Transcript, max_bytes, parse_transcript, transcript_name
from coder.text import CSV_FILE, Readable, csv_header, csv_records, decode_bytes, normalise, read_regular_file
from coder.values import Segment

# -- which files are read ------------------------------------------------------------------

KINDS = {".txt": "text", ".md": "text", ".docx": "docx", ".odt": "odt", ".vtt": "vtt", ".srt": "srt",
         ".csv": "csv", ".xlsx": "xlsx"}
SUFFIXES = tuple(KINDS)
FORMATS = ("plain text (.txt, .md), Word (.docx), OpenDocument text (.odt), subtitles (.vtt, .srt), "
           "spreadsheets (.csv, .xlsx) and REFI-QDA projects (.qdpx)")
READS = Readable(f"transcripts as {FORMATS}", "save it as one of these (Word: .docx; plain text: .txt in UTF-8)")
SPREADSHEETS = ("csv", "xlsx")
SPREADSHEET_SUFFIXES = (".csv", ".xlsx")

# Members and sizes a document or workbook may have. An interview of 500 pages is some 3 MB
# of XML; a survey of 100,000 answers about 40 MB. A member that expands over 200 times its
# compressed size and past 1 MB is a zip bomb: XML compresses 5-30 times.
ZIP_MAX_MEMBERS = 10_000
ZIP_MAX_RATIO = 200
ZIP_RATIO_FROM = 1 << 20
_DOCTYPES = (b"<!DOCTYPE", b"<!ENTITY", "<!DOCTYPE".encode("utf-16-le"), "<!DOCTYPE".encode("utf-16-be"))


def unzipped_limit() -> int:
    """The most a zip may hold in all, decompressed: four times the file size limit."""
    return 4 * max_bytes()


def kind_of(path: Path, data: bytes) -> str:
    """The format a file is read as: its content where that tells (a zip's members, a
    WEBVTT header), else its suffix. A file of no format coder reads is refused."""
    suffix = path.suffix.lower()
    if data.startswith(b"PK\x03\x04"):
        found = _zip_kind(data)
        if found:
            return found
    elif suffix in (".txt", ".vtt", "") and data.lstrip(b"\xef\xbb\xbf").startswith(b"WEBVTT"):
        return "vtt"
    if suffix in KINDS:
        return KINDS[suffix]
    what = f"a {suffix} file" if suffix else "a file without a suffix"
    raise InputError(f"{what} is not a format coder imports: it reads {FORMATS}", path=str(path),
                     hint="save the transcript as .docx or .txt")


def _zip_kind(data: bytes) -> str | None:
    try:
        names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return None  # the suffix decides; its reader says the archive is broken
    if "word/document.xml" in names:
        return "docx"
    if "xl/workbook.xml" in names:
        return "xlsx"
    if "content.xml" in names and "mimetype" in names:
        return "odt"
    return None


# -- what a reader writes -------------------------------------------------------------------

@dataclass(frozen=True)
class TimedTurn:
    at: int  # where the turn's text starts in the written text (code points)
    start_ms: int | None
    end_ms: int | None


class _Text:
    """The text a .txt transcript of the same interview would hold, written piece by piece,
    with where each timed turn starts."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.times: list[TimedTurn] = []
        self.meta: dict | None = None  # the front matter written, as YAML reads it back

    def _add(self, piece: str) -> None:
        self.parts.append(piece)
        self.length += len(piece)

    def front_matter(self, fields: dict) -> None:
        lines, meta = [], {}
        for key, value in fields.items():
            if value in (None, ""):
                continue
            key = _nfc_key(key)
            unique, n = key, 1
            while unique in meta:  # two columns with one name: a second key, not a YAML error
                n += 1
                unique = f"{key}_{n}"
            rendered, meta[unique] = _yaml_value(value)
            lines.append(f"{unique}: {rendered}")
        if lines:
            self._add("---\n" + "\n".join(lines) + "\n---\n")
            self.meta = meta

    def turn(self, speaker: str | None, words: str, start_ms: int | None = None, end_ms: int | None = None) -> None:
        words = words.strip()
        if not words:
            return
        label = speaker_label(speaker)
        if self.length and not self.parts[-1].endswith(("\n\n", "---\n")):
            self._add("\n" if self.parts[-1].endswith("\n") else "\n\n")
        if label:
            self._add(label + ": ")
        self.times.append(TimedTurn(self.length, start_ms, end_ms))  # untimed too: it ends the one before
        self._add(words + "\n")

    def value(self) -> str:
        return normalise("".join(self.parts))


@lru_cache(maxsize=1024)
def _nfc_key(key: str) -> str:
    """A front-matter key in NFC: a survey's 100,000 front matters have the same few keys."""
    return unicodedata.normalize("NFC", key)


def speaker_label(speaker: str | None) -> str:
    """A speaker's name as a turn's label: one line, no colon, at most 40 characters (what
    ingest reads as a label), without the spaces around it."""
    if not speaker:
        return ""
    label = " ".join(speaker.replace(":", " ").split())
    if len(label) > 40:
        label = label[:40].rsplit(" ", 1)[0] if " " in label[:40] else label[:40]
    return label.strip()


_PLAIN_KEY = re.compile(r"[^\W\d][\w-]*")


def attribute_key(name: str) -> str:
    """A column or table heading as a front-matter key: `Age group` -> `age_group`."""
    key = re.sub(r"[^\w-]+", "_", name.strip().lower()).strip("_")
    if not key:
        return ""
    return key if _PLAIN_KEY.fullmatch(key) else "q_" + key


def _yaml_value(value) -> tuple[str, object]:
    """A front-matter value as written, and as YAML reads it back from the normalised text:
    integers, floats with a point and booleans plain, anything else a double-quoted string
    (JSON's quoting is YAML's) on one line."""
    if isinstance(value, str):
        return _yaml_string(value)
    if isinstance(value, bool):
        return ("true" if value else "false"), value
    if isinstance(value, int):
        return repr(value), value
    if isinstance(value, float) and re.fullmatch(r"-?\d+\.\d+", repr(value)):
        return repr(value), value
    if hasattr(value, "isoformat"):
        value = value.isoformat()
    text = " ".join(str(value).split())
    return json.dumps(text, ensure_ascii=False), unicodedata.normalize("NFC", text)


@lru_cache(maxsize=4096)  # a survey's columns repeat their values (an office, a role) 100,000 times
def _yaml_string(value: str) -> tuple[str, str]:
    text = " ".join(value.split())
    return _json_string(text), unicodedata.normalize("NFC", text)  # json.dumps(text, ensure_ascii=False)


def _transcript(written: _Text, *, path: Path, name: str, case: str | None, encoding: str) -> Transcript:
    text = written.value()
    # the front matter this reader wrote is known: YAML need not read it back (100,000
    # survey respondents are 100,000 front matters)
    known = None
    if written.meta is not None:
        known = (dict(written.meta), text.index("\n---\n", 3) + 5)
    transcript = parse_transcript(text, path=str(path), name=name, case=case, encoding=encoding,
                                  front_matter=known)
    if all(turn.start_ms is None and turn.end_ms is None for turn in written.times):
        return transcript
    starts = [turn.at for turn in written.times]
    segments = []
    for segment in transcript.segments:
        index = bisect_right(starts, segment.start) - 1
        if index >= 0:
            turn = written.times[index]
            segment = dataclasses.replace(segment, start_ms=turn.start_ms, end_ms=turn.end_ms)
        segments.append(segment)
    return dataclasses.replace(transcript, segments=tuple(segments))


# -- the entry point ------------------------------------------------------------------------

def read_transcript(path: Path, *, case: str | None = None) -> Transcript:
    """One file as one transcript, whatever its format (a survey is `read_survey`)."""
    data = read_regular_file(path, max_bytes=max_bytes())
    kind = kind_of(path, data)
    name = transcript_name(path)
    if kind == "text":
        decoded = decode_bytes(data, path=str(path), reads=READS)
        return parse_transcript(decoded.text, path=str(path), name=name, case=case, encoding=decoded.encoding)
    if kind in ("vtt", "srt"):
        decoded = decode_bytes(data, path=str(path), reads=READS)
        written = read_subtitles(decoded.text, path=path)
        encoding = decoded.encoding
    elif kind == "docx":
        written, encoding = read_docx(data, path=path), "docx"
    elif kind == "odt":
        written, encoding = read_odt(data, path=path), "odt"
    else:
        written, encoding = read_turn_rows(sheet_rows(data, path=path, kind=kind), path=path), kind
    return _transcript(written, path=path, name=name, case=case, encoding=encoding)


# -- zip archives ---------------------------------------------------------------------------

def _checked_zip(data: bytes, path: Path, what: str) -> zipfile.ZipFile:
    """The archive, once every member has been decompressed and counted (see the module)."""
    def broken(why: str) -> InputError:
        return InputError(f"not a readable {what}: {why}", path=str(path),
                          hint="open it in its program and save it again")

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise broken(f"a damaged zip archive ({exc})") from None
    if len(members) > ZIP_MAX_MEMBERS:
        raise broken(f"the archive has {len(members):,} members (at most {ZIP_MAX_MEMBERS:,} are read)")
    limit, total = unzipped_limit(), 0
    for member in members:
        if member.is_dir():
            continue
        size, tail, is_xml = 0, b"", member.filename.endswith((".xml", ".rels"))
        try:
            with archive.open(member) as stream:
                while True:
                    chunk = stream.read(1 << 20)
                    if not chunk:
                        break
                    size += len(chunk)
                    total += len(chunk)
                    if total > limit:
                        raise InputError(f"the archive expands to over {limit:,} bytes: refused as a possible zip "
                                         "bomb", path=str(path), hint="raise CODER_MAX_BYTES if the file is genuine")
                    if size > ZIP_RATIO_FROM and size > ZIP_MAX_RATIO * max(member.compress_size, 1):
                        raise InputError(f"'{member.filename}' expands over {ZIP_MAX_RATIO} times its compressed "
                                         "size: refused as a zip bomb", path=str(path))
                    if is_xml:
                        window = tail + chunk
                        if any(marker in window for marker in _DOCTYPES):
                            raise InputError(f"'{member.filename}' declares a document type (entities): refused, "
                                             f"a {what} never needs one", path=str(path))
                        tail = chunk[-32:]
        except InputError:
            raise
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError,
                RuntimeError) as exc:  # RuntimeError: encrypted; NotImplementedError: an unknown compression
            raise broken(f"member '{member.filename}' cannot be read ({exc})") from None
    return archive


def _xml(archive: zipfile.ZipFile, name: str, path: Path, what: str):
    """A member parsed with defusedxml (no DTD, no entities), or None if it is absent."""
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, fromstring

    try:
        data = archive.read(name)
    except KeyError:
        return None
    try:
        return fromstring(data, forbid_dtd=True)
    except (ParseError, DefusedXmlException, ValueError) as exc:
        raise InputError(f"not a readable {what}: {name} is not well-formed XML ({exc})", path=str(path),
                         hint="open it in its program and save it again") from None


# -- Word and OpenDocument ------------------------------------------------------------------

# Table headings and heading lines at the top that name a known field, in the languages the
# studies use; anything else in a metadata table becomes an attribute under its own name.
FIELD_NAMES = {
    "case": "case", "kontor": "case", "office": "case", "sak": "case", "site": "case", "kommune": "case",
    "informant": "informant", "interviewee": "informant", "respondent": "informant", "intervjuobjekt": "informant",
    "role": "role", "rolle": "role", "stilling": "role", "position": "role",
    "date": "date", "dato": "date",
}

# Above the interview, a plain `Name: value` line is front matter only for these: `Informant:`
# and `Intervjuer:` are the usual speaker labels of Norwegian transcripts.
PLAIN_LINE_FIELDS = ("case", "kontor", "office", "date", "dato", "role", "rolle")


@dataclass(frozen=True)
class _Block:
    """A paragraph as read from a document: its text, whether it is a heading, and how many
    characters at its start are bold."""
    text: str
    heading: bool = False
    bold_prefix: int = 0


def _field(key: str) -> str:
    name = key.strip().rstrip(":").strip()
    return FIELD_NAMES.get(name.lower(), attribute_key(name))


def _metadata_table(rows: list[list[str]]) -> dict | None:
    """A table of two columns, a short name and its value on each row, is metadata."""
    fields = {}
    for cells in rows:
        cells = [c.strip() for c in cells]
        while len(cells) > 2 and cells[-1] == cells[-2]:  # merged cells repeat their text
            cells.pop()
        if len(cells) != 2 or not cells[0] or len(cells[0]) > 40 or "\n" in cells[0]:
            return None
        key = _field(cells[0])
        if not key:
            return None
        fields[key] = cells[1]
    return fields or None


_LABEL_COLON = re.compile(r"\s*:")
_META_LINE = re.compile(r"([^:\n]{1,40}):[ \t]+(\S[^\n]*)\Z")


def _document_text(blocks: Iterable[_Block | list[list[str]]]) -> _Text:
    """Paragraphs (and tables) in document order -> the text. Tables and headings before the
    first paragraph of the interview are its front matter where they are `name | value` rows
    or `Name: value` headings naming a field; a bold label at a paragraph's start is a
    speaker label whether or not its colon is bold."""
    written, meta, top = _Text(), {}, True
    for block in blocks:
        if isinstance(block, list):  # a table
            fields = _metadata_table(block) if top else None
            if fields:
                meta.update(fields)
                continue
            for cells in block:
                line = " | ".join(c.strip() for c in cells if c.strip())
                if line:
                    top = _paragraph(written, line, top, meta)
            continue
        text = block.text
        if not text.strip():
            continue
        if top and block.heading:
            found = _META_LINE.match(text.strip())
            if found and _field(found.group(1)):
                meta[_field(found.group(1))] = found.group(2).strip()
            else:  # several heading lines make one title: no words are dropped
                meta["title"] = " — ".join(filter(None, (meta.get("title"), " ".join(text.split()))))
            continue
        if top and not block.heading:
            found = _META_LINE.match(text.strip())
            key = found.group(1).strip().lower() if found else ""
            if key in PLAIN_LINE_FIELDS and len(found.group(2)) <= 60 and not block.bold_prefix:
                meta[FIELD_NAMES[key]] = found.group(2).strip()
                continue
        if block.bold_prefix:
            text = _bold_label(text, block.bold_prefix)
        top = _paragraph(written, text, top, meta)
    if top:  # nothing but metadata: parse_transcript says there is no text
        _paragraph(written, "", top, meta)
    return written


def _paragraph(written: _Text, text: str, top: bool, meta: dict) -> bool:
    if top:
        written.front_matter(meta)
    if text.strip():
        written.turn(None, text)
    return False


def _bold_label(text: str, bold: int) -> str:
    """`Leder` in bold, then `: words`, `:words` or a tab -> `Leder: words`."""
    label, rest = text[:bold].strip(), text[bold:]
    if label.endswith(":"):
        label, rest = label[:-1].strip(), rest
    else:
        colon = _LABEL_COLON.match(rest)
        if colon:
            rest = rest[colon.end():]
        elif not rest.startswith("\t"):
            return text  # bold words starting a sentence, not a label
    if not label or len(label) > 40 or ":" in label or "\n" in label:
        return text
    rest = rest.lstrip(" \t")
    return f"{label}: {rest}" if rest.strip() else f"{label}:"


def read_docx(data: bytes, *, path: Path) -> _Text:
    """A Word document's paragraphs (python-docx), tables at the top as metadata."""
    archive = _checked_zip(data, path, "Word document (.docx)")
    archive.close()
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table
    from lxml.etree import LxmlError

    try:
        document = docx.Document(io.BytesIO(data))

        def blocks():
            for item in document.iter_inner_content():
                if isinstance(item, Table):
                    yield [[cell.text for cell in row.cells] for row in item.rows]
                else:
                    yield _docx_block(item)

        return _document_text(blocks())
    except InputError:
        raise
    except (PackageNotFoundError, KeyError, ValueError, LxmlError, SyntaxError, AttributeError, IndexError) as exc:
        raise InputError(f"not a readable Word document (.docx): {exc}", path=str(path),
                         hint="open it in Word and save it again as .docx") from None


def _docx_block(paragraph) -> _Block:
    style = paragraph.style.name.lower() if paragraph.style is not None and paragraph.style.name else ""
    heading = style.startswith(("heading", "title", "overskrift", "tittel"))
    pieces = []
    for run in paragraph.runs:
        strong = run.bold
        if strong is None and run.style is not None:
            strong = run.style.font.bold
        pieces.append((run.text, bool(strong)))
    text = paragraph.text
    return _Block(text, heading, min(_bold_prefix(pieces), len(text)))


def _bold_prefix(pieces: list[tuple[str, bool]]) -> int:
    """How many characters at the start are bold (whitespace before them counted in),
    0 if the text does not start in bold."""
    length, bold = 0, False
    for text, strong in pieces:
        if not text:
            continue
        if not strong:
            if not bold and not text.strip():
                length += len(text)
                continue
            break
        bold = True
        length += len(text)
    return length if bold else 0


_ODF = {
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "style": "urn:oasis:names:tc:opendocument:xmlns:style:1.0",
    "fo": "urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0",
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
}


def _q(prefix: str, name: str) -> str:
    return f"{{{_ODF[prefix]}}}{name}"


def read_odt(data: bytes, *, path: Path) -> _Text:
    """An OpenDocument text's paragraphs and headings (content.xml, read with defusedxml)."""
    what = "OpenDocument text (.odt)"
    archive = _checked_zip(data, path, what)
    content = _xml(archive, "content.xml", path, what)
    if content is None:
        raise InputError(f"not a readable {what}: it has no content.xml", path=str(path),
                         hint="open it in LibreOffice and save it again as .odt")
    bold_styles = _odt_bold_styles(content) | _odt_bold_styles(_xml(archive, "styles.xml", path, what))
    body = content.find(f"{_q('office', 'body')}/{_q('office', 'text')}")
    if body is None:
        raise InputError(f"not a readable {what}: it holds no text document (a spreadsheet or drawing?)",
                         path=str(path), hint="import the text as .odt, .docx or .txt")
    return _document_text(_odt_blocks(body, bold_styles))


def _odt_bold_styles(root) -> set[str]:
    if root is None:
        return set()
    names = set()
    for style in root.iter(_q("style", "style")):
        props = style.find(_q("style", "text-properties"))
        if props is not None and props.get(_q("fo", "font-weight")) in ("bold", "700", "800", "900"):
            names.add(style.get(_q("style", "name")))
    return names


def _odt_blocks(element, bold_styles: set[str]) -> Iterator[_Block | list[list[str]]]:
    for child in element:
        tag = child.tag
        if tag in (_q("text", "p"), _q("text", "h")):
            pieces: list[tuple[str, bool]] = []
            _odt_inline(child, bold_styles, child.get(_q("text", "style-name")) in bold_styles, pieces)
            yield _Block("".join(p for p, _ in pieces), tag == _q("text", "h"), _bold_prefix(pieces))
        elif tag == _q("table", "table"):
            rows = []
            for row in child.iter(_q("table", "table-row")):
                cells = []
                for cell in row.findall(_q("table", "table-cell")):
                    parts = []
                    for paragraph in cell.iter():
                        if paragraph.tag in (_q("text", "p"), _q("text", "h")):
                            pieces = []
                            _odt_inline(paragraph, bold_styles, False, pieces)
                            parts.append("".join(p for p, _ in pieces))
                    cells.append("\n".join(parts))
                rows.append(cells)
            yield rows
        elif tag in (_q("text", "list"), _q("text", "list-item"), _q("text", "section"), _q("text", "list-header")):
            yield from _odt_blocks(child, bold_styles)


def _odt_inline(element, bold_styles: set[str], bold: bool, pieces: list[tuple[str, bool]]) -> None:
    """The text of a paragraph as (piece, bold) in order: spans, spaces (text:s c=N), tabs,
    line breaks; notes and annotations are left out."""
    if element.text:
        pieces.append((element.text, bold))
    for child in element:
        tag = child.tag
        if tag == _q("text", "span"):
            _odt_inline(child, bold_styles, bold or child.get(_q("text", "style-name")) in bold_styles, pieces)
        elif tag == _q("text", "s"):
            try:
                count = min(int(child.get(_q("text", "c"), "1")), 1000)
            except ValueError:
                count = 1
            pieces.append((" " * count, bold))
        elif tag == _q("text", "tab"):
            pieces.append(("\t", bold))
        elif tag == _q("text", "line-break"):
            pieces.append(("\n", bold))
        elif tag in (_q("text", "note"), _q("office", "annotation"), _q("office", "annotation-end")):
            pass
        else:  # links, bookmarks, fields: their text
            _odt_inline(child, bold_styles, bold, pieces)
        if child.tail:
            pieces.append((child.tail, bold))


# -- subtitles ------------------------------------------------------------------------------

_TIMING = re.compile(r"^\s*(\S+)\s+-->\s+(\S+)")
_CLOCK = re.compile(r"(?:(\d{1,3}):)?(\d{1,2}):(\d{1,2})(?:[.,](\d{1,3}))?")
_VOICE = re.compile(r"<v(?:\.[^\s>]*)?(?:[ \t]+([^>]*))?>", re.IGNORECASE)
_TAG = re.compile(r"</?[a-zA-Z][^>]*>|<\d[\d:.,]*>|\{\\[^}]*\}")
_PREFIX = re.compile(r"([^:\n\s<>][^:\n<>]{0,39}):[ \t]+")


def clock_ms(value: str) -> int | None:
    """`01:02:03.500`, `02:03,5` or `62:03` -> milliseconds; None if it is no time."""
    found = _CLOCK.fullmatch(value.strip())
    if not found:
        return None
    hours, minutes, seconds, fraction = found.groups()
    if int(seconds) > 59 or (hours is not None and int(minutes) > 59):
        return None
    ms = int((fraction or "0").ljust(3, "0"))
    return ((int(hours or 0) * 60 + int(minutes)) * 60 + int(seconds)) * 1000 + ms


def read_subtitles(text: str, *, path: Path) -> _Text:
    """WebVTT or SubRip cues -> turns. A cue's speaker is its `<v Name>` voice or a `Name:`
    at its start; a cue with none continues the turn before it. Cue numbers, timing lines,
    NOTE/STYLE/REGION blocks and styling tags are not text."""
    cues = list(_cues(text))
    if not cues:
        raise InputError("no subtitle cues found (no line like '00:00:01.000 --> 00:00:04.000')", path=str(path),
                         hint="is this a .vtt or .srt file?")
    written = _Text()
    speaker, words, start, end = None, [], None, None
    for cue_start, cue_end, cue_speaker, cue_text in cues:
        if cue_speaker is None or cue_speaker == speaker:
            if not words:
                start = cue_start
            words.append(cue_text)
            end = cue_end
            speaker = speaker if cue_speaker is None else cue_speaker
            continue
        if words:
            written.turn(speaker, " ".join(words), start, end)
        speaker, words, start, end = cue_speaker, [cue_text], cue_start, cue_end
    if words:
        written.turn(speaker, " ".join(words), start, end)
    return written


def _cues(text: str) -> Iterator[tuple[int | None, int | None, str | None, str]]:
    """(start ms, end ms, speaker, words) of each cue; one cue with several voices is
    several."""
    for block in re.split(r"\n[ \t]*\n", text):
        lines = block.strip("\n").split("\n")
        for index, line in enumerate(lines[:3]):
            timing = _TIMING.match(line) if "-->" in line else None
            if timing:
                break
        else:
            continue  # the WEBVTT header, NOTE, STYLE, REGION, or stray text
        start, end = clock_ms(timing.group(1)), clock_ms(timing.group(2))
        if start is None:
            continue
        payload = "\n".join(lines[index + 1:])
        for speaker, words in _voices(payload):
            if words:
                yield start, end, speaker, words


def _voices(payload: str) -> Iterator[tuple[str | None, str]]:
    voices = list(_VOICE.finditer(payload))
    if not voices:
        yield _prefixed(_plain(payload))
        return
    before = _plain(payload[:voices[0].start()])
    if before:
        yield _prefixed(before)
    for index, voice in enumerate(voices):
        stop = voices[index + 1].start() if index + 1 < len(voices) else len(payload)
        name = _plain(voice.group(1) or "")
        yield (name or None), _plain(payload[voice.end():stop])


def _plain(cue_text: str) -> str:
    """Tags and entities out, lines joined: `<i>ja</i> &amp; nei` -> `ja & nei`."""
    return " ".join(html.unescape(_TAG.sub("", cue_text)).split())


def _prefixed(words: str) -> tuple[str | None, str]:
    found = _PREFIX.match(words)
    if found:
        return found.group(1).strip(), words[found.end():]
    return None, words


# -- spreadsheets ---------------------------------------------------------------------------

# Excel's own limits: no workbook holds more, so more is a hostile file.
MAX_SHEET_ROWS = 1_048_576
MAX_SHEET_COLUMNS = 16_384
MAX_CELL_CHARS = 32_767 * 4  # Excel's limit is 32,767; a CSV written elsewhere may hold more


def sheet_rows(data: bytes, *, path: Path, kind: str) -> Iterator[tuple[int, list]]:
    """(line or row number, cells) of the first sheet, header first; cells are strings (CSV)
    or the values a workbook holds (numbers, dates and times where the cell's format is one,
    booleans, text). Rows stream, so memory stays flat however long the sheet."""
    if kind == "csv":
        text = decode_bytes(data, path=str(path), reads=CSV_FILE).text
        for number, cells in enumerate(csv_records(text, path), start=1):
            yield number, cells
        return
    archive = _checked_zip(data, path, "Excel workbook (.xlsx)")
    from lxml.etree import LxmlError

    try:
        yield from _xlsx_rows(archive, path)
    except InputError:
        raise
    except (LxmlError, KeyError, ValueError, TypeError, IndexError, OverflowError, zipfile.BadZipFile) as exc:
        raise InputError(f"not a readable Excel workbook (.xlsx): {exc}", path=str(path),
                         hint="open it in Excel and save it again as .xlsx") from None
    finally:
        archive.close()


# A workbook's XML is read with lxml's iterparse, a row at a time, each row dropped once read:
# openpyxl's read-only mode reads the same rows and values with a Python call per cell, some
# five times slower (100,000 survey answers: 24 s of CPU). Document type declarations were
# refused by _checked_zip; entities are not resolved, nothing is fetched, and a text node
# over lxml's 10 MB limit is an error.
_SS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_CELL_REF = re.compile(r"[A-Z]{1,3}")


def _parse(archive: zipfile.ZipFile, name: str):
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    with archive.open(name) as stream:
        return etree.parse(stream, parser).getroot()


def _iter(archive: zipfile.ZipFile, name: str, tag: str):
    from lxml import etree

    with archive.open(name) as stream:
        for _, element in etree.iterparse(stream, events=("end",), tag=tag, resolve_entities=False,
                                          no_network=True, load_dtd=False, huge_tree=False):
            yield element
            element.clear()
            while element.getprevious() is not None:
                del element.getparent()[0]


def _first_sheet(archive: zipfile.ZipFile) -> str:
    names = set(archive.namelist())
    workbook = _parse(archive, "xl/workbook.xml")
    sheet = workbook.find(f"{_SS}sheets/{_SS}sheet")
    if sheet is None:
        raise InputError("the workbook has no sheet")
    rel_id = sheet.get(f"{_R}id")
    if "xl/_rels/workbook.xml.rels" in names and rel_id:
        for rel in _parse(archive, "xl/_rels/workbook.xml.rels").iter(f"{_PKG_REL}Relationship"):
            if rel.get("Id") == rel_id:
                target = rel.get("Target", "")
                member = target.lstrip("/") if target.startswith("/") else "xl/" + target
                if member in names:
                    return member
    return "xl/worksheets/sheet1.xml"


def _shared_strings(archive: zipfile.ZipFile) -> list[str]:
    if "xl/sharedStrings.xml" not in archive.namelist():
        return []
    strings = []
    for item in _iter(archive, "xl/sharedStrings.xml", f"{_SS}si"):
        strings.append("".join(t.text or "" for t in item.iter(f"{_SS}t") if t.getparent().tag != f"{_SS}rPh"))
    return strings


def _date_styles(archive: zipfile.ZipFile) -> dict[int, str]:
    """Cell style index -> "date" or "duration", for the styles whose number format is one."""
    if "xl/styles.xml" not in archive.namelist():
        return {}
    from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format

    styles = _parse(archive, "xl/styles.xml")
    formats = dict(BUILTIN_FORMATS)
    for fmt in styles.iter(f"{_SS}numFmt"):
        formats[int(fmt.get("numFmtId", "-1"))] = fmt.get("formatCode", "")
    kinds = {}
    cell_xfs = styles.find(f"{_SS}cellXfs")
    for index, xf in enumerate(cell_xfs if cell_xfs is not None else ()):
        code = formats.get(int(xf.get("numFmtId", "0")), "")
        if code and is_timedelta_format(code):
            kinds[index] = "duration"
        elif code and is_date_format(code):
            kinds[index] = "date"
    return kinds


_COLUMNS: dict[str, int] = {}


def _column(ref: str | None) -> int | None:
    """`B12` -> 1 (columns count from 0)."""
    letters = (ref or "").rstrip("0123456789")
    index = _COLUMNS.get(letters)
    if index is None:
        if not _CELL_REF.fullmatch(letters):
            return None
        index = 0
        for letter in letters:
            index = index * 26 + ord(letter) - 64
        index = _COLUMNS[letters] = index - 1
    return index


def _cell_value(kind: str, style: str | None, raw: str | None, strings: list[str], dates: dict[int, str]):
    """A cell's value from its type (`t`), style (`s`) and text: an inline string's text
    runs (phonetic guides, rare here, would come along), else its `v` (None: none)."""
    if kind == "inlineStr":
        return raw
    if raw is None:
        return None
    if kind == "s":
        return strings[int(raw)]
    if kind == "b":
        return raw.strip() in ("1", "true")
    if kind in ("str", "e", "d") or not raw:
        return raw or None
    try:
        number = float(raw)
    except ValueError:
        return raw  # not a number after all: its text
    if number != number or number in (float("inf"), float("-inf")):
        return raw
    style = dates.get(int("0" if style is None else style))
    if style:
        from openpyxl.utils.datetime import from_excel

        return from_excel(number, timedelta=style == "duration")
    return int(number) if number.is_integer() and abs(number) < 2**53 and "." not in raw and "E" not in raw.upper() \
        else number


def _xlsx_rows(archive: zipfile.ZipFile, path: Path) -> Iterator[tuple[int, list]]:
    """The first sheet's rows: the header row, then each row cut to the header's width (a
    sheet claiming 16,384 columns is not padded to them); rows with no cell are left out."""
    sheet = _first_sheet(archive)
    strings = _shared_strings(archive)
    dates = _date_styles(archive)
    width, expected = None, 1
    for row_ref, row_cells in _sheet_xml_rows(archive, sheet):
        number = int(row_ref or expected)
        expected = number + 1
        if number > MAX_SHEET_ROWS:
            raise InputError(f"more than {MAX_SHEET_ROWS:,} rows, more than a workbook holds", path=str(path))
        cells: dict[int, object] = {}
        position = 0
        for ref, kind, style, raw in row_cells:
            column = _column(ref)
            position = position if column is None else column
            if position < (width if width is not None else MAX_SHEET_COLUMNS):
                value = _cell_value(kind, style, raw, strings, dates)
                if value is not None:
                    cells[position] = value
            position += 1
        if width is None:
            width = max((c + 1 for c, v in cells.items() if v != ""), default=0)
            yield number, [cells.get(c) for c in range(width)]
            if not width:
                return
            continue
        yield number, [cells.get(c) for c in range(width)]


_MAIN = _SS[1:-1] + "}"
_ROW, _C, _V, _TEXT = _MAIN + "row", _MAIN + "c", _MAIN + "v", _MAIN + "t"
_XML_TEXT_LIMIT = 10_000_000  # lxml's limit on a text node without huge_tree, kept


def _sheet_xml_rows(archive: zipfile.ZipFile, name: str) -> Iterator[tuple[str | None, list[tuple]]]:
    """A sheet's rows as expat reads them a MB at a time: (the row's `r`, its cells as (`r`,
    `t`, `s`, text)), where a cell's text is, as lxml gave it, an inline string's runs (the
    text and tail of every `t` in it) or its first `v`'s text (None: no `v`). The callbacks
    make no element objects: some three times faster than lxml's iterparse over 100,000 rows.
    Document types were refused by _checked_zip; here too, and no entity is ever expanded."""
    from xml.parsers import expat

    done: list[tuple] = []
    rows: list[list] = []  # the open rows: [r, cells, depth]
    cell: list | None = None  # the open cell: [r, t, s, depth, text parts, v parts or None]
    capture: list | None = None  # where character data goes now
    depth = 0

    def start(tag, attributes):
        nonlocal cell, capture, depth
        depth += 1
        capture = None
        if tag == _ROW:
            rows.append([attributes.get("r"), [], depth])
        elif tag == _C and cell is None and rows and depth == rows[-1][2] + 1:
            cell = [attributes.get("r"), attributes.get("t", "n"), attributes.get("s"), depth, [], None]
        elif cell is not None:
            if tag == _TEXT and cell[1] == "inlineStr":
                capture = cell[4]
            elif tag == _V and depth == cell[3] + 1 and cell[5] is None:
                capture = cell[5] = []

    def end(tag):
        nonlocal cell, capture, depth
        capture = None
        if cell is not None:
            if tag == _TEXT and cell[1] == "inlineStr" and depth > cell[3]:
                capture = cell[4]  # its tail
            elif depth == cell[3]:
                ref, kind, style, _, parts, value = cell
                text = "".join(parts) if kind == "inlineStr" else (None if value is None else "".join(value))
                rows[-1][1].append((ref, kind, style, text))
                cell = None
        elif rows and depth == rows[-1][2]:
            ref, cells, _ = rows.pop()
            done.append((ref, cells))
        depth -= 1

    def characters(data):
        if capture is not None:
            capture.append(data)
            if len(data) > _XML_TEXT_LIMIT:
                raise ValueError(f"a text node over {_XML_TEXT_LIMIT:,} characters")

    def boundary(*_):  # a comment or processing instruction ends the text before it, as in lxml
        nonlocal capture
        capture = None

    def refuse(*_):
        raise ValueError("a document type or entity declaration")

    parser = expat.ParserCreate(namespace_separator="}")
    parser.buffer_text = True
    parser.buffer_size = 1 << 16
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartElementHandler, parser.EndElementHandler = start, end
    parser.CharacterDataHandler = characters
    parser.CommentHandler = parser.ProcessingInstructionHandler = boundary
    parser.StartDoctypeDeclHandler = parser.EntityDeclHandler = parser.ExternalEntityRefHandler = refuse
    try:
        with archive.open(name) as stream:
            while True:
                chunk = stream.read(1 << 20)
                parser.Parse(chunk, not chunk)
                yield from done
                done.clear()
                if not chunk:
                    return
    except expat.ExpatError as exc:
        raise ValueError(f"{name} is not well-formed XML ({exc})") from None


def _cell_text(value) -> str:
    if type(value) is str:  # most cells, first
        return value
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _header(rows: Iterator[tuple[int, list]], path: Path) -> list[str]:
    def records():
        for _, cells in rows:
            yield [_cell_text(c) for c in cells]

    header = csv_header(records(), path)
    if len(header) > MAX_SHEET_COLUMNS:
        raise InputError(f"the header has {len(header):,} columns, more than a workbook holds", path=str(path), line=1)
    return header


def _time_ms(value, path: Path, line: int) -> tuple[int | None, int | None]:
    """A time cell -> (start, end) in ms: `00:12:31`, `12:31.5`, `00:12:31 --> 00:13:02`,
    seconds as a number, or a time of day / duration as a workbook holds it."""
    import datetime as dt

    if value is None or value == "":
        return None, None
    if isinstance(value, dt.datetime):
        value = value.time()
    if isinstance(value, dt.time):
        return ((value.hour * 60 + value.minute) * 60 + value.second) * 1000 + value.microsecond // 1000, None
    if isinstance(value, dt.timedelta):
        return int(value.total_seconds() * 1000), None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (int(value * 1000), None) if value >= 0 else (None, None)
    text = str(value).strip().strip("[]")
    parts = re.split(r"\s*(?:-->|–|—|\s-\s)\s*", text, maxsplit=1)
    times = [clock_ms(part) for part in parts]
    if times[0] is None and re.fullmatch(r"\d+(?:[.,]\d+)?", parts[0]):
        times[0] = int(float(parts[0].replace(",", ".")) * 1000)
    if any(t is None for t in times):
        raise InputError(f"'{text}' is not a time (write 00:12:31, 12:31 or seconds)", path=str(path), line=line)
    return times[0], (times[1] if len(times) > 1 else None)


def read_turn_rows(rows: Iterator[tuple[int, list]], *, path: Path) -> _Text:
    """A spreadsheet with one row per turn: `speaker`, `text`, optional `time` (or `start`
    and `end`)."""
    header = [h.lower() for h in _header(rows, path)]
    if "text" not in header:
        raise NotATranscript("a spreadsheet transcript needs columns 'speaker' and 'text' (optional: time); "
                         f"the header has {', '.join(repr(h) for h in header if h) or 'no column names'}",
                         path=str(path), line=1,
                         hint="for survey answers, one row per respondent, name the answer columns with "
                              "--text-columns")
    column = {name: header.index(name) for name in ("speaker", "text", "time", "start", "end") if name in header}
    written = _Text()
    for line, cells in rows:
        def cell(name):
            index = column.get(name)
            return cells[index] if index is not None and index < len(cells) else None

        words = _cell_text(cell("text"))
        if len(words) > MAX_CELL_CHARS:
            raise InputError(f"a cell of {len(words):,} characters", path=str(path), line=line)
        start, end = _time_ms(cell("time") if "time" in column else cell("start"), path, line)
        if "end" in column:
            end = _time_ms(cell("end"), path, line)[0]
        written.turn(_cell_text(cell("speaker")) or None, words, start, end)
    return written


ID_COLUMNS = ("id", "respondent", "respondent_id", "respondentid", "responseid", "response_id", "respondent id",
              "response id", "respondent-id")


def read_survey(path: Path, text_columns: list[str], *, case: str | None = None) -> Iterator[Transcript]:
    """Survey answers, one row per respondent: each respondent is a transcript named
    `<file>_<id>` (the `id`/`respondent`/`ResponseId` column, else the row number), with one
    turn per answer column (labelled by the column) and every other column an attribute.
    Rows stream, so memory stays flat however many respondents there are; a respondent who
    answered none of the columns has no transcript."""
    data = read_regular_file(path, max_bytes=max_bytes())
    kind = kind_of(path, data)
    if kind not in SPREADSHEETS:
        raise InputError(f"--text-columns reads survey answers from a spreadsheet (.csv or .xlsx), not a {kind} file",
                         path=str(path))
    rows = sheet_rows(data, path=path, kind=kind)
    header = _header(rows, path)
    folded = [h.lower() for h in header]
    answers = []
    for wanted in text_columns:
        if wanted in header:
            answers.append(header.index(wanted))
        elif wanted.strip().lower() in folded:
            answers.append(folded.index(wanted.strip().lower()))
        else:
            found = ", ".join(f"'{h}'" for h in header if h) or "no column names"
            raise InputError(f"no column '{wanted}' for --text-columns (the header has {found})", path=str(path),
                             line=1)
    id_column = next((folded.index(name) for name in ID_COLUMNS if name in folded), None)
    others, keys = [], set()
    for index, name in enumerate(header):
        key = _field(name) if index not in answers and name.strip() else ""
        if key:
            unique, n = key, 1
            while unique in keys:  # `Age` and `age`: age and age_2
                n += 1
                unique = f"{key}_{n}"
            keys.add(unique)
            others.append((index, unique))
    stem = transcript_name(path)
    quick = _QuickRespondents.of(header, answers, others)
    for line, cells in rows:
        size = len(cells)
        respondent = _cell_text(cells[id_column]).strip() if id_column is not None and id_column < size else ""
        respondent = "_".join(respondent.split()) or str(line - 1)  # stripped: as re.sub(r"\s+", "_")
        said = []
        for index in answers:
            words = _cell_text(cells[index]) if index < size else ""
            if len(words) > MAX_CELL_CHARS:
                raise InputError(f"a cell of {len(words):,} characters", path=str(path), line=line)
            said.append(words.strip())
        if not any(said):
            continue
        name = f"{stem}_{respondent}"
        made = quick.text(cells, respondent, said) if quick is not None else None
        if made is not None:
            text, meta, body_start, segments = made
            yield parse_transcript(text, path=str(path), name=name, case=case, encoding=kind,
                                   front_matter=(meta, body_start), segments=segments)
            continue
        fields = {}
        for index, key in others:
            if index < size:
                value = cells[index]
                if value is not None and value != "":
                    fields[key] = value.strip() if isinstance(value, str) else value
        fields.setdefault("informant", respondent)
        written = _Text()
        written.front_matter(fields)
        for index, words in zip(answers, said):
            if words:
                written.turn(header[index], words)
        yield _transcript(written, path=path, name=name, case=case, encoding=kind)


class _QuickRespondents:
    """A survey respondent's text, front-matter values and segments made as they are written,
    as _Text and ingest.parse_transcript would make them, without searching the text for its
    front matter and turns again (a survey has 100,000 respondents). For a sheet whose
    attribute keys stay apart in NFC and whose answer columns' names read as turn labels;
    `text` gives None for a respondent whose text normalising would change (not NFC, a
    carriage return) or whose answer has a line break (it may hold turns of its own): the
    full path reads those."""

    def __init__(self, labels: list[str], keys: list[tuple[int, str]]) -> None:
        self.labels = labels  # each answer column's turn label
        self.keys = keys  # (column, its front-matter key in NFC)

    @classmethod
    def of(cls, header: list[str], answers: list[int], others: list[tuple[int, str]]) -> "_QuickRespondents | None":
        labels = [speaker_label(header[index]) for index in answers]
        keys = [(index, _nfc_key(key)) for index, key in others]
        named = [key for _, key in keys]
        if (not all(label and _label_is_turn(label) for label in labels) or len(set(named)) != len(named)
                or any(key == "informant" != original for (_, key), (_, original) in zip(keys, others))):
            return None  # _Text.front_matter would rename a key, or a turn would not read as written
        return cls(labels, keys)

    def text(self, cells: list, respondent: str, said: list[str]):
        """(text, front-matter values, where the body starts, segments), or None."""
        size = len(cells)
        lines, meta, informant = [], {}, False
        for index, key in self.keys:  # the front matter: _Text.front_matter of read_survey's fields
            if index >= size:
                continue
            value = cells[index]
            if value is None or value == "":
                continue
            if key == "informant":
                informant = True  # given, if blank: no respondent id in its place
            if isinstance(value, str):
                value = value.strip()
                if not value:
                    continue
            rendered, meta[key] = _yaml_value(value)
            lines.append(f"{key}: {rendered}")
        if not informant:
            rendered, meta["informant"] = _yaml_value(respondent)
            lines.append(f"informant: {rendered}")
        front = "---\n" + "\n".join(lines) + "\n---\n"
        pieces = [front]
        at = len(front)
        segments = []
        for label, words in zip(self.labels, said):  # the turns: _Text.turn, then ingest.split_segments
            if not words:
                continue
            if "\n" in words:
                return None
            # a blank line between turns, as _Text.turn writes it (not after `---\n`: it takes that for the
            # front matter's end)
            if segments and not segments[-1].text.endswith("---"):
                pieces.append("\n")
                at += 1
            start = at + len(label) + 2
            end = start + len(words)
            pieces += (label, ": ", words, "\n")
            segments.append(Segment(len(segments) + 1, label, start, end, words))
            at = end + 1
        text = "".join(pieces)
        if "\r" in text or not unicodedata.is_normalized("NFC", text):
            return None
        return text, meta, len(front), tuple(segments)


def _label_is_turn(label: str) -> bool:
    """Whether `label: ` at the start of a line is read as that label's turn (ingest._TURN)."""
    from coder.ingest import _TURN

    found = _TURN.match(label + ": ")
    return found is not None and found.group(1) == label and found.end() == len(label) + 2
