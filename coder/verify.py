"""`coder verify`: are a manuscript's quotes what the informants said, and said by whom it says?

A quote is text in „…", "…", «…», '…' (at least MIN_WORDS words) or a block quote. It is
split at its marked omissions (`[…]`, `(...)`, `...`) and square-bracket insertions
(`[kontoret]`), and each part is looked for with the fuzzy anchoring of `code quote`
(coder/anchor.py), so the same tolerance (case, punctuation, ø/o, small typos) decides what
is found. The verdict compares the words found with the words quoted:

- `exact`: the same text (line breaks and spaces aside);
- `normalised`: the same words up to case, punctuation and quotation marks;
- `close`: found at the threshold or above, but words differ (a word-level diff says how);
- `spliced`: the parts come from different turns or transcripts, or the quote is two
  passages joined where the manuscript marks no omission;
- `not_found`.

Cost: the manuscript's quotes are few, the transcripts many, and the transcripts are never
held. A quote is looked for only in the transcripts that hold its words in a row (case,
punctuation and æ/ø/å aside), or else most runs of three of them. Which those are is found
in one pass over the texts, a few MB at a time folded by one bytes.translate, every quote's
words and runs looked for at once by one regular expression (`_Passes`). Those looked in
are then read one by one, an Anchorer each, a few kept.

Attribution: what the manuscript says about a quote's source, in parentheses after it
("(NAV-leder, Lier)"), after a verb ("sa lederen i Asker"), in the clause introducing it
("Rådmannen i Lier sier:"), or on a dash line after a block quote, is read for the project's
case offices, roles, informants' names and their pseudonyms ("Informant C", or an alias from
`names add`), and compared with the source: `ok`, `wrong`, or `none` when it names none of
these.
"""
from __future__ import annotations

import difflib
import re
import unicodedata
from bisect import bisect_right
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from pathlib import Path

from coder.anchor import DEFAULT_THRESHOLD, Anchorer, QuoteAmbiguous, QuoteNotFound, fold_char
from coder.errors import InputError
from coder.manuscript import Manuscript, Paragraph, read_manuscript
from coder.store import Store, TranscriptSource, TurnBounds
from coder.store import transcripts as transcripts_store
from coder.text import WORD as _WORD  # what a word is: one definition
from coder.text import clock

MIN_WORDS = 4  # fewer words in quotation marks are a term or scare quotes, not a quote
VERDICTS = ("exact", "normalised", "close", "spliced", "not_found")
_GOOD = ("exact", "normalised")
# A transcript is looked in when it holds the quote's rarer words: the best this many by
# their summed rarity; a project this small is searched whole.
_CANDIDATES = 8
_SEARCH_ALL_UP_TO = 40
_KEPT_ANCHORERS = 64  # (and as many transcripts' texts)
# Two passages joined without a mark: each at least this many words, at most this many pieces.
_MIN_PIECE = 3
_MAX_PIECES = 3

# -- finding the quotes ------------------------------------------------------------------------

_PAIRS = (
    re.compile(r"«((?:[^«»]|«[^«»]*»)+)»"),
    re.compile(r"„([^„“”\"]+)[“”\"]"),
    re.compile(r"“([^“”]+)”"),
    re.compile(r"\"([^\"]+)\""),
    re.compile(r"‚([^‚‘’]+)[‘’]"),
    re.compile(r"(?<!\w)‘([^‘’]+?)’(?!\w)"),
    re.compile(r"(?<!\w)'([^']+?)'(?!\w)"),
)
# Omissions the manuscript marks, and insertions in square brackets: the quote is split there.
_OMISSION = r"\[\s*(?:…|\.\s?\.\s?\.)\s*\]|\(\s*(?:…|\.\s?\.\s?\.)\s*\)|…|\.\s?\.\s?\.(?:\s?\.)*"
_GAP = re.compile(rf"{_OMISSION}|\[[^\[\]]*\]")
# One or two letters in brackets glued to a word stand for a letter changed ("[D]et").
_LETTER_BRACKET = re.compile(r"\[(\w{1,2})\](?=\w)|(?<=\w)\[(\w{1,2})\]")
_SAID = re.compile(
    r"\s*[,.]?\s*(?:[—–-]\s*)?((?:sa|sier|forteller|fortalte|forklarer|forklarte|mener|mente|påpeker|påpekte|"
    r"understreker|understreket|uttrykker|uttrykte|sukker|sukket|legger til|la til|svarer|svarte|beskriver|"
    r"beskrev|said|says|explains|explained|notes|noted|adds|added|puts it)\b[^.;:!?«»\"“”„()\n]{0,80})",
    re.IGNORECASE)
_PARENTHESIS_AFTER = re.compile(r"\s*[.,;:!?]?\s*\(([^()\n]{2,100})\)")
_DASH_LINE = re.compile(r"(?:^|\n)\s*[—–-]{1,2}\s*([^\n]{2,100})\s*$")
_SENTENCE_END = re.compile(r"[.!?]\s")


@dataclass(frozen=True)
class ManuscriptQuote:
    text: str  # as the manuscript writes it, without the quotation marks, spaces collapsed
    line: int  # 1-based line (DOCX/ODT: paragraph number)
    claims: tuple[str, ...]  # what the manuscript says around it about who said it, nearest first


def find_quotes(manuscript: Manuscript) -> list[ManuscriptQuote]:
    """The quoted passages of a manuscript, in its order."""
    quotes: list[ManuscriptQuote] = []
    paragraphs = manuscript.paragraphs
    for index, paragraph in enumerate(paragraphs):
        if _is_attribution_line(paragraph, paragraphs, index):
            continue
        if paragraph.block_quote:
            quote = _block_quote(paragraph, paragraphs, index)
            if quote is not None:
                quotes.append(quote)
            continue
        quotes += _inline_quotes(paragraph)
    return quotes


def _words_in(text: str) -> int:
    return len(_WORD.findall(_GAP.sub(" ", text)))


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _inline_quotes(paragraph: Paragraph) -> list[ManuscriptQuote]:
    text = paragraph.text
    found = sorted((m for pattern in _PAIRS for m in pattern.finditer(text)), key=lambda m: (m.start(), -m.end()))
    quotes, taken_to = [], 0
    for m in found:
        if m.start() < taken_to or _words_in(m.group(1)) < MIN_WORDS:
            continue
        taken_to = m.end()
        claims = [c for c in (_claim_after(text, m.end()), _claim_before(text, m.start())) if c]
        quotes.append(ManuscriptQuote(_collapse(m.group(1)), paragraph.line_at(m.start()), tuple(claims)))
    return quotes


