"""Reading transcripts: encodings, YAML front matter, speaker turns -> segments; and the other
files a project reads in: cases files (YAML or CSV) and codings CSVs.

All offsets are code points into the whole normalised text (front matter included), end
exclusive, so `text[segment.start:segment.end] == segment.text` always holds.
"""
from __future__ import annotations

import bisect
import datetime as _dt
import json
import math
import operator
import os
import re
import stat
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from coder.errors import InputError
from coder.text import (CASES_FILE, CSV_FILE, DEFAULT_MAX_BYTES, csv_header, csv_records, file_kind, missing_column,
                        read_text_file, sha256_text)
from coder.values import Segment

# what a folder import takes (coder.readers reads each; .txt and .md here)
TRANSCRIPT_SUFFIXES = (".txt", ".md", ".docx", ".odt", ".vtt", ".srt", ".csv", ".xlsx")
# A turn starts at a line beginning with a label of 1-40 characters (no colon, not starting
# with a space), then a colon followed by a space/tab or the end of the line. "Klokka 10:30"
# is not a turn: the colon is followed by a digit.
_TURN = re.compile(r"^([^:\n\s][^:\n]{0,39}):(?:[ \t]|$)", re.MULTILINE)
_TURN_AFTER_NEWLINE = re.compile(r"\n([^:\n\s][^:\n]{0,39}):(?:[ \t]|$)", re.MULTILINE)
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
_FRONT_MATTER_END = re.compile(r"^(?:---|\.\.\.)[ \t]*$", re.MULTILINE)
_FRONT_MATTER_END_BYTES = re.compile(_FRONT_MATTER_END.pattern.encode(), re.MULTILINE)
KNOWN_FIELDS = ("case", "informant", "role", "date")


@dataclass(frozen=True)
class Speaker:
    """Who speaks the turns that start with `label`, as the front matter's `speakers:` says."""
    label: str
    interviewer: bool
    informant: str | None = None  # None: the transcript's informant
    role: str | None = None


# Labels that are the interviewer's unless the front matter says otherwise, alone or with a
# short tag ("Intervjuer A", "I2").
_INTERVIEWER_LABEL = re.compile(r"(?:intervjuer|interviewer|int|i|q|moderator)(?:\s*\d{1,2}|\s+\w)?")


def is_interviewer(label: str | None, interviewer: object = None) -> bool:
    """Whether an unlisted speaker label is the interviewer's: it reads like one, or it is
    what the front matter's `interviewer:` names."""
    if not label:
        return False
    folded = " ".join(label.split()).casefold()
    if interviewer is not None and folded == " ".join(str(interviewer).split()).casefold():
        return True
    return _INTERVIEWER_LABEL.fullmatch(folded) is not None


def _speakers(value, path: str) -> tuple[Speaker, ...]:
    """The front matter's `speakers:` mapping: each label to `interviewer`, to an informant's
    name, or to {informant: NAME, role: ROLE} (either may be left out)."""
    if value is None:
        return ()
    hint = "write e.g. speakers: {Leder: {informant: Kari Dahl, role: NAV-leder}, Intervjuer: interviewer}"
    if not isinstance(value, dict):
        raise InputError("front matter 'speakers' must map speaker labels to who they are", path=path, hint=hint)
    speakers = []
    for label, who in value.items():
        label = str(label).strip()
        if isinstance(who, str) and who.strip().casefold() in ("interviewer", "intervjuer"):
            speakers.append(Speaker(label, True))
        elif isinstance(who, (str, int, float)) or who is None:
            speakers.append(Speaker(label, False, _scalar(who) or None))
        elif isinstance(who, dict) and set(map(str, who)) <= {"informant", "role", "interviewer"}:
            speakers.append(Speaker(label, bool(who.get("interviewer")), _scalar(who.get("informant")) or None,
                                    _scalar(who.get("role")) or None))
        else:
            raise InputError(f"front matter 'speakers': '{label}' must be interviewer, a name, or "
                             "{informant: ..., role: ...}", path=path, hint=hint)
    return tuple(speakers)


@dataclass(frozen=True)
class Transcript:
    name: str
    path: str
    text: str
    sha256: str
    case: str | None
    informant: str | None
    role: str | None
    date: str | None
    attributes: dict  # every other front-matter key
    segments: tuple[Segment, ...]
    encoding: str
    named_case: str | None = None  # the case the front matter names (`case` is it unless --case overrode it)
    speakers: tuple[Speaker, ...] = ()  # the front matter's `speakers:`

    @property
    def attributes_json(self) -> str:
        return _ATTRIBUTES_JSON.encode(self.attributes)  # json.dumps(..., ensure_ascii=False, sort_keys=True)


