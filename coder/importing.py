"""Importing transcripts into a project: files and folders, survey spreadsheets (one
transcript per respondent), transcripts inside another file (REFI-QDA), and re-importing a
changed file (its codings re-anchored to where their text now is).

Each public function is one command's work against a `Store`, in one transaction, and
returns plain result values for the CLI to print. Nothing here prints.
"""
from __future__ import annotations

import codecs
import hashlib
import json
import os
import time
import unicodedata
from collections import Counter
from dataclasses import asdict, dataclass, replace as _replace
from pathlib import Path
from typing import Callable

from coder.errors import InputError, NotATranscript
from coder.ingest import Transcript, discover, front_matter_case, max_bytes, segment_at, transcript_name
from coder.readers import SPREADSHEET_SUFFIXES, read_survey, read_transcript
from coder.store import Store, new_uuid
from coder.store import cases as case_rows
from coder.store import codings as coding_rows
from coder.store import transcripts as transcript_rows
from coder.store.transcripts import SourceFile
from coder.text import count_words, is_text, read_regular_file


@dataclass(frozen=True)
class ImportResult:
    path: str
    transcript: str | None
    case: str | None
    status: str  # imported | unchanged | updated | error | skipped (a spreadsheet in a folder that is no transcript)
    segments: int
    message: str

    def as_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class _Previous:
    """What the project holds of a transcript, to tell whether its file changed."""
    id: int
    sha256: str
    case: str | None
    file_path: str | None  # the file's absolute path, size, ... when it was last read (transcript_files)
    size: int | None
    mtime_ns: int | None
    named_case: str | None
    segments: int | None


# A file modified less than this before it was read may change again within the same
# timestamp tick: its size and time are not kept, and the next import hashes it (git's
# "racy clean" rule).
RACY_NS = 2_000_000_000
SURVEY_BATCH = 2000  # respondents written per batch of statements


def import_transcripts(store: Store, paths: list[Path], *, case: str | None = None, checksum: bool = False,
                       replace: bool = False,
                       progress: Callable[[int, int], None] | None = None,
                       follow_links: bool = False, text_columns: list[str] | None = None) -> list[ImportResult]:
    """Import files and folders. A file whose size and modification time are as when it was
    last read is unchanged, without reading it (as make, git and rsync judge); with
    `checksum`, every file's bytes are hashed instead. A file named as a transcript that was
    imported from another file, with other text, is refused (another interview with the
    same file name) unless `replace` says it is the new version of that transcript. With
    `text_columns`, each spreadsheet holds survey answers, one transcript per respondent
    (`readers.read_survey`)."""
    problems: list[tuple[str, str]] = []
    files = discover(paths, follow_links=follow_links, problems=problems)
    if not files and not problems:
        from coder.readers import FORMATS

        raise InputError(f"no transcripts found (coder imports {FORMATS})", path=", ".join(str(p) for p in paths))
    named = {str(p) for p in paths}  # files asked for by name: a spreadsheet that is no transcript is an error
    # entries that could not be read are reported, and the rest imports
    results: list[ImportResult] = [ImportResult(path, transcript_name(Path(path)), None, "error", 0,
                                                f"{path}: {message}") for path, message in problems]
    seen: dict[str, str] = {}
    with store.transaction():
        # read under the write lock: another import that committed meanwhile is seen
        existing = {unicodedata.normalize("NFC", r[0]): _Previous(*r[1:])
                    for r in transcript_rows.imported_files(store)}
        for index, path in enumerate(files):
            if text_columns and path.suffix.lower() in SPREADSHEET_SUFFIXES:
                results.extend(_import_survey(store, path, text_columns, case, existing, seen, replace))
            else:
                results.append(_import_one(store, path, case, existing, seen, checksum, replace,
                                           in_folder=str(path) not in named))
            if progress:
                progress(index + 1, len(files))
        tally = Counter(r.status for r in results)
        counts = {s: tally[s] for s in ("imported", "updated", "unchanged", "error")}
        if counts["imported"] or counts["updated"]:
            store.audit("import", files=len(files), **counts)
    return results


def _import_one(store: Store, path: Path, case: str | None, existing: dict, seen: dict,
                checksum: bool, replace: bool = False, *, in_folder: bool = False) -> ImportResult:
    name = transcript_name(path)
    if not is_text(str(path)):  # bytes that are not UTF-8 in its name: no transcript can be called that
        error = InputError("the file name is not valid UTF-8", path=str(path), hint="rename the file")
        shown = os.fsencode(path).decode("utf-8", "backslashreplace")  # f\xff.txt, as the message shows it
        return ImportResult(shown, None, None, "error", 0, str(error))
    if name in seen:
        return ImportResult(str(path), name, None, "error", 0,
                            f"{path}: another file in this batch is also named '{name}' ({seen[name]}); rename one")
    seen[name] = str(path)
    previous: _Previous | None = existing.get(name)
    try:
        stat = path.stat()  # before reading: a change made while it is read shows next time
    except OSError:
        stat = None
    if previous is not None and stat is not None:
        unchanged = _unchanged(store, path, stat, case, previous, checksum)
        if unchanged is not None:
            return unchanged
    try:
        transcript = read_transcript(path, case=case)
    except NotATranscript as exc:  # a codings or cases CSV kept beside the transcripts
        if in_folder:
            return ImportResult(str(path), name, None, "skipped", 0,
                                f"{path}: a spreadsheet without a 'text' column, not a transcript; passed over")
        return ImportResult(str(path), name, None, "error", 0, str(exc))
    except InputError as exc:
        return ImportResult(str(path), name, None, "error", 0, str(exc))
    return _store_read(store, path, stat, transcript, case, previous, replace)


