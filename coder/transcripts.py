"""Managing the transcripts of a project: listing them with their state, removing a withdrawn
interview, renaming one (`coder transcripts list/remove/rename`).

A transcript's codings refer to it by its row id, not its name: renaming it changes one row,
and every coding, count and report follows. Removing one takes its codings and the memos on
it and on its codings with it, after a backup of the project that keeps them all; the
audit trail says where that backup is.
"""
from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from coder.errors import InputError, UnknownTranscript
from coder.store import Store
from coder.store import codings as coding_rows
from coder.store import memos as memo_rows
from coder.store import transcripts as transcript_rows
from coder.store import unit_counts


def require_transcript(store: Store, name: str):
    """The transcript of that name (in any Unicode form), or UnknownTranscript with a "did you
    mean"."""
    row = store.transcript(name)
    if row is None:
        names = store.transcript_names()
        from coder.codebook import _closest

        close = _closest(name, names) if names else []
        hint = f"did you mean {' or '.join(repr(c) for c in close)}?" if close else "see `coder import`"
        raise UnknownTranscript(f"unknown transcript '{name}'", hint=hint)
    return row


@dataclass(frozen=True)
class TranscriptState:
    """One transcript as `transcripts list` shows it."""

    name: str
    case: str | None
    informant: str | None
    role: str | None
    source: str | None  # the path it was imported from, as typed
    segments: int
    codings: int  # its codings that are where their text is
    orphaned: int  # codings whose text an edit took away (`coder code orphans`)
    by_coder: dict[str, int] = field(default_factory=dict)  # ok codings per coder
    status: str = ""

    def as_json(self) -> dict:
        return {"transcript": self.name, "case": self.case, "informant": self.informant, "role": self.role,
                "source": self.source, "segments": self.segments, "codings": self.codings,
                "orphaned": self.orphaned, "by_coder": dict(self.by_coder), "status": self.status}


def _file_state(file_path: str | None, size: int | None, mtime_ns: int | None) -> str | None:
    """'file missing' or 'file changed' when the file it was read from is gone or differs
    from what was imported (judged by size and time, as `import` judges), else None."""
    if not file_path:
        return None
    try:
        stat = os.stat(file_path)
    except OSError:
        return "file missing"
    if size is not None and mtime_ns is not None and (stat.st_size, stat.st_mtime_ns) != (size, mtime_ns):
        return "file changed"
    return None


def listing(store: Store) -> list[TranscriptState]:
    """Every transcript, by name, with its case, informant, source, segments, codings per
    coder and status: `uncoded` or `coded`, then `N orphaned` when codings lost their text,
    and `file changed` or `file missing` when its source no longer is what was imported
    (import it again to take the change in)."""
    counts: dict[int, dict[str, dict[str, int]]] = {}
    for transcript_id, coder, status, n in coding_rows.counts_per_transcript(store):
        counts.setdefault(transcript_id, {}).setdefault(status, {})[coder] = n
    states = []
    for row in transcript_rows.overview(store):
        mine = counts.get(row["id"], {})
        by_coder = mine.get(coding_rows.STATUS_OK, {})
        orphaned = sum(mine.get(coding_rows.STATUS_ORPHANED, {}).values())
        status = ["coded" if by_coder else "uncoded"]
        if orphaned:
            status.append(f"{orphaned} orphaned")
        file_state = _file_state(row["file_path"], row["size"], row["mtime_ns"])
        if file_state:
            status.append(file_state)
        states.append(TranscriptState(row["name"], row["case_name"], row["informant"], row["role"],
                                      row["source_path"], row["segments"], sum(by_coder.values()), orphaned,
                                      dict(sorted(by_coder.items())), ", ".join(status)))
    return states


@dataclass(frozen=True)
class Removed:
    transcript: str
    case: str | None
    codings: int
    memos: int
    backup: Path | None  # where the project as it was (codings included) is kept; None when backups are off
    source: str | None


