"""What a user does to a project: load a codebook, import transcripts, set cases, code.

Each public function is one command's work against a `Store`, in one transaction, and
returns plain result values for the CLI to print. Nothing here prints.
"""
from __future__ import annotations

import bisect
import codecs
import hashlib
import json
import operator
import os
import re
import time
import unicodedata
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator

from coder.errors import InputError, NotATranscript, PartialFailure, UnknownCode, UnknownTranscript
from coder.ingest import Transcript, discover, finite_or_text, front_matter_case, max_bytes, transcript_name
from coder.readers import SPREADSHEET_SUFFIXES, read_survey, read_transcript
from coder.store import Store, new_uuid, now
from coder.store import codings as coding_rows
from coder.store import memos as memo_rows
from coder.store.codings import NewCoding
from coder.text import CASES_FILE, CSV_FILE, csv_header, csv_records, is_text, missing_column, read_regular_file, read_text_file
from coder.text import WORD as _WORD  # what a word is: one definition

if TYPE_CHECKING:  # the codebook module (and YAML) loads only for commands that use it
    from coder.codebook import Codebook


def count_words(text: str) -> int:
    return sum(1 for _ in _WORD.finditer(text))


# -- codebook -----------------------------------------------------------------------------

@dataclass(frozen=True)
class CodebookLoad:
    status: str  # "loaded" | "updated" | "unchanged"
    version_id: int | None
    codes: int
    added: tuple[str, ...]
    retired: tuple[str, ...]


def load_codebook(store: Store, codebook: Codebook) -> CodebookLoad:
    """Load or update the project's codebook. Codes are matched by path; a code that the new
    codebook drops is kept as retired when codings use it (nothing is lost), else removed."""
    with store.transaction():
        latest = store.query("SELECT id, sha256 FROM codebook_versions ORDER BY id DESC LIMIT 1")
        existing = {r["path"]: r["uuid"] for r in store.query("SELECT path, uuid FROM codes")}
        if latest and latest[0]["sha256"] == codebook.sha256 and existing:
            return CodebookLoad("unchanged", latest[0]["id"], len(existing), (), ())
        from coder.safety import backup_before

        backup_before(store, "codebook load", when=set(existing) - {c.path for c in codebook.codes()})
        cursor = store.conn.execute(
            "INSERT INTO codebook_versions(name, version, source, sha256, yaml, loaded_at) VALUES (?,?,?,?,?,?)",
            (codebook.name, codebook.version, codebook.source, codebook.sha256, codebook.yaml_text, now()))
        version_id = cursor.lastrowid
        store.conn.executemany(
            "INSERT INTO dimensions(id, label, label_en, description, color, position) VALUES (?,?,?,?,?,?) "
            "ON CONFLICT(id) DO UPDATE SET label=excluded.label, label_en=excluded.label_en, "
            "description=excluded.description, color=excluded.color, position=excluded.position",
            [(d.id, d.label, d.label_en, d.description, d.color, i) for i, d in enumerate(codebook.dimensions)])
        new_paths = []
        for position, code in enumerate(codebook.codes()):
            new_paths.append(code.path)
            store.conn.execute(
                "INSERT INTO codes(path, uuid, id, dimension, parent, label, label_en, description, include, exclude, "
                "examples, keywords, color, depth, position, retired) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,0) "
                "ON CONFLICT(path) DO UPDATE SET id=excluded.id, dimension=excluded.dimension, parent=excluded.parent, "
                "label=excluded.label, label_en=excluded.label_en, description=excluded.description, "
                "include=excluded.include, exclude=excluded.exclude, examples=excluded.examples, "
                "keywords=excluded.keywords, color=excluded.color, depth=excluded.depth, position=excluded.position, "
                "retired=0",
                (code.path, existing.get(code.path) or code.uuid or new_uuid(), code.id, code.dimension, code.parent, code.label,
                 code.label_en, code.description, _json(code.include), _json(code.exclude), _json(code.examples),
                 _json(code.keywords), code.color, code.depth, position))
        dropped = [p for p in existing if p not in set(new_paths)]
        used = {r[0] for r in store.conn.execute("SELECT DISTINCT code FROM codings")}
        retired = tuple(p for p in dropped if p in used)
        offset = len(new_paths)
        for index, path in enumerate(retired):
            store.conn.execute("UPDATE codes SET retired = 1, position = ? WHERE path = ?", (offset + index, path))
        store.conn.executemany("DELETE FROM codes WHERE path = ?", [(p,) for p in dropped if p not in used])
        store.conn.execute("DELETE FROM dimensions WHERE id NOT IN (SELECT dimension FROM codes)")
        _rebuild_closure(store)
        added = tuple(p for p in new_paths if p not in existing)
        store.audit("codebook.load", source=codebook.source, version=version_id, added=list(added),
                    retired=list(retired))
    return CodebookLoad("updated" if existing else "loaded", version_id, len(new_paths), added, retired)


