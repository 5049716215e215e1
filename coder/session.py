"""`coder session`: coding one transcript turn by turn from the keyboard.

Three layers, each usable without the next (the last two in `coder/session_screen.py`):

* `Session` is the work: where the coder is, the codings on a turn, adding (a whole turn or
  part of one), removing, memos, undo. Every change is saved at once in its own transaction
  with an audit row, and every move saves the position in `session_state`, so a closed
  terminal or a killed process loses nothing and reopening resumes where this coder stopped.
* `SessionScreen` turns key names ("a", "down", "enter") into Session calls and draws the
  screen as lines of (style, text) for any width and height. No terminal needed.
* `run` is a thin prompt_toolkit full-screen application around a SessionScreen.
"""
from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Sequence

from coder.errors import InputError
from coder.store import Store, now
from coder.store import codings as coding_rows
from coder.store import codebook as codebook_store
from coder.store import transcripts as transcripts_store
from coder.store import memos as memo_rows
from coder.store.codings import NewCoding
from coder.text import WORD as _WORD  # what a word is: one definition
from coder.values import Segment

_WORD_RANGE = re.compile(r"\s*([0-9]+)\s*(?:[-–]\s*([0-9]+)\s*)?")  # ASCII digits: int() also reads "٣"


@dataclass(frozen=True)
class CodeInfo:
    path: str
    id: str
    dimension: str
    label: str
    label_en: str | None
    description: str | None
    include: tuple[str, ...]
    exclude: tuple[str, ...]
    keywords: tuple[str, ...]
    color: str | None  # the code's colour, else its dimension's

    @property
    def words(self) -> tuple[str, ...]:
        """What the picker matches typed words against: the id, path, labels and keywords."""
        text = " ".join((self.id, self.path, self.label, self.label_en or "", *self.keywords))
        return tuple(dict.fromkeys(w for w in re.split(r"[\W_]+", text.casefold()) if w))

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(f.casefold() for f in (self.id, self.path, self.label, self.label_en or "", *self.keywords) if f)


@dataclass(frozen=True)
class CodingView:
    id: str  # uuid
    code: str
    label: str
    color: str | None
    coder: str
    start: int
    end: int
    memo: str | None
    text: str
    whole_turn: bool


@dataclass(frozen=True)
class Suggestion:
    code: CodeInfo
    keyword: str


def load_codes(store: Store) -> list[CodeInfo]:
    rows = codebook_store.current_codes(store)
    return [CodeInfo(r["path"], r["id"], r["dimension"], r["label"], r["label_en"], r["description"],
                     tuple(json.loads(r["include"] or "[]")), tuple(json.loads(r["exclude"] or "[]")),
                     tuple(json.loads(r["keywords"] or "[]")), r["color"]) for r in rows]


def rank_codes(query: str, codes: Sequence[CodeInfo], suggested: Sequence[str] = ()) -> list[CodeInfo]:
    """The codes matching what was typed, best first. Every typed word must match a word of the
    code's id, path, labels or keywords: as its beginning (best), inside it, or fuzzily (a typo,
    ø typed as o). Suggested codes (paths) come first among equals, and first of all when
    nothing is typed."""
    from rapidfuzz import fuzz

    order = {path: i for i, path in enumerate(suggested)}
    typed = [w for w in re.split(r"[\W_]+", query.casefold()) if w]
    if not typed:
        return sorted(codes, key=lambda c: (c.path not in order, order.get(c.path, 0)))
    ranked = []
    for position, code in enumerate(codes):
        words, phrase = code.words, " ".join(code.fields)
        total, fuzzy = 0, 0.0
        for typed_word in typed:
            if any(w.startswith(typed_word) for w in words):
                total += 3
            elif typed_word in phrase:
                total += 2
            else:
                best = max((fuzz.ratio(typed_word, w[:len(typed_word) + 2]) for w in words), default=0.0)
                if best < 75:
                    break
                total, fuzzy = total + 1, fuzzy + best
        else:
            ranked.append((-total, -fuzzy, code.path not in order, position, code))
    return [entry[-1] for entry in sorted(ranked, key=lambda e: e[:4])]