def _claim_after(text: str, end: int) -> str | None:
    rest = text[end:]
    m = _PARENTHESIS_AFTER.match(rest) or _SAID.match(rest)
    return _collapse(m.group(1)) if m else None


def _claim_before(text: str, start: int) -> str | None:
    """The clause introducing the quote, when it ends in a colon ("Rådmannen i Lier sier:")."""
    before = text[:start].rstrip()
    if not before.endswith(":"):
        return None
    ends = list(_SENTENCE_END.finditer(before))
    return _collapse(before[ends[-1].end() if ends else 0:-1]) or None


def _block_quote(paragraph: Paragraph, paragraphs, index: int) -> ManuscriptQuote | None:
    text, claims = paragraph.text, []
    dash = _DASH_LINE.search(text)
    if dash and dash.start() > 0:
        claims.append(_collapse(dash.group(1)))
        text = text[:dash.start()]
    else:
        parenthesis = re.search(r"\(([^()\n]{2,100})\)\s*$", text)
        if parenthesis:
            claims.append(_collapse(parenthesis.group(1)))
            text = text[:parenthesis.start()]
    following = paragraphs[index + 1] if index + 1 < len(paragraphs) else None
    if following is not None and _attribution_text(following.text):
        claims.append(_attribution_text(following.text))
    previous = paragraphs[index - 1] if index > 0 else None
    if previous is not None and not previous.block_quote:
        lead_in = _claim_before(previous.text, len(previous.text))
        if lead_in:
            claims.append(lead_in)
    inner = _unmark(_collapse(text))
    if _words_in(inner) < MIN_WORDS:
        return None
    return ManuscriptQuote(inner, paragraph.lines[0], tuple(claims))


def _unmark(text: str) -> str:
    """A block quote typed with quotation marks around it too."""
    for pattern in _PAIRS:
        m = pattern.fullmatch(text.strip().rstrip(".,"))
        if m:
            return _collapse(m.group(1))
    return text


def _attribution_text(text: str) -> str | None:
    """A short line that only says who said the block quote above it: "— NAV-leder, Lier"."""
    m = re.fullmatch(r"\s*(?:[—–-]{1,2}\s*([^\n]{2,100})|\(([^()\n]{2,100})\))\s*", text)
    return _collapse(m.group(1) or m.group(2)) if m else None


def _is_attribution_line(paragraph: Paragraph, paragraphs, index: int) -> bool:
    return index > 0 and paragraphs[index - 1].block_quote and _attribution_text(paragraph.text) is not None


def quote_parts(quote: str) -> list[tuple[str, str]]:
    """The quote's parts between its marked omissions and bracketed insertions, each with
    words: (the marks and insertions before it, as written; the part)."""
    unbracketed = _LETTER_BRACKET.sub(lambda m: m.group(1) or m.group(2), quote)
    parts, gap = [], ""
    for index, piece in enumerate(re.split(f"({_GAP.pattern})", unbracketed)):
        if index % 2 == 0 and _WORD.search(piece):
            parts.append((" ".join(gap.split()) if parts else "", piece.strip()))
            gap = ""
        else:
            gap += piece
    return parts


# -- the transcripts -------------------------------------------------------------------------------

def _fold(text: str) -> str:
    """Lower case, æ/ø/å and accents folded, punctuation a space: as the anchoring folds."""
    return "".join(fold_char(c) for c in text)


_ASCII_PUNCTUATION = bytes(range(33, 48)) + bytes(range(58, 65)) + bytes(range(91, 97)) + bytes(range(123, 127))
_SPACES = bytes.maketrans(b"\n\t\r", b"   ")
_OTHER_PUNCTUATION = tuple(mark.encode("utf-8") for mark in "«»“”„‘’‚–—…")
_MARKS_BEYOND_LATIN = tuple(mark for mark in "«»“”„‘’‚–—…" if ord(mark) > 255)


def _latin_fold_table() -> bytes:
    table = bytearray(range(256))
    for byte in range(256):
        table[byte] = ord(chr(byte).lower().replace("ø", "o").replace("å", "a"))  # each one letter in Latin-1
    for byte in b"\n\t\r":
        table[byte] = ord(" ")
    return bytes(table)


# A Latin-1 text (most Norwegian transcripts, once its typographic quotation marks and dashes
# are left out) is folded by one bytes.translate: what the str methods below do a pass each for.
_LATIN_FOLD = _latin_fold_table()
_LATIN_LEFT_OUT = _ASCII_PUNCTUATION + "«»".encode("latin-1")


def folded_words(text: str) -> bytes:
    """A text's words as told apart cheaply (C-speed str and bytes methods): lower case,
    æ/ø/å as ae/o/a, punctuation left out, line breaks as spaces; in UTF-8. "det, kommer"
    and "Det kommer" are one; punctuation between spaces leaves two spaces, as it does in a
    quote that keeps it."""
    try:
        latin = text.encode("latin-1")
    except UnicodeEncodeError:
        marked = text
        for mark in _MARKS_BEYOND_LATIN:
            if mark in marked:
                marked = marked.replace(mark, "")
        try:
            latin = marked.encode("latin-1")
        except UnicodeEncodeError:
            return _folded_words_slowly(text)
    folded = latin.translate(_LATIN_FOLD, _LATIN_LEFT_OUT)
    if folded.isascii():
        return folded
    return folded.replace(b"\xe6", b"ae").decode("latin-1").encode("utf-8")


def _folded_words_slowly(text: str) -> bytes:
    """folded_words of any text: a pass over it for each step."""
    folded = text.lower().replace("æ", "ae").replace("ø", "o").replace("å", "a").encode("utf-8")
    for mark in _OTHER_PUNCTUATION:
        if mark in folded:
            folded = folded.replace(mark, b"")
    return folded.translate(_SPACES, _ASCII_PUNCTUATION)


_PROBE_WORDS = 3  # a quote's probes: runs of this many words
_PROBES = 6
_COMMON_PROBE = 200  # a probe found more often than this says nothing about where the quote is
# Texts read and folded at once in a pass over the transcripts: a few MB, whatever the corpus.
_BATCH_CHARS = 4_000_000
_KEY_BYTES = 8


def _probes(words: list[bytes]) -> list[bytes]:
    """Up to _PROBES runs of words of the quote, spread over it: its ends first."""
    runs = [b" ".join(words[i:i + _PROBE_WORDS]) for i in range(0, len(words) - _PROBE_WORDS + 1)]
    if len(runs) > _PROBES:
        step = (len(runs) - 1) / (_PROBES - 1)
        runs = [runs[round(i * step)] for i in range(_PROBES)]
    if len(runs) > 2:
        runs = [runs[0], runs[-1], *runs[1:-1]]
    return list(dict.fromkeys(runs)) or [b" ".join(words)]