def _rebuild_closure(store: Store) -> None:
    store.conn.execute("DELETE FROM code_closure")
    paths = [r[0] for r in store.conn.execute("SELECT path FROM codes")]
    pairs = []
    known = set(paths)
    for path in paths:
        parts = path.split(".")
        # ancestors are the code paths among its prefixes (the first part is the dimension)
        for cut in range(2, len(parts) + 1):
            prefix = ".".join(parts[:cut])
            if prefix in known:
                pairs.append((prefix, path))
    store.conn.executemany("INSERT INTO code_closure(ancestor, descendant) VALUES (?, ?)", pairs)


def _json(values: Iterable[str]) -> str:
    return json.dumps(list(values), ensure_ascii=False)


def resolve(store: Store, ref: str, *, allow_dimension: bool = False) -> str:
    paths = store.code_paths(include_retired=True)
    if not paths:
        raise UnknownCode(f"unknown code '{ref}': the project has no codebook",
                          hint="load one with `coder codebook load FILE`")
    from coder.codebook import resolve_code

    return resolve_code(ref, paths, dimensions=store.dimension_ids(), allow_dimension=allow_dimension)


# -- transcripts --------------------------------------------------------------------------

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
        existing = {unicodedata.normalize("NFC", r[0]): _Previous(*r[1:]) for r in store.conn.execute(
            "SELECT t.name, t.id, t.sha256, t.case_name, f.path, f.size, f.mtime_ns, f.named_case, f.segments "
            "FROM transcripts t LEFT JOIN transcript_files f ON f.transcript_id = t.id")}
        for index, path in enumerate(files):
            if text_columns and path.suffix.lower() in SPREADSHEET_SUFFIXES:
                results.extend(_import_survey(store, path, text_columns, case, existing, seen, replace))
            else:
                results.append(_import_one(store, path, case, existing, seen, checksum, replace,
                                           in_folder=str(path) not in named))
            if progress:
                progress(index + 1, len(files))
        counts = {s: sum(1 for r in results if r.status == s) for s in ("imported", "updated", "unchanged", "error")}
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
    try:
        with store.savepoint("survey"):
            for transcript in read_survey(path, text_columns, case=case):
                name = transcript.name
                if name in seen:
                    raise InputError(f"respondent '{name}' appears twice ({seen[name]})", path=str(path),
                                     hint="each row needs its own id")
                seen[name] = str(path)
                results.append(_store_read(store, path, stat, transcript, case, existing.get(name), replace,
                                           survey=cases))
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
        _insert_transcript(store, transcript, _source(path, stat, transcript.named_case, len(transcript.segments)))
        return ImportResult(str(path), name, transcript.case, "imported", len(transcript.segments), "")
    _remember_source(store, previous.id, _source(path, stat, transcript.named_case, len(transcript.segments)))
    old_case = previous.case
    if previous.sha256 == transcript.sha256:
        if old_case == transcript.case or (case is None and transcript.case is None):
            return ImportResult(str(path), name, old_case, "unchanged", len(transcript.segments), "")
        store.conn.execute("UPDATE transcripts SET case_name = ?, updated_at = ? WHERE id = ?",
                           (transcript.case, now(), previous.id))
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
        if named is not None and named != previous.case:
            return None  # the front matter moves it to another case
    elif case != previous.case:
        return None
    segments = previous.segments
    if not same_file or segments is None:
        # segments are numbered 1..n: the largest number is the count, read off the index's end
        segments = store.scalar("SELECT MAX(number) FROM segments WHERE transcript_id = ?", (previous.id,)) or 0
        _remember_source(store, previous.id, _source(path, stat, named, segments))
    return ImportResult(str(path), transcript_name(path), previous.case, "unchanged", segments, "")


