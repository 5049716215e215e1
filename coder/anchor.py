"""Finding a researcher's quote in a transcript, and the exact span of text it stands for.

A quote is rarely a perfect copy of the transcript: it is retyped, re-cased, re-wrapped,
stripped of commas, or copied from an OCR'd print-out where ø became o. `Anchorer.find`
returns the span of the transcript the quote corresponds to, as code point offsets into the
normalised text (end exclusive), so `text[start:end]` is the coded text.

The search goes from cheap to dear: an exact `str.find` (most quotes in a batch), then a
case-insensitive one, then a fuzzy one. The fuzzy search lets the quote's rarest words vote,
through an index of a cheap, length-preserving "seed fold" of the whole text, for where the
quote starts; it then aligns a precise fold of the quote (see `_fold`) with a precise fold
of a small window around each such place, using rapidfuzz. When the words point nowhere
useful, overlapping chunks of the whole text are scanned instead. Only the quote and those
windows are folded character by character in Python; the whole text is folded with str
methods and indexed word by word, lazily and once per Anchorer.

Given the transcript's turns (the spoken text of each segment), a quote is found inside one
turn only: everything else (front matter, speaker labels, the blank lines between turns) is
searched as blank space, and a match that still runs from one turn into the next is looked
for again inside each of those turns. Quotation marks typed around a quote, and punctuation
after the closing mark, are not part of it (see `unquoted`).
"""
from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from functools import cached_property
from typing import Iterable

from rapidfuzz import fuzz, process

DEFAULT_THRESHOLD = 85.0

# Scores closer than this are a tie.
_TIE = 1e-6
# Words that vote for places: 4+ letters, so that they are rarer than "og" and "på".
# Up to three of them, taken from one stretch of the quote this long, so that their votes
# agree closely; and no more of their occurrences than this.
_SEED_WORD = re.compile(r"\w{4,}")
_WORD_CHAR = re.compile(r"\w")
_STRETCH = 256
_MAX_SEED_HITS = 500
# Places are ranked by how many of the quote's rarest words (this many) occur there; this
# many windows are aligned before the seeds are given up for a scan.
_TIER_WORDS = 16
_MAX_WINDOWS = 8
# rapidfuzz aligns a needle of up to 64 characters bit-parallel, in time linear in the text;
# longer needles cost about quadratically more, so long quotes are aligned by head and tail.
_PROBE = 64
# How often a window may grow when the quote seems to run over its edge.
_MAX_WIDENING = 4


@dataclass(frozen=True)
class QuoteMatch:
    start: int  # code point offset into text, inclusive
    end: int  # exclusive
    score: float  # 0..100; 100.0 for an exact (or exact-after-folding) match


class QuoteNotFound(Exception):
    def __init__(self, quote: str, best_score: float | None, *, across_turns: bool = False):
        best = "" if best_score is None else f" (best match scored {best_score:.1f})"
        where = " within one turn (it runs across two)" if across_turns else ""
        super().__init__(f"quote not found{where}: {quote!r}{best}")
        self.quote = quote
        self.best_score = best_score
        self.across_turns = across_turns


class QuoteAmbiguous(Exception):
    def __init__(self, quote: str, spans: list[tuple[int, int]], score: float):
        super().__init__(f"quote found at {len(spans)} places (score {score:.1f}): {quote!r}")
        self.quote = quote
        self.spans = spans
        self.score = score


# -- folding -------------------------------------------------------------------------------

# Letters that OCR and hurried typing replace, folded to their replacements. Other letters
# just lose their accents (ä -> a, é -> e).
_LETTER_FOLDS = {"æ": "ae", "ø": "o", "å": "a", "œ": "oe"}
_CHAR_FOLDS: dict[str, str] = {}


def fold_char(ch: str) -> str:
    """The precise fold of one character: lower-case unaccented letters, or ' ' for anything
    that is not a letter or digit (whitespace, punctuation, emoji)."""
    if not ch.isalnum():
        return " "
    pieces = []
    for c in ch.casefold():
        c = _LETTER_FOLDS.get(c, c)
        pieces.append("".join(d for d in unicodedata.normalize("NFD", c) if not unicodedata.combining(d)))
    return "".join(pieces) or " "


