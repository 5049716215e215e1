"""Coding: adding codings by segment, quote or exact span (`code add`, `code quote`, `code
apply`, autocode, merge, REFI-QDA import all go through `_Coder`), and removing one.

Each public function is one command's work against a `Store`, in one transaction, and
returns plain result values for the CLI to print. Nothing here prints.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from coder.codebook_load import resolve
from coder.errors import InputError, PartialFailure, UnknownCode
from coder.ingest import CodingRequest, coding_requests, segment_at, segment_number
from coder.store import Store
from coder.store import codebook as codebook_rows
from coder.store import codings as coding_rows
from coder.store import transcripts as transcript_rows
from coder.store.codings import NewCoding
from coder.text import WORD as _WORD  # what a word is: one definition


APPLY_STATUSES = ("coded", "duplicate", "not_found", "ambiguous", "unknown_code", "unknown_transcript", "mismatch")


@dataclass(slots=True)  # not frozen: a batch makes one per row, and frozen ones cost 6x as much to make
class CodingResult:
    row: int
    status: str
    transcript: str | None
    code: str | None
    segment: int | None
    start: int | None
    end: int | None
    score: float | None
    message: str = ""
    id: str | None = None

    def as_json(self) -> dict:
        return {"row": self.row, "status": self.status, "transcript": self.transcript, "code": self.code,
                "segment": self.segment, "start": self.start, "end": self.end, "score": self.score,
                "reason": self.message or None}  # why a row failed; null for coded and duplicate rows


class _Coder:
    """Resolves requests against the store with per-transcript caches, then writes the new
    codings with one executemany. Used by `code add`, `code quote` and `code apply`."""

    def __init__(self, store: Store, default_coder: str, threshold: float, *, coder_wins: bool = False,
                 source: str | None = None):
        self.store = store
        self.default_coder = default_coder
        self.coder_wins = coder_wins  # the coder named on the command line, over a file's coder column
        self.source = source  # what wrote the codings when not a person ('autocode')
        self.threshold = threshold
        self.code_cache: dict[str, str | UnknownCode] = {}
        self.transcripts: dict[str, tuple | None] = {}
        # A few recent transcripts' anchorers (each indexes a whole text): a batch is mostly
        # grouped by transcript, and keeping all of them would hold every text's index at once.
        self.anchorers: dict[int, object] = {}
        self.existing: dict[int, set[tuple]] = {}  # per transcript: (start, end, code, coder)
        self.pending: list[tuple] = []
        self.words: dict[tuple[int, int, int], int] = {}  # (transcript, start, end) -> words
        self.ids = self._new_ids()
        self.written = 0  # codings inserted by flush() so far
        # what they were, for the audit row: their transcripts (ids) and codes, and the last one
        self.touched: set[int] = set()
        self.codes_written: set[str] = set()
        self.last: NewCoding | None = None

    def _code(self, ref: str) -> str:
        cached = self.code_cache.get(ref)
        if cached is None:
            try:
                cached = resolve(self.store, ref)
                if codebook_rows.is_retired(self.store, cached):
                    cached = UnknownCode(f"code '{cached}' is retired (no longer in the codebook): it keeps its "
                                         "codings but takes no new ones", hint="code with a code of the codebook")
            except UnknownCode as exc:
                cached = exc
            self.code_cache[ref] = cached
        if isinstance(cached, UnknownCode):
            raise cached
        return cached

    def _transcript(self, name: str):
        """(row, segment bounds, segment starts) of a transcript, or None; read once."""
        found = self.transcripts.get(name, False)
        if found is False:
            row = self.store.transcript(name)
            if row is None:
                found = None
            else:
                bounds = self.store.segment_bounds(row.id)
                found = (row, bounds, [b[1] for b in bounds])
            self.transcripts[name] = found
        return found

    def _existing(self, transcript_id: int, text: str) -> dict[tuple, tuple[int, int]]:
        """The codings a transcript has, read when the batch first touches it (the work
        grows with the batch, not with the project): (start, end, code, coder) of each, and
        of its words without the punctuation at its ends, mapped to its span."""
        existing = self.existing.get(transcript_id)
        if existing is None:
            existing = self.existing[transcript_id] = {}
            for start, end, code, coder in coding_rows.spans_of_transcript(self.store, transcript_id):
                existing[start, end, code, coder] = (start, end)
                existing.setdefault((*_words_span(text, start, end), code, coder, ""), (start, end))
        return existing

    @staticmethod
    def _words(span: str) -> int:
        return len(_WORD.findall(span))  # count_words, without a generator step per word

    _VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}

    @classmethod
    def _new_ids(cls) -> Iterator[str]:
        """Random (version 4) UUIDs, as str(uuid.uuid4()) writes them, from one os.urandom
        call per 512: uuid.uuid4() alone took a fifth of the time of coding a segment."""
        while True:
            block = os.urandom(16 * 512).hex()
            for i in range(0, len(block), 32):
                h = block[i:i + 32]
                yield f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{cls._VARIANT[h[16]]}{h[17:20]}-{h[20:]}"

    def resolve(self, req: CodingRequest) -> CodingResult:
        base = dict(row=req.row, transcript=req.transcript or None, code=req.code or None)
        try:
            code = self._code(req.code)
        except UnknownCode as exc:
            return CodingResult(status="unknown_code", segment=None, start=None, end=None, score=None,
                                message=str(exc), **base)
        base["code"] = code
        found = self._transcript(req.transcript)
        if found is None:
            return CodingResult(status="unknown_transcript", segment=None, start=None, end=None, score=None,
                                message=f"unknown transcript '{req.transcript}'", **base)
        transcript, bounds, starts = found
        segment_no = None
        if req.segment.strip():
            segment_no = segment_number(req.segment)
            if segment_no is None:
                return CodingResult(status="not_found", segment=None, start=None, end=None, score=None,
                                    message=f"segment '{req.segment.strip()}' is not a number (digits 0-9 only)",
                                    **base)
            if not 1 <= segment_no <= len(bounds):
                return CodingResult(status="not_found", segment=segment_no, start=None, end=None, score=None,
                                    message=f"'{req.transcript}' has segments 1-{len(bounds)}, not {segment_no}",
                                    **base)
        exact = bool(req.start.strip() or req.end.strip())  # a span as given: only that span is the same
        if exact:
            result = self._span(req, transcript, base)
            if isinstance(result, CodingResult):
                return result
            (start, end), score, segment_no = result, None, None
        elif req.quote.strip():
            result = self._anchor(req, transcript, bounds, segment_no, base)
            if isinstance(result, CodingResult):
                return result
            start, end, score = result
        elif segment_no is not None:
            _, start, end = bounds[segment_no - 1]
            score = None
        else:
            return CodingResult(status="not_found", segment=None, start=None, end=None, score=None,
                                message="row has neither a segment nor a quote", **base)
        segment = segment_at(starts, start) if segment_no is None else segment_no
        coder = self.default_coder if self.coder_wins else (req.coder.strip() or self.default_coder)
        key = (start, end, code, coder)
        existing = self._existing(transcript.id, transcript.text)
        # The same words with or without a full stop or quotation mark at an end are one passage.
        words_key = (*_words_span(transcript.text, start, end), code, coder, "")
        same = existing.get(key) if exact else existing.get(key) or existing.get(words_key)
        if same is not None:
            return CodingResult(req.row, "duplicate", base["transcript"], code, segment, *same, score)
        existing[key] = (start, end)
        existing.setdefault(words_key, (start, end))
        coding_id = req.uuid or next(self.ids)
        span = transcript.text[start:end]
        words = self.words.get((transcript.id, start, end))
        if words is None:  # a span coded twice (two codes, two coders) is counted once
            words = self.words[transcript.id, start, end] = self._words(span)
        self.pending.append(NewCoding(coding_id, transcript.id, segment, start, end, code, coder,
                                      req.memo.strip() or None, span, words, self.source))
        return CodingResult(req.row, "coded", base["transcript"], code, segment, start, end, score, "", coding_id)

    @staticmethod
    def _span(req: CodingRequest, transcript, base) -> tuple[int, int] | CodingResult:
        """The row's start and end, checked: within the text, and over the row's text if it
        has one (else the file was made from another version of the transcript)."""
        start, end = segment_number(req.start), segment_number(req.end)
        if start is None or end is None or not start < end <= len(transcript.text):
            return CodingResult(status="not_found", segment=None, start=start, end=end, score=None,
                                message=f"start '{req.start.strip()}' and end '{req.end.strip()}' are not a span of "
                                        f"'{req.transcript}' (0-{len(transcript.text)}, start before end)", **base)
        expected = req.text.replace("\r\n", "\n")
        actual = transcript.text[start:end]
        if expected.strip() and expected != actual:
            return CodingResult(status="mismatch", segment=None, start=start, end=end, score=None,
                                message=f"the text at {start}-{end} of '{req.transcript}' is "
                                        f"{_clipped(actual)}, not the row's {_clipped(expected)}; it was coded in "
                                        "another version of the transcript (drop start and end to find it by "
                                        "its text as a quote)", **base)
        return start, end

    def place(self, transcript: str, start: int, end: int, code: str, coder: str, memo: str | None, *,
              coding_id: str, source: str | None = None, orphaned_text: str | None = None) -> tuple[str, int, int]:
        """A coding whose transcript, span and code are already settled (`coder merge`), kept
        under its own id: ("coded", start, end), or ("duplicate", start, end) of the coding
        already there, judged as `resolve` judges; `source` as the coding had it. With
        `orphaned_text` it is kept orphaned (the passage it was coded on, which this
        transcript's text no longer holds)."""
        transcript_row, _, starts = self._transcript(transcript)
        existing = self._existing(transcript_row.id, transcript_row.text)
        key = (start, end, code, coder)
        words_key = None if orphaned_text is not None else (*_words_span(transcript_row.text, start, end), code,
                                                             coder, "")
        same = existing.get(key) or (existing.get(words_key) if words_key else None)
        if same is not None:
            return "duplicate", *same
        existing[key] = (start, end)
        if orphaned_text is not None:
            self.pending.append(NewCoding(coding_id, transcript_row.id, None, start, end, code, coder, memo,
                                          orphaned_text, self._words(orphaned_text), source, "orphaned"))
            return "coded", start, end
        existing.setdefault(words_key, (start, end))
        span = transcript_row.text[start:end]
        self.pending.append(NewCoding(coding_id, transcript_row.id, segment_at(starts, start), start, end, code,
                                      coder, memo, span, self._words(span), source))
        return "coded", start, end

    def _anchor(self, req: CodingRequest, transcript, bounds, segment_no, base):
        from coder.anchor import Anchorer, QuoteAmbiguous, QuoteNotFound

        anchorer = self.anchorers.get(transcript.id)
        if anchorer is None:
            if len(self.anchorers) >= 4:
                del self.anchorers[next(iter(self.anchorers))]  # the oldest
            # a quote lies inside one turn's words: never the front matter, a speaker label, two turns
            speakers = transcript_rows.speaker_labels(self.store, transcript.id)
            anchorer = self.anchorers[transcript.id] = Anchorer(
                transcript.text, turns=[(start, end) for _, start, end in bounds], speakers=speakers)
        within = (bounds[segment_no - 1][1], bounds[segment_no - 1][2]) if segment_no else None
        try:
            match = anchorer.find(req.quote, threshold=self.threshold, within=within)
        except QuoteNotFound as exc:
            best = f" (best match scored {exc.best_score:.0f})" if exc.best_score else ""
            where = "; a quote must lie within one turn, it runs across two" if exc.across_turns else ""
            return CodingResult(status="not_found", segment=segment_no, start=None, end=None, score=exc.best_score,
                                message=f"quote not found in '{req.transcript}'{best}{where}", **base)
        except QuoteAmbiguous as exc:
            places = ", ".join(f"{s}-{e}" for s, e in exc.spans[:4])
            return CodingResult(status="ambiguous", segment=segment_no, start=None, end=None, score=exc.score,
                                message=f"quote found at several places in '{req.transcript}' ({places}); "
                                        "quote more words, or give the segment", **base)
        except ValueError:
            return CodingResult(status="not_found", segment=segment_no, start=None, end=None, score=None,
                                message="the quote has no words", **base)
        return match.start, match.end, round(match.score, 1)

    def write(self, action: str, **details) -> None:
        """Flush, and write the batch's audit row: how many codings, in which transcripts, with
        which codes (unless `details` say), and where a single one went."""
        self.flush()
        if self.written:
            if "transcripts" not in details:
                names = transcript_rows.names_by_id(self.store, self.touched)
                details["transcripts"] = sorted(names.values())
            details.setdefault("codes", sorted(self.codes_written))
            if self.written == 1 and self.last is not None:
                details.setdefault("segment", self.last.segment)
                details.setdefault("start", self.last.start)
                details.setdefault("end", self.last.end)
                details.setdefault("id", self.last.uuid)
            coding_rows.audit(self.store, action, added=self.written, **details)

    def flush(self) -> None:
        """Insert the pending codings now, within the caller's transaction: a long batch then
        holds a few thousand rows at a time, not all of them."""
        if not self.pending:
            return
        self.written += coding_rows.add(self.store, self.pending)
        self.touched.update({c.transcript_id for c in self.pending})
        self.codes_written.update({c.code for c in self.pending})
        self.last = self.pending[-1]
        self.pending = []

    def forget(self, name: str) -> None:
        """Drop what is cached about a transcript the batch is done with (its text, segments
        and codings), so a batch over a whole corpus holds one transcript's at a time."""
        self.flush()  # a transcript read again later must see this batch's codings of it
        found = self.transcripts.pop(name, None)
        if found:
            self.existing.pop(found[0].id, None)
            self.anchorers.pop(found[0].id, None)
            self.words.clear()


def add_codings(store: Store, requests: list[CodingRequest], *, coder: str, threshold: float,
                action: str = "code.add", source: str | None = None, **details) -> list[CodingResult]:
    """Code what the requests ask for, in one transaction; `details` go into the audit row."""
    worker = _Coder(store, coder, threshold, source=source)
    with store.transaction():
        results = [worker.resolve(req) for req in requests]
        worker.write(action, **details)
    return results


def _clipped(text: str, width: int = 40) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= width else text[:width - 1] + "…")