def _source(path: Path, stat: os.stat_result | None, named_case: str | None, segments: int) -> tuple:
    """The file as it was read (the path as typed, then transcript_files' path, size,
    mtime_ns, named_case, segments), so the next import can skip it unread; without size and
    time if it was modified a moment ago (it may change again within the same tick)."""
    trusted = stat is not None and stat.st_mtime_ns < time.time_ns() - RACY_NS
    return (str(path), os.path.abspath(path), stat.st_size if trusted else None,
            stat.st_mtime_ns if trusted else None, named_case, segments)


def _remember_source(store: Store, transcript_id: int, source: tuple) -> None:
    path, *file = source
    store.conn.execute("UPDATE transcripts SET source_path = ? WHERE id = ? AND source_path IS NOT ?",
                       (path, transcript_id, path))
    store.conn.execute("INSERT OR REPLACE INTO transcript_files(transcript_id, path, size, mtime_ns, named_case, "
                       "segments) VALUES (?, ?, ?, ?, ?, ?)", (transcript_id, *file))


def _insert_transcript(store: Store, t: Transcript, source: tuple, uuid: str | None = None) -> None:
    stamp = now()
    cursor = store.conn.execute(
        "INSERT INTO transcripts(uuid, name, case_name, informant, role, date, attributes, source_path, encoding, "
        "sha256, text, imported_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (uuid or new_uuid(), t.name, t.case, t.informant, t.role, t.date, t.attributes_json, source[0], t.encoding,
         t.sha256, t.text, stamp, stamp))
    store.conn.execute("INSERT INTO transcript_files(transcript_id, path, size, mtime_ns, named_case, segments) "
                       "VALUES (?, ?, ?, ?, ?, ?)", (cursor.lastrowid, *source[1:]))
    _insert_segments(store, cursor.lastrowid, t)
    _insert_speakers(store, cursor.lastrowid, t)


def _insert_speakers(store: Store, transcript_id: int, t: Transcript) -> None:
    if t.speakers:
        store.conn.executemany(
            "INSERT OR REPLACE INTO speakers(transcript_id, label, interviewer, informant, role) VALUES (?,?,?,?,?)",
            [(transcript_id, s.label, int(s.interviewer), s.informant, s.role) for s in t.speakers])


def _insert_segments(store: Store, transcript_id: int, t: Transcript) -> None:
    store.conn.executemany(
        'INSERT INTO segments(transcript_id, number, speaker, start, "end", text, start_ms, end_ms) '
        "VALUES (?,?,?,?,?,?,?,?)",
        [(transcript_id, s.number, s.speaker, s.start, s.end, s.text, s.start_ms, s.end_ms) for s in t.segments])


def import_transcript_text(store: Store, t: Transcript, *, uuid: str, source: str) -> ImportResult:
    """A transcript that comes as text inside another file (a REFI-QDA archive), not as a file of
    its own: inserted, or, when the project has a transcript with this uuid, updated as a
    re-imported file is (its codings moved to where their text now is). Joins the caller's
    transaction."""
    with store.transaction():
        row = store.conn.execute("SELECT id, name, sha256, case_name, informant, role, date, attributes "
                                 "FROM transcripts WHERE uuid = ?", (uuid,)).fetchone()
        if t.case:
            store.ensure_case(t.case)
        origin = (source, source, None, None, t.named_case, len(t.segments))  # no size or time: never skipped
        if row is None:
            _insert_transcript(store, t, origin, uuid=uuid)
            return ImportResult(source, t.name, t.case, "imported", len(t.segments), "")
        transcript_id, name, sha256, *described = row
        _remember_source(store, transcript_id, origin)
        if sha256 == t.sha256:
            given = [t.case, t.informant, t.role, t.date, t.attributes_json]
            if described[:4] == given[:4] and json.loads(described[4] or "{}") == t.attributes:
                return ImportResult(source, name, t.case, "unchanged", len(t.segments), "")
            store.conn.execute("UPDATE transcripts SET case_name = ?, informant = ?, role = ?, date = ?, attributes = ?, "
                               "updated_at = ? WHERE id = ?", (*given, now(), transcript_id))
            return ImportResult(source, name, t.case, "updated", len(t.segments), "case or attributes changed")
        from dataclasses import replace

        message = _update_transcript(store, transcript_id, replace(t, name=name, path=source))
        return ImportResult(source, name, t.case, "updated", len(t.segments), message)