@dataclass(frozen=True)
class _Folded:
    """A precise fold of text[lo:hi]; starts[i]:ends[i] is the span of text that the folded
    character text[i] stands for."""
    text: str
    starts: list[int]
    ends: list[int]


def _fold(text: str, lo: int, hi: int) -> _Folded:
    """Casefold, fold letters (æ -> ae, ø -> o, ...), turn every run of non-letters into one
    space and every run of one letter into one letter, so that case, whitespace, punctuation,
    OCR swaps and doubled or dropped double letters are no difference. Python-speed: only for
    quotes and the small windows around candidate places."""
    part = text[lo:hi]
    for ch in set(part).difference(_CHAR_FOLDS):
        _char_fold(ch)
    folded = part.translate(_FOLD_TABLE)
    if len(folded) != len(part):  # a letter folds to two (æ -> ae): character by character
        return _fold_each(text, lo, hi)
    # One character for one: each run of one letter (not digit) becomes that letter, found
    # with a regex; the Python work is per run, not per character.
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    kept = 0
    for run in _RUN.finditer(folded):
        if run.group(1).isdigit():  # "100" and "10" do differ
            continue
        first, after = run.span()
        chars.append(folded[kept:first + 1])
        starts.extend(range(lo + kept, lo + first + 1))
        ends.extend(range(lo + kept + 1, lo + first + 1))
        ends.append(lo + after)
        kept = after
    chars.append(folded[kept:])
    starts.extend(range(lo + kept, hi))
    ends.extend(range(lo + kept + 1, hi + 1))
    return _Folded("".join(chars), starts, ends)


_FOLD_TABLE: dict[int, str] = {}  # _CHAR_FOLDS by code point, for str.translate
_RUN = re.compile(r"(.)\1+", re.DOTALL)


def _char_fold(ch: str) -> str:
    """fold_char, remembered (in _CHAR_FOLDS and _FOLD_TABLE alike)."""
    folded = _CHAR_FOLDS.get(ch)
    if folded is None:
        folded = _CHAR_FOLDS[ch] = _FOLD_TABLE[ord(ch)] = fold_char(ch)
    return folded


def _fold_each(text: str, lo: int, hi: int) -> _Folded:
    """_fold, a character at a time (where some character folds to more than one)."""
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    add_char, add_start, add_end = chars.append, starts.append, ends.append
    previous = ""
    folds = _CHAR_FOLDS
    for i, ch in enumerate(text[lo:hi], lo):
        for c in folds.get(ch) or _char_fold(ch):
            if c == previous and not c.isdigit():  # "100" and "10" do differ
                ends[-1] = i + 1
            else:
                add_char(c)
                add_start(i)
                add_end(i + 1)
                previous = c
    return _Folded("".join(chars), starts, ends)


def _lower(s: str) -> str:
    """str.lower, kept one code point for one so offsets carry over (only U+0130 grows)."""
    lowered = s.lower()
    return lowered if len(lowered) == len(s) else s.replace("\u0130", "I").lower()


def _seed_replacements() -> list[tuple[str, str]]:
    """Accented lower-case Latin letters and their one-letter folds; æ becomes a, so that
    the seed fold keeps one code point for one."""
    pairs = [("æ", "a")]
    for cp in range(0xE0, 0x180):
        ch = chr(cp)
        folded = fold_char(ch)
        if ch.islower() and len(folded) == 1 and folded != ch:
            pairs.append((ch, folded))
    return pairs


_SEED_REPLACEMENTS = _seed_replacements()


def _seed_fold(s: str) -> str:
    """Lower-case and unaccented, one code point for one; C-speed (a few str.replace calls
    beat str.translate several times over on non-ASCII text)."""
    return _unaccented(_lower(s))


def _unaccented(s: str) -> str:
    """_seed_fold of a text already lower-cased (`_lower`)."""
    for letter, folded in _SEED_REPLACEMENTS:
        if letter in s:
            s = s.replace(letter, folded)
    return s


# -- punctuation at the ends ----------------------------------------------------------------