# `code apply` reads, resolves and writes this many rows at a time, and keeps this many
# transcripts' texts, segments and codings at once (the least recently coded one is dropped):
# its memory is then the same for 1,000 rows or 1,000,000.
APPLY_BATCH = 5_000
APPLY_TRANSCRIPTS = 8


def apply_codings(store: Store, path: Path, *, coder: str, threshold: float,
                  coder_wins: bool = False) -> list[CodingResult]:
    """apply_coding_rows's results as a list (for a small file)."""
    return list(apply_coding_rows(store, path, coder=coder, threshold=threshold, coder_wins=coder_wins))


def apply_coding_rows(store: Store, path: Path, *, coder: str, threshold: float,
                      coder_wins: bool = False) -> Iterator[CodingResult]:
    """Apply a CSV of codings, in one transaction that commits when the last result has been
    taken (take them all). A row's coder column names its coder (so codings moved between
    projects keep theirs); an empty cell, or every row when `coder_wins` (the coder named on
    the command line), is `coder`. A row with start and end codes exactly that span. The file
    is checked before this returns; then each row's result comes as it is resolved, a batch
    at a time, and no row is kept after it."""
    requests = coding_requests(path)
    return _apply_requests(store, requests, _Coder(store, coder, threshold, coder_wins=coder_wins), str(path))