def _agreeing(found: list[set[int]]):
    """Texts that two runs of a quote were found in."""
    seen: set[int] = set()
    for holders in found:
        yield from holders & seen
        seen |= holders


class _NotYetRead(Exception):
    """A run of a quote's words not yet looked for in the transcripts: the quote is checked
    again after the next pass over them."""


class _Looking:
    """A run of words being looked for in a pass: how often it was found so far, where."""

    def __init__(self, needle: bytes, limit: int):
        self.needle, self.limit = needle, limit
        self.count, self.holders, self.done = 0, set(), False
        self.next_at = 0  # occurrences are counted without overlapping, as bytes.find steps
        # looked for by what follows its first space: its next _KEY_BYTES bytes
        self.head = needle.find(b" ")
        self.key = needle[self.head:self.head + _KEY_BYTES] if self.head > 0 else b""

    def occurs(self, at: int, number: int) -> None:
        self.next_at = at + len(self.needle)
        self.count += 1
        if self.count > self.limit:  # too common to tell where a quote is
            self.holders, self.done = None, True
            return
        self.holders.add(number)
        self.done = self.limit == 1


def _any_key(runs: list[_Looking]) -> re.Pattern | None:
    """Where one of the runs may be, as one regular expression: a space that a run's key (its
    first space and what follows) starts at, with the run's words up to there before it. The
    keys make a trie, so each space costs a few byte comparisons however many runs are looked
    for, and the expression stops only where a run's beginning is (its end is compared after)."""
    trie: dict = {}
    for run in runs:
        node = trie
        for byte in run.key[1:]:
            node = node.setdefault(byte, {})
        node.setdefault(None, set()).add(run.needle[:run.head + len(run.key)])

    def expression(node: dict) -> bytes:
        branches = [b"(?<=" + re.escape(before) + b")" for before in sorted(node.get(None, ()))]
        branches += [re.escape(bytes([byte])) + expression(child)
                     for byte, child in sorted((b, c) for b, c in node.items() if b is not None)]
        return branches[0] if len(branches) == 1 else b"(?:" + b"|".join(branches) + b")"

    return re.compile(b" (?=" + expression(trie) + b")") if trie else None


def _spaces_starting_a_key(pattern: re.Pattern | None, blob: bytes):
    return (m.start() for m in pattern.finditer(blob)) if pattern is not None else ()


class _Passes:
    """Which transcripts (by number) hold a run of folded words, found by reading the
    transcripts a batch at a time: every run asked for since the last pass is looked for in
    the same pass, so the texts are read once for a whole manuscript and never held.

    A run is asked for with a limit: how many of its occurrences are worth knowing. Beyond
    it, the run says nothing about where a quote is (None); with limit 1, the first
    transcript that holds it, read no further."""

    def __init__(self, store: Store, numbers: dict[int, int]):
        self.store = store
        self.numbers = numbers
        self.known: dict[tuple[bytes, int], set[int] | None] = {}
        self.asked: set[tuple[bytes, int]] = set()
        self.passes = 0

    def holders(self, needle: bytes, limit: int) -> set[int] | None:
        """The transcripts holding the run, if it was looked for; else it is asked for."""
        key = (needle, limit)
        try:
            return self.known[key]
        except KeyError:
            self.asked.add(key)
            raise _NotYetRead from None

    def ask(self, needle: bytes, limit: int) -> None:
        if (needle, limit) not in self.known:
            self.asked.add((needle, limit))

    def run(self) -> None:
        """One pass over the transcripts, for every run asked for (none: no pass)."""
        looking = [_Looking(needle, limit) for needle, limit in sorted(self.asked)]
        self.asked = set()
        if not looking:
            return
        self.passes += 1
        pattern, compiled_for = None, 0
        for blob, starts, numbers in self._batches():
            for run in looking:
                run.next_at = 0  # (an occurrence never runs from one batch into the next)
            keyed = [run for run in looking if run.key]
            if pattern is None or len(keyed) < compiled_for * 9 // 10:  # (runs found often enough are done)
                pattern, compiled_for = _any_key(keyed), len(keyed)
            by_key: dict[bytes, list[_Looking]] = {}
            for run in keyed:
                by_key.setdefault(run.key, []).append(run)
            lengths = sorted({len(key) for key in by_key})
            for at in _spaces_starting_a_key(pattern, blob):
                for length in lengths:
                    for run in by_key.get(blob[at:at + length], ()):
                        start = at - run.head
                        if not run.done and start >= run.next_at and blob.startswith(run.needle, start):
                            run.occurs(start, numbers[bisect_right(starts, start) - 1])
            for run in looking:
                if not run.key:  # no space in it: looked for on its own
                    at = blob.find(run.needle)
                    while at >= 0 and not run.done:
                        run.occurs(at, numbers[bisect_right(starts, at) - 1])
                        at = blob.find(run.needle, at + len(run.needle))
            for run in looking:
                if run.done:
                    self.known[run.needle, run.limit] = run.holders
            looking = [run for run in looking if not run.done]
            if not looking:
                break
        for run in looking:
            self.known[run.needle, run.limit] = run.holders

    def _batches(self):
        """(the folded texts joined by NUL, where each starts, their numbers): about
        _BATCH_CHARS of text at a time, in name order."""
        cursor = transcripts_store.texts_in_name_order(self.store)
        blobs: list[bytes] = []
        starts: list[int] = []
        numbers: list[int] = []
        size = position = 0
        for transcript_id, text in iter(cursor.fetchone, None):
            number = self.numbers.get(transcript_id)
            if number is None:  # imported since verify began
                continue
            blob = folded_words(text)
            blobs.append(blob)
            starts.append(position)
            numbers.append(number)
            position += len(blob) + 1
            size += len(text)
            if size >= _BATCH_CHARS:
                yield b"\x00".join(blobs), starts, numbers
                blobs, starts, numbers, size, position = [], [], [], 0, 0
        if blobs:
            yield b"\x00".join(blobs), starts, numbers


@dataclass(frozen=True)
class Hit:
    source: TranscriptSource
    turn: TurnBounds
    start: int
    end: int
    score: float
    informant: str | None = None  # who speaks in the turn: the transcript's informant, a focus
    role: str | None = None  # group's speaker, or the interviewer (role "interviewer")

    @property
    def text(self) -> str:
        return self.source.text[self.start:self.end]


@dataclass(frozen=True)
class Piece:
    text: str  # the part of the quote
    hit: Hit | None
    verdict: str  # exact, normalised, close, spliced or not_found
    best_score: float | None = None  # when not found: the best score seen
    gap: str = ""  # the omission mark or insertion the manuscript has before it ("" for none)


