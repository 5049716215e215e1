"""Keyword-in-context search across the transcripts.

Three ways to match, all ignoring case: the text as typed (any run of whitespace in the
pattern matches any run in the transcript), a regular expression, or fuzzy, which tolerates
the misspellings of OCR'd and hurriedly typed transcripts: ø/o, å/a, æ/ae, accents, a doubled
or dropped letter. Hits are searched within each segment (speaker turn), so a hit never spans
two turns and its context stays within its turn.

Cost: the segments are read from SQLite a batch at a time and the hits are yielded as they are
found, so memory stays the same whatever the corpus. A fuzzy pattern allowed k misspelt letters
is cut into k + 1 pieces; a text within k edits of it holds one piece exactly (each edit breaks
at most one). So a batch of segments is folded at C speed (one bytes.translate), the pieces are
looked for in it with one regular expression, and only the few segments holding a piece are
compared letter by letter, and only at the words near a piece.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

from coder.anchor import fold_char  # one folding for quotes and search: æ -> ae, ø -> o, ...
from coder.errors import InputError
from coder.store import Store
from coder.store import transcripts as transcripts_store
from coder.text import context_around

DEFAULT_CONTEXT_WORDS = 8
# Segments read and searched at once: a few hundred KB of text, whatever the corpus.
BATCH_SEGMENTS = 1000
_FOLDED_WORD = re.compile(r"[^ ]+")


@dataclass(frozen=True)
class Hit:
    transcript: str
    case: str | None
    segment: int
    start: int  # code points into the transcript's text, end exclusive
    end: int
    match: str
    before: str
    after: str

    def as_json(self) -> dict:
        return {"transcript": self.transcript, "case": self.case, "segment": self.segment, "start": self.start,
                "end": self.end, "match": self.match, "before": self.before, "after": self.after}


Spans = Callable[[str], list[tuple[int, int]]]


def matcher(pattern: str, *, regex: bool = False, fuzzy: bool = False) -> Spans:
    """A function giving the (start, end) of every hit of `pattern` in a text, in order,
    not overlapping."""
    return _finder(pattern, regex=regex, fuzzy=fuzzy).spans


def _finder(pattern: str, *, regex: bool, fuzzy: bool) -> "_Matcher | _FuzzyMatcher":
    if regex and fuzzy:
        raise InputError("choose --regex or --fuzzy, not both")
    if not pattern.strip():
        raise InputError("the search pattern is empty", hint="give a word or phrase to look for")
    if fuzzy:
        return _FuzzyMatcher(pattern)
    if regex:
        try:
            compiled = re.compile(pattern, re.IGNORECASE | re.MULTILINE)
        except re.error as exc:
            raise InputError(f"invalid regular expression {pattern!r}: {exc}",
                             hint="drop --regex to search for the text as typed") from None
    else:
        compiled = re.compile(r"\s+".join(re.escape(word) for word in pattern.split()), re.IGNORECASE)
    return _Matcher(compiled)


class _Matcher:
    """The text as typed, or a regular expression: each segment on its own."""

    def __init__(self, compiled: re.Pattern):
        self.compiled = compiled

    def spans(self, text: str) -> list[tuple[int, int]]:
        return [m.span() for m in self.compiled.finditer(text) if m.end() > m.start()]

    def spans_in(self, texts: Sequence[str]) -> Iterator[tuple[int, list[tuple[int, int]]]]:
        """(index, spans) of each text of the batch with a hit."""
        for index, text in enumerate(texts):
            found = self.spans(text)
            if found:
                yield index, found


# -- fuzzy ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Folded:
    """text folded for fuzzy comparison: lower case, æ -> ae, ø -> o, å -> a, no accents, every
    run of non-letters one space, every run of one letter one letter (so a doubled letter is no
    difference). starts[i]:ends[i] is the span of the original text behind folded char i."""
    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]


_CHAR_FOLDS: dict[str, str] = {}


def fold(text: str) -> Folded:
    """The precise fold, with offsets; Python speed (only for the segments with a hit)."""
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    previous = ""
    folds = _CHAR_FOLDS
    for i, ch in enumerate(text):
        for c in folds.get(ch) or folds.setdefault(ch, fold_char(ch)):
            if c == previous and not c.isdigit():
                ends[-1] = i + 1
                continue
            chars.append(c)
            starts.append(i)
            ends.append(i + 1)
            previous = c
    return Folded("".join(chars), tuple(starts), tuple(ends))


def allowed_edits(folded_pattern: str) -> int:
    """Letters that may be missing, extra or wrong: none for short words (too many false hits)."""
    letters = len(folded_pattern.replace(" ", ""))
    return 0 if letters < 5 else 1 if letters < 10 else 2


# The fold at C speed, for Latin-1 text (Norwegian, and most transcripts): every character
# folded by one bytes.translate, without collapsing runs (the pieces' expression allows them).
# A batch is joined with NUL between segments, kept as NUL by the table to tell them apart.
# (Both NUL and \x01 in a text fold to a space, as every control character.)
# Characters beyond Latin-1 are folded one by one first; the few whose fold is beyond Latin-1
# too become \x01, which no Latin-1 pattern holds (a segment with one is folded the slow way).
_SEPARATOR = "\x00"
_BEYOND = "\x01"
_MULTIPLE = {chr(b): fold_char(chr(b)) for b in range(256) if len(fold_char(chr(b))) > 1}  # æ -> ae, ß -> ss
_TABLE = bytes([0, 1] + [ord(f) if len(f) == 1 and ord(f) < 256 else 1
                         for f in (fold_char(chr(b)) for b in range(2, 256))])
_LATIN_DIGITS = "".join(chr(b) for b in range(256) if chr(b).isdigit())
_RUN = re.compile(f"([^{_LATIN_DIGITS}])\\1+".encode("latin-1"))
_BEYOND_LATIN = re.compile("[^\x00-\xff]")
_BEYOND_FOLDS: dict[str, str] = {}


def _fold_beyond_latin(match: re.Match) -> str:
    ch = match.group()
    folded = _BEYOND_FOLDS.get(ch)
    if folded is None:
        folded = _BEYOND_FOLDS[ch] = "".join(c if ord(c) < 256 and _TABLE[ord(c)] == ord(c) else _BEYOND
                                             for c in fold_char(ch))
    return folded


def _latin_fold(joined: str) -> bytes:
    """Every character of `joined` folded (NUL kept), runs not collapsed, as Latin-1 bytes."""
    if _BEYOND in joined:  # a control character: a space, as any other
        joined = joined.replace(_BEYOND, " ")
    for ch, folded in _MULTIPLE.items():
        if ch in joined:
            joined = joined.replace(ch, folded)
    if _BEYOND_LATIN.search(joined):
        joined = _BEYOND_LATIN.sub(_fold_beyond_latin, joined)
    return joined.encode("latin-1").translate(_TABLE)


def _pieces(pattern: str, edits: int) -> list[str]:
    """The pattern cut into edits + 1 pieces of about equal length."""
    n = edits + 1
    cuts = [round(i * len(pattern) / n) for i in range(n + 1)]
    return [pattern[cuts[i]:cuts[i + 1]] for i in range(n)]


def _runs(piece: bytes) -> bytes:
    """An expression finding `piece` in folded text whose runs are not yet collapsed: each
    letter may be repeated (digits are never collapsed)."""
    out = []
    for b in piece:
        letter = re.escape(bytes([b]))
        out.append(letter if chr(b).isdigit() else letter + letter + b"*")
    return b"".join(out)


class _FuzzyMatcher:
    def __init__(self, pattern: str):
        self.pattern = fold(pattern).text.strip()
        if not self.pattern:
            raise InputError(f"the search pattern {pattern!r} has no letters or digits")
        self.edits = allowed_edits(self.pattern)
        self.pieces = _pieces(self.pattern, self.edits)
        try:
            self.prefilter = re.compile(b"|".join(_runs(q.encode("latin-1")) for q in self.pieces))
        except UnicodeEncodeError:
            self.prefilter = None  # a pattern beyond Latin-1: each segment folded the slow way
        if any(_TABLE[ord(c)] != ord(c) for c in self.pattern if ord(c) < 256):
            self.prefilter = None  # (a letter such as æ left by folding another: the same)

    def spans(self, text: str) -> list[tuple[int, int]]:
        folded = fold(text)
        return self._spans(folded.text, lambda: folded)

    def spans_in(self, texts: Sequence[str]) -> Iterator[tuple[int, list[tuple[int, int]]]]:
        """(index, spans) of each text of the batch with a hit."""
        if self.prefilter is None:
            for index, text in enumerate(texts):
                found = self.spans(text)
                if found:
                    yield index, found
            return
        for index, folded in self._holding_a_piece(texts):
            text = texts[index]
            if _BEYOND.encode() in folded:
                found = self.spans(text)
            else:
                found = self._spans(_RUN.sub(rb"\1", folded).decode("latin-1"), lambda: fold(text))
            if found:
                yield index, found

    def _holding_a_piece(self, texts: Sequence[str]) -> Iterator[tuple[int, bytes]]:
        """(index, folded text, runs not collapsed) of each text that holds a piece."""
        joined = _SEPARATOR.join(texts)
        if joined.count(_SEPARATOR) != len(texts) - 1:  # a NUL in a text folds to a space anyway
            joined = _SEPARATOR.join(text.replace(_SEPARATOR, " ") for text in texts)
        data = _latin_fold(joined)
        separator = _SEPARATOR.encode()
        search = self.prefilter.search
        index = start = pos = 0  # the segment `index` starts at data[start]
        while (found := search(data, pos)) is not None:
            skipped = data.count(separator, start, found.start())
            if skipped:
                index += skipped
                start = data.rfind(separator, start, found.start()) + 1
            end = data.find(separator, found.end())
            end = len(data) if end < 0 else end
            yield index, data[start:end]
            index, start = index + 1, end + 1
            pos = start
            if pos > len(data):
                break

    def _spans(self, haystack: str, folded: Callable[[], Folded]) -> list[tuple[int, int]]:
        """Hits start where a word starts (or anywhere, when exact after folding); the pattern
        may match the beginning of a longer word, so "partnerskap" finds "partnerskapet".
        `folded` gives the offsets behind `haystack`, asked for only when there is a hit."""
        from rapidfuzz.distance import Levenshtein

        p, k = self.pattern, self.edits
        candidates: list[tuple[int, int, int]] = []  # folded start, distance, folded end
        at = haystack.find(p)
        while at >= 0:
            candidates.append((at, 0, at + len(p)))
            at = haystack.find(p, at + 1)
        if k:
            for i in self._word_starts_near_pieces(haystack):
                best = None
                for length in range(max(1, len(p) - k), len(p) + k + 1):
                    if i + length > len(haystack):
                        break
                    if haystack[i + length - 1] == " ":
                        continue
                    distance = Levenshtein.distance(p, haystack[i:i + length], score_cutoff=k)
                    if distance <= k and (best is None or (distance, abs(length - len(p))) < best[:2]):
                        best = (distance, abs(length - len(p)), length)
                if best is not None and best[0] > 0:
                    # a misspelt hit is shown as whole words: to the end of the word it ends in
                    end = haystack.find(" ", i + best[2])
                    candidates.append((i, best[0], len(haystack) if end < 0 else end))
        if not candidates:
            return []
        offsets = folded()
        # the closest hits first; a hit overlapping a closer one is dropped
        spans: list[tuple[int, int]] = []
        for start, _, end in sorted(candidates, key=lambda c: (c[1], c[0])):
            original = (offsets.starts[start], offsets.ends[end - 1])
            if all(original[1] <= s or original[0] >= e for s, e in spans):
                spans.append(original)
        return sorted(spans)

    def _word_starts_near_pieces(self, haystack: str) -> list[int]:
        """The word starts from which a text within the allowed edits could begin: such a text
        is at most len(pattern) + edits long and holds a piece."""
        p, k = self.pattern, self.edits
        starts = set()
        for piece in self.pieces:
            reach = len(p) + k - len(piece)
            at = haystack.find(piece)
            while at >= 0:
                for i in range(max(0, at - reach), at + 1):
                    if haystack[i] != " " and (i == 0 or haystack[i - 1] == " "):
                        starts.add(i)
                at = haystack.find(piece, at + 1)
        return sorted(starts)


# -- across the project --------------------------------------------------------------------

def search(store: Store, pattern: str, *, case: str | None = None, code: str | None = None,
           regex: bool = False, fuzzy: bool = False, context: int = DEFAULT_CONTEXT_WORDS) -> Iterator[Hit]:
    """Every hit in every transcript (or those of one case office, or only in segments coded
    with `code`, a resolved code path or dimension id, sub-codes included), in transcript and
    text order, each with `context` words either side from its own turn. The pattern and the
    case are checked at once; the hits come as they are found, reading the segments a batch
    at a time."""
    from coder.reports import known_case

    finder = _finder(pattern, regex=regex, fuzzy=fuzzy)
    case = known_case(store, case) if case is not None else None
    return _hits(store, case, code, finder, context)


def _hits(store: Store, case: str | None, code: str | None, finder, context: int) -> Iterator[Hit]:
    cursor = transcripts_store.segments_for_search(store, case=case, code=code)
    while rows := cursor.fetchmany(BATCH_SEGMENTS):
        for index, spans in finder.spans_in([row[4] for row in rows]):
            name, case_name, number, offset, text = rows[index]
            for start, end in spans:
                before, after = context_around(text, start, end, context) if context else ("", "")
                yield Hit(name, case_name, number, offset + start, offset + end, text[start:end], before, after)
