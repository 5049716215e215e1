"""The project's values, one type per concept, shared from the store to the reports.

Statuses and kinds are `StrEnum`s: each member is the very string the database holds and
the JSON shows ('ok', 'coding'), so it is written, compared and printed as that string.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class CodingStatus(StrEnum):
    """Where a coding's text is."""
    OK = "ok"  # where it says
    ORPHANED = "orphaned"  # deleted by an edit of the transcript; the coding is kept, never dropped


class MemoType(StrEnum):
    """What a memo is on, in the order memo lists show them."""
    PROJECT = "project"
    TRANSCRIPT = "transcript"
    CODE = "code"
    CODING = "coding"


@dataclass(frozen=True)
class Segment:
    """A speaker turn (or paragraph) of a transcript, as read from its file (coder/ingest.py),
    stored (store/transcripts.py) and shown by `coder session` one at a time."""
    number: int  # 1-based within the transcript
    speaker: str | None
    start: int
    end: int
    text: str
    start_ms: int | None = None  # when the turn was said (subtitles, spreadsheets with times)
    end_ms: int | None = None