class Corpus:
    """The project's transcripts, read as they are needed. Which of them to look in for a
    quote is told by runs of its words (case, punctuation and æ/ø/å aside) found in them, a
    pass over the texts answering every quote's runs at once (`_Passes`); those looked in are
    read one by one, a few kept."""

    def __init__(self, store: Store, threshold: float):
        self.store = store
        self.ids = transcripts_store.ids_in_name_order(store)
        self.threshold = threshold
        self._turns: dict[int, tuple[list[TurnBounds], list[int]]] = {}
        self._anchorers: OrderedDict[int, Anchorer] = OrderedDict()
        self._sources: OrderedDict[int, TranscriptSource] = OrderedDict()
        self._folded: OrderedDict[int, bytes] = OrderedDict()
        self._speakers: dict[int, tuple[dict, str | None]] = {}
        self._probe_holders: dict[bytes, list[set[int]]] = {}
        self.numbers = {transcript_id: n for n, transcript_id in enumerate(self.ids)}
        self.search_all = len(self.ids) <= _SEARCH_ALL_UP_TO
        self.passes = _Passes(store, self.numbers)

    def source(self, number: int) -> TranscriptSource:
        """A transcript with its text, read when first needed (a few kept)."""
        return _kept(self._sources, number, lambda: transcripts_store.source(self.store, self.ids[number]))

    def ask(self, text: str) -> None:
        """Look in the next pass for what `candidates` may ask about the text: its words in a
        row (the first transcript holding them, and up to _CANDIDATES), and runs of them."""
        if self.search_all:
            return
        folded = folded_words(text)
        self.passes.ask(folded.strip(), 1)
        self.passes.ask(folded.strip(), _CANDIDATES)
        for probe in _probes(folded.split()):
            self.passes.ask(probe, _COMMON_PROBE)

    def holds_words(self, number: int, text: str) -> bool:
        """Whether the transcript has the text's words in a row (case, punctuation and æ/ø/å
        aside): a cheap test before anchoring."""
        folded = _kept(self._folded, number, lambda: folded_words(self.source(number).text))
        return b" ".join(folded_words(text).split()) in folded

    def candidates(self, text: str, *, wide: bool = False, every: bool = False) -> list[int]:
        """The transcripts (by number) to look for the text in: all of a small project; else
        those holding its words in a row (case, punctuation and æ/ø/å aside: one pass finds
        exact and normalised quotes); else those holding most runs of its words, read until
        two runs agree (`wide`: all its runs, for the pieces of a quote that may come from
        several transcripts)."""
        if self.search_all:
            return list(range(len(self.ids)))
        folded = folded_words(text)
        words = folded.split()
        if not wide:
            # the first transcript that has it: a whole quote is seldom said twice, and a pass
            # over every text stops there (`every`: all of them, up to _CANDIDATES)
            whole = self.passes.holders(folded.strip(), _CANDIDATES if every else 1)
            if whole:
                return sorted(whole)
        # which texts hold each run, kept per text: a wide look goes on where a narrow one stopped
        probes = _probes(words)
        found = self._probe_holders.setdefault(folded, [])
        for probe in probes[len(found):]:
            if not wide and any(_agreeing(found)):
                break
            found.append(self.passes.holders(probe, _COMMON_PROBE) or set())
        hits: dict[int, int] = {}
        for holders in found:
            for number in holders:
                hits[number] = hits.get(number, 0) + 1
        if not hits:
            return []
        most = max(hits.values())
        ranked = sorted((n for n, k in hits.items() if wide or 2 * k >= most), key=lambda n: (-hits[n], n))
        # one run found, and no two together: likely not there at all, so look in a few only
        return ranked[:_CANDIDATES if most > 1 or wide else 3]

    def turns(self, source: TranscriptSource) -> tuple[list[TurnBounds], list[int]]:
        """A transcript's turns and where each starts, read when first needed."""
        found = self._turns.get(source.id)
        if found is None:
            turns = self.store.turn_bounds(source.id)
            found = self._turns[source.id] = (turns, [t.start for t in turns])
        return found

    def anchorer(self, number: int) -> Anchorer:
        def made() -> Anchorer:
            source = self.source(number)
            turns, _ = self.turns(source)
            return Anchorer(source.text, turns=[(t.start, t.end) for t in turns] or None,
                            speakers={t.speaker for t in turns if t.speaker})

        return _kept(self._anchorers, number, made)

    def speaker(self, source: TranscriptSource, label: str | None) -> tuple[str | None, str | None]:
        """(informant, role) of a turn's speaker, as quote sheets attribute it: a speaker the
        front matter lists as its own, the interviewer, or else the transcript's informant."""
        from coder.ingest import is_interviewer

        listed = self._speakers.get(source.id)
        if listed is None:
            listed = self._speakers[source.id] = (self.store.listed_speakers(source.id),
                                                  self.store.transcript_interviewer(source.id))
        speakers, interviewer = listed
        found = speakers.get(label or "")
        if found is not None:
            if found[0]:
                return None, "interviewer"
            return found[1] or source.informant, found[2] or source.role
        if is_interviewer(label, interviewer):
            return None, "interviewer"
        return source.informant, source.role

    def turn_of(self, source: TranscriptSource, offset: int) -> TurnBounds | None:
        turns, starts = self.turns(source)
        if not turns:
            return None
        return turns[max(0, bisect_right(starts, offset) - 1)]

    def find(self, text: str, numbers: list[int], within: dict[int, tuple[int, int]] | None = None,
             prefer_last: bool = False) -> tuple[Hit | None, float | None]:
        """The best place for the text among these transcripts (within a span of some), and
        when there is none, the best score seen."""
        best: Hit | None = None
        best_seen: float | None = None
        for number in numbers:
            source = self.source(number)
            try:
                match = self.anchorer(number).find(text, threshold=self.threshold,
                                                   within=within.get(number) if within else None)
                start, end, score = match.start, match.end, match.score
            except QuoteNotFound as exc:
                if exc.best_score is not None and (best_seen is None or exc.best_score > best_seen):
                    best_seen = exc.best_score
                continue
            except QuoteAmbiguous as exc:
                (start, end), score = exc.spans[-1 if prefer_last else 0], exc.score
            except ValueError:  # no letters or digits
                continue
            turn = self.turn_of(source, start)
            if turn is None:
                continue
            hit = Hit(source, turn, start, end, score, *self.speaker(source, turn.speaker))
            if best is None or hit.score > best.score + 1e-9 or (
                    hit.score >= best.score - 1e-9 and _verdict(text, hit) == "exact" != _verdict(text, best)):
                best = hit  # at an equal score, the place it is written as quoted wins
            if best.score >= 100.0 and _verdict(text, best) == "exact":
                break
        return best, best_seen

    def places(self, text: str, verdict: str) -> list[Hit]:
        """Every place the text is found with this verdict (exact or normalised), in every
        transcript that may hold it: a passage said twice."""
        hits = []
        for number in self.candidates(text, every=True):  # all that hold its words in a row
            source = self.source(number)
            try:
                match = self.anchorer(number).find(text, threshold=self.threshold)
                spans, score = [(match.start, match.end)], match.score
            except QuoteAmbiguous as exc:
                spans, score = exc.spans, exc.score
            except (QuoteNotFound, ValueError):
                continue
            for start, end in spans:
                turn = self.turn_of(source, start)
                if turn is not None:
                    hit = Hit(source, turn, start, end, score, *self.speaker(source, turn.speaker))
                    if _verdict(text, hit) == verdict:
                        hits.append(hit)
        return hits