def _update_transcript(store: Store, transcript_id: int, t: Transcript) -> str:
    """Replace the text and segments; move every coding to where its text now is."""
    from coder.anchor import Anchorer, reanchor

    old_length = store.scalar("SELECT length(text) FROM transcripts WHERE id = ?", (transcript_id,))
    store.conn.execute(
        "UPDATE transcripts SET case_name=?, informant=?, role=?, date=?, attributes=?, source_path=?, encoding=?, "
        "sha256=?, text=?, updated_at=? WHERE id=?",
        (t.case, t.informant, t.role, t.date, t.attributes_json, t.path, t.encoding, t.sha256, t.text, now(),
         transcript_id))
    store.conn.execute("DELETE FROM segments WHERE transcript_id = ?", (transcript_id,))
    _insert_segments(store, transcript_id, t)
    store.conn.execute("DELETE FROM speakers WHERE transcript_id = ?", (transcript_id,))
    _insert_speakers(store, transcript_id, t)
    codings = coding_rows.of_transcript(store, transcript_id)
    if not codings:
        return "text changed"
    anchorer = Anchorer(t.text)
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
        message += f", {orphaned} orphaned (see `coder code list --orphaned`)"
    return message


def _words_span(text: str, start: int, end: int) -> tuple[int, int]:
    """The span without the punctuation and spaces at its ends (itself if it has no words)."""
    lo, hi = start, end
    while lo < hi and not text[lo].isalnum():
        lo += 1
    while hi > lo and not text[hi - 1].isalnum():
        hi -= 1
    return (lo, hi) if lo < hi else (start, end)


def segment_at(starts: list[int], offset: int) -> int:
    """Number of the segment holding `offset` (the last one starting at or before it)."""
    return max(1, bisect.bisect_right(starts, offset))


# -- cases --------------------------------------------------------------------------------

RESERVED_CASE_KEYS = ("case", "transcripts", "segments")


def parse_value(raw: str):
    """Attribute values typed on the command line or in CSV: numbers become numbers, but
    `nan`, `inf` or `1e999` stay text as typed (JSON has no such numbers)."""
    text = raw.strip()
    for cast in (int, float):
        try:
            value = cast(text)
        except ValueError:
            continue
        return value if finite_or_text(value) is value else text
    return text


def set_case_attributes(store: Store, case: str, values: dict[str, object]) -> dict:
    values = {key: finite_or_text(value) for key, value in values.items()}
    for key in values:
        if not key or key in RESERVED_CASE_KEYS:
            raise InputError(f"'{key}' cannot be a case attribute name", hint="choose another name")
    with store.transaction():
        attributes = _merge_case(store, case, values)
        store.audit("cases.set", case=case, values=values)
    return attributes


def _merge_case(store: Store, case: str, values: dict) -> dict:
    store.ensure_case(case)
    current = json.loads(store.scalar("SELECT attributes FROM cases WHERE name = ?", (case,)) or "{}")
    current.update({key: finite_or_text(value) for key, value in values.items()})
    store.conn.execute("UPDATE cases SET attributes = ? WHERE name = ?",
                       (json.dumps(current, ensure_ascii=False, sort_keys=True), case))
    return current


@dataclass(frozen=True)
class CasesImport:
    new: tuple[str, ...]  # cases the project did not have
    updated: tuple[str, ...]  # cases whose attributes changed
    unchanged: tuple[str, ...]  # cases that already had every value the file gives

    @property
    def total(self) -> int:
        return len(self.new) + len(self.updated) + len(self.unchanged)


def import_cases(store: Store, path: Path) -> CasesImport:
    rows = read_case_rows(path)
    with store.transaction():
        before = {name: attributes for name, attributes in store.conn.execute("SELECT name, attributes FROM cases")}
        touched: dict[str, None] = {}
        for case, values in rows:
            _merge_case(store, case, values)
            touched[case] = None
        after = dict(store.conn.execute("SELECT name, attributes FROM cases"))
        result = CasesImport(
            new=tuple(c for c in touched if c not in before),
            updated=tuple(c for c in touched if c in before and json.loads(before[c] or "{}") != json.loads(after[c])),
            unchanged=tuple(c for c in touched if c in before and json.loads(before[c] or "{}") == json.loads(after[c])))
        store.audit("cases.import", source=str(path), cases=result.total, new=len(result.new),
                    updated=len(result.updated))
    return result


