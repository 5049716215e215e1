"""SQLite below the store: what a person can do about its errors, waiting out another
process's lock, and the journal mode the file system can carry.

- Errors: SQLite's "disk full", "read-only", "locked", "malformed" ... turned into one
  `DatabaseError` line saying what happened, that nothing was written, and what to do.
- Busy: retried with backoff where SQLite answers "locked" without waiting.
- Journal mode: WAL locally; the rollback journal (`journal_mode=DELETE`) on network drives,
  where WAL's shared memory does not work.

It imports no coder module but `errors` and `output_files`, and runs no SQL: the store (coder/store/) uses it
while opening, migrating and writing; backups (coder/backup.py) sit above the store.
"""
from __future__ import annotations

import os
import random
import re
import shutil
import sqlite3
import stat
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, TypeVar

from coder.errors import DatabaseBusy, DatabaseError
from coder.output_files import remove_quietly

T = TypeVar("T")

# File systems where SQLite's WAL mode is unsafe: it needs shared memory that every process
# maps, which works only when all of them run on one machine.
NETWORK_FILESYSTEMS = frozenset({
    "nfs", "nfs4", "cifs", "smb", "smb2", "smb3", "smbfs", "afs", "ncpfs", "9p", "ceph", "glusterfs",
    "fuse.glusterfs", "lustre", "gpfs", "beegfs", "fuse.sshfs", "sshfs", "fuse.rclone", "davfs", "fuse.davfs2",
    "fuse.s3fs", "fuse.gcsfuse", "webdav", "afpfs", "vboxsf", "fuse.vmhgfs-fuse", "drvfs", "panfs",
})

# SQLite result codes (the low byte of an extended code)
SQLITE_BUSY, SQLITE_LOCKED, SQLITE_READONLY, SQLITE_IOERR, SQLITE_CORRUPT = 5, 6, 8, 10, 11
SQLITE_FULL, SQLITE_CANTOPEN, SQLITE_PROTOCOL, SQLITE_NOTADB, SQLITE_NOMEM = 13, 14, 15, 26, 7
SQLITE_READONLY_DIRECTORY = SQLITE_READONLY | (6 << 8)


# -- diagnostics ----------------------------------------------------------------------------

_warned: set[str] = set()


def first_time(message: str) -> bool:
    """Whether this warning was not given yet in this process (each is given once)."""
    if message in _warned:
        return False
    _warned.add(message)
    return True


# -- SQLite errors a person can act on --------------------------------------------------------

def primary_code(exc: BaseException) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else code & 0xFF


def is_busy(exc: BaseException) -> bool:
    code = primary_code(exc)
    if code is not None:
        return code in (SQLITE_BUSY, SQLITE_LOCKED)
    return isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)


def explain(exc: sqlite3.Error, path: Path | str | None, *, busy_seconds: float | None = None) -> DatabaseError | None:
    """A DatabaseError for errors that come from the disk, the file or other processes;
    None for the rest (a programming error stays a programming error)."""
    where = str(path) if path is not None else None
    code = primary_code(exc)
    extended = getattr(exc, "sqlite_errorcode", None)
    text = str(exc)
    if is_busy(exc):
        waited = f" for over {busy_seconds:g} s" if busy_seconds else ""
        return DatabaseBusy(f"the database is busy: another coder or program kept it locked{waited}; "
                            "nothing was written", path=where, hint="run the command again in a moment")
    if code == SQLITE_FULL or "disk is full" in text:
        return DatabaseError("the disk is full; nothing was written and the database is unchanged", path=where,
                             hint="free some space on that drive and run the command again")
    if code == SQLITE_READONLY or "readonly database" in text:
        if extended == SQLITE_READONLY_DIRECTORY or (where and not _writable(Path(where).parent)):
            return DatabaseError("the folder holding the database is read-only (SQLite must create its "
                                 "journal files next to it); nothing was written", path=where,
                                 hint="check the folder's permissions, or copy the database to a writable folder")
        return DatabaseError("the database file is read-only; nothing was written", path=where,
                             hint="check the file's permissions (or the drive's), or work on a copy")
    if code == SQLITE_IOERR or "disk I/O error" in text:
        return DatabaseError(f"could not read or write the disk ({text}: full, over a file-size limit, or a "
                             "failing or disconnected drive); the command's changes were not saved", path=where,
                             hint="check the drive, then run the command again; `coder check` verifies the database")
    if code == SQLITE_CORRUPT or "database disk image is malformed" in text:  # not "malformed JSON"
        return damaged_error(text, where)
    if code == SQLITE_NOTADB or "not a database" in text:
        return DatabaseError("not a coder database (not a SQLite file, or its first page is damaged)", path=where,
                             hint="pass --db with a file made by `coder init`, or `coder restore` a backup")
    if code == SQLITE_CANTOPEN or "unable to open database" in text:
        return DatabaseError("cannot open the database file (a missing folder, no permission, or a disconnected "
                             "drive)", path=where, hint="check the path and its permissions")
    if code == SQLITE_PROTOCOL or "locking protocol" in text:
        return DatabaseError("file locking does not work on this drive", path=where,
                             hint="set CODER_JOURNAL_MODE=delete, or keep the database on a local disk")
    if code == SQLITE_NOMEM or isinstance(exc, MemoryError):
        return DatabaseError("out of memory", path=where, hint="close other programs and run the command again")
    return None


def damaged_error(detail: str, path: Path | str | None) -> DatabaseError:
    """The one message for a damaged file, whether a report or a write found it."""
    return DatabaseError(f"the database is damaged ({detail}); nothing was changed",
                         path=str(path) if path is not None else None,
                         hint="restore the latest good backup: `coder backup --list`, then `coder restore FILE`")