def _kept(kept: OrderedDict, number: int, make):
    """kept[number], made when missing; the _KEPT_ANCHORERS used last are kept."""
    value = kept.get(number)
    if value is None:
        value = kept[number] = make()
        if len(kept) > _KEPT_ANCHORERS:
            kept.popitem(last=False)
    else:
        kept.move_to_end(number)
    return value


def _norm(text: str) -> str:
    """Words only: case, punctuation, quotation marks and spacing taken out."""
    return " ".join(_WORD.findall(text.casefold()))


def _verdict(text: str, hit: Hit) -> str:
    span = hit.text
    if _collapse(span) == _collapse(text):
        return "exact"
    if _norm(span) == _norm(text):
        return "normalised"
    return "close"


# -- verifying ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DiffOp:
    op: str  # equal, replace, delete (in the transcript, not the quote), insert (in the quote only)
    quote: str
    source: str


@dataclass(frozen=True)
class QuoteCheck:
    quote: ManuscriptQuote
    verdict: str
    pieces: tuple[Piece, ...]
    score: float | None
    attribution: str | None  # ok, wrong, none; None when there is no source to check against
    claimed: str | None
    source_note: str | None  # what the source is, when the attribution is wrong

    @property
    def hit(self) -> Hit | None:
        return next((p.hit for p in self.pieces if p.hit is not None), None)

    @property
    def span(self) -> tuple[int, int] | None:
        """start, end of the passage in its transcript: from the first piece to the last in
        the same turn."""
        first = self.hit
        if first is None:
            return None
        same = [p.hit for p in self.pieces if p.hit is not None and p.hit.source.id == first.source.id
                and p.hit.turn.number == first.turn.number]
        return min(h.start for h in same), max(h.end for h in same)

    def diff(self) -> list[list[DiffOp]]:
        """A word-level diff of each piece against what it was found as."""
        return [word_diff(p.text, p.hit.text) if p.hit is not None else [DiffOp("insert", p.text, "")]
                for p in self.pieces]

    def as_json(self) -> dict:
        hit, span = self.hit, self.span
        return {"quote": self.quote.text, "line": self.quote.line, "verdict": self.verdict,
                "transcript": hit.source.name if hit else None, "case": hit.source.case_name if hit else None,
                "role": hit.role if hit else None, "segment": hit.turn.number if hit else None,
                "start": span[0] if span else None, "end": span[1] if span else None,
                "score": self.score, "attribution": self.attribution, "claimed": self.claimed,
                "time": clock(hit.turn.start_ms) if hit else None}  # when it was said, where the turn has a time


@dataclass(frozen=True)
class NameFound:
    name: str  # as the manuscript writes it
    line: int
    alias: str


@dataclass
class Verification:
    manuscript: str
    checks: list[QuoteCheck]
    names: list[NameFound] = field(default_factory=list)
    pseudonymised: bool = False

    def counts(self) -> dict[str, int]:
        return {v: sum(1 for c in self.checks if c.verdict == v) for v in VERDICTS}

    @property
    def wrong_attributions(self) -> int:
        return sum(1 for c in self.checks if c.attribution == "wrong")

    @property
    def ok(self) -> bool:
        return (all(c.verdict in _GOOD for c in self.checks) and not self.wrong_attributions
                and not self.names)

    def summary(self) -> str:
        counts = self.counts()
        n = len(self.checks)
        parts = ", ".join(f"{counts[v]} {v.replace('_', ' ')}" for v in VERDICTS if counts[v]) or "none checked"
        wrong = self.wrong_attributions
        line = (f"{n} quote{'s' if n != 1 else ''}: {parts}; "
                f"{wrong} attribution{'s' if wrong != 1 else ''} wrong")
        if self.pseudonymised:
            k = len(self.names)
            line += f"; {k} real name{'s' if k != 1 else ''}"
        return line


def verify(store: Store, path: Path, *, threshold: float = DEFAULT_THRESHOLD,
           pseudonymised: bool = False) -> Verification:
    manuscript = read_manuscript(path)
    with store.snapshot():  # several passes over the transcripts: all of them see one state
        return _verify(store, path, manuscript, threshold, pseudonymised)


def _verify(store: Store, path: Path, manuscript: Manuscript, threshold: float,
            pseudonymised: bool) -> Verification:
    if not transcripts_store.names_in_import_order(store):
        raise InputError("the project has no transcripts to check quotes against",
                         hint="import them first: coder import TRANSCRIPTS/")
    quotes = find_quotes(manuscript)
    corpus = Corpus(store, threshold)
    claims = Claims.build(store, transcripts_store.roles(store))
    checker = _Checker(corpus)
    for quote in quotes:
        for _, part in quote_parts(quote.text):
            corpus.ask(part)
    # every quote's words and runs looked for in one pass over the transcripts; a quote that
    # asks for others is checked again after a pass for them (Corpus.ask asks for all it may)
    checks: list[QuoteCheck | None] = [None] * len(quotes)
    waiting = list(range(len(quotes)))
    while waiting:
        corpus.passes.run()
        still = []
        for index in waiting:
            try:
                checks[index] = _check(quotes[index], corpus, checker, claims)
            except _NotYetRead:
                still.append(index)
                for _, part in quote_parts(quotes[index].text):
                    corpus.ask(part)
        waiting = still
    names = _names_in(store, manuscript) if pseudonymised else []
    return Verification(str(path), checks, names, pseudonymised)