class Session:
    """One coder working through one transcript."""

    def __init__(self, store: Store, transcript: str, coder: str, *, skip_speakers: Sequence[str] = ()):
        from coder.autocode import rules_from_codes
        from coder.transcripts import require_transcript

        self.store = store
        self.coder = coder
        self.transcript = require_transcript(store, transcript)
        self.turns = transcripts_store.turns(store, self.transcript.id)
        if not self.turns:
            raise InputError(f"transcript '{transcript}' has no turns", hint="re-import it with `coder import`")
        self.codes = load_codes(store)
        if not self.codes:
            raise InputError("the project has no codebook", hint="load one with `coder codebook load FILE`")
        self.code_by_path = {c.path: c for c in self.codes}
        self.rules = rules_from_codes((c.path, c.keywords) for c in self.codes)
        self.undo_stack: list[tuple] = []
        self._anchorer = None
        saved = transcripts_store.saved_position(store, coder, self.transcript.id)
        self.index = min(max(int(saved or 1), 1), len(self.turns)) - 1
        self.resumed = saved is not None
        # speakers whose turns `next_uncoded` passes over (casefolded labels): the interviewer's
        # (as quotes tell speaker_kind) and those asked for, as `autocode --skip-speaker`
        self.skipped = {label.casefold() for label in self._interviewer_labels()} | \
            {label.casefold() for label in skip_speakers}

    def _interviewer_labels(self) -> set[str]:
        from coder.ingest import is_interviewer

        listed = self.store.listed_speakers(self.transcript.id)
        named = self.store.transcript_interviewer(self.transcript.id)
        labels = {turn.speaker for turn in self.turns if turn.speaker}
        return {label for label in labels
                if (listed[label][0] if label in listed else is_interviewer(label, named))}

    def skips(self, turn: Segment) -> bool:
        """Whether `next_uncoded` passes over the turn: its speaker's turns are skipped."""
        return bool(turn.speaker) and turn.speaker.casefold() in self.skipped

    def toggle_skip(self, speaker: str) -> bool:
        """Skip this speaker's turns in `next_uncoded`, or stop skipping them; True if now skipped."""
        key = speaker.casefold()
        if key in self.skipped:
            self.skipped.discard(key)
            return False
        self.skipped.add(key)
        return True

    # -- where we are -----------------------------------------------------------------------
    @property
    def current(self) -> Segment:
        return self.turns[self.index]

    def turn(self, number: int) -> Segment:
        if not 1 <= number <= len(self.turns):
            raise InputError(f"'{self.transcript.name}' has turns 1-{len(self.turns)}, not {number}")
        return self.turns[number - 1]

    def goto(self, number: int) -> Segment:
        self.turn(number)
        if number - 1 != self.index:
            self.index = number - 1
            self.save_position()
        return self.current

    def step(self, delta: int) -> bool:
        """Move by delta turns, stopping at the ends; False when already there."""
        target = min(max(self.index + delta, 0), len(self.turns) - 1)
        if target == self.index:
            return False
        self.goto(target + 1)
        return True

    def save_position(self) -> None:
        # No audit row for a move: the audit trail records changes to the research data, and
        # a row per key press would bury them; the position itself is kept in session_state.
        with self.store.transaction():
            transcripts_store.save_position(self.store, self.coder, self.transcript.id, self.current.number, now())

    # -- what is on a turn ----------------------------------------------------------------------
    def codings(self, turn: Segment | None = None) -> list[CodingView]:
        """Codings (by anyone) overlapping the turn, in text order."""
        turn = turn or self.current
        rows = coding_rows.on_span(self.store, self.transcript.id, turn.start, turn.end)
        return [CodingView(r["uuid"], r["code"], r["label"], r["color"], r["coder"], r["start"], r["end"], r["memo"],
                           r["text"], r["start"] <= turn.start and r["end"] >= turn.end) for r in rows]

    def suggestions(self, turn: Segment | None = None) -> list[Suggestion]:
        """Codes whose keywords occur in the turn, in the order they occur; not those the
        coder has already put on it."""
        from coder.autocode import keyword_hits

        turn = turn or self.current
        have = {c.code for c in self.codings(turn) if c.coder == self.coder}
        found: dict[str, Suggestion] = {}
        for hit in keyword_hits(turn.text, self.rules):
            if hit.rule.code not in have and hit.rule.code not in found:
                found[hit.rule.code] = Suggestion(self.code_by_path[hit.rule.code], hit.rule.keyword)
        return list(found.values())

    def memos(self) -> list[dict]:
        """Memos on this transcript."""
        return memo_rows.on_transcript(self.store, self.transcript.name)

    def words(self, turn: Segment | None = None) -> list[tuple[int, int]]:
        """(start, end) of each word of the turn, as offsets into the transcript."""
        turn = turn or self.current
        return [(turn.start + m.start(), turn.start + m.end()) for m in _WORD.finditer(turn.text)]

    # -- jumping --------------------------------------------------------------------------------
    def _after_current(self) -> list[Segment]:
        """Every other turn, from the next one on, wrapping around at the end."""
        return self.turns[self.index + 1:] + self.turns[:self.index]

    def next_uncoded(self) -> Segment:
        """The next turn without a coding by this coder, passing over the speakers skipped
        (the interviewer's questions unless asked otherwise)."""
        spans = coding_rows.spans_by(self.store, self.transcript.id, self.coder)
        for turn in self._after_current():
            if not self.skips(turn) and not any(s < turn.end and e > turn.start for s, e in spans):
                return self.goto(turn.number)
        skipped = sorted({t.speaker for t in self.turns if self.skips(t)})
        raise InputError("every other turn has your codes already"
                         + (f" (turns of {', '.join(skipped)} skipped: x on one of them stops that)" if skipped else ""))

    def next_with_code(self, path: str) -> Segment:
        """The next turn with a coding (by anyone) of the code or one of its sub-codes."""
        spans = coding_rows.spans_of_code(self.store, self.transcript.id, path)
        for turn in self._after_current():
            if any(s < turn.end and e > turn.start for s, e in spans):
                return self.goto(turn.number)
        raise InputError(f"no other turn is coded {path}")

    def find(self, query: str) -> tuple[Segment, int]:
        """The next turn containing the text (ignoring case; whitespace matches any); and how
        many turns have it."""
        from coder.search import matcher

        spans = matcher(query)
        having = [turn for turn in self.turns if spans(turn.text)]
        if not having:
            raise InputError(f"'{query}' is not in this transcript")
        numbers = {turn.number for turn in having}
        target = next((t for t in self._after_current() if t.number in numbers), self.current)
        return self.goto(target.number), len(having)

    # -- choosing part of a turn ------------------------------------------------------------------
    def span(self, spec: str, turn: Segment | None = None) -> tuple[int, int]:
        """The part of the turn meant by `spec`: word numbers ("3-9", "5"), or a fragment of its
        text, found as `code quote` finds quotes (tolerating case, punctuation, small typos)."""
        turn = turn or self.current
        numbered = _WORD_RANGE.fullmatch(spec)
        if numbered:
            words = self.words(turn)
            first = int(numbered.group(1))
            last = int(numbered.group(2) or first)
            if not 1 <= first <= last <= len(words):
                raise InputError(f"turn {turn.number} has words 1-{len(words)}; give e.g. 1-{min(len(words), 5)}")
            return words[first - 1][0], words[last - 1][1]
        from coder.anchor import Anchorer, QuoteAmbiguous, QuoteNotFound

        if self._anchorer is None:
            self._anchorer = Anchorer(self.transcript.text)
        try:
            match = self._anchorer.find(spec, within=(turn.start, turn.end))
        except QuoteNotFound:
            raise InputError(f"'{_clip(spec, 30)}' is not in turn {turn.number}",
                             hint="type a fragment of it, or word numbers like 3-9 (w shows them)") from None
        except QuoteAmbiguous as exc:
            raise InputError(f"'{_clip(spec, 30)}' occurs {len(exc.spans)} times in turn {turn.number}",
                             hint="type more of it, or word numbers") from None
        except ValueError:
            raise InputError("type a fragment of the turn, or word numbers like 3-9") from None
        return match.start, match.end

    # -- changes ------------------------------------------------------------------------------------
    def add_coding(self, path: str, span: tuple[int, int] | None = None) -> CodingView:
        """Code the whole current turn, or span (offsets within it), with the code: through
        the writer every command adds codings with (one duplicate rule, one word count)."""
        from coder.coding import _Coder
        from coder.ingest import CodingRequest

        if path not in self.code_by_path:
            raise InputError(f"unknown code '{path}'")
        turn = self.current
        start, end = span or (turn.start, turn.end)
        if not turn.start <= start < end <= turn.end:
            raise InputError(f"the span {start}-{end} is not within turn {turn.number}")
        request = CodingRequest(row=0, transcript=self.transcript.name, code=path, start=str(start), end=str(end))
        writer = _Coder(self.store, self.coder, 100)
        with self.store.transaction():
            result = writer.resolve(request)
            writer.write("session.code", id=result.id, transcript=self.transcript.name, segment=turn.number,
                         start=start, end=end, code=path, coder=self.coder)
        if result.status == "duplicate":
            raise InputError(f"you have already coded {'this turn' if span is None else 'that text'} {path}")
        if result.status != "coded":
            raise InputError(result.message)
        coding_id = result.id
        self.undo_stack.append(("add", coding_id, turn.number, path))
        return next(c for c in self.codings(turn) if c.id == coding_id)

    def remove_coding(self, coding_id: str) -> dict:
        with self.store.transaction():
            row = self._coding_row(coding_id)
            coding_rows.remove(self.store, uuids=[coding_id])
            coding_rows.audit(self.store, "session.remove", removed=1, transcript=self.transcript.name,
                              **{k: row[k] for k in ("uuid", "code", "start", "end", "coder", "memo", "text")})
        self.undo_stack.append(("remove", row, row["segment"] or self.current.number))
        return row

    def set_memo(self, coding_id: str, text: str) -> None:
        """The coding's analytic memo (empty text removes it)."""
        memo = text.strip() or None
        with self.store.transaction():
            old = self._coding_row(coding_id)["memo"]
            coding_rows.set_memo(self.store, coding_id, memo)
            self.store.audit("session.memo", id=coding_id, transcript=self.transcript.name, memo=memo, previous=old)
        self.undo_stack.append(("memo", coding_id, old, self.current.number))

    def add_transcript_memo(self, text: str) -> None:
        if not text.strip():
            raise InputError("the memo is empty")
        with self.store.transaction():
            memo_id = memo_rows.add(self.store, target_type="transcript", target=self.transcript.name,
                                    author=self.coder, text=text.strip())
            self.store.audit("session.transcript_memo", id=memo_id, transcript=self.transcript.name)
        self.undo_stack.append(("transcript_memo", memo_id, self.current.number))

    def undo(self) -> str:
        """Take back this session's last change (each undo is saved and audited too); says what."""
        if not self.undo_stack:
            raise InputError("nothing to undo in this session")
        entry = self.undo_stack[-1]
        kind = entry[0]
        with self.store.transaction():
            if kind == "add":
                _, coding_id, number, path = entry
                coding_rows.remove(self.store, uuids=[coding_id])
                said = f"undid: {path} on turn {number}"
            elif kind == "remove":
                _, row, number = entry
                try:  # put back as it was: its id, stamps, memo and source
                    coding_rows.add(self.store, [NewCoding(*(row[f] for f in NewCoding._fields))],
                                    created_at=row["created_at"], updated_at=row["updated_at"])
                except Exception as exc:
                    if "UNIQUE" not in str(exc):
                        raise
                    raise InputError("cannot undo the removal: the same coding was added again since") from None
                said = f"undid the removal of {row['code']} on turn {number}"
            elif kind == "memo":
                _, coding_id, old, number = entry
                coding_rows.set_memo(self.store, coding_id, old)
                said = f"undid the memo change on turn {number}"
            else:
                _, memo_id, number = entry
                memo_rows.remove(self.store, memo_id)
                said = "undid the transcript memo"
            written = {"add": {"removed": 1}, "remove": {"added": 1}}.get(kind, {})
            coding_rows.audit(self.store, "session.undo", **written, undid=kind, transcript=self.transcript.name,
                              segment=number)
        self.undo_stack.pop()
        self.goto(number)
        return said

    def _coding_row(self, coding_id: str) -> dict:
        row = coding_rows.row(self.store, coding_id, self.transcript.id)
        if row is None:
            raise InputError("that coding is gone (removed by someone else?)")
        return row