# one encoder for every transcript's attributes: json.dumps with options makes one per call
_ATTRIBUTES_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True)


def transcript_name(path: Path) -> str:
    """The file name without its extension, in Unicode NFC: a name from a Mac's file system
    (decomposed, NFD) is the name the user types."""
    return unicodedata.normalize("NFC", path.stem)


def discover(paths: list[Path], *, follow_links: bool = False,
             problems: list[tuple[str, str]] | None = None) -> list[Path]:
    """Expand folders (recursively, every TRANSCRIPT_SUFFIXES file, sorted) and check every path exists and is
    a file or a folder. What a folder holds that cannot be read (a sub-folder without
    permission, a link leading out of the folder, a FIFO named .txt) is added to `problems` as
    (path, message), so the rest imports."""
    found: list[Path] = []
    problems = [] if problems is None else problems
    for path in paths:
        try:
            mode = os.stat(path).st_mode
        except FileNotFoundError:
            raise InputError("no such file or folder", path=str(path)) from None
        except OSError as exc:
            raise InputError(f"cannot read it ({exc.strerror or exc})", path=str(path)) from None
        if stat.S_ISDIR(mode):
            # in Path order (folder by folder), sorting the names as strings: Path compares slowly
            found.extend(Path(name) for name in sorted(_transcript_files(path, follow_links, problems),
                                                       key=lambda name: name.split(os.sep)))
        elif stat.S_ISREG(mode):
            found.append(path)
        else:  # refused before it is opened: a FIFO would hang the read, a device never ends
            raise InputError(f"is {file_kind(mode)}, not a regular file or a folder; only regular files are read",
                             path=str(path))
    return found


def _transcript_files(folder: Path, follow_links: bool, problems: list[tuple[str, str]]) -> Iterator[str]:
    """The transcript files under a folder, at any depth, never into a folder already visited
    (os.scandir: the file type comes with the listing, so a thousand files cost no thousand
    stat calls). A link is followed only when it leads to somewhere inside `folder`, or with
    `follow_links`."""
    inside = os.path.realpath(folder)
    pending, seen = [str(folder)], set()
    while pending:
        current = pending.pop()
        try:
            info = os.stat(current)
        except OSError:
            continue  # a dangling link
        if (info.st_dev, info.st_ino) in seen:
            continue
        seen.add((info.st_dev, info.st_ino))
        try:
            with os.scandir(current) as entries:
                for entry in entries:
                    try:
                        found = _entry(entry, inside, follow_links, problems)
                    except OSError as exc:
                        problems.append((entry.path, f"cannot read it ({exc.strerror or exc})"))
                        continue
                    if found == "folder":
                        pending.append(entry.path)
                    elif found == "file":
                        yield entry.path
        except OSError as exc:
            problems.append((current, f"cannot read this folder ({exc.strerror or exc}); the rest was imported"))


def _entry(entry: os.DirEntry, inside: str, follow_links: bool, problems: list[tuple[str, str]]) -> str | None:
    """"folder", "file" (a transcript to read) or None (skipped; a problem is noted where a
    transcript was probably meant)."""
    transcript = os.path.splitext(entry.name)[1].lower() in TRANSCRIPT_SUFFIXES
    if entry.is_symlink() and not follow_links:
        target = os.path.realpath(entry.path)
        if target != inside and not target.startswith(inside.rstrip(os.sep) + os.sep):
            if transcript or entry.is_dir():
                problems.append((entry.path, f"a link to {target}, outside the folder imported; not followed "
                                             "(pass --follow-links to follow it)"))
            return None
    if entry.is_dir():
        return "folder"
    if not transcript:
        return None
    if entry.is_file():
        return "file"
    try:
        kind = file_kind(os.stat(entry.path).st_mode)
    except OSError:
        kind = None  # a dangling link: nothing to read
    if kind:
        problems.append((entry.path, f"is {kind}, not a regular file; only regular files are read"))
    return None


def max_bytes() -> int:
    try:
        return int(os.environ.get("CODER_MAX_BYTES", DEFAULT_MAX_BYTES))
    except ValueError:
        return DEFAULT_MAX_BYTES


def read_transcript(path: Path, *, case: str | None = None) -> Transcript:
    decoded = read_text_file(path, max_bytes=max_bytes())
    return parse_transcript(decoded.text, path=str(path), name=transcript_name(path), case=case,
                            encoding=decoded.encoding)


