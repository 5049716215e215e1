"""Keyword-in-context search across the transcripts.

Three ways to match, all ignoring case: the text as typed (any run of whitespace in the
pattern matches any run in the transcript), a regular expression, or fuzzy, which tolerates
the misspellings of OCR'd and hurriedly typed transcripts: ø/o, å/a, æ/ae, accents, a doubled
or dropped letter. Hits are searched within each segment (speaker turn), so a hit never spans
two turns and its context stays within its turn.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from coder.anchor import fold_char  # one folding for quotes and search: æ -> ae, ø -> o, ...
from coder.errors import InputError
from coder.store import Store
from coder.text import context_around

DEFAULT_CONTEXT_WORDS = 8
# Letters that OCR and ASCII-only typing replace; other letters just lose their accents.
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
    if regex and fuzzy:
        raise InputError("choose --regex or --fuzzy, not both")
    if not pattern.strip():
        raise InputError("the search pattern is empty", hint="give a word or phrase to look for")
    if fuzzy:
        return _FuzzyMatcher(pattern).spans
    if regex:
        try:
            compiled = re.compile(pattern, re.IGNORECASE | re.MULTILINE)
        except re.error as exc:
            raise InputError(f"invalid regular expression {pattern!r}: {exc}",
                             hint="drop --regex to search for the text as typed") from None
    else:
        compiled = re.compile(r"\s+".join(re.escape(word) for word in pattern.split()), re.IGNORECASE)
    return lambda text: [m.span() for m in compiled.finditer(text) if m.end() > m.start()]


# -- fuzzy ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Folded:
    """text folded for fuzzy comparison: lower case, æ -> ae, ø -> o, å -> a, no accents, every
    run of non-letters one space, every run of one letter one letter (so a doubled letter is no
    difference). starts[i]:ends[i] is the span of the original text behind folded char i."""
    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]


def fold(text: str) -> Folded:
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    previous = ""
    for i, ch in enumerate(text):
        for c in fold_char(ch):
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


class _FuzzyMatcher:
    def __init__(self, pattern: str):
        self.pattern = fold(pattern).text.strip()
        if not self.pattern:
            raise InputError(f"the search pattern {pattern!r} has no letters or digits")
        self.edits = allowed_edits(self.pattern)

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Hits start where a word starts (or anywhere, when exact after folding); the pattern
        may match the beginning of a longer word, so "partnerskap" finds "partnerskapet"."""
        from rapidfuzz.distance import Levenshtein

        folded = fold(text)
        haystack, p, k = folded.text, self.pattern, self.edits
        candidates: list[tuple[int, int, int]] = []  # folded start, distance, folded end
        at = haystack.find(p)
        while at >= 0:
            candidates.append((at, 0, at + len(p)))
            at = haystack.find(p, at + 1)
        if k:
            for word in _FOLDED_WORD.finditer(haystack):
                i, best = word.start(), None
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
        # the closest hits first; a hit overlapping a closer one is dropped
        spans: list[tuple[int, int]] = []
        for start, _, end in sorted(candidates, key=lambda c: (c[1], c[0])):
            original = (folded.starts[start], folded.ends[end - 1])
            if all(original[1] <= s or original[0] >= e for s, e in spans):
                spans.append(original)
        return sorted(spans)


# -- across the project --------------------------------------------------------------------

def search(store: Store, pattern: str, *, case: str | None = None, code: str | None = None,
           regex: bool = False, fuzzy: bool = False, context: int = DEFAULT_CONTEXT_WORDS) -> list[Hit]:
    """Every hit in every transcript (or those of one case office, or only in segments coded
    with `code`, a resolved code path or dimension id, sub-codes included), in transcript and
    text order, each with `context` words either side from its own turn."""
    from coder.reports import known_case

    spans = matcher(pattern, regex=regex, fuzzy=fuzzy)
    where, params = [], []
    if case is not None:
        where.append("t.case_name = ?")
        params.append(known_case(store, case))
    if code is not None:
        where.append("EXISTS (SELECT 1 FROM codings c WHERE c.transcript_id = s.transcript_id "
                     "AND c.segment = s.number AND c.status = 'ok' AND (c.code IN (SELECT descendant FROM "
                     "code_closure WHERE ancestor = ?) OR c.code IN (SELECT path FROM codes WHERE dimension = ?)))")
        params += [code, code]
    rows = store.query(
        "SELECT t.name, t.case_name, s.number, s.start, s.text FROM segments s "
        f"JOIN transcripts t ON t.id = s.transcript_id {'WHERE ' + ' AND '.join(where) if where else ''} "
        "ORDER BY t.name, s.number", params)
    hits = []
    for row in rows:
        text = row["text"]
        for start, end in spans(text):
            before, after = context_around(text, start, end, context) if context else ("", "")
            hits.append(Hit(row["name"], row["case_name"], row["number"], row["start"] + start,
                            row["start"] + end, text[start:end], before, after))
    return hits