def _writable(folder: Path) -> bool:
    return os.access(folder, os.W_OK | os.X_OK)


def retry_busy(operation: Callable[[], T], *, timeout: float) -> T:
    """Run `operation`, retrying with exponential backoff (and jitter, so processes started
    together do not retry in lockstep) while SQLite says the database is locked. Needed
    where SQLite returns SQLITE_BUSY without calling its busy handler: changing the journal
    mode, WAL recovery when the first connection opens, a COMMIT racing a checkpoint."""
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        try:
            return operation()
        except sqlite3.OperationalError as exc:
            left = deadline - time.monotonic()
            if not is_busy(exc) or left <= 0:
                raise
        time.sleep(min(left, delay * random.uniform(0.5, 1.5)))
        delay = min(delay * 2, 0.5)


# -- journal mode ---------------------------------------------------------------------------

@dataclass(frozen=True)
class JournalChoice:
    mode: str  # "wal" or "delete"
    reason: str | None  # why not WAL, for the warning


def wanted_journal_mode(path: Path) -> JournalChoice:
    forced = os.environ.get("CODER_JOURNAL_MODE", "").strip().lower()
    if forced in ("wal", "delete"):
        return JournalChoice(forced, "CODER_JOURNAL_MODE=delete" if forced == "delete" else None)
    kind = network_filesystem(path)
    if kind:
        return JournalChoice("delete", f"it is on a network drive ({kind}), where WAL mode is unsafe")
    return JournalChoice("wal", None)


def wal_fallback_warning(path: Path, reason: str) -> str:
    return (f"{path}: not using WAL mode because {reason}; using journal_mode=DELETE (safe, but coders "
            "working at the same time wait for each other more)")


_fs_cache: dict[str, str | None] = {}


def network_filesystem(path: Path) -> str | None:
    """The type of network file system holding `path` ("nfs", "cifs", "network drive"), or None."""
    try:
        folder = str(Path(path).resolve().parent)
    except OSError:
        return None
    if folder not in _fs_cache:
        _fs_cache[folder] = _detect_network_filesystem(folder)
    return _fs_cache[folder]


def _detect_network_filesystem(folder: str) -> str | None:
    if sys.platform.startswith("win"):
        if folder.startswith("\\\\"):
            return "network share"
        try:
            import ctypes

            drive = os.path.splitdrive(folder)[0] + "\\"
            return "network drive" if ctypes.windll.kernel32.GetDriveTypeW(drive) == 4 else None  # DRIVE_REMOTE
        except Exception:  # no drive type: assume local, as SQLite does
            return None
    kind = _mount_type(folder)
    return kind if kind and (kind in NETWORK_FILESYSTEMS or kind.split(".")[0] in NETWORK_FILESYSTEMS) else None


def _mount_type(folder: str) -> str | None:
    """File system type of the mount holding `folder` (Linux: /proc/self/mountinfo; macOS: mount)."""
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as handle:
            mounts = parse_mountinfo(handle.read())
    except OSError:
        mounts = _macos_mounts() if sys.platform == "darwin" else []
    return mount_type_of(folder, mounts)


def parse_mountinfo(text: str) -> list[tuple[str, str]]:
    """(mount point, file system type) pairs from Linux's /proc/self/mountinfo."""
    mounts = []
    for line in text.splitlines():
        left, _, right = line.partition(" - ")
        fields, after = left.split(), right.split()
        if len(fields) >= 5 and after:
            point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4])  # \040 is a space
            mounts.append((point, after[0]))
    return mounts


def mount_type_of(folder: str, mounts: list[tuple[str, str]]) -> str | None:
    """The type of the innermost mount containing `folder`."""
    best, kind = "", None
    for point, fstype in mounts:
        inside = folder == point or folder.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, fstype
    return kind


def _macos_mounts() -> list[tuple[str, str]]:
    import subprocess

    try:
        listing = subprocess.run(["/sbin/mount"], capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    found = (re.match(r".* on (.*) \(([^,)]+)", line) for line in listing.splitlines())
    return [(m.group(1), m.group(2)) for m in found if m]


# -- the files beside a database ------------------------------------------------------------

def in_wal_mode(path: Path) -> bool:
    """Whether the SQLite file's header says WAL mode (its read and write versions are 2)."""
    try:
        with open(path, "rb") as file:
            header = file.read(20)
    except OSError:
        return False
    return header.startswith(b"SQLite format 3\x00") and header[18:20] == b"\x02\x02"


def remove_empty_journal(files: list[Path], were_there: list[bool]) -> None:
    """Remove the -wal and -shm files a failed open just made (the -wal empty: it holds nothing),
    so a refused command leaves nothing behind."""
    wal = files[0]
    if has_frames(wal):
        return
    for path, existed in zip(files, were_there):
        if not existed:
            remove_quietly(path)


def has_frames(wal: Path) -> bool:
    try:
        return wal.stat().st_size > 0
    except OSError:
        return False


def read_only_for_its_owner(path: Path) -> bool:
    try:
        info = path.stat()
    except OSError:
        return False
    return not os.access(path, os.W_OK) and hasattr(os, "geteuid") and info.st_uid == os.geteuid() \
        and not info.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)


NEARLY_FULL_BYTES = 64 * 1024  # less than SQLite's shared-memory file (32 KB) plus a page or two


def disk_nearly_full(folder: Path) -> bool:
    try:
        return shutil.disk_usage(folder).free < NEARLY_FULL_BYTES
    except OSError:
        return False


def is_out_of_space(exc: BaseException) -> bool:
    """SQLite could not create or grow a file: the disk is full, or over a file-size limit."""
    code = primary_code(exc)
    text = str(exc)
    return code in (SQLITE_FULL, SQLITE_IOERR) or "disk is full" in text or "disk I/O error" in text