def parse_transcript(text: str, *, path: str, name: str, case: str | None = None, encoding: str = "utf-8",
                     front_matter: tuple[dict, int] | None = None,
                     segments: tuple[Segment, ...] | None = None) -> Transcript:
    """`front_matter`: (its values, where the body starts) when the caller wrote it and knows
    what YAML would read (coder/readers.py), so it is not parsed again; `segments` likewise,
    the turns split_segments would find (a survey respondent's answers, coder/readers.py)."""
    meta, body_start = front_matter if front_matter is not None else _front_matter(text, path)
    if segments is None:
        segments = tuple(split_segments(text, body_start))
    if not segments:
        raise InputError("transcript has no text", path=path, hint="add the interview text below the front matter")
    fields = {key: _scalar(meta.pop(key)) for key in KNOWN_FIELDS if key in meta}
    speakers = _speakers(meta.pop("speakers", None), path)
    attributes = {str(key): _attribute(value) for key, value in meta.items()}
    return Transcript(
        name=name, path=path, text=text, sha256=sha256_text(text),
        case=case if case else fields.get("case"),  # --case "" names no case
        informant=fields.get("informant"), role=fields.get("role"), date=fields.get("date"),
        attributes=attributes, segments=segments, encoding=encoding, named_case=fields.get("case"),
        speakers=speakers,
    )


def front_matter_case(data: bytes, *, path: str) -> str | None:
    """The case the front matter of a UTF-8 file names, as parse_transcript reads it (None
    if it names none). Decodes only the front matter."""
    if not data.startswith(b"---"):
        return None
    closing = _FRONT_MATTER_END_BYTES.search(data, data.find(b"\n") + 1)
    meta, _ = _front_matter(data[:closing.end() if closing else len(data)].decode("utf-8"), path)
    return _scalar(meta["case"]) if "case" in meta else None


def _front_matter(text: str, path: str) -> tuple[dict, int]:
    if not text.startswith("---") or text[3:4] not in ("\n", " ", "\t", ""):
        return {}, 0
    first_newline = text.find("\n")
    if first_newline < 0 or text[:first_newline].strip() != "---":
        return {}, 0
    closing = _FRONT_MATTER_END.search(text, first_newline + 1)
    if closing is None:
        raise InputError("front matter starts with '---' but has no closing '---' line", path=path, line=1,
                         hint="add a line with --- after the front matter")
    block = text[first_newline + 1:closing.start()]
    meta = _flat_front_matter(block)
    if meta is None:
        from coder import yamlio

        meta = yamlio.load(block, path=path, line_offset=1) or {}
    if not isinstance(meta, dict):
        raise InputError("front matter must be 'key: value' lines", path=path, line=2)
    body_start = closing.end()
    return dict(meta), body_start


# A front-matter line simple enough that libyaml and PyYAML cannot read it differently:
# `key: value` at the margin, the value on the same line (plain or quoted), or a comment.
_SIMPLE_LINE = re.compile(r"(?:[^\W\d][\w-]*:(?:[ ]+[^\s&*!|>%@`{}\[\]][^\n]*)?|[ ]*(?:#[^\n]*)?)\Z")
_AWKWARD = re.compile("[\t\r\x85\u2028\u2029\ufeff]")  # line breaks and BOMs the two parsers treat apart


def _flat_front_matter(block: str) -> dict | None:
    """The front matter read by libyaml (some 20 times faster than yamlio's pure-Python
    parser, which matters for thousands of transcripts), when it is the usual flat list of
    `key: value` lines; the same values yamlio would give. None for anything else, and
    for anything yamlio would refuse (aliases, duplicate keys, odd characters): then
    yamlio reads it, with its checks and its line-numbered errors."""
    import yaml  # here, not at the top: a re-import of unchanged files never parses YAML

    loader = getattr(yaml, "CSafeLoader", None)
    if loader is None or _AWKWARD.search(block) or yaml.reader.Reader.NON_PRINTABLE.search(block):
        return None
    if not all(_SIMPLE_LINE.match(line) for line in block.split("\n")):
        return None
    try:
        node = yaml.compose(block, Loader=loader)
    except yaml.YAMLError:
        return None
    if not isinstance(node, yaml.MappingNode):
        return None
    constructor = yaml.constructor.SafeConstructor()
    meta: dict = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode) or not isinstance(value_node, yaml.ScalarNode):
            return None
        try:
            key = constructor.construct_object(key_node, deep=True)
            value = constructor.construct_object(value_node, deep=True)
        except (yaml.YAMLError, ValueError, OverflowError):  # e.g. 2020-13-45: yamlio says what is wrong
            return None
        if not isinstance(key, (str, int, float, bool)) or key in meta:
            return None
        meta[key] = value
    return meta