def read_case_rows(path: Path) -> list[tuple[str, dict]]:
    from coder import yamlio

    text = read_text_file(path, reads=CASES_FILE).text
    rows: list[tuple[str, dict]] = []
    if path.suffix.lower() in (".yaml", ".yml"):
        data = yamlio.load(text, path=str(path))
        if isinstance(data, dict) and "case" not in data:
            data_items = [(name, attrs, data.line_of(name)) for name, attrs in data.items()]
        elif isinstance(data, list):
            data_items = []
            for item, line in zip(data, data.item_lines):
                if not isinstance(item, dict) or "case" not in item:
                    raise InputError("each case needs a 'case' key", path=str(path), line=line)
                attrs = {k: v for k, v in item.items() if k != "case"}
                data_items.append((item["case"], attrs, line))
        else:
            raise InputError("a cases file is a list of mappings with 'case' and attributes", path=str(path), line=1)
        for name, attrs, line in data_items:
            if not isinstance(name, str) or not name.strip():
                raise InputError(f"a case name must be text, not {name!r}", path=str(path), line=line,
                                 hint='put it in quotes ("...") to keep it as text')
            if not isinstance(attrs, dict) or any(isinstance(v, (dict, list)) for v in attrs.values()):
                raise InputError(f"attributes of case '{name}' must be 'key: value' pairs", path=str(path), line=line)
            for key in attrs:
                if not isinstance(key, str):
                    raise InputError(f"attribute name {key!r} of case '{name}' must be text", path=str(path),
                                     line=attrs.line_of(key) if hasattr(attrs, "line_of") else line,
                                     hint='put it in quotes ("...") to keep it as text')
            rows.append((str(name), {str(k): (v.isoformat() if hasattr(v, "isoformat") else v)
                                     for k, v in attrs.items()}))
        return rows
    records = csv_records(text, path)
    header = csv_header(records, path)
    if "case" not in header:
        raise missing_column(path, "case", header, needs="case, then one column per attribute")
    for line_no, cells in enumerate(records, start=2):
        if not any(c.strip() for c in cells):
            continue
        row = dict(zip(header, cells))
        name = (row.get("case") or "").strip()
        if not name:
            raise InputError("empty 'case' cell", path=str(path), line=line_no)
        rows.append((name, {k: parse_value(v) for k, v in row.items()
                            if k and k != "case" and v.strip() != ""}))
    return rows


# -- coding -------------------------------------------------------------------------------

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


_SEGMENT_NUMBER = re.compile(r"[0-9]+")


def segment_number(raw: str) -> int | None:
    """A segment number as typed or in a CSV cell: ASCII digits only (int() would also read
    "1_0" as 10, "+4" as 4 and the Arabic-Indic "٣" as 3), surrounding spaces ignored."""
    raw = raw.strip()
    return int(raw) if _SEGMENT_NUMBER.fullmatch(raw) else None


@dataclass(slots=True)  # not frozen: as CodingResult
class CodingRequest:
    row: int
    transcript: str
    code: str
    segment: str = ""
    quote: str = ""
    coder: str = ""
    memo: str = ""
    start: str = ""  # an exact span (code points), as `code list --csv` and `report quotes --csv` give it
    end: str = ""
    text: str = ""  # the span's text, checked against the transcript when given
    uuid: str = ""  # the coding's id in another tool's file (REFI-QDA), kept so a re-import finds it


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

    def _code(self, ref: str) -> str:
        cached = self.code_cache.get(ref)
        if cached is None:
            try:
                cached = resolve(self.store, ref)
                if self.store.scalar("SELECT retired FROM codes WHERE path = ?", (cached,)):
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
            speakers = [r[0] for r in self.store.conn.execute(
                "SELECT DISTINCT speaker FROM segments WHERE transcript_id = ? AND speaker IS NOT NULL",
                (transcript.id,))]
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
        self.flush()
        if self.written:
            coding_rows.audit(self.store, action, added=self.written, **details)

    def flush(self) -> None:
        """Insert the pending codings now, within the caller's transaction: a long batch then
        holds a few thousand rows at a time, not all of them."""
        if not self.pending:
            return
        self.written += coding_rows.add(self.store, self.pending)
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


def read_coding_requests(path: Path) -> list[CodingRequest]:
    return list(coding_requests(path))


