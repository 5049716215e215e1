"""Orphaned codings and putting them back (`coder code orphans`, `coder code place`).

A coding is orphaned when its transcript was edited and re-imported and its text could not
be found again (coder/importing.py re-anchors the others). It keeps the passage it was coded
on (`text`), so the places that passage may have gone to can be proposed: each turn of the
transcript is ranked by how much of the passage it holds (rapidfuzz's partial ratio over a
cheap fold, for every turn at once), and the best few turns are searched for the passage's
exact span with the anchoring `code quote` uses (coder/anchor.py), which gives the score
shown. `place` puts one back where a person says; `place_confident` puts back each whose
best place scores at least a threshold and is the only place scoring so.
"""
from __future__ import annotations

from dataclasses import dataclass

from coder.errors import InputError
from coder.store import Store
from coder.store import codings as coding_rows
from coder.store import transcripts as transcript_rows
from coder.text import WORD

CANDIDATES = 3  # places proposed per orphaned coding
RANKED_TURNS = 6  # turns searched for the exact span, after the cheap ranking
AUTO_THRESHOLD = 90.0


@dataclass(frozen=True)
class Candidate:
    segment: int
    start: int
    end: int
    score: float  # 0..100, as `code quote` scores a quote
    text: str

    def as_json(self) -> dict:
        return {"segment": self.segment, "start": self.start, "end": self.end, "score": self.score,
                "text": self.text}


@dataclass(frozen=True)
class Orphan:
    id: str
    transcript: str
    code: str
    coder: str
    memo: str | None
    text: str  # the passage as it was coded
    candidates: tuple[Candidate, ...]

    def as_json(self) -> dict:
        return {"id": self.id, "transcript": self.transcript, "code": self.code, "coder": self.coder,
                "memo": self.memo, "text": self.text, "candidates": [c.as_json() for c in self.candidates]}


class _Transcript:
    """A transcript's text and turns, and an anchorer over them, read once for all its orphans."""

    def __init__(self, store: Store, transcript_id: int):
        from coder.anchor import Anchorer

        self.turns = transcript_rows.segments(store, transcript_id)  # (number, speaker, start, end, text)
        self.text = transcript_rows.text(store, transcript_id)
        self.anchorer = Anchorer(self.text, turns=[(start, end) for _, _, start, end, _ in self.turns],
                                 speakers={speaker for _, speaker, *_ in self.turns if speaker})
        from rapidfuzz import utils

        self.folded = [utils.default_process(turn[4]) for turn in self.turns]

    def candidates(self, passage: str, *, limit: int = CANDIDATES) -> list[Candidate]:
        """The best places for the passage, best first: a place per turn, scored by the anchoring."""
        from rapidfuzz import fuzz, process, utils

        from coder.anchor import QuoteAmbiguous, QuoteNotFound

        query = utils.default_process(passage)
        if not query.strip() or not self.turns:
            return []
        ranked = process.extract(query, self.folded, scorer=fuzz.partial_ratio, limit=RANKED_TURNS,
                                 processor=None)
        found = []
        for _, _, index in ranked:
            number, _, start, end, _ = self.turns[index]
            try:
                match = self.anchorer.find(passage, threshold=0.0, within=(start, end))
                span, score = (match.start, match.end), match.score
            except QuoteAmbiguous as exc:
                span, score = exc.spans[0], exc.score
            except (QuoteNotFound, ValueError):
                continue
            found.append(Candidate(number, span[0], span[1], round(score, 1), self.text[span[0]:span[1]]))
        found.sort(key=lambda c: (-c.score, c.segment))
        return found[:limit]

    def segment_of(self, offset: int) -> int:
        number = 1
        for turn_number, _, start, _, _ in self.turns:
            if start <= offset:
                number = turn_number
        return number


def listing(store: Store, *, transcript: str | None = None, limit: int = CANDIDATES) -> list[Orphan]:
    """Every orphaned coding (of one transcript) with its best places."""
    transcript_id = _transcript_id(store, transcript) if transcript else None
    texts: dict[int, _Transcript] = {}
    orphans = []
    for row in coding_rows.orphaned(store, transcript_id=transcript_id):
        found = texts.get(row["transcript_id"])
        if found is None:
            found = texts[row["transcript_id"]] = _Transcript(store, row["transcript_id"])
        orphans.append(Orphan(row["uuid"], row["transcript"], row["code"], row["coder"], row["memo"], row["text"],
                              tuple(found.candidates(row["text"], limit=limit))))
    return orphans


def _transcript_id(store: Store, name: str) -> int:
    from coder.transcripts import require_transcript

    return require_transcript(store, name).id


@dataclass(frozen=True)
class Placed:
    id: str
    transcript: str
    code: str
    coder: str
    segment: int
    start: int
    end: int
    text: str
    old_text: str
    score: float | None