# -- measuring text in terminal cells (the screen's, and error messages') ------------------------

# What joins the code points of one emoji into one picture (👩‍💼 is 👩, a zero-width joiner and
# 💼; 👍🏽 is 👍 and a skin tone): a terminal draws the picture in 2 cells, prompt_toolkit counts
# each part, and the two disagree by 2 or 3 cells, leaving stray characters after a redraw.
# The screen shows the parts side by side instead (`displayable`), which both count alike.
_JOINING = re.compile("[\u200d\ufe0e\ufe0f\U0001f3fb-\U0001f3ff]")


def displayable(text: str) -> str:
    """`text` with the joiners, emoji variation selectors and skin tones taken out: each
    picture of a joined emoji shown on its own, as wide as `cell_width` counts it."""
    return _JOINING.sub("", text) if _JOINING.search(text) else text


def cell_width(text: str) -> int:
    """Cells `text` takes on a terminal once `displayable`: 2 for a wide (East Asian, emoji)
    character, none for a combining mark or for what `displayable` takes out."""
    return sum(0 if unicodedata.combining(ch) or _JOINING.match(ch) else
               2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _clip(text: str, width: int) -> str:
    """One line of at most `width` cells, with … when cut."""
    text = " ".join(text.split())
    if cell_width(text) <= width:
        return text
    out, used = [], 0
    for ch in text:
        w = cell_width(ch)
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + "…" if width > 0 else ""
