"""Decoding files into the normalised text every offset counts in.

Normalised text = the file decoded (UTF-8, UTF-8 with BOM, UTF-16 with BOM, else cp1252 if
no part of the file is UTF-8), BOM removed, CRLF and lone CR turned into LF, then Unicode NFC. Offsets everywhere in coder
are code points into this text, end exclusive.
"""
from __future__ import annotations

import codecs
import csv
import os
import re
import stat
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from coder.errors import InputError

# Control characters that never occur in a text transcript; finding one means binary data.
# Tab, LF, VT, FF, CR are whitespace; 0x1A is the DOS end-of-file marker some old editors leave.
_BINARY_CONTROLS = re.compile("[\x00-\x08\x0e-\x19\x1b-\x1f\x7f]")
_CONTROL_BYTES = re.compile(b"[\x00-\x08\x0e-\x19\x1b-\x1f\x7f]")  # the same set
# What coder counts as a word, everywhere words are counted (a coding's words, `--unit
# words`, the segments data set, word numbers in `session`, keywords): a run of letters,
# digits or underscores. A span that cuts a word counts the part it holds as that word.
WORD = re.compile(r"\w+")
_SURROGATES = re.compile("[\ud800-\udfff]")
DEFAULT_MAX_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class DecodedText:
    text: str  # normalised
    encoding: str  # what the bytes were read as


@dataclass(frozen=True)
class Readable:
    """What a command reads, for the message that refuses a file it cannot read."""
    formats: str  # "plain text transcripts (.txt, .md)"
    save_as: str  # how to make such a file from what was given


TRANSCRIPT = Readable("transcripts as plain text (.txt or .md; UTF-8, UTF-16 or cp1252)",
                      "save it as plain text (.txt) in UTF-8")
CSV_FILE = Readable("CSV files (comma-, semicolon- or tab-separated; UTF-8 or cp1252)",
                    "in the spreadsheet, save it with Save As > CSV UTF-8 (.csv)")
CODEBOOK_FILE = Readable("codebooks as YAML (.yaml), CSV (.csv) or REFI-QDA (.qdc)",
                         "in a spreadsheet, save it with Save As > CSV UTF-8 (.csv)")
CASES_FILE = Readable("case attributes as CSV (.csv) or YAML (.yaml)",
                      "in the spreadsheet, save it with Save As > CSV UTF-8 (.csv)")