def remove(store: Store, name: str, *, force: bool = False) -> Removed:
    """Remove a transcript (a withdrawn interview) with its segments, codings and the memos on
    it and on its codings, in one transaction, after a backup. A transcript with codings or
    memos is removed only with `force`."""
    from coder.backup import backup_before

    with store.transaction():
        transcript = require_transcript(store, name)
        uuids = coding_rows.uuids_of_transcript(store, transcript.id)
        memos = memo_rows.on_targets(store, "transcript", [transcript.name]) + \
            memo_rows.on_targets(store, "coding", uuids)
        if (uuids or memos) and not force:
            held = " and ".join(part for part in (f"{len(uuids)} coding(s)" if uuids else "",
                                                  f"{len(memos)} memo(s)" if memos else "") if part)
            raise InputError(f"transcript '{transcript.name}' has {held}; nothing was removed",
                             hint=f"run `coder transcripts remove {transcript.name} --force` to remove it with them "
                                  "(a backup keeps them)")
        source = transcript_rows.source_path(store, transcript.id)
        backup = backup_before(store, f"transcripts remove {transcript.name}")
        for memo in memos:
            memo_rows.remove(store, memo["uuid"])
        removed = coding_rows.remove(store, transcript_id=transcript.id) if uuids else 0
        unit_counts.forget_transcript(store, transcript.id)
        transcript_rows.delete(store, transcript.id)
        case = transcript.case_name
        coding_rows.audit(store, "transcripts.remove", removed=removed, transcript=transcript.name, case=case,
                          memos=len(memos), backup=str(backup.path) if backup else None,
                          source=source)
    return Removed(transcript.name, case, removed, len(memos), backup.path if backup else None, source)


@dataclass(frozen=True)
class Renamed:
    old: str
    new: str
    codings: int
    memos: int
    source: str | None  # the file it was imported from
    new_source: str | None  # where its file is expected now: renamed as the transcript is


def rename(store: Store, old: str, new: str) -> Renamed:
    """Give a transcript another name; its codings (which refer to it by id), memos and
    counts follow. A name already in use is refused."""
    new_name = unicodedata.normalize("NFC", new.strip())
    if not new_name or any(c in new_name for c in "/\\") or new_name != new_name.strip():
        raise InputError(f"'{new}' cannot be a transcript's name", hint="a name is a file name without its folder "
                                                                        "and extension, e.g. hamar_3")
    with store.transaction():
        transcript = require_transcript(store, old)
        if new_name == transcript.name:
            raise InputError(f"transcript '{transcript.name}' is called that already; nothing was changed")
        if store.transcript(new_name) is not None:
            raise InputError(f"there is a transcript '{new_name}' already; nothing was changed",
                             hint="choose another name, or remove that one first (`coder transcripts remove`)")
        transcript_rows.rename(store, transcript.id, new_name)
        memos = memo_rows.retarget(store, "transcript", transcript.name, new_name)
        codings = len(coding_rows.uuids_of_transcript(store, transcript.id))
        # its file is expected under the new name, beside the old one: until it is renamed so,
        # `transcripts list` says "file missing"; once it is, importing it updates this transcript
        source, file = transcript_rows.source_path(store, transcript.id), transcript_rows.file_path(store, transcript.id)
        new_source, new_file = _renamed_path(source, transcript.name, new_name), _renamed_path(file, transcript.name,
                                                                                               new_name)
        if new_source != source or new_file != file:
            transcript_rows.move_source(store, transcript.id, new_source, new_file)
        store.audit("transcripts.rename", old=transcript.name, new=new_name, codings=codings, memos=memos,
                    file=source, new_file=new_source)
    return Renamed(transcript.name, new_name, codings, memos, source, new_source)


def _renamed_path(path: str | None, old: str, new: str) -> str | None:
    """hamar_1.txt's path with the file named as the transcript now is (hamar_01.txt);
    unchanged when the file's name was not the transcript's (a survey's respondent, a
    transcript from a REFI-QDA project)."""
    if not path:
        return path
    from coder.ingest import transcript_name

    file = Path(path)
    if transcript_name(file) != old:
        return path
    return str(file.with_name(new + file.suffix))