def _apply_requests(store: Store, requests: Iterator[CodingRequest], worker: _Coder,
                    source: str) -> Iterator[CodingResult]:
    import itertools

    recent: dict[str, None] = {}  # the transcripts the worker holds, least recently coded first
    coding_rows.for_bulk_write(store)
    with store.transaction():
        while batch := list(itertools.islice(requests, APPLY_BATCH)):
            for req in batch:
                name = req.transcript
                if name in recent:
                    del recent[name]
                elif len(recent) >= APPLY_TRANSCRIPTS:
                    oldest = next(iter(recent))
                    del recent[oldest]
                    worker.forget(oldest)  # writes the pending codings: read again, it sees them
                recent[name] = None
                yield worker.resolve(req)
            worker.flush()
        worker.write("code.apply", source=source)


def ensure_counts_ok(counts: dict[str, int], *, ok: tuple[str, ...], what: str) -> None:
    """ensure_all_ok for results already counted by status."""
    failed = sum(n for status, n in counts.items() if status not in ok)
    if failed:
        raise PartialFailure(f"{failed} of {sum(counts.values())} {what} failed")


_ID_PREFIX = re.compile(r"[0-9a-f-]+")


def coding_id_prefix(ref: str) -> str:
    """The start of a coding's UUID as typed, checked: hex digits and dashes, at least 6 (so
    no LIKE wildcard, % or _, can reach the query)."""
    ref = ref.strip().lower()
    if not _ID_PREFIX.fullmatch(ref):
        raise InputError(f"'{ref}' is not a coding id", hint="an id is hex digits and dashes; see `coder code list`")
    if len(ref) < 6:
        raise InputError(f"coding id '{ref}' is too short", hint="give at least 6 characters of the id")
    return ref


def remove_coding(store: Store, ref: str) -> dict:
    ref = coding_id_prefix(ref)
    with store.transaction():
        rows = coding_rows.by_id_prefix(store, ref)
        if not rows:
            raise InputError(f"no coding with id '{ref}'", hint="see `coder code list`")
        if len(rows) > 1:
            raise InputError(f"coding id '{ref}' matches {len(rows)} codings", hint="give more of the id")
        row = rows[0]
        del row["id"]
        coding_rows.remove(store, uuids=[row["uuid"]])
        coding_rows.audit(store, "code.remove", removed=1, **row)  # the audit row keeps what restores it
    return row


def _words_span(text: str, start: int, end: int) -> tuple[int, int]:
    """The span without the punctuation and spaces at its ends (itself if it has no words, or
    lies beyond the text: an orphaned coding's old place in a text since shortened)."""
    lo, hi = start, min(end, len(text))
    while lo < hi and not text[lo].isalnum():
        lo += 1
    while hi > lo and not text[hi - 1].isalnum():
        hi -= 1
    return (lo, hi) if lo < hi else (start, end)

