"""Decoding files into the normalised text every offset counts in.

Normalised text = the file decoded (UTF-8, UTF-8 with BOM, UTF-16 with BOM, else cp1252),
BOM removed, CRLF and lone CR turned into LF, then Unicode NFC. Offsets everywhere in coder
are code points into this text, end exclusive.
"""
from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from coder.errors import InputError

# Control characters that never occur in a text transcript; finding one means binary data.
# Tab, LF, VT, FF, CR are whitespace; 0x1A is the DOS end-of-file marker some old editors leave.
_BINARY_CONTROLS = re.compile("[\x00-\x08\x0e-\x19\x1b-\x1f\x7f]")
_CONTROL_BYTES = bytes([*range(0x00, 0x09), *range(0x0E, 0x1A), *range(0x1B, 0x20), 0x7F])  # the same set
_NEWLINES = re.compile("\r\n?")
DEFAULT_MAX_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class DecodedText:
    text: str  # normalised
    encoding: str  # what the bytes were read as


def decode_bytes(data: bytes, *, path: str) -> DecodedText:
    """Decode by BOM, else strict UTF-8, else cp1252; refuse binary data."""
    if data.startswith(codecs.BOM_UTF8):
        raw, encoding = _strict(data[3:], "utf-8", path, tried="UTF-8 (it starts with a UTF-8 BOM)"), "utf-8-sig"
    elif data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        raw, encoding = _strict(data, "utf-16", path, tried="UTF-16 (it starts with a UTF-16 BOM)"), "utf-16"
    else:
        if b"\x00" in data:
            raise InputError("binary file (contains NUL bytes), not a text transcript", path=path,
                             hint="save it as plain text (UTF-8)")
        try:
            raw, encoding = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            raw, encoding = _strict(data, "cp1252", path, tried="UTF-8 or cp1252"), "cp1252"
        # In UTF-8 and cp1252 a control character is the one byte that encodes it: looking
        # for those bytes (C speed) spares the regex over the whole text when there are none.
        if len(data.translate(None, _CONTROL_BYTES)) == len(data):
            return DecodedText(normalise(raw), encoding)
    bad = _BINARY_CONTROLS.search(raw)
    if bad:
        line = raw.count("\n", 0, bad.start()) + 1
        raise InputError(f"binary or undecodable data (control character U+{ord(bad.group()):04X})",
                         path=path, line=line, hint="save it as plain text (UTF-8)")
    return DecodedText(normalise(raw), encoding)


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
    if "\r" in raw:
        raw = _NEWLINES.sub("\n", raw)
    return unicodedata.normalize("NFC", raw)


def read_text_file(path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> DecodedText:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise InputError(f"file is {size:,} bytes, over the limit of {max_bytes:,}", path=str(path),
                             hint="split it, or raise the limit with CODER_MAX_BYTES")
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError("no such file", path=str(path)) from None
    except IsADirectoryError:
        raise InputError("is a folder, not a file", path=str(path)) from None
    except PermissionError:
        raise InputError("permission denied", path=str(path)) from None
    return decode_bytes(data, path=str(path))


def sha256_text(text: str) -> str:
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
    naming the file and line."""
    reader = csv.reader(io.StringIO(text))
    while True:
        try:
            yield next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InputError(f"not valid CSV: {exc}", path=str(path), line=reader.line_num,
                             hint="check the quoting on that line") from None