def _import_survey(store: Store, path: Path, text_columns: list[str], case: str | None, existing: dict,
                   seen: dict, replace: bool) -> list[ImportResult]:
    """Each respondent of a survey spreadsheet as a transcript, through the same path as a
    file; a file that cannot be read is one error, and none of its respondents is stored
    (the savepoint)."""
    results = []
    try:
        stat = path.stat()
    except OSError:
        stat = None
    cases: set[str] = set()  # made once each, not once per respondent
    new: list[tuple] = []  # respondents never imported: written SURVEY_BATCH at a time
    shown, absolute = str(path), os.path.abspath(path)
    try:
        with store.savepoint("survey"):
            for transcript in read_survey(path, text_columns, case=case):
                name = transcript.name
                if name in seen:
                    raise InputError(f"respondent '{name}' appears twice ({seen[name]})", path=str(path),
                                     hint="each row needs its own id")
                seen[name] = str(path)
                previous = existing.get(name)
                if previous is not None:
                    results.append(_store_read(store, path, stat, transcript, case, previous, replace,
                                               survey=cases))
                    continue
                if transcript.case and transcript.case not in cases:
                    store.ensure_case(transcript.case)
                    cases.add(transcript.case)
                # many respondents share the file: its size and time never vouch for one of them
                segments = len(transcript.segments)
                new.append((transcript, SourceFile(shown, absolute, None, None, transcript.named_case, segments)))
                results.append(ImportResult(shown, name, transcript.case, "imported", segments, ""))
                if len(new) >= SURVEY_BATCH:
                    transcript_rows.insert_new(store, new)
                    new = []
            transcript_rows.insert_new(store, new)
    except InputError as exc:
        return [ImportResult(str(path), transcript_name(path), None, "error", 0, str(exc))]
    return results


def _store_read(store: Store, path: Path, stat, transcript: Transcript, case: str | None,
                previous: _Previous | None, replace: bool, *, survey: set[str] | None = None) -> ImportResult:
    """Insert or update a transcript read from `path` (`survey`: the cases already made for
    the survey it is a respondent of)."""
    name = transcript.name
    if survey is not None:
        stat = None  # many transcripts share the file: its size and time never vouch for one of them
    if case is None and transcript.case is not None:  # the front matter may name a case since renamed
        current = case_rows.current_name(store, transcript.case)
        if current != transcript.case:
            transcript = _replace(transcript, case=current)
    if (previous is not None and not replace and previous.sha256 != transcript.sha256
            and previous.file_path is not None and previous.file_path != os.path.abspath(path)):
        return ImportResult(str(path), name, previous.case, "error", 0,
                            f"{path}: transcript '{name}' was imported from another file, {previous.file_path}, "
                            "with other text; rename this file to import it as another transcript, or pass "
                            "--replace if it is the new version of that one")
    if transcript.case and (survey is None or transcript.case not in survey):
        store.ensure_case(transcript.case)
        if survey is not None:
            survey.add(transcript.case)
    if previous is None:
        source = _source(path, stat, transcript.named_case, len(transcript.segments))
        transcript_rows.insert(store, transcript, source, uuid=new_uuid())
        return ImportResult(str(path), name, transcript.case, "imported", len(transcript.segments), "")
    transcript_rows.remember_file(store, previous.id, _source(path, stat, transcript.named_case, len(transcript.segments)))
    old_case = previous.case
    if previous.sha256 == transcript.sha256:
        if old_case == transcript.case or (case is None and transcript.case is None):
            return ImportResult(str(path), name, old_case, "unchanged", len(transcript.segments), "")
        transcript_rows.set_case(store, previous.id, transcript.case)
        return ImportResult(str(path), name, transcript.case, "updated", len(transcript.segments),
                            f"moved from case {old_case!r} to {transcript.case!r}" if old_case is not None
                            else f"assigned to case {transcript.case!r}")
    message = _update_transcript(store, previous.id, transcript)
    return ImportResult(str(path), name, transcript.case, "updated", len(transcript.segments), message)