def _one_orphan(store: Store, ref: str) -> dict:
    from coder.coding import coding_id_prefix

    prefix = coding_id_prefix(ref)
    rows = coding_rows.orphaned(store, uuid_prefix=prefix)
    if not rows:
        if coding_rows.by_id_prefix(store, prefix):
            raise InputError(f"coding '{ref}' is not orphaned: it is where its text is",
                             hint="move a coding by removing it and coding the place you want")
        raise InputError(f"no coding with id '{ref}'", hint="see `coder code orphans`")
    if len(rows) > 1:
        raise InputError(f"coding id '{ref}' matches {len(rows)} orphaned codings", hint="give more of the id")
    return rows[0]


def _move(store: Store, row: dict, transcript: _Transcript, start: int, end: int, score: float | None) -> Placed:
    """Put the orphaned coding on start-end (within the caller's transaction)."""
    if coding_rows.exists_at(store, row["transcript_id"], start, end, row["code"], row["coder"]):
        raise InputError(f"{row['coder']} has coded {row['code']} on exactly that text already; nothing was changed",
                         hint=f"remove the orphaned coding instead: `coder code remove {row['uuid'][:8]}`")
    text = transcript.text[start:end]
    segment = transcript.segment_of(start)
    coding_rows.move(store, row["id"], start=start, end=end, segment=segment, text=text,
                     words=sum(1 for _ in WORD.finditer(text)))
    return Placed(row["uuid"], row["transcript"], row["code"], row["coder"], segment, start, end, text, row["text"],
                  score)


def _audit_placed(store: Store, placed: Placed, how: str) -> None:
    coding_rows.audit(store, "code.place", id=placed.id, transcript=placed.transcript, code=placed.code,
                      coder=placed.coder, segment=placed.segment, start=placed.start, end=placed.end,
                      text=placed.text, before=placed.old_text, after=placed.text, how=how, score=placed.score)


def place(store: Store, ref: str, *, segment: int | None = None, quote: str | None = None,
          threshold: float = 85.0) -> Placed:
    """Put one orphaned coding back: on segment N (the whole turn), or on a quote (found as
    `code quote` finds it, within segment N when that is given too)."""
    if segment is None and not (quote or "").strip():
        raise InputError("say where to place it: --segment N (the whole turn) or --quote \"...\"",
                         hint="`coder code orphans` proposes places")
    with store.transaction():
        row = _one_orphan(store, ref)
        transcript = _Transcript(store, row["transcript_id"])
        within = None
        if segment is not None:
            turn = next((t for t in transcript.turns if t[0] == segment), None)
            if turn is None:
                raise InputError(f"'{row['transcript']}' has segments 1-{len(transcript.turns)}, not {segment}")
            within = (turn[2], turn[3])
        if quote and quote.strip():
            from coder.anchor import QuoteAmbiguous, QuoteNotFound

            try:
                match = transcript.anchorer.find(quote, threshold=threshold, within=within)
            except QuoteNotFound as exc:
                best = f" (best match scored {exc.best_score:.0f})" if exc.best_score else ""
                raise InputError(f"quote not found in '{row['transcript']}'{best}; nothing was changed") from None
            except QuoteAmbiguous as exc:
                places = ", ".join(f"{s}-{e}" for s, e in exc.spans[:4])
                raise InputError(f"quote found at several places in '{row['transcript']}' ({places}); nothing was "
                                 "changed", hint="quote more words, or give --segment N too") from None
            except ValueError:
                raise InputError("the quote has no words") from None
            placed = _move(store, row, transcript, match.start, match.end, round(match.score, 1))
            _audit_placed(store, placed, "quote")
        else:
            placed = _move(store, row, transcript, within[0], within[1], None)
            _audit_placed(store, placed, "segment")
    return placed


@dataclass(frozen=True)
class AutoPlaced:
    placed: tuple[Placed, ...]
    left: tuple[Orphan, ...]  # no place scoring at least the threshold, two such places, or coded there already


def place_confident(store: Store, *, threshold: float = AUTO_THRESHOLD, transcript: str | None = None) -> AutoPlaced:
    """Put back every orphaned coding (of a transcript) whose best place scores at least
    `threshold` and is the only place that does, in one transaction; the rest stay orphaned."""
    placed, left = [], []
    with store.transaction():
        transcript_id = _transcript_id(store, transcript) if transcript else None
        texts: dict[int, _Transcript] = {}
        for row in coding_rows.orphaned(store, transcript_id=transcript_id):
            found = texts.get(row["transcript_id"])
            if found is None:
                found = texts[row["transcript_id"]] = _Transcript(store, row["transcript_id"])
            candidates = found.candidates(row["text"], limit=2)
            orphan = Orphan(row["uuid"], row["transcript"], row["code"], row["coder"], row["memo"], row["text"],
                            tuple(candidates))
            confident = [c for c in candidates if c.score >= threshold]
            if len(confident) != 1 or coding_rows.exists_at(store, row["transcript_id"], confident[0].start,
                                                           confident[0].end, row["code"], row["coder"]):
                left.append(orphan)
                continue
            best = confident[0]
            placed.append(_move(store, row, found, best.start, best.end, best.score))
        if placed:
            coding_rows.audit(store, "code.orphans.auto", threshold=threshold, placed=[p.id for p in placed],
                              left=[o.id for o in left])
    return AutoPlaced(tuple(placed), tuple(left))