# Files people give instead of text, told by their first bytes (and named by their suffix).
_MAGIC = ((b"PK\x03\x04", "a zip archive (.xlsx, .docx, .ods and .odt files are zip archives)"),
          (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Microsoft Office file (.xls or .doc)"),
          (b"%PDF-", "a PDF document"), (b"{\\rtf", "an RTF document"))
_SUFFIX_NAMES = {".xlsx": "an Excel workbook (.xlsx)", ".xlsm": "an Excel workbook (.xlsm)",
                 ".xls": "an Excel workbook (.xls)", ".ods": "a LibreOffice spreadsheet (.ods)",
                 ".numbers": "a Numbers spreadsheet", ".docx": "a Word document (.docx)",
                 ".doc": "a Word document (.doc)", ".odt": "an OpenDocument text (.odt)",
                 ".pdf": "a PDF document", ".rtf": "an RTF document", ".zip": "a zip archive"}

# A well-formed UTF-8 sequence of two to four bytes. A file with one is UTF-8 (a cp1252 text
# practically never holds one), so a bad byte elsewhere in it is a mistake to show, not a
# sign that the whole file is cp1252.
_UTF8_MULTIBYTE = re.compile(
    b"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}"
    b"|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}"
    b"|\xf4[\x80-\x8f][\x80-\xbf]{2}")


def decode_bytes(data: bytes, *, path: str, reads: Readable = TRANSCRIPT) -> DecodedText:
    """Decode by BOM, else strict UTF-8, else cp1252 when the file is cp1252 throughout;
    refuse binary data, and a UTF-8 file with a stray byte (naming its line and column)."""
    if data.startswith(codecs.BOM_UTF8):
        raw, encoding = _utf8(data[3:], path, bom=True), "utf-8-sig"
    elif data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        raw, encoding = _strict(data, "utf-16", path, tried="UTF-16 (it starts with a UTF-16 BOM)"), "utf-16"
    else:
        _refuse_known_binary(data, path, reads)
        if b"\x00" in data:
            raise InputError(f"binary file (contains NUL bytes), not text: coder reads {reads.formats}", path=path,
                             hint=reads.save_as)
        try:
            raw, encoding = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            raw, encoding = _utf8(data, path, bom=False), "utf-8"
            if raw is None:
                raw, encoding = _strict(data, "cp1252", path, tried="UTF-8 or cp1252"), "cp1252"
        # In UTF-8 and cp1252 a control character is the one byte that encodes it: looking
        # for those bytes (C speed, and no copy of the file) spares the regex over the whole
        # text when there are none.
        if _CONTROL_BYTES.search(data) is None:
            return DecodedText(normalise(raw), encoding)
    bad = _BINARY_CONTROLS.search(raw)
    if bad:
        line = raw.count("\n", 0, bad.start()) + 1
        raise InputError(f"binary or undecodable data (control character U+{ord(bad.group()):04X}): coder reads "
                         f"{reads.formats}", path=path, line=line, hint=reads.save_as)
    return DecodedText(normalise(raw), encoding)


# What coder does read of the files people give where it wants text: a Word document or a
# workbook given to `code apply` or as a codebook is a transcript to `coder import`.
_READ_BY_IMPORT = {".docx": "Word documents", ".odt": "OpenDocument texts", ".xlsx": "workbooks"}


def _refuse_known_binary(data: bytes, path: str, reads: Readable) -> None:
    for magic, what in _MAGIC:
        if data.startswith(magic):
            suffix = Path(path).suffix.lower()
            what = _SUFFIX_NAMES.get(suffix, what)
            elsewhere = _READ_BY_IMPORT.get(suffix) if reads is not TRANSCRIPT else None
            hint = reads.save_as
            if elsewhere == "workbooks":
                hint += " (workbooks are read as transcripts, by `coder import`)"
            elif elsewhere:  # a text document: "save it from the spreadsheet" would not fit
                hint = f"{elsewhere} are read as transcripts, by `coder import`, not here"
            raise InputError(f"{what}, not text: coder reads {reads.formats} here", path=path, hint=hint)


def _utf8(data: bytes, path: str, *, bom: bool) -> str | None:
    """data as UTF-8; None if it is no UTF-8 at all (no well-formed multi-byte sequence,
    and no BOM): then it may be cp1252. A UTF-8 file with a bad byte is refused."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if not bom and not _UTF8_MULTIBYTE.search(data):
            return None
        line = data.count(b"\n", 0, exc.start) + 1
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        column = len(data[line_start:exc.start].decode("utf-8", errors="replace")) + 1
        why = "it starts with a UTF-8 BOM" if bom else "the rest of the file is UTF-8"
        raise InputError(f"not valid UTF-8: byte 0x{data[exc.start]:02X} at line {line}, column {column} ({why}, "
                         "so it is not read as cp1252)", path=path, line=line,
                         hint="retype the character there (it was written in another encoding), "
                              "or save the file again as UTF-8") from None


def _strict(data: bytes, encoding: str, path: str, *, tried: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(f"cannot decode as {tried} (byte 0x{data[exc.start]:02X} at byte {exc.start})",
                         path=path, line=line, hint="save it as UTF-8") from None


def normalise(raw: str) -> str:
    """CRLF/CR -> LF, then NFC. Idempotent."""
    if raw.startswith("\ufeff"):
        raw = raw[1:]
    if "\r" in raw:  # str.replace makes one copy; a regex sub held a piece per line besides
        raw = raw.replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", raw)


def read_text_file(path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES, reads: Readable = TRANSCRIPT) -> DecodedText:
    return decode_bytes(read_regular_file(path, max_bytes=max_bytes), path=str(path), reads=reads)


READ_ATTEMPTS = 3  # a file that changes while it is read is read again, this many times in all
_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a device"),
          (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket"))


def file_kind(mode: int) -> str | None:
    """What a file that is not a regular file is ("a FIFO (named pipe)"), else None."""
    for test, name in _KINDS:
        if test(mode):
            return name
    return None if stat.S_ISREG(mode) else "not a regular file"


def read_regular_file(path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """The bytes of a regular file (or of a link to one), as they were at one moment.

    Anything else (a FIFO would hang the read, /dev/zero never ends) is refused from its
    stat(), before it is opened for reading; the size limit holds for the bytes actually read,
    whatever stat() said; a file whose size or modification time changed while it was read
    (an editor saving it) is read again, and refused if it keeps changing."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    for _ in range(READ_ATTEMPTS):
        try:
            kind = file_kind(os.stat(path).st_mode)
            if kind:
                raise InputError(f"is {kind}, not a regular file; only regular files are read", path=str(path))
            # O_NONBLOCK: should a FIFO have been put there since, opening it does not wait
            fd = os.open(path, flags)
            try:
                before = os.fstat(fd)
                if not stat.S_ISREG(before.st_mode):
                    raise InputError(f"is {file_kind(before.st_mode)}, not a regular file; only regular files are "
                                     "read", path=str(path))
                data = _read_at_most(fd, max_bytes, before.st_size, path)
                after = os.fstat(fd)
            finally:
                os.close(fd)
        except FileNotFoundError:
            raise InputError("no such file", path=str(path)) from None
        except PermissionError:
            raise InputError("permission denied", path=str(path)) from None
        except OSError as exc:
            raise InputError(f"cannot read the file ({exc.strerror or exc})", path=str(path)) from None
        if before.st_size == after.st_size == len(data) and before.st_mtime_ns == after.st_mtime_ns:
            return data
    raise InputError(f"the file kept changing while it was read ({READ_ATTEMPTS} tries); nothing from it was stored",
                     path=str(path), hint="import it again once it has been saved")


def _read_at_most(fd: int, max_bytes: int, expected: int, path: Path) -> bytes:
    chunks, total = [], 0
    want = min(max_bytes, expected) + 1  # one read for the whole file, as stat() gave its size
    while True:
        chunk = os.read(fd, max(want, 1))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
        if total > max_bytes:
            raise InputError(f"file is over the limit of {max_bytes:,} bytes", path=str(path),
                             hint="split it, or raise the limit with CODER_MAX_BYTES")
        want = min(1 << 20, max_bytes + 1 - total)


def count_words(text: str) -> int:
    return len(WORD.findall(text))


def is_text(value: str) -> bool:
    """False for a str that is no Unicode text: one holding lone surrogates, as Python makes
    of a file name or argument whose bytes are not UTF-8 (or of a YAML "\\udc80" escape).
    Nothing can store, encode or print such a str; it is refused where it comes in."""
    return _SURROGATES.search(value) is None


def clock(ms: int | None) -> str | None:
    """Milliseconds from the start of a recording as a transcript shows them: 00:12:31."""
    if ms is None:
        return None
    seconds = ms // 1000
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def sha256_text(text: str) -> str:
    import hashlib  # here: loading OpenSSL is a cost every command would pay at start-up

    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def line_of(text: str, offset: int) -> int:
    """1-based line number of a code-point offset."""
    return text.count("\n", 0, offset) + 1


_HAS_WORD = re.compile(r"\w")


def context_around(text: str, start: int, end: int, words: int) -> tuple[str, str]:
    """Up to `words` words of text before start and after end, whitespace collapsed. Punctuation
    standing alone is no word, and the rest of a word the hit cuts is shown but not counted."""
    def take(chunks: list[str], glued: bool) -> list[str]:
        taken, counted = [], 0
        for index, chunk in enumerate(chunks):
            is_word = _HAS_WORD.search(chunk) is not None and not (glued and index == 0)
            if is_word and counted == words:
                break
            taken.append(chunk)
            counted += is_word
        return taken

    left, right = text[:start], text[end:]
    before = take(left.split()[::-1], bool(left) and not left[-1].isspace())[::-1]
    after = take(right.split(), bool(right) and not right[0].isspace())
    before_text = " ".join(before) + (" " if before and left[-1:].isspace() else "")
    after_text = (" " if after and right[:1].isspace() else "") + " ".join(after)
    return before_text, after_text


def csv_records(text: str, path):
    """csv.reader whose errors (a stray quote, a field over the size limit) become InputError
    naming the file and line. The delimiter is the header line's: comma, semicolon (as Excel
    writes CSV where the decimal mark is a comma, in Norway for one) or tab."""
    reader = csv.reader(_lines(text), delimiter=sniff_delimiter(text))
    while True:
        try:
            yield next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InputError(f"not valid CSV: {exc}", path=str(path), line=reader.line_num,
                             hint="check the quoting on that line") from None


def _lines(text: str) -> Iterator[str]:
    """The lines of a text with their "\n", as iterating io.StringIO(text) gives them, without
    its copy of the text (four bytes a character: 110 MB for a 28 MB CSV)."""
    start, size = 0, len(text)
    while start < size:
        end = text.find("\n", start)
        end = size if end < 0 else end + 1
        yield text[start:end]
        start = end


CSV_DELIMITERS = (",", ";", "\t")


def sniff_delimiter(text: str) -> str:
    """The delimiter a CSV's first line uses most outside quotes (a comma on a tie or none)."""
    counts = dict.fromkeys(CSV_DELIMITERS, 0)
    quoted = False
    for char in text[:text.find("\n") if "\n" in text[:65536] else 65536]:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(CSV_DELIMITERS, key=lambda d: counts[d])  # max keeps the first of equals
    return best if counts[best] else ","


def csv_header(records, path, *, lower: bool = False) -> list[str]:
    """The header row of csv_records: names stripped (and lower-cased), a name given twice
    refused (which column would count?). Empty names (trailing delimiters) are allowed."""
    try:
        header = next(records)
    except StopIteration:
        raise InputError("empty file; expected a header row", path=str(path), line=1) from None
    header = [h.strip().lower() if lower else h.strip() for h in header]
    seen: dict[str, int] = {}
    for number, name in enumerate(header, start=1):
        if name and name in seen:
            raise InputError(f"column '{name}' appears twice in the header (columns {seen[name]} and {number})",
                             path=str(path), line=1, hint="rename or delete one of them")
        seen.setdefault(name, number)
    return header


def missing_column(path, column: str, header: list[str], *, needs: str) -> InputError:
    """The error for a header without a column it needs, saying what the header has."""
    found = ", ".join(f"'{h}'" for h in header if h) or "no column names"
    return InputError(f"missing column '{column}' (the header has {found})", path=str(path), line=1,
                      hint=f"the header needs {needs}")