# Punctuation a quote may render differently from the transcript ('"' for '«', '-' for '–').
_PUNCTUATION_KINDS = ("«»‹›\"'“”„‟‘’‚", ".!?…", ",;:", "-‐‑‒–—―", "()[]{}")


def _kind(ch: str) -> str:
    return next((kind for kind in _PUNCTUATION_KINDS if ch in kind), ch)


def _non_word_run(s: str, start: int, step: int, stop: int) -> str:
    """The characters that are not letters or digits from s[start] on, going by step (+1 or
    -1) and not past stop; listed in the order met."""
    i = start
    while i != stop and not s[i].isalnum():
        i += step
    return s[start:i] if step > 0 else s[i + 1:start + 1][::-1]


def _adjacent(run: str) -> int:
    """How many characters a non-word run has before its first whitespace."""
    return next((i for i, c in enumerate(run) if c.isspace()), len(run))


def _punctuation_taken(quote_run: str, text_run: str) -> int:
    """How many characters of the text's non-word run next to a span (listed outward) the
    quote's run at that end (listed outward too) stands for: up to the farthest punctuation
    of a kind the quote has there (quote 'sjefer.' takes '.' of 'sjefer.»', quote 'sjefer»'
    takes both); else as much punctuation right at the span as the quote has right at its
    words. Never ends in whitespace."""
    kinds = {_kind(c) for c in quote_run if not c.isspace()}
    taken = [i + 1 for i, c in enumerate(text_run) if not c.isspace() and _kind(c) in kinds]
    return taken[-1] if taken else min(_adjacent(quote_run), _adjacent(text_run))


# -- quotation marks around a quote -------------------------------------------------------

_QUOTATION_MARKS = frozenset("«»‹›\"“”„‟‘’‚'")


def unquoted(quote: str) -> str:
    """The quote without the quotation marks typed around it, nor the punctuation typed after
    the closing mark: `«… bort fra».` is `… bort fra`, `"sa «nei».»` is `sa «nei».`. Marks
    are taken off only in pairs, an opening one for each closing one; a quote that only ends
    in a mark keeps it (it may be the transcript's own)."""
    s = quote.strip()
    opening = 0
    while opening < len(s) and (s[opening] in _QUOTATION_MARKS or s[opening].isspace()):
        opening += 1
    marks = sum(1 for c in s[:opening] if c in _QUOTATION_MARKS)
    if not marks:
        return s
    end = len(s)
    while end > opening and not s[end - 1].isalnum() and marks:
        end -= 1
        if s[end] in _QUOTATION_MARKS:
            marks -= 1
    if marks:  # fewer closing marks than opening ones: keep the end as typed
        end = len(s)
    return s[opening:end].strip()


# -- search --------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Hit:
    score: float
    start: int
    end: int

    def overlaps(self, other: _Hit) -> bool:
        return self.start < other.end and other.start < self.end


def _occurrences(haystack: str, needle: str, lo: int, hi: int) -> list[tuple[int, int]]:
    """Non-overlapping occurrences of needle within haystack[lo:hi]."""
    spans = []
    i = haystack.find(needle, lo, hi)
    while i >= 0:
        spans.append((i, i + len(needle)))
        i = haystack.find(needle, i + len(needle), hi)
    return spans


def _in_word(c: str) -> bool:
    return c.isalnum() or unicodedata.category(c)[0] == "M"