def _check(quote: ManuscriptQuote, corpus: Corpus, checker: "_Checker", claims: "Claims") -> QuoteCheck:
    pieces = checker.pieces(quote.text)
    verdict, score = _overall(pieces, quote.text)
    attribution, claimed, note = claims.judge(quote.claims, [p.hit for p in pieces if p.hit is not None])
    if attribution == "wrong" and len(pieces) == 1 and verdict in _GOOD:
        # the same words may have been said twice, by the one the manuscript names too
        for other in corpus.places(pieces[0].text, verdict):
            if claims.judge(quote.claims, [other])[0] == "ok":
                pieces = [replace(pieces[0], hit=other)]
                attribution, claimed, note = "ok", claimed, None
                break
    return QuoteCheck(quote, verdict, tuple(pieces), score, attribution, claimed, note)


def _overall(pieces: list[Piece], text: str) -> tuple[str, float | None]:
    found = [p for p in pieces if p.hit is not None]
    if len(found) < len(pieces):
        scores = [p.best_score for p in pieces if p.hit is None and p.best_score is not None]
        return "not_found", round(max(scores), 1) if scores else None
    places = {(p.hit.source.id, p.hit.turn.number) for p in found}
    ordered = all(a.hit.end <= b.hit.start for a, b in zip(found, found[1:]))
    score = round(_similarity(" ".join(p.text for p in pieces), " ".join(p.hit.text for p in pieces)), 1)
    if len(places) > 1 or not ordered or any(p.verdict == "spliced" for p in pieces):
        return "spliced", score
    worst = max((p.verdict for p in pieces), key=VERDICTS.index)
    return worst, 100.0 if worst in _GOOD else score


def _similarity(a: str, b: str) -> float:
    from rapidfuzz import fuzz

    return fuzz.ratio(_norm(a), _norm(b))


class _Checker:
    def __init__(self, corpus: Corpus):
        self.corpus = corpus

    def pieces(self, quote: str) -> list[Piece]:
        """Where each part of the quote is: the longest part anywhere, the others in its turn
        (in order) or else anywhere."""
        marked = quote_parts(quote)
        if not marked:
            return [Piece(quote, None, "not_found")]
        return [replace(piece, gap=gap) if k == 0 else piece
                for (gap, _), pieces in zip(marked, self._pieces([part for _, part in marked]))
                for k, piece in enumerate(pieces)]

    def _pieces(self, parts: list[str]) -> list[list[Piece]]:
        main = max(range(len(parts)), key=lambda i: len(parts[i]))
        located: dict[int, list[Piece]] = {main: self.locate(parts[main])}
        anchor = located[main]
        if anchor[0].hit is None:
            return [located.get(i) or [Piece(parts[i], None, "not_found")] for i in range(len(parts))]
        first, last = anchor[0].hit, anchor[-1].hit
        edge = last.end
        for i in range(main + 1, len(parts)):
            located[i] = self.nearby(parts[i], last.source, (edge, last.turn.end), prefer_last=False)
            hit = located[i][-1].hit
            if hit is not None and hit.source.id == last.source.id:
                edge = max(edge, hit.end)
        edge = first.start
        for i in range(main - 1, -1, -1):
            located[i] = self.nearby(parts[i], first.source, (first.turn.start, edge), prefer_last=True)
            hit = located[i][0].hit
            if hit is not None and hit.source.id == first.source.id:
                edge = min(edge, hit.start)
        return [located[i] for i in range(len(parts))]

    def nearby(self, part: str, source: TranscriptSource, span: tuple[int, int], *, prefer_last: bool) -> list[Piece]:
        """A part of a quote looked for between its neighbours in their turn first."""
        number = self.corpus.numbers[source.id]
        if span[1] > span[0]:
            hit, _ = self.corpus.find(part, [number], within={number: span}, prefer_last=prefer_last)
            if hit is not None:
                return [Piece(part, hit, _verdict(part, hit))]
        # not between its neighbours: found elsewhere, it was joined to them
        return [Piece(p.text, p.hit, "spliced") if p.hit is not None else p for p in self.locate(part)]

    def locate(self, text: str, depth: int = 1, numbers: list[int] | None = None) -> list[Piece]:
        """The text's best place; or, when it is not found as written, the passages it is
        joined from without a mark (looked for among `numbers`, the transcripts any of the
        whole quote's words point to)."""
        corpus = self.corpus
        hit, seen = corpus.find(text, corpus.candidates(text) if numbers is None else numbers)
        verdict = _verdict(text, hit) if hit is not None else "not_found"
        if verdict in _GOOD:
            return [Piece(text, hit, verdict)]
        if depth < _MAX_PIECES:
            joined = self.joined(text, depth, corpus.candidates(text, wide=True) if numbers is None else numbers)
            if joined:
                return joined
        return [Piece(text, hit, verdict, seen)]

    def joined(self, text: str, depth: int, numbers: list[int]) -> list[Piece] | None:
        """Two (or more) passages quoted as one, with no omission marked: the longest
        beginning found as written, then the rest found as written, not right after it."""
        words = list(re.finditer(r"\S+", text))
        n = len(words)
        if n < 2 * _MIN_PIECE:
            return None
        lo, hi, best = _MIN_PIECE, n - _MIN_PIECE, None
        while lo <= hi:
            mid = (lo + hi) // 2
            head = text[:words[mid - 1].end()]
            holding = [n for n in numbers if self.corpus.holds_words(n, head)]
            if holding:
                best, lo = (mid, head, holding), mid + 1
            else:
                hi = mid - 1
        if best is None:
            return None
        k, head, holding = best
        head_hit, _ = self.corpus.find(head, holding)
        if head_hit is None or _verdict(head, head_hit) not in _GOOD:
            return None
        rest = self.locate(text[words[k].start():], depth + 1, numbers)
        if any(p.hit is None or p.verdict not in _GOOD + ("spliced",) for p in rest):
            return None
        after = rest[0].hit
        if (after.source.id == head_hit.source.id and after.turn.number == head_hit.turn.number
                and not _WORD.search(head_hit.source.text[head_hit.end:after.start])
                and after.start >= head_hit.end):
            return None  # nothing left out between them
        return [Piece(head, head_hit, "spliced"), *(Piece(p.text, p.hit, "spliced") for p in rest)]


def word_diff(quote: str, source: str) -> list[DiffOp]:
    """The quote's words against the transcript's, compared without case and punctuation."""
    q, s = quote.split(), source.split()
    matcher = difflib.SequenceMatcher(a=[_norm(w) for w in s], b=[_norm(w) for w in q], autojunk=False)
    ops = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        ops.append(DiffOp(tag, " ".join(q[j1:j2]), " ".join(s[i1:i2])))
    return ops