def _scalar(value) -> str | None:
    if type(value) is str:  # most values, first
        return value.strip() or None
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=str)
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    return str(value).strip() or None  # `case: ""` names no case (and no case called "")


def _attribute(value):
    if isinstance(value, float):
        return finite_or_text(value)
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    return _scalar(value)


def finite_or_text(value):
    """An attribute value JSON can hold: NaN and infinity (YAML `.nan`, `.inf`, a CSV cell
    `NaN`) are kept as the text "nan", "inf", "-inf". JSON has no such numbers, and SQLite's
    JSON functions, which every --by and --where report uses, refuse them."""
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def split_segments(text: str, body_start: int) -> Iterator[Segment]:
    """Speaker turns if the body has any, else paragraphs. Text before the first turn is
    kept as paragraph segments without a speaker, so no words are dropped."""
    turns = _turns(text, body_start)
    number = 0
    if not turns:
        for start, end in _paragraphs(text, body_start, len(text)):
            number += 1
            yield Segment(number, None, start, end, text[start:end])
        return
    for start, end in _paragraphs(text, body_start, turns[0][0]):
        number += 1
        yield Segment(number, None, start, end, text[start:end])
    limits = [label_start for label_start, _, _ in turns[1:]]
    limits.append(len(text))
    for (_, words_from, label), limit in zip(turns, limits):
        # str.strip drops exactly what str.isspace calls whitespace, at C speed
        chunk = text[words_from:limit]
        words = chunk.strip()
        if not words:
            continue  # a label with no words is not a segment
        start = words_from + len(chunk) - len(chunk.lstrip())
        number += 1
        yield Segment(number, label.strip(), start, start + len(words), words)


def _turns(text: str, body_start: int) -> list[tuple[int, int, str]]:
    """(where the label starts, where the words may start, the label) of each `_TURN` from
    body_start on. Searching for the newline before a label is some four times faster than
    letting `^` try every position, which matters at 200,000 turns."""
    turns = []
    if body_start == 0:
        first = _TURN.match(text, 0)
        if first:
            turns.append((0, first.end(), first.group(1)))
    for turn in _TURN_AFTER_NEWLINE.finditer(text, max(body_start - 1, 0)):
        turns.append((turn.start(1), turn.end(), turn.group(1)))
    return turns