def _whole_words(haystack: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The occurrences that neither begin nor end inside a word: 'absolut' typed for
    'absolutt' is a word with a letter dropped (the fuzzy match finds all of it), not the
    first seven letters of it."""
    return [(i, j) for i, j in spans
            if not (i > 0 and _in_word(haystack[i]) and _in_word(haystack[i - 1]))
            and not (j < len(haystack) and _in_word(haystack[j - 1]) and _in_word(haystack[j]))]


def _margin(seed_quote: str) -> int:
    """How far around an estimated place to look at first: the text may be spaced and
    punctuated more than the quote, or have letters the quote dropped."""
    return 16 + len(seed_quote) // 8


def _locate(folded_quote: str, window: str, part: tuple[int, int]) -> tuple[int, int]:
    """Roughly where in window[part[0]:part[1]] the quote lies."""
    lo, hi = part
    if len(folded_quote) <= _PROBE:
        alignment = fuzz.partial_ratio_alignment(folded_quote, window[lo:hi])
        return lo + alignment.dest_start, lo + alignment.dest_end
    # The stretch may be longer than the quote by the letters the quote dropped.
    slack = 8 + len(folded_quote) // 10
    head_hi = max(lo + _PROBE, hi - len(folded_quote) + _PROBE + slack)
    start = lo + fuzz.partial_ratio_alignment(folded_quote[:_PROBE], window[lo:head_hi]).dest_start
    tail_lo = max(lo, min(hi - _PROBE, start + len(folded_quote) - _PROBE - slack))
    end = tail_lo + fuzz.partial_ratio_alignment(folded_quote[-_PROBE:], window[tail_lo:hi]).dest_end
    return start, end


def _refine(folded_quote: str, window: str, aligned: tuple[int, int], part: tuple[int, int],
            closed: tuple[bool, bool]) -> tuple[float, int, int] | None:
    """Move the ends of an approximate alignment window[aligned[0]:aligned[1]] a few
    characters, within window[part[0]:part[1]], to maximise fuzz.ratio, keeping to word
    boundaries where there are any near: partial_ratio aligns a stretch of the quote's length,
    which is off when the quote dropped letters. `closed` says whether the window's own
    left and right edges are word boundaries."""
    reach = min(8, 3 + len(folded_quote) // 25)
    (start, end), (lo, hi) = aligned, part
    near_starts = [s for s in range(max(lo, start - reach), min(hi, start + reach + 1)) if window[s] != " "]
    near_ends = [e for e in range(max(lo + 1, end - reach), min(hi, end + reach) + 1) if window[e - 1] != " "]
    starts = [s for s in near_starts if (window[s - 1] == " " if s else closed[0])] or near_starts
    ends = [e for e in near_ends if (window[e] == " " if e < len(window) else closed[1])] or near_ends
    candidates = [(fuzz.ratio(folded_quote, window[s:e]), -abs(s - start) - abs(e - end), s, e)
                  for s in starts for e in ends if s < e]
    if not candidates:
        return None
    score, _, s, e = max(candidates)
    return score, s, e


# A word of the quote: where it occurs in the text (ascending), and its offset in the quote.
_SeedWord = tuple[list[int], int]


def _anchor_words(words: list[_SeedWord]) -> list[_SeedWord]:
    """The words (rarest first) that vote for places: the three rarest of one stretch of the
    quote, so that their votes agree closely even where the text is spaced or spelled a
    little differently; the stretch whose three are rarest. Three, because one may be
    mangled; and fewer when they occur too often."""
    stretches: dict[int, list[_SeedWord]] = {}
    for word in words:
        stretches.setdefault(word[1] // _STRETCH, []).append(word)
    anchors = min((stretch[:3] for stretch in stretches.values()),
                  key=lambda some: (-len(some), sum(len(occurrences) for occurrences, _ in some)), default=[])
    while len(anchors) > 1 and sum(len(occurrences) for occurrences, _ in anchors) > _MAX_SEED_HITS:
        anchors.pop()
    return anchors


def _voted_places(anchors: list[_SeedWord]) -> list[tuple[int, int]]:
    """The places (first and last start voted for) where the most anchor words vote for the
    same start of the quote: where each occurs, less its offset in the quote."""
    if not anchors:
        return []
    offsets = [offset for _, offset in anchors]
    tolerance = 8 + (max(offsets) - min(offsets)) // 8
    votes = sorted((start - offset, n) for n, (occurrences, offset) in enumerate(anchors) for start in occurrences)
    places: list[tuple[int, int, set[int]]] = []  # and which anchors voted
    for start, n in votes:
        if places and start - places[-1][0] <= tolerance:
            places[-1] = (places[-1][0], start, places[-1][2] | {n})
        else:
            places.append((start, start, {n}))
    most = max(len(voters) for _, _, voters in places)
    return [(first, last) for first, last, voters in places if len(voters) == most]


class Anchorer:
    """Reusable for many quotes against ONE text; caches the folded text and seed index.
    With `turns` ((start, end) of each turn's spoken text, in order), quotes are found
    inside one turn only."""

    def __init__(self, text: str, turns: list[tuple[int, int]] | None = None, speakers: Iterable[str] = ()):
        self.text = text
        self.turns = sorted(turns) if turns else None
        self._turn_starts = [start for start, _ in self.turns] if self.turns else []
        # labels a quote copied with its turn's label may start with ("Leder: Det er ...")
        self.speakers = {label.casefold() for label in speakers}

    @cached_property
    def _haystack(self) -> str:
        """The text with everything outside the turns blanked out (newlines: neither words
        nor punctuation), one code point for one."""
        if not self.turns:
            return self.text
        pieces, position = [], 0
        for start, end in self.turns:
            pieces += ["\n" * (start - position), self.text[start:end]]
            position = end
        pieces.append("\n" * (len(self.text) - position))
        return "".join(pieces)

    @cached_property
    def _lowered(self) -> str:
        return _lower(self._haystack)

    @cached_property
    def _seeds(self) -> str:
        return _unaccented(self._lowered)  # _seed_fold(self._haystack), lower-cased once

    @cached_property
    def _index(self) -> dict[str, list[int]]:
        """Seed-folded words of 4+ letters and where they start as whole words, ascending;
        each word looked for when a quote first asks for it (`_starts`). Indexing every word
        of the text up front cost more than all the quotes of a batch that do need the index,
        most of which are found exactly."""
        return {}

    def _starts(self, word: str) -> list[int]:
        """Where `word` (a run of word characters) starts as a whole word in the seed fold
        (neither preceded nor followed by a word character): the maximal runs of 4+ word
        characters that `_SEED_WORD` finds; none for a shorter word."""
        found = self._index.get(word)
        if found is None:
            found = []
            if _SEED_WORD.fullmatch(word):
                seeds, size, i = self._seeds, len(word), self._seeds.find(word)
                while i >= 0:
                    if not (i and _WORD_CHAR.match(seeds, i - 1)) and not _WORD_CHAR.match(seeds, i + size):
                        found.append(i)
                    i = seeds.find(word, i + 1)
            self._index[word] = found
        return found

    def find(self, quote: str, *, threshold: float = DEFAULT_THRESHOLD,
             within: tuple[int, int] | None = None) -> QuoteMatch:
        """Raises QuoteNotFound when nothing scores >= threshold, QuoteAmbiguous when two
        different (non-overlapping) places tie for the best score. `within` restricts the
        search to text[within[0]:within[1]] (offsets returned are still into the whole text)."""
        inner = unquoted(quote)
        label, colon, words = inner.partition(":")
        if colon and words[:1].isspace() and label.strip().casefold() in self.speakers and words.strip():
            inner = unquoted(words)
        score, spans = self._search(inner, threshold, within)
        if self.turns and any(self._turn_of(span) is None for span in spans):
            score, spans = self._within_turns(inner, threshold, within, score, spans)
        if len(spans) > 1:
            raise QuoteAmbiguous(inner, spans, score)
        start, end = spans[0]
        if inner != quote.strip() and quote.strip()[:1] in _QUOTATION_MARKS:
            start, end = self._own_quotation_marks(start, end, within)
        return QuoteMatch(start, end, score)

    def _own_quotation_marks(self, start: int, end: int, within: tuple[int, int] | None) -> tuple[int, int]:
        """The span with the quotation marks the transcript itself has right around it (the
        speaker quoting someone, and the researcher quoting exactly that): typed marks stand
        for the transcript's own, and for nothing where it has none."""
        text, lo = self._haystack, within[0] if within else 0
        hi = within[1] if within else len(text)
        if start <= lo or text[start - 1] not in _QUOTATION_MARKS:
            return start, end
        run = _non_word_run(text, end, 1, hi)
        run = run[:_adjacent(run)]
        marks = [i for i, c in enumerate(run) if c in _QUOTATION_MARKS]
        return (start - 1, end + marks[-1] + 1) if marks else (start, end)

    def _turn_of(self, span: tuple[int, int]) -> tuple[int, int] | None:
        """The turn that holds the whole span, or None."""
        index = bisect_right(self._turn_starts, span[0]) - 1
        if index < 0:
            return None
        turn = self.turns[index]
        return turn if span[1] <= turn[1] else None

    def _within_turns(self, quote: str, threshold: float, within: tuple[int, int] | None, score: float,
                      spans: list[tuple[int, int]]) -> tuple[float, list[tuple[int, int]]]:
        """The best places inside one turn, when some of the best places run across turns:
        those are looked for again inside each turn they touch."""
        found: list[tuple[float, tuple[int, int]]] = []
        for span in spans:
            if self._turn_of(span) is not None:
                found.append((score, span))
                continue
            first = max(0, bisect_right(self._turn_starts, span[0]) - 1)
            for turn in self.turns[first:bisect_left(self._turn_starts, span[1])]:
                lo, hi = turn
                if within is not None:
                    lo, hi = max(lo, within[0]), min(hi, within[1])
                if lo >= hi or turn[1] <= span[0]:
                    continue
                try:
                    turn_score, turn_spans = self._search(quote, threshold, (lo, hi))
                except QuoteNotFound:
                    continue
                found += [(turn_score, turn_span) for turn_span in turn_spans]
        if not found:
            raise QuoteNotFound(quote, None, across_turns=True)
        best = max(found_score for found_score, _ in found)
        kept: list[tuple[int, int]] = []
        for found_score, span in sorted(found, key=lambda item: (-item[0], item[1])):
            if found_score >= best - _TIE and not any(span[0] < k[1] and k[0] < span[1] for k in kept):
                kept.append(span)
        return best, sorted(kept)

    def _search(self, quote: str, threshold: float,
                within: tuple[int, int] | None) -> tuple[float, list[tuple[int, int]]]:
        """The best score, and every place (non-overlapping, in text order) that reaches it.
        An exact match wins over a case-insensitive one, and that over a fuzzy one."""
        stripped = quote.strip()
        # the quote's fold (Python-speed) only for the fuzzy search; a quote that folds to
        # nothing (no character of it folds to a letter or digit) is refused all the same
        folds = _CHAR_FOLDS
        if not any((folds.get(ch) or _char_fold(ch)) != " " for ch in stripped):
            raise ValueError(f"the quote has no letters or digits: {quote!r}")
        lo, hi = (0, len(self.text)) if within is None else (max(0, within[0]), min(len(self.text), within[1]))
        exact = (_whole_words(self._haystack, _occurrences(self._haystack, stripped, lo, hi))
                 or _whole_words(self._lowered, _occurrences(self._lowered, _lower(stripped), lo, hi)))
        if exact:
            return 100.0, exact
        folded_quote = _fold(stripped, 0, len(stripped)).text.strip()
        hits = sorted({self._with_end_punctuation(hit, stripped, lo, hi)
                       for hit in self._fuzzy(stripped, folded_quote, lo, hi, threshold)},
                      key=lambda hit: (-hit.score, hit.start))
        if not hits or hits[0].score < threshold:
            raise QuoteNotFound(quote, hits[0].score if hits else None)
        best: list[_Hit] = []
        for hit in hits:
            if hit.score < hits[0].score - _TIE:
                break
            if not any(hit.overlaps(kept) for kept in best):
                best.append(hit)
        return hits[0].score, sorted((hit.start, hit.end) for hit in best)

    def _fuzzy(self, quote: str, folded_quote: str, lo: int, hi: int, threshold: float) -> list[_Hit]:
        """Hits at the places the quote's words point to, best voted first; and at the best
        chunks of a scan when those places are too many to tell apart or none is good enough."""
        seed_quote = " ".join(_seed_fold(quote).split())
        hits: list[_Hit] = []
        budget = _MAX_WINDOWS
        for tier in self._seeded_windows(seed_quote, lo, hi):
            for window in tier[:budget]:
                hits += self._align(folded_quote, *window, lo, hi, threshold)
            budget -= len(tier)
            if budget < 0:
                break
            if max((hit.score for hit in hits), default=0.0) >= threshold:
                # A place with fewer of the quote's words is taken not to tie with this one.
                return hits
        for window in self._scanned_windows(seed_quote, lo, hi, threshold):
            hits += self._align(folded_quote, *window, lo, hi, threshold)
        return hits

    def _positions(self, word: str, lo: int, hi: int) -> list[int]:
        """Where the seed-folded word occurs as a whole word within text[lo:hi]."""
        positions = self._starts(word)
        return positions[bisect_left(positions, lo):bisect_right(positions, hi - len(word))]

    def _seeded_windows(self, seed_quote: str, lo: int, hi: int) -> list[list[tuple[int, int]]]:
        """Windows of text where the quote may be, in tiers by how many of the quote's rarer
        words occur in them, most first; none when the words point to too many places."""
        words = self._seed_words(seed_quote, lo, hi)
        places = _voted_places(_anchor_words(words))
        if len(places) > 4 * _MAX_WINDOWS:
            return []
        margin = _margin(seed_quote)
        tiers: dict[int, list[tuple[int, int]]] = {}
        for first, last in places:
            window = (max(lo, first - margin), min(hi, last + len(seed_quote) + margin))
            present = sum(bisect_left(occurrences, window[0]) < bisect_left(occurrences, window[1])
                          for occurrences, _ in words[:_TIER_WORDS])
            tiers.setdefault(present, []).append(window)
        return [tiers[present] for present in sorted(tiers, reverse=True)]

    def _seed_words(self, seed_quote: str, lo: int, hi: int) -> list[_SeedWord]:
        """The quote's words of 4+ letters that occur in text[lo:hi], rarest first."""
        words = []
        for m in _SEED_WORD.finditer(seed_quote):
            occurrences = self._positions(m.group(), lo, hi)
            if "ae" in m.group():  # it may stand for æ, which the seed fold made "a"
                occurrences = sorted(occurrences + self._positions(m.group().replace("ae", "a"), lo, hi))
            if occurrences:
                words.append((occurrences, m.start()))
        return sorted(words, key=lambda word: len(word[0]))

    def _scanned_windows(self, seed_quote: str, lo: int, hi: int, threshold: float) -> list[tuple[int, int]]:
        """Windows around the best of overlapping chunks of text[lo:hi], by partial_ratio on
        the seed fold; every stretch as long as the probe lies wholly within a chunk. The
        probe is the quote, or for a long quote its head and its tail."""
        if len(seed_quote) <= _PROBE:
            probes = [(seed_quote, 0)]
        else:
            probes = [(seed_quote[:_PROBE], 0), (seed_quote[-_PROBE:], len(seed_quote) - _PROBE)]
        margin = _margin(seed_quote)
        windows = []
        for probe, offset in probes:
            stride = len(probe) + 32
            length = stride + len(probe)
            starts = range(lo, max(lo + 1, hi - len(probe) + 1), stride)
            chunks = [self._seeds[start:min(hi, start + length)] for start in starts]
            best = process.extract(probe, chunks, scorer=fuzz.partial_ratio, limit=_MAX_WINDOWS // len(probes),
                                   score_cutoff=max(0.0, threshold - 20))
            windows += [(max(lo, starts[i] - offset - margin),
                         min(hi, starts[i] - offset + length + len(seed_quote) - len(probe) + margin))
                        for _, _, i in best]
        return windows

    def _align(self, folded_quote: str, window_lo: int, window_hi: int, lo: int, hi: int,
               threshold: float) -> list[_Hit]:
        """The best match of the quote within text[window_lo:window_hi] (widened if need be),
        in text offsets; and, when it reaches the threshold, the best matches beside it, so
        that two equal places close together are both seen."""
        window, window_lo, window_hi, aligned = self._widened(folded_quote, window_lo, window_hi, lo, hi)
        # A window's edge is a word boundary only where the text (or the searched part) has one.
        closed = (window_lo == lo or not self._haystack[window_lo - 1].isalnum(),
                  window_hi == hi or not self._haystack[window_hi].isalnum())
        # A stretch shorter than this cannot reach the threshold: ratio <= 2 * shorter / both.
        shortest = len(folded_quote) * min(threshold, 100.0) / (200.0 - min(threshold, 100.0))
        hits: list[_Hit] = []
        parts: list[tuple[int, int, tuple[int, int] | None]] = [(0, len(window.text), aligned)]
        while parts:
            part_lo, part_hi, aligned = parts.pop()
            if part_hi - part_lo < shortest or not window.text[part_lo:part_hi].strip():
                continue
            aligned = aligned or _locate(folded_quote, window.text, (part_lo, part_hi))
            refined = _refine(folded_quote, window.text, aligned, (part_lo, part_hi), closed)
            if refined is None:
                continue
            score, start, end = refined
            hits.append(_Hit(score, window.starts[start], window.ends[end - 1]))
            if score >= threshold:
                parts += [(part_lo, start, None), (end, part_hi, None)]
        return hits

    def _widened(self, folded_quote: str, window_lo: int, window_hi: int, lo: int,
                 hi: int) -> tuple[_Folded, int, int, tuple[int, int]]:
        """The window folded, its bounds, and roughly where the quote lies in it; widened (a
        few times at most) while the quote seems to run over an edge, as it does where the
        text has much more punctuation or space than the quote."""
        step = 16 + len(folded_quote) // 4
        widenings = 0
        while True:
            window = _fold(self._haystack, window_lo, window_hi)
            aligned = _locate(folded_quote, window.text, (0, len(window.text)))
            if widenings == _MAX_WIDENING:
                return window, window_lo, window_hi, aligned
            widenings += 1
            if aligned[0] <= 1 and window_lo > lo:
                window_lo = max(lo, window_lo - step)
            elif aligned[1] >= len(window.text) - 1 and window_hi < hi:
                window_hi = min(hi, window_hi + step)
            else:
                return window, window_lo, window_hi, aligned

    def _with_end_punctuation(self, hit: _Hit, quote: str, lo: int, hi: int) -> _Hit:
        """A fuzzy hit runs from letter to letter; take in the text's punctuation next to it
        at the ends where the quote has punctuation."""
        start, end = hit.start, hit.end
        leading = _non_word_run(quote, 0, 1, len(quote))[::-1]
        if leading:
            start -= _punctuation_taken(leading, _non_word_run(self._haystack, start - 1, -1, lo - 1))
        trailing = _non_word_run(quote, len(quote) - 1, -1, -1)[::-1]
        if trailing:
            end += _punctuation_taken(trailing, _non_word_run(self._haystack, end, 1, hi))
        return _Hit(hit.score, start, end)


def find_quote(text: str, quote: str, *, threshold: float = DEFAULT_THRESHOLD,
               within: tuple[int, int] | None = None) -> QuoteMatch:
    return Anchorer(text).find(quote, threshold=threshold, within=within)


def reanchor(new_text: str, old_span_text: str, old_start: int, old_text_len: int,
             *, threshold: float = DEFAULT_THRESHOLD, anchorer: Anchorer | None = None) -> QuoteMatch | None:
    """After a transcript was edited: find where a previously coded span (old_span_text, which
    was at old_start in a text of length old_text_len) now lies in new_text. Exact occurrence
    first; if it occurs several times, the one nearest old_start scaled by len(new_text)/old_text_len;
    else fuzzy (same rules as find, but a tie is resolved by proximity too). None when not found."""
    if anchorer is None:
        anchorer = Anchorer(new_text)
    elif anchorer.text != new_text:
        raise ValueError("the anchorer was built for another text")
    expected = old_start * len(new_text) / old_text_len if old_text_len else 0.0

    def nearest(spans: list[tuple[int, int]]) -> tuple[int, int]:
        return min(spans, key=lambda span: abs(span[0] - expected))

    exact = _occurrences(new_text, old_span_text, 0, len(new_text)) if old_span_text else []
    if exact:
        return QuoteMatch(*nearest(exact), 100.0)
    try:
        score, spans = anchorer._search(old_span_text, threshold, None)
    except (QuoteNotFound, ValueError):  # ValueError: the span had no words to look for
        return None
    return QuoteMatch(*nearest(spans), score)