def _unchanged(store: Store, path: Path, stat: os.stat_result, case: str | None, previous: _Previous,
               checksum: bool) -> ImportResult | None:
    """The result for a file that still holds exactly the text imported before, else None
    (then the full path decides). Told by its size and modification time when they are as
    recorded, else by hashing its bytes (without decoding or splitting them): re-importing a
    thousand unchanged transcripts takes a moment."""
    same_file = (not checksum and previous.size is not None and previous.file_path == os.path.abspath(path)
                 and previous.size == stat.st_size and previous.mtime_ns == stat.st_mtime_ns)
    if same_file:
        named = previous.named_case
    else:
        if stat.st_size > max_bytes():
            return None
        try:
            data = read_regular_file(path, max_bytes=max_bytes())
        except InputError:
            return None  # the full path reads it again and says what is wrong
        # The stored hash is of the normalised text's UTF-8: bytes with that hash are that
        # text, which decodes (UTF-8, no BOM) and normalises to itself.
        if data.startswith(codecs.BOM_UTF8) or hashlib.sha256(data).hexdigest() != previous.sha256:
            return None
        try:
            named = front_matter_case(data, path=str(path))
        except InputError:
            return None
    if case is None:
        if named is not None and case_rows.current_name(store, named) != previous.case:
            return None  # the front matter moves it to another case
    elif case != previous.case:
        return None
    segments = previous.segments
    if not same_file or segments is None:
        segments = transcript_rows.segment_count(store, previous.id)
        transcript_rows.remember_file(store, previous.id, _source(path, stat, named, segments))
    return ImportResult(str(path), transcript_name(path), previous.case, "unchanged", segments, "")


def _source(path: Path, stat: os.stat_result | None, named_case: str | None, segments: int) -> SourceFile:
    """The file as it was read, so the next import can skip it unread; without size and
    time if it was modified a moment ago (it may change again within the same tick)."""
    trusted = stat is not None and stat.st_mtime_ns < time.time_ns() - RACY_NS
    return SourceFile(str(path), os.path.abspath(path), stat.st_size if trusted else None,
                      stat.st_mtime_ns if trusted else None, named_case, segments)


def import_transcript_text(store: Store, t: Transcript, *, uuid: str, source: str) -> ImportResult:
    """A transcript that comes as text inside another file (a REFI-QDA archive), not as a file of
    its own: inserted, or, when the project has a transcript with this uuid, updated as a
    re-imported file is (its codings moved to where their text now is). Joins the caller's
    transaction."""
    with store.transaction():
        row = transcript_rows.by_uuid(store, uuid)
        if t.case:
            store.ensure_case(t.case)
        origin = SourceFile(source, source, None, None, t.named_case, len(t.segments))  # no size, time: never skipped
        if row is None:
            transcript_rows.insert(store, t, origin, uuid=uuid or new_uuid())
            return ImportResult(source, t.name, t.case, "imported", len(t.segments), "")
        transcript_id, name, sha256, *described = row
        transcript_rows.remember_file(store, transcript_id, origin)
        if sha256 == t.sha256:
            given = [t.case, t.informant, t.role, t.date, t.attributes_json]
            if described[:4] == given[:4] and json.loads(described[4] or "{}") == t.attributes:
                return ImportResult(source, name, t.case, "unchanged", len(t.segments), "")
            transcript_rows.describe(store, transcript_id, case=t.case, informant=t.informant, role=t.role, date=t.date,
                                     attributes_json=t.attributes_json)
            return ImportResult(source, name, t.case, "updated", len(t.segments), "case or attributes changed")
        from dataclasses import replace

        message = _update_transcript(store, transcript_id, replace(t, name=name, path=source))
        return ImportResult(source, name, t.case, "updated", len(t.segments), message)


def _update_transcript(store: Store, transcript_id: int, t: Transcript) -> str:
    """Replace the text and segments; move every coding to where its text now is."""
    from coder.anchor import Anchorer, reanchor

    old_length = transcript_rows.text_length(store, transcript_id)
    transcript_rows.replace_text(store, transcript_id, t)
    codings = coding_rows.of_transcript(store, transcript_id)
    if not codings:
        return "text changed"
    # a coding's text is looked for in the turns' words only: never the front matter or a label
    anchorer = Anchorer(t.text, turns=[(s.start, s.end) for s in t.segments],
                        speakers={s.speaker for s in t.segments if s.speaker})
    starts = [s.start for s in t.segments]
    moved = orphaned = 0
    for coding in codings:
        match = reanchor(t.text, coding["text"], coding["start"], old_length, anchorer=anchorer)
        if match is not None:
            try:
                coding_rows.move(store, coding["id"], start=match.start, end=match.end,
                                 segment=segment_at(starts, match.start), text=t.text[match.start:match.end],
                                 words=count_words(t.text[match.start:match.end]))
                moved += 1
                continue
            except Exception as exc:  # the same span, code and coder already exists after the move
                if "UNIQUE" not in str(exc):
                    raise
        coding_rows.orphan(store, coding["id"])
        orphaned += 1
    store.audit("transcript.reanchor", transcript=t.name, moved=moved, orphaned=orphaned)
    message = f"text changed; {moved} coding(s) re-anchored"
    if orphaned:
        message += f", {orphaned} orphaned (see `coder code orphans`)"
    return message