def diff_text(ops: list[DiffOp], context: int = 3) -> str:
    """A diff as git's --word-diff writes it, [-transcript-]{+quote+}, with a few words of
    context around each change."""
    out = []
    for index, op in enumerate(ops):
        if op.op == "equal":
            words = op.quote.split()
            if index == 0 and len(words) > context:
                words = ["…", *words[-context:]]
            elif index == len(ops) - 1 and len(words) > context:
                words = [*words[:context], "…"]
            elif len(words) > 2 * context + 1:
                words = [*words[:context], "…", *words[-context:]]
            out.append(" ".join(words))
        else:
            if op.source:
                out.append(f"[-{op.source}-]")
            if op.quote:
                out.append(f"{{+{op.quote}+}}")
    return " ".join(out)


# -- attribution -------------------------------------------------------------------------------------

_ENDINGS = r"(?:s|en|et|ne|er|ens|ets)?"


@dataclass(frozen=True)
class Claims:
    """What an attribution can name: case offices, roles, and people by name or pseudonym."""
    cases: tuple[tuple[str, re.Pattern], ...]  # (case name, pattern on the folded claim)
    roles: tuple[tuple[str, re.Pattern], ...]  # (folded role word, pattern)
    people: tuple[tuple[str, re.Pattern], ...]  # (alias, pattern on the claim as written)
    aliases_of: dict  # informant -> aliases that name them
    pseudonymiser: object

    @classmethod
    def build(cls, store: Store, roles: set[str]) -> "Claims":
        from coder import pseudonym

        cases = tuple((case, re.compile(rf"(?<![a-z0-9]){re.escape(_fold(case).strip())}{_ENDINGS}(?![a-z0-9])"))
                      for case in store.case_names() if _fold(case).strip())
        words = set(_INTERVIEWER_WORDS)
        for role in roles | set(store.speaker_roles()):
            head = _role_head(role)
            if head:
                words.add(head)
                words.add(head.split()[-1])
        roles = tuple((w, re.compile(rf"(?<![a-z0-9]){re.escape(w)}{_ENDINGS}(?![a-z0-9])"))
                      for w in sorted(words, key=len, reverse=True) if len(w) >= 3)
        informants = pseudonym.informant_aliases(store)
        aliases_of: dict[str, set[str]] = {name: {alias} for name, alias in informants.items()}
        listed = store.listed_names()
        for name, alias, kind in listed:
            if kind == "place":
                continue
            for informant in informants:
                if _fold(name).strip() and f" {_fold(name).strip()} " in f" {' '.join(_fold(informant).split())} ":
                    aliases_of[informant].add(alias)
        all_aliases = {alias for aliases in aliases_of.values() for alias in aliases}
        people = tuple((alias, re.compile(rf"(?<!\w){re.escape(alias)}(?!\w)", re.IGNORECASE))
                       for alias in sorted(all_aliases, key=len, reverse=True))
        return cls(cases, roles, people, aliases_of, pseudonym.build(store))

    def named(self, claim: str) -> tuple[set[str], set[str], set[str]]:
        """The cases, role words and people (by alias) a claim names."""
        folded = " ".join(_fold(claim).split())
        cases = {case for case, pattern in self.cases if pattern.search(folded)}
        roles = set()
        for word, pattern in self.roles:
            if pattern.search(folded) and not any(word in longer for longer in roles):
                roles.add(word)
        people = {alias for alias, pattern in self.people if pattern.search(claim)}
        known = {alias for aliases in self.aliases_of.values() for alias in aliases}
        claim = unicodedata.normalize("NFC", claim)
        places = {_fold(case).strip() for case, _ in self.cases}
        for start, end, replacement in self.pseudonymiser.replacements(claim):
            if _fold(claim[start:end]).strip() in places:  # "Lier" is the office, even in "Fokusgruppe Lier"
                continue
            people |= {alias for alias in known if replacement.startswith(alias)}
        return cases, roles, people

    def judge(self, claims: tuple[str, ...], hits: list[Hit]) -> tuple[str | None, str | None, str | None]:
        """(attribution, claimed, what the source is when wrong)."""
        for claim in claims:
            cases, roles, people = self.named(claim)
            if not (cases or roles or people):
                continue
            if not hits:
                return None, claim, None
            wrong = [hit for hit in hits if not self._fits(hit, cases, roles, people)]
            if not wrong:
                return "ok", claim, None
            return "wrong", claim, _describe(wrong[0], self.aliases_of)
        return ("none" if hits else None), None, None

    def _fits(self, hit: Hit, cases: set[str], roles: set[str], people: set[str]) -> bool:
        if cases and _fold(hit.source.case_name or "").strip() not in {_fold(c).strip() for c in cases}:
            return False
        if roles and not all(_role_fits(word, hit.role) for word in roles):
            return False
        if people and not people & self.aliases_of.get(hit.informant or "", set()):
            return False
        return True


_INTERVIEWER_WORDS = ("intervjuer", "interviewer", "intervjueren")


def _role_fits(word: str, role: str | None) -> bool:
    """A role word of a claim ("leder", "nav leder", "radmann") names the source's role: its
    noun, or the end of it ("leder" fits "NAV-leder" and "avdelingsleder")."""
    if role == "interviewer":
        return word in _INTERVIEWER_WORDS
    return _role_head(role or "").endswith(word)


def _role_head(role: str) -> str:
    """The role's noun, folded: "NAV-leder (statlig)" -> "nav leder", "avdelingsleder kommune" ->
    "avdelingsleder"."""
    head = role.split("(")[0].strip().split(" ")[0] if role.strip() else ""
    return " ".join(_fold(head).split())


def _describe(hit: Hit, aliases_of: dict) -> str:
    who = ", ".join(x for x in (hit.source.case_name, hit.role) if x)
    alias = sorted(aliases_of.get(hit.informant or "", ()))
    return f"{who or 'no case or role'}{' (' + alias[0] + ')' if alias else ''}, {hit.source.name}:{hit.turn.number}"


# -- real names -----------------------------------------------------------------------------------------

def _names_in(store: Store, manuscript: Manuscript) -> list[NameFound]:
    """Every listed name and informant's name in the manuscript, quotes or not, as the
    pseudonymised exports find them; a name must start with a capital letter here (a
    manuscript is prose: "per uke" is no Per)."""
    from coder import pseudonym

    names = pseudonym.build(store)
    neutral_ids = {neutral for _, neutral in names.transcripts}
    found = []
    for paragraph in manuscript.paragraphs:
        for start, end, alias in names.replacements(unicodedata.normalize("NFC", paragraph.text)):
            written = paragraph.text[start:end]
            if alias in neutral_ids or not written[:1].isupper():  # a transcript id is no name
                continue
            found.append(NameFound(written, paragraph.line_at(start), alias))
    return found


# -- the HTML report ----------------------------------------------------------------------------------