def coding_requests(path: Path) -> Iterator[CodingRequest]:
    """The rows of a codings CSV as requests, made as they are read. The whole file is
    decoded and its header and CSV syntax checked first (an error names the file and line
    before anything is written); only the requests are made lazily."""
    text = read_text_file(path, reads=CSV_FILE).text
    reader = csv_records(text, path)
    header = csv_header(reader, path, lower=True)
    missing = [c for c in ("transcript", "code") if c not in header]
    if not missing and "segment" not in header and "quote" not in header and not {"start", "end"} <= set(header):
        missing = ["segment' or 'quote"]
    if missing:
        raise missing_column(path, missing[0], header,
                             needs="transcript, code, and segment, quote or start and end (optional: coder, memo, "
                                   "text)")
    for _ in reader:  # every line read once (csv's C speed, nothing kept): a stray quote is refused up front
        pass
    names = ("transcript", "code", "segment", "quote", "coder", "memo", "start", "end", "text")
    columns = [header.index(name) if name in header else -1 for name in names]
    return _coding_requests(csv_records(text, path), columns)


def _coding_requests(reader: Iterator[list[str]], columns: list[int]) -> Iterator[CodingRequest]:
    next(reader)  # the header
    width = max(columns) + 1
    pick = operator.itemgetter(*columns)
    for row_no, cells in enumerate(reader, start=1):
        if not "".join(cells).strip():
            continue
        if len(cells) < width:
            cells += [""] * (width - len(cells))
        cells.append("")  # what a missing column (index -1) reads
        transcript, code, segment, quote, coder, memo, start, end, coded_text = map(_unescaped, pick(cells))
        yield CodingRequest(row_no, transcript.strip(), code.strip(), segment, quote, coder, memo, start, end,
                            coded_text)


def _unescaped(cell: str) -> str:
    """A cell as it was before an export guarded it against spreadsheet formulas ('=1 -> =1)."""
    return cell[1:] if cell[:1] == "'" and cell[1:2] in ("=", "+", "-", "@", "\t", "\r") else cell


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


def require_transcript(store: Store, name: str):
    row = store.transcript(name)
    if row is None:
        names = store.transcript_names()
        from coder.codebook import _closest

        close = _closest(name, names) if names else []
        hint = f"did you mean {' or '.join(repr(c) for c in close)}?" if close else "see `coder import`"
        raise UnknownTranscript(f"unknown transcript '{name}'", hint=hint)
    return row


def ensure_all_ok(results: list, *, ok: tuple[str, ...], what: str) -> None:
    failed = [r for r in results if r.status not in ok]
    if failed:
        raise PartialFailure(f"{len(failed)} of {len(results)} {what} failed")


def add_name(store: Store, name: str, alias: str, kind: str = "person") -> None:
    if not name.strip() or not alias.strip():
        raise InputError("a name and its alias must not be empty")
    if kind not in ("person", "place"):
        raise InputError(f"unknown kind '{kind}'", hint="use person or place")
    with store.transaction():
        store.conn.execute("INSERT INTO names(name, alias, kind) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET "
                           "alias = excluded.alias, kind = excluded.kind", (name.strip(), alias.strip(), kind))
        store.audit("names.add", name=name.strip(), kind=kind)


def add_memo(store: Store, text: str, *, transcript: str | None = None, code: str | None = None,
             coding: str | None = None, author: str, uuid: str | None = None) -> str:
    """Write a memo; with the `uuid` of one already there (a re-imported REFI-QDA note), it is
    updated instead."""
    given = [x for x in (transcript, code, coding) if x]
    if len(given) > 1:
        raise InputError("attach a memo to one thing: --transcript, --code or --coding")
    if not text.strip():
        raise InputError("the memo is empty")
    if transcript:
        target_type, target = "transcript", require_transcript(store, transcript).name
    elif code:
        target_type, target = "code", resolve(store, code)
    elif coding:
        prefix = coding_id_prefix(coding)
        found = coding_rows.uuids_with_prefix(store, prefix)
        if len(found) != 1:
            raise InputError(f"no single coding with id '{coding}'", hint="see `coder code list`")
        target_type, target = "coding", found[0]
    else:
        target_type, target = "project", ""
    with store.transaction():
        memo_id = memo_rows.add(store, target_type=target_type, target=target, author=author, text=text.strip(),
                                uuid=uuid)
        store.audit("memo.add", id=memo_id, target_type=target_type, target=target)
    return f"{target_type} {target}".strip()