def _paragraphs(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    position = start
    for brk in _PARAGRAPH_BREAK.finditer(text, start, end):
        span = _strip(text, position, brk.start())
        if span[0] < span[1]:
            yield span
        position = brk.end()
    span = _strip(text, position, end)
    if span[0] < span[1]:
        yield span


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def segment_at(starts: list[int], offset: int) -> int:
    """Number of the segment holding `offset` (the last one starting at or before it)."""
    return max(1, bisect.bisect_right(starts, offset))


# -- cases files (coder cases import) -------------------------------------------------------

def parse_value(raw: str):
    """Attribute values typed on the command line or in CSV: numbers become numbers, but
    `nan`, `inf` or `1e999` stay text as typed (JSON has no such numbers)."""
    text = raw.strip()
    for cast in (int, float):
        try:
            value = cast(text)
        except ValueError:
            continue
        return value if finite_or_text(value) is value else text
    return text


def read_case_rows(path: Path) -> list[tuple[str, dict]]:
    from coder import yamlio

    text = read_text_file(path, reads=CASES_FILE).text
    rows: list[tuple[str, dict]] = []
    if path.suffix.lower() in (".yaml", ".yml"):
        data = yamlio.load(text, path=str(path))
        if isinstance(data, dict) and "case" not in data:
            data_items = [(name, attrs, data.line_of(name)) for name, attrs in data.items()]
        elif isinstance(data, list):
            data_items = []
            for item, line in zip(data, data.item_lines):
                if not isinstance(item, dict) or "case" not in item:
                    raise InputError("each case needs a 'case' key", path=str(path), line=line)
                attrs = {k: v for k, v in item.items() if k != "case"}
                data_items.append((item["case"], attrs, line))
        else:
            raise InputError("a cases file is a list of mappings with 'case' and attributes", path=str(path), line=1)
        for name, attrs, line in data_items:
            if not isinstance(name, str) or not name.strip():
                raise InputError(f"a case name must be text, not {name!r}", path=str(path), line=line,
                                 hint='put it in quotes ("...") to keep it as text')
            if not isinstance(attrs, dict) or any(isinstance(v, (dict, list)) for v in attrs.values()):
                raise InputError(f"attributes of case '{name}' must be 'key: value' pairs", path=str(path), line=line)
            for key in attrs:
                if not isinstance(key, str):
                    raise InputError(f"attribute name {key!r} of case '{name}' must be text", path=str(path),
                                     line=attrs.line_of(key) if hasattr(attrs, "line_of") else line,
                                     hint='put it in quotes ("...") to keep it as text')
            rows.append((str(name), {str(k): (v.isoformat() if hasattr(v, "isoformat") else v)
                                     for k, v in attrs.items()}))
        return rows
    records = csv_records(text, path)
    header = csv_header(records, path)
    if "case" not in header:
        raise missing_column(path, "case", header, needs="case, then one column per attribute")
    for line_no, cells in enumerate(records, start=2):
        if not any(c.strip() for c in cells):
            continue
        row = dict(zip(header, cells))
        name = (row.get("case") or "").strip()
        if not name:
            raise InputError("empty 'case' cell", path=str(path), line=line_no)
        rows.append((name, {k: parse_value(v) for k, v in row.items()
                            if k and k != "case" and v.strip() != ""}))
    return rows


# -- codings CSV (coder code apply) --------------------------------------------------------

_SEGMENT_NUMBER = re.compile(r"[0-9]+")


def segment_number(raw: str) -> int | None:
    """A segment number as typed or in a CSV cell: ASCII digits only (int() would also read
    "1_0" as 10, "+4" as 4 and the Arabic-Indic "٣" as 3), surrounding spaces ignored."""
    raw = raw.strip()
    return int(raw) if _SEGMENT_NUMBER.fullmatch(raw) else None


@dataclass(slots=True)  # not frozen: as CodingResult
class CodingRequest:
    row: int
    transcript: str
    code: str
    segment: str = ""
    quote: str = ""
    coder: str = ""
    memo: str = ""
    start: str = ""  # an exact span (code points), as `code list --csv` and `report quotes --csv` give it
    end: str = ""
    text: str = ""  # the span's text, checked against the transcript when given
    uuid: str = ""  # the coding's id in another tool's file (REFI-QDA), kept so a re-import finds it

def read_coding_requests(path: Path) -> list[CodingRequest]:
    return list(coding_requests(path))


def coding_requests(path: Path) -> Iterator[CodingRequest]:
    """The rows of a codings CSV as requests, made as they are read. The whole file is
    decoded and its header and CSV syntax checked first (an error names the file and line
    before anything is written); only the requests are made lazily."""
    text = read_text_file(path, reads=CSV_FILE).text
    reader = csv_records(text, path)
    header = csv_header(reader, path, lower=True)
    missing = [c for c in ("transcript", "code") if c not in header]
    if not missing and "segment" not in header and "quote" not in header and not {"start", "end"} <= set(header):
        missing = ["segment' or 'quote"]
    if missing:
        raise missing_column(path, missing[0], header,
                             needs="transcript, code, and segment, quote or start and end (optional: coder, memo, "
                                   "text)")
    for _ in reader:  # every line read once (csv's C speed, nothing kept): a stray quote is refused up front
        pass
    names = ("transcript", "code", "segment", "quote", "coder", "memo", "start", "end", "text")
    columns = [header.index(name) if name in header else -1 for name in names]
    return _coding_requests(csv_records(text, path), columns)


def _coding_requests(reader: Iterator[list[str]], columns: list[int]) -> Iterator[CodingRequest]:
    next(reader)  # the header
    width = max(columns) + 1
    pick = operator.itemgetter(*columns)
    for row_no, cells in enumerate(reader, start=1):
        if not "".join(cells).strip():
            continue
        if len(cells) < width:
            cells += [""] * (width - len(cells))
        cells.append("")  # what a missing column (index -1) reads
        transcript, code, segment, quote, coder, memo, start, end, coded_text = map(_unescaped, pick(cells))
        yield CodingRequest(row_no, transcript.strip(), code.strip(), segment, quote, coder, memo, start, end,
                            coded_text)


def _unescaped(cell: str) -> str:
    """A cell as it was before an export guarded it against spreadsheet formulas ('=1 -> =1)."""
    return cell[1:] if cell[:1] == "'" and cell[1:2] in ("=", "+", "-", "@", "\t", "\r") else cell