def to_html(result: Verification) -> str:
    """Each quote beside its transcript passage, the differences marked: words the quote
    changed or added in the quote column, words it left out or changed in the transcript's."""
    from html import escape

    rows = []
    for number, check in enumerate(result.checks, start=1):
        diffs = check.diff()
        quote_html = []
        for index, (piece, ops) in enumerate(zip(check.pieces, diffs)):
            if index and piece.gap:
                quote_html.append(f'<span class="gap">{escape(piece.gap)}</span>')
            elif index:
                quote_html.append('<span class="joined" title="joined here: no omission marked">‖</span>')
            quote_html.append(_marked(ops, "quote"))
        source_html = []
        for members in _by_turn(check.pieces, diffs):
            first = members[0][0].hit
            if first is None:
                source_html.append('<p class="missing">not found in any transcript</p>')
                continue
            source, turn, text = first.source, first.turn, first.source.text
            passage = [escape(_trim_left(text[turn.start:first.start]))]
            previous = None
            for piece, ops in members:
                if previous is not None:
                    between = text[previous.end:piece.hit.start]
                    passage.append(f'<span class="omitted" title="left out">{escape(_trim_middle(between))}</span>')
                passage.append(f'<span class="passage">{_marked(ops, "source")}</span>')
                previous = piece.hit
            passage.append(escape(_trim_right(text[previous.end:turn.end])))
            source_html.append(
                f'<p class="where">{escape(source.name)}, turn {turn.number}'
                f'{escape(" · " + source.case_name) if source.case_name else ""}'
                f'{escape(" · " + first.role) if first.role else ""}</p><p class="turn">{"".join(passage)}</p>')
        attribution = ""
        if check.claimed:
            status = check.attribution or "unchecked"
            note = f" — the source is {escape(check.source_note)}" if check.source_note else ""
            attribution = (f'<p class="attribution {status}">attribution {escape(status)}: '
                           f'“{escape(check.claimed)}”{note}</p>')
        score = "" if check.score is None else f" · {check.score:g}"
        rows.append(
            f'<section class="check {check.verdict}"><h2><span class="n">{number}</span> line {check.quote.line} · '
            f'<span class="verdict">{check.verdict.replace("_", " ")}</span>{score}</h2>'
            f'<div class="pair"><div class="quote"><h3>Manuscript</h3><blockquote>'
            f'{" ".join(quote_html)}</blockquote>{attribution}</div>'
            f'<div class="source"><h3>Transcript</h3>{"".join(source_html)}</div></div></section>')
    names = ""
    if result.pseudonymised:
        items = "".join(f"<li>line {n.line}: <b>{escape(n.name)}</b> (pseudonym: {escape(n.alias)})</li>"
                        for n in result.names)
        names = (f'<section class="names"><h2>Real names in the manuscript</h2>'
                 f'{"<ul>" + items + "</ul>" if items else "<p>none</p>"}</section>')
    return f"""<!DOCTYPE html>
<html lang="nb"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Quotes checked: {escape(Path(result.manuscript).name)}</title>
<style>
body {{ font: 15px/1.45 Georgia, serif; margin: 2em auto; max-width: 72em; color: #222; padding: 0 1em; }}
h1 {{ font-size: 1.4em; margin-bottom: .2em; }} .summary {{ color: #444; margin-top: 0; }}
section.check {{ border-top: 1px solid #ccc; padding: .6em 0 1em; break-inside: avoid; }}
h2 {{ font: bold 13px/1.2 sans-serif; margin: 0 0 .5em; color: #555; }}
h3 {{ font: 11px sans-serif; text-transform: uppercase; letter-spacing: .05em; color: #888; margin: 0 0 .3em; }}
.n {{ display: inline-block; min-width: 1.6em; }}
.verdict {{ padding: 1px 6px; border-radius: 3px; background: #ddd; }}
.exact .verdict, .normalised .verdict {{ background: #d7f0d7; }}
.close .verdict {{ background: #fbe7b5; }} .spliced .verdict, .not_found .verdict {{ background: #f6c6c6; }}
.pair {{ display: grid; grid-template-columns: 1fr 1fr; gap: 1.5em; }}
blockquote {{ margin: 0; padding-left: .8em; border-left: 3px solid #bbb; }}
ins {{ background: #fde2a4; text-decoration: none; }} del {{ background: #f7c1c1; }}
.gap {{ color: #888; }} .passage {{ background: #eef4fb; }}
.joined {{ color: #c00; font-weight: bold; padding: 0 .2em; }}
.omitted {{ color: #999; font-size: .9em; }}
.where {{ font: 12px sans-serif; color: #666; margin: 0 0 .2em; }} .turn {{ margin: 0 0 .6em; }}
.missing {{ color: #a00; font-style: italic; }}
.attribution {{ font: 12px sans-serif; }} .attribution.wrong {{ color: #a00; font-weight: bold; }}
.attribution.ok {{ color: #275; }}
</style></head><body>
<h1>Quotes checked: {escape(Path(result.manuscript).name)}</h1>
<p class="summary">{escape(result.summary())}</p>
{names}
{"".join(rows)}
</body></html>
"""


def _marked(ops: list[DiffOp], side: str) -> str:
    from html import escape

    out = []
    for op in ops:
        text = op.quote if side == "quote" else op.source
        if not text:
            continue
        if op.op == "equal":
            out.append(escape(text))
        else:
            tag = "ins" if side == "quote" else "del"
            out.append(f"<{tag}>{escape(text)}</{tag}>")
    return " ".join(out)


def _by_turn(pieces, diffs) -> list[list[tuple[Piece, list[DiffOp]]]]:
    """Pieces found one after another in the same turn, together (shown as one passage)."""
    groups: list[list[tuple[Piece, list[DiffOp]]]] = []
    for piece, ops in zip(pieces, diffs):
        last = groups[-1][-1][0].hit if groups else None
        hit = piece.hit
        if (hit is not None and last is not None and last.source.id == hit.source.id
                and last.turn.number == hit.turn.number and hit.start >= last.end):
            groups[-1].append((piece, ops))
        else:
            groups.append([(piece, ops)])
    return groups


def _trim_middle(text: str, words: int = 30) -> str:
    parts = text.split(" ")
    return text if len(parts) <= words else " ".join(parts[:words // 2]) + " … " + " ".join(parts[-words // 2:])


def _trim_left(text: str, words: int = 40) -> str:
    parts = text.split(" ")
    return text if len(parts) <= words else "… " + " ".join(parts[-words:])


def _trim_right(text: str, words: int = 40) -> str:
    parts = text.split(" ")
    return text if len(parts) <= words else " ".join(parts[:words]) + " …"
