"""Keeping a project's data safe.

- Opening: the journal mode the file system can carry (WAL locally; rollback journal,
  `journal_mode=DELETE`, on network drives), retried with backoff while another process
  holds a lock.
- Errors: SQLite's "disk full", "read-only", "locked", "malformed" ... turned into one
  `DatabaseError` line saying what happened, that nothing was written, and what to do.
- Backups: SQLite's online backup API (a consistent copy while others write), automatic
  copies before destructive operations (kept: the last `CODER_KEEP_BACKUPS`, default 10),
  listing, verification and restore.

This module sits under `store.py` (it imports no other coder module but `errors`), so the
store can use it while opening and migrating; functions that need a store take it as an
argument.
"""
from __future__ import annotations

import datetime as _dt
import errno
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

from coder.errors import DatabaseError, ExitStatus, InputError

T = TypeVar("T")

BACKUP_FOLDER_SUFFIX = ".backups"  # coder.db -> coder.db.backups/
DEFAULT_KEEP = 10
MIN_FREE_BYTES = 1024 * 1024  # a backup must leave at least this much room on the disk
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


class DatabaseBusy(DatabaseError):
    """Another process kept the database locked for longer than the busy timeout."""

    exit_code = ExitStatus.PARTIAL


# -- diagnostics ----------------------------------------------------------------------------

_warned: set[str] = set()


def warn(message: str) -> None:
    """One line on stderr (diagnostics), once per process for the same message."""
    if message in _warned:
        return
    _warned.add(message)
    sys.stderr.write(f"warning: {message}\n")
    sys.stderr.flush()


def note(message: str) -> None:
    sys.stderr.write(f"{message}\n")
    sys.stderr.flush()


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


# A database up to this size gets SQLite's quick_check before the first write of a command:
# about 4 ms per MB (0.5 s for the 124 MB benchmark project, too slow for every `code add`).
QUICK_CHECK_MAX_BYTES = 32 * 1024 * 1024


def damaged_error(detail: str, path: Path | str | None) -> DatabaseError:
    """The one message for a damaged file, whether a report or a write found it."""
    return DatabaseError(f"the database is damaged ({detail}); nothing was changed",
                         path=str(path) if path is not None else None,
                         hint="restore the latest good backup: `coder backup --list`, then `coder restore FILE`")


def refuse_damaged(conn: sqlite3.Connection, path: Path) -> None:
    """Before a command's first write: refuse a file that fails SQLite's quick_check, so that
    writing cannot spread damage (a broken free list hands out pages still in use). Files
    over QUICK_CHECK_MAX_BYTES get the cheap part only (page and free-list counts); damage
    the write itself meets is refused as it happens (explain: SQLITE_CORRUPT)."""
    try:
        size = Path(path).stat().st_size + (Path(f"{path}-wal").stat().st_size if has_frames(Path(f"{path}-wal")) else 0)
    except OSError:
        size = 0
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    if free >= pages > 0:
        raise damaged_error(f"{free} free pages of {pages}", path)
    if size > QUICK_CHECK_MAX_BYTES:
        return
    findings = [row[0] for row in conn.execute("PRAGMA quick_check(3)") if row[0] != "ok"]
    if findings:
        detail = "; ".join(findings)
        raise damaged_error(detail if len(detail) <= 160 else detail[:157] + "...", path)


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


# -- backups --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Backup:
    path: Path
    created: str  # ISO 8601, UTC
    reason: str  # "" for `coder backup`, else e.g. "before-codebook-load"
    size: int
    schema: int | None = None  # PRAGMA user_version of the copy

    @property
    def automatic(self) -> bool:
        return self.reason.startswith("before-")

    def as_json(self) -> dict:
        return {"file": str(self.path), "created": self.created, "reason": self.reason or "manual",
                "bytes": self.size, "schema": self.schema}


_NAME = re.compile(r"(?P<stem>.+)-(?P<stamp>[0-9]{8}-[0-9]{6})(?:-(?P<n>[0-9]+))?(?:-(?P<reason>before-[a-z0-9-]+))?\.db")


def backup_folder(db: Path) -> Path:
    return db.parent / (db.name + BACKUP_FOLDER_SUFFIX)


def keep_count() -> int:
    try:
        return max(1, int(os.environ.get("CODER_KEEP_BACKUPS", DEFAULT_KEEP)))
    except ValueError:
        return DEFAULT_KEEP


def automatic_backups_enabled() -> bool:
    return os.environ.get("CODER_AUTO_BACKUP", "1").strip().lower() not in ("0", "no", "off", "false")


def _slug(reason: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", reason.lower()).strip("-")


def default_backup_path(db: Path, reason: str = "", when: _dt.datetime | None = None) -> Path:
    """`<db folder>/<name>.backups/<stem>-YYYYMMDD-HHMMSS[-reason].db` (UTC), never an existing file."""
    when = when or _dt.datetime.now(_dt.timezone.utc)
    folder = backup_folder(db)
    stamp = when.strftime("%Y%m%d-%H%M%S")
    suffix = f"-{_slug(reason)}" if reason else ""
    candidate = folder / f"{db.stem}-{stamp}{suffix}.db"
    number = 2
    while candidate.exists():
        candidate = folder / f"{db.stem}-{stamp}-{number}{suffix}.db"
        number += 1
    return candidate


def backup_database(db: Path, target: Path | None = None, *, reason: str = "", force: bool = False,
                    busy_timeout: float = 60.0) -> Backup:
    """Copy the database with SQLite's online backup API: one consistent snapshot, even while
    other coders write. The copy is written beside the target and renamed into place once it
    passed `PRAGMA quick_check`, so an interrupted backup never looks like a finished one."""
    source_path = Path(db)
    target = Path(target) if target is not None else default_backup_path(source_path, reason)
    if target.exists() and not force:
        raise DatabaseError("the backup file already exists", path=str(target), hint="choose another name, or --force")
    if _same_file(target, source_path):
        raise DatabaseError("a backup cannot replace the database itself", path=str(target),
                            hint="choose another file name")
    partial = None
    writing = False  # whether an error comes from the copy being written (then the target is to blame)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _check_room(source_path, target.parent)
        source = _connect_readonly(source_path, busy_timeout)
        try:
            writing = True
            fd, made = _create_exclusive(target, suffix=".partial")  # never through a planted link
            os.close(fd)
            partial = Path(made)
            copy = sqlite3.connect(str(partial), isolation_level=None)
            try:
                # one step: a consistent snapshot (in WAL mode writers go on meanwhile)
                source.backup(copy, pages=-1)
                copy.execute("PRAGMA journal_mode = DELETE")  # a backup is one self-contained file
                verdict = copy.execute("PRAGMA quick_check").fetchone()[0]
                schema = copy.execute("PRAGMA user_version").fetchone()[0]
            finally:
                copy.close()
        finally:
            source.close()
        if verdict != "ok":
            raise DatabaseError(f"the database is damaged (quick_check: {verdict}), so no backup was made",
                                path=str(source_path),
                                hint="restore the latest good backup: `coder backup --list`, then `coder restore FILE`")
        _fsync(partial)
        os.replace(partial, target)
        _fsync_folder(target.parent)
    except sqlite3.Error as exc:
        _remove_quietly(partial)
        blamed = target if writing and primary_code(exc) not in (SQLITE_CORRUPT, SQLITE_NOTADB, SQLITE_BUSY,
                                                                 SQLITE_LOCKED) else source_path
        raise (explain(exc, blamed) or DatabaseError(f"backup failed: {exc}", path=str(blamed))) from None
    except OSError as exc:
        _remove_quietly(partial)
        raise DatabaseError(f"could not write the backup ({exc.strerror or exc})", path=str(target),
                            hint="free some space, or choose a folder you can write to") from None
    except BaseException:
        _remove_quietly(partial)
        raise
    created = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    return Backup(target, created, _slug(reason) if reason else "", target.stat().st_size, schema)


def backup_before(store, action: str, *, when: object = True) -> Backup | None:
    """The automatic backup before a destructive operation (`action`, e.g. "codebook load").

    Call it inside the operation's transaction, before its first write: the write lock is
    held, so the copy is exactly the state the operation starts from. If the copy cannot be
    made, the operation is refused (its transaction rolls back) rather than run unprotected.
    """
    if not when or not automatic_backups_enabled() or getattr(store, "path", None) is None:
        return None
    db = Path(store.path)
    try:
        made = backup_database(db, reason=f"before-{action}")
    except DatabaseError as exc:
        raise DatabaseError(f"could not back up the database before {action} ({exc.detail}); nothing was changed",
                            path=str(db), hint="fix that and run again, or set CODER_AUTO_BACKUP=0 to go on "
                                               "without the automatic backup") from None
    note(f"backed up {db} to {made.path} before {action}")
    rotate(db)
    return made


def rotate(db: Path, keep: int | None = None) -> list[Path]:
    """Delete the oldest automatic backups beyond `keep`; `coder backup` copies are never deleted."""
    keep = keep_count() if keep is None else keep
    automatic = [b for b in list_backups(db, read_schema=False) if b.automatic]
    removed = []
    for old in automatic[:-keep] if len(automatic) > keep else []:
        try:
            old.path.unlink()
            removed.append(old.path)
        except OSError:
            pass
    for stale in backup_folder(db).glob(".*.partial"):  # left by a backup that was killed
        try:
            if time.time() - stale.stat().st_mtime > 3600:
                stale.unlink()
        except OSError:
            pass
    return removed


def list_backups(db: Path, *, read_schema: bool = True) -> list[Backup]:
    """Backups in the database's backup folder, oldest first."""
    folder = backup_folder(Path(db))
    if not folder.is_dir():
        return []
    found = []
    for path in folder.glob("*.db"):
        match = _NAME.fullmatch(path.name)
        if not match:
            continue
        stamp = _dt.datetime.strptime(match.group("stamp"), "%Y%m%d-%H%M%S").replace(tzinfo=_dt.timezone.utc)
        schema = _schema_of(path) if read_schema else None
        found.append(Backup(path, stamp.isoformat(timespec="seconds"), match.group("reason") or "",
                            path.stat().st_size, schema))
    found.sort(key=lambda b: (b.created, int(_NAME.fullmatch(b.path.name).group("n") or 1), _mtime(b.path), b.path.name))
    return found


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


def _schema_of(path: Path) -> int | None:
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            return conn.execute("PRAGMA user_version").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return None


@dataclass(frozen=True)
class Verified:
    path: Path
    schema: int
    transcripts: int
    codings: int


def verify_coder_database(path: Path, *, application_id: int, schema_version: int) -> Verified:
    """Check that `path` is a whole coder database this coder can open (for restore)."""
    path = Path(path)
    if not path.is_file():
        raise DatabaseError("no such file", path=str(path), hint="see `coder backup --list`")
    try:
        conn = connect_readonly(path, timeout=5)  # on read-only media too
        try:
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            schema = conn.execute("PRAGMA user_version").fetchone()[0]
            if app_id != application_id:
                raise DatabaseError("not a coder database (a SQLite file made by another program)"
                                    if conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
                                    else "not a coder database (an empty SQLite file)", path=str(path),
                                    hint="pick a file from `coder backup --list`")
            if schema > schema_version:
                raise DatabaseError(f"made by a newer coder (schema {schema}; this coder knows up to "
                                    f"{schema_version})", path=str(path), hint="upgrade coder: pip install -U coder")
            verdict = conn.execute("PRAGMA integrity_check").fetchone()[0]
            if verdict != "ok":
                raise DatabaseError(f"the file is damaged (integrity_check: {verdict})", path=str(path),
                                    hint="pick an older backup from `coder backup --list`")
            counts = [conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                      for table in ("transcripts", "codings")]
        finally:
            conn.close()
    except sqlite3.Error as exc:
        damaged = primary_code(exc) == SQLITE_CORRUPT
        raise DatabaseError(f"the file is damaged ({exc})" if damaged else f"not a usable coder database ({exc})",
                            path=str(path), hint="pick another file from `coder backup --list`") from None
    return Verified(path, schema, *counts)


@dataclass(frozen=True)
class Restored:
    source: Verified
    previous: Path | None  # where the replaced database was copied first


def restore_database(db: Path, source: Path, *, application_id: int, schema_version: int, force: bool = False,
                     busy_timeout: float = 60.0) -> Restored:
    """Replace the database's content with a backup's: verify the backup, copy the current
    database into the backup folder, then copy the backup in with the online backup API (so a
    process that has the database open sees the restored data on its next read, instead of
    writing into a file that was swapped under it)."""
    db, source = Path(db), Path(source)
    verified = verify_coder_database(source, application_id=application_id, schema_version=schema_version)
    if db.exists() and _same_file(db, source):
        raise DatabaseError("that is the database itself, not a backup of it", path=str(source))
    previous = None
    usable = False
    if db.exists():
        usable = _usable(db, application_id)
        if usable and not force:
            _refuse_if_open_elsewhere(db)
        previous = _save_current(db, usable)
    try:
        if usable:
            _copy_pages(source, db, timeout=busy_timeout)
        else:
            # Nothing can be using a file SQLite cannot read: build the copy beside it and
            # rename it over the damaged one; its journal files belong to the old file.
            fd, made = _create_exclusive(db, suffix=".restoring")
            os.close(fd)
            partial = Path(made)
            try:
                _copy_pages(source, partial)
                _fsync(partial)
                for leftover in (Path(f"{db}-wal"), Path(f"{db}-shm"), Path(f"{db}-journal")):
                    _remove_quietly(leftover)
                os.replace(partial, db)
            except BaseException:  # a failed restore leaves nothing beside the database
                for leftover in (partial, Path(f"{partial}-journal"), Path(f"{partial}-wal"), Path(f"{partial}-shm")):
                    _remove_quietly(leftover)
                raise
    except sqlite3.Error as exc:
        raise (explain(exc, db) or DatabaseError(f"restore failed: {exc}", path=str(db))) from None
    except OSError as exc:
        raise DatabaseError(f"restore failed ({exc.strerror or exc})", path=str(db),
                            hint=f"the database before the restore is in {previous}" if previous else None) from None
    return Restored(verified, previous)


def _usable(db: Path, application_id: int) -> bool:
    """True if SQLite can read the database's schema (it may still be damaged further in).
    A SQLite file of another program is refused: --db probably points at the wrong file."""
    try:
        conn = sqlite3.connect(str(db), timeout=5)
        try:
            tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return False
    if tables and app_id != application_id:
        raise DatabaseError("not a coder database (a SQLite file made by another program); nothing was restored",
                            path=str(db), hint="check --db: restore replaces that file's content")
    return True


def _refuse_if_open_elsewhere(db: Path) -> None:
    """In WAL mode every open connection blocks switching the journal mode, which makes this
    a reliable test for "someone else has the database open" (in rollback-journal mode only
    a writer is seen; the copy then waits for it)."""
    probe = sqlite3.connect(str(db), isolation_level=None, timeout=0)
    try:
        mode = probe.execute("PRAGMA journal_mode").fetchone()[0]
        if mode != "wal":
            return
        try:
            probe.execute("PRAGMA journal_mode = DELETE")
        except sqlite3.OperationalError as exc:
            if is_busy(exc):
                raise DatabaseBusy("another coder or program has the database open; nothing was restored",
                                   path=str(db), hint="ask them to close coder and run restore again, or pass "
                                                      "--force (they then see the restored data)") from None
            raise
        probe.execute("PRAGMA journal_mode = WAL")
    finally:
        probe.close()


def _save_current(db: Path, usable: bool) -> Path:
    """Keep the database that a restore replaces: a backup-API copy if SQLite can read it,
    else the raw bytes (with its WAL file), so nothing is lost even if it was damaged."""
    if usable:
        try:
            return backup_database(db, reason="before-restore").path
        except DatabaseError:
            pass  # damaged beyond quick_check: keep its bytes instead
    target = default_backup_path(db, "before-restore-damaged")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        shutil.copyfile(db, target)
        wal = Path(f"{db}-wal")
        if wal.exists():
            shutil.copyfile(wal, Path(f"{target}-wal"))
    except OSError as exc:
        raise DatabaseError(f"could not keep a copy of the current database ({exc.strerror or exc}); "
                            "nothing was restored", path=str(target), hint="free some space and run again") from None
    return target


def connect_readonly(path: Path, *, timeout: float, clean: bool = False) -> sqlite3.Connection:
    """A read-only connection. In WAL mode SQLite needs the -shm file even to read, and creates
    it (and an empty -wal) when it can. Where nobody can be writing in WAL mode, the file is
    read as it is (immutable), creating nothing beside it: when no -wal file holds changes and
    the folder is read-only, the disk too full for a -shm file, or (with `clean`) the file is
    read-only to everyone who could write it (its owner is us)."""
    path = Path(path)
    uri = path.resolve().as_uri()
    folder = path.parent if str(path.parent) else Path(".")

    def immutable() -> sqlite3.Connection:
        return sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True, isolation_level=None, timeout=timeout,
                               check_same_thread=False)

    quiet = not has_frames(Path(f"{path}-wal"))
    if quiet and (disk_nearly_full(folder) or (clean and _read_only_for_its_owner(path))):
        return immutable()
    journal_files = [Path(f"{path}-wal"), Path(f"{path}-shm")]
    were_there = [p.exists() for p in journal_files]
    if quiet and _in_wal_mode(path) and os.access(path, os.W_OK) and os.access(folder, os.W_OK | os.X_OK):
        # A read-only connection to a file in WAL mode makes a -wal and a -shm file that it
        # cannot remove when it closes (a backup or a restore left them beside the file it
        # read). One that may write but does not (query_only) removes them on closing, as
        # every command's connection does; the file stays as it was.
        conn = sqlite3.connect(str(path), isolation_level=None, timeout=timeout, check_same_thread=False)
        try:
            conn.execute("PRAGMA query_only = ON")
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return conn
        except sqlite3.Error:
            conn.close()  # read it as below, without what this attempt made
            remove_empty_journal(journal_files, were_there)
    conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, isolation_level=None, timeout=timeout,
                           check_same_thread=False)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError as exc:
        conn.close()
        if not (primary_code(exc) in (SQLITE_READONLY, SQLITE_CANTOPEN) or is_out_of_space(exc)) \
                or has_frames(Path(f"{path}-wal")):
            raise
    remove_empty_journal(journal_files, were_there)  # what the failed attempt made
    return immutable()


def _in_wal_mode(path: Path) -> bool:
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
            _remove_quietly(path)


def has_frames(wal: Path) -> bool:
    try:
        return wal.stat().st_size > 0
    except OSError:
        return False


def _read_only_for_its_owner(path: Path) -> bool:
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


def _connect_readonly(path: Path, busy_timeout: float) -> sqlite3.Connection:
    if not path.exists():
        raise DatabaseError("no coder database here", path=str(path), hint="run `coder init` first, or pass --db PATH")
    conn = connect_readonly(path, timeout=busy_timeout)
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
    return conn


def _check_room(source: Path, folder: Path) -> None:
    try:
        need = source.stat().st_size + (Path(f"{source}-wal").stat().st_size if Path(f"{source}-wal").exists() else 0)
        free = shutil.disk_usage(folder).free
    except OSError:
        return
    if free < need + MIN_FREE_BYTES:
        raise DatabaseError(f"not enough free space for a backup ({free:,} bytes free, {need:,} needed)",
                            path=str(folder), hint="free some space, or back up to another drive: coder backup FILE")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _copy_pages(source: Path, dest: Path, *, timeout: float = 5.0) -> None:
    """Copy every page of `source` (opened read-only) into `dest` with SQLite's backup API."""
    reader = connect_readonly(source, timeout=timeout)
    try:
        writer = sqlite3.connect(str(dest), isolation_level=None, timeout=timeout)
        try:
            reader.backup(writer, pages=-1)
        finally:
            writer.close()
    finally:
        reader.close()


def _fsync(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_folder(folder: Path) -> None:
    if sys.platform.startswith("win"):
        return
    _fsync(folder)


def _remove_quietly(path: Path | None) -> None:
    if path is None:
        return
    try:
        path.unlink()
    except OSError:
        pass


# -- checking -------------------------------------------------------------------------------

def check_database(store) -> dict:
    """What `coder check` reports: integrity, broken links, schema, journal mode, counts. Damage
    that stops SQLite from even finishing its check is reported as found, not raised."""
    conn = store.conn

    def ask(sql: str, damaged: list):
        try:
            return conn.execute(sql).fetchall()
        except sqlite3.DatabaseError as exc:
            if primary_code(exc) not in (SQLITE_CORRUPT, SQLITE_NOTADB) and "malformed" not in str(exc):
                raise (explain(exc, store.path) or exc) from None
            damaged.append(str(exc))
            return None

    damaged: list[str] = []
    integrity = ask("PRAGMA integrity_check(20)", damaged)
    broken = ask("PRAGMA foreign_key_check", damaged)
    counts = {table: (ask(f"SELECT count(*) FROM {table}", damaged) or [[None]])[0][0]
              for table in ("transcripts", "codings")}
    findings = list(dict.fromkeys([row[0] for row in integrity or [] if row[0] != "ok"] + damaged))
    return {"database": str(store.path), "schema": conn.execute("PRAGMA user_version").fetchone()[0],
            "journal_mode": store.journal_mode, "integrity": "; ".join(findings) or "ok",
            "foreign_keys": f"{len(broken)} broken link(s)" if broken else ("ok" if broken is not None else "?"),
            **counts, "backups": len(list_backups(store.path, read_schema=False)),
            "problems": len(findings) + len(broken or [])}


# -- output files ---------------------------------------------------------------------------

def project_files(db: Path) -> list[Path]:
    """The files that are the project: the database, its journal files and its backup folder."""
    db = Path(db)
    return [db, Path(f"{db}-wal"), Path(f"{db}-shm"), Path(f"{db}-journal"), backup_folder(db)]


def refuse_project_file(target: Path, db: Path | None) -> None:
    """Refuse to write `target` when it is (a link to, or another name for) the project
    database, one of its journal files, or anything in its backup folder: an export never
    replaces the project, --force or not. Compared by real path, and by device and inode
    where the files exist (a hard link has another path but the same inode)."""
    if db is None:
        return
    target = Path(target)
    real_target = os.path.realpath(target)
    try:
        target_id = _file_id(os.stat(target))
    except OSError:
        target_id = None
    for protected in project_files(db):
        real = os.path.realpath(protected)
        inside = real_target == real or real_target.startswith(real.rstrip(os.sep) + os.sep)
        same = False
        if target_id is not None:
            try:
                same = _file_id(os.stat(protected)) == target_id
                if not same and protected.is_dir():
                    same = any(_file_id(entry.stat()) == target_id for entry in os.scandir(protected)
                               if entry.is_file(follow_symlinks=False))
            except OSError:
                pass
        if inside or same:
            what = (f"in the project's backup folder ({protected})" if protected == backup_folder(Path(db))
                    else f"the project database ({protected})")
            raise OutputRefused(f"this is {what}; an export never writes over the project, "
                                "--force or not; nothing was written", path=str(target),
                                hint="choose another --out file")


def _file_id(info: os.stat_result) -> tuple[int, int]:
    return info.st_dev, info.st_ino


class OutputRefused(InputError):
    """An output file coder will not write (the project itself, a folder, a device, a link)."""

    exit_code = ExitStatus.BAD_INPUT


_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISLNK, "a symbolic link"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket"))


def _not_regular(info: os.stat_result) -> str | None:
    for test, name in _KINDS:
        if test(info.st_mode):
            return name
    return None


def write_output(path: Path, content, *, force: bool, db: Path | None = None) -> Path:
    """Write an output file whole or not at all. The content goes to a new file with a unique
    name in the target's folder (created exclusively, so a planted link is never followed),
    which is renamed over the target once complete and removed if anything fails. An existing
    file is replaced only with `force`, and only a regular file (never a folder, a link, a
    FIFO or a device), and never the project (`db`) itself. `content` is text, bytes, or a
    function writing text to a stream."""
    path = Path(path)
    refuse_project_file(path, db)
    _refuse_folder_names(path)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise OutputRefused(f"cannot write the file ({exc.strerror or exc})", path=str(path)) from None
    if info is not None:
        kind = _not_regular(info)
        if kind:
            raise OutputRefused(f"is {kind}, not a regular file; coder replaces only regular files, --force or "
                                "not; nothing was written", path=str(path), hint="choose another --out file")
        if not force:
            raise OutputRefused("file exists", path=str(path), hint="pass --force to overwrite, or choose --out")
    tmp = None
    made = [folder for folder in (path.parent, *path.parent.parents) if not os.path.lexists(folder)]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = _create_exclusive(path)
        if isinstance(content, bytes):
            with os.fdopen(fd, "wb") as stream:
                stream.write(content)
        elif isinstance(content, str):
            with os.fdopen(fd, "w", encoding="utf-8") as stream:
                stream.write(content)
        else:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as stream:
                content(stream)
        os.replace(tmp, path)  # atomic: a reader never sees half a file
        tmp = None
    except OSError as exc:
        raise OutputRefused(_write_failure(exc), path=str(path),
                            hint="check the folder's permissions and free space, or choose another --out") from None
    finally:
        if tmp is not None:
            _remove_quietly(Path(tmp))
            for folder in made:  # the folders made for it go too (innermost first), if still empty
                try:
                    folder.rmdir()
                except OSError:
                    break
    return path


def _refuse_folder_names(path: Path) -> None:
    """A name that can only be a folder (`.`, `..`, `dir/..`), or a `..` after a folder that
    does not exist (`q.csv/../x`: the shell would not go there either, and making `q.csv` for
    it would leave a folder behind), is refused before anything is made."""
    parts = path.parts
    for index, part in enumerate(parts):
        if part == ".." and index and not os.path.isdir(Path(*parts[:index])):
            raise OutputRefused(f"'{Path(*parts[:index])}' is not a folder, so '..' after it leads nowhere; nothing "
                                "was written", path=str(path), hint="name the file without '..'")
    if path.name in ("", ".", ".."):
        raise OutputRefused("names a folder, not a file; nothing was written", path=str(path),
                            hint="give a file name, e.g. --out sheet.md")


def _create_exclusive(path: Path, suffix: str = ".tmp") -> tuple[int, str]:
    """A new file beside `path`, `.name.XXXXXXXX.tmp`: O_EXCL fails on anything already there,
    a link included, so nothing planted under that name is written through."""
    import secrets

    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    flags |= getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = str(path.with_name(f".{path.name}.{secrets.token_hex(4)}{suffix}"))
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "could not create a temporary file", str(path.parent))


def _write_failure(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "the disk is full; nothing was written"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "cannot write here (the folder is read-only or not yours); nothing was written"
    if exc.errno == errno.EISDIR:
        return "is a folder; nothing was written"
    return f"could not write the file ({exc.strerror or exc}); nothing was written"


# -- a database changed by another program ----------------------------------------------------

# (table, column, the column that names the row) for every column coder stores JSON in
JSON_COLUMNS = (("cases", "attributes", "name"), ("transcripts", "attributes", "name"),
                ("codes", "include", "path"), ("codes", "exclude", "path"), ("codes", "examples", "path"),
                ("codes", "keywords", "path"), ("audit", "details", "id"))


def edited_outside(path: Path | str) -> str | None:
    """What another program changed that coder cannot work with, in a few words: a stored JSON
    value that is no JSON, or a trigger, index or table that is not as coder made it. None
    when nothing is found: then the error is coder's own bug, not the file's."""
    try:
        conn = sqlite3.connect(Path(path).resolve().as_uri() + "?mode=ro", uri=True)
    except (sqlite3.Error, ValueError, OSError):
        return None
    try:
        for table, column, key in JSON_COLUMNS:
            row = conn.execute(f"SELECT {key} FROM {table} WHERE {column} IS NOT NULL AND json_valid({column}) = 0 "
                               "LIMIT 1").fetchone()
            if row is not None:
                return f"{table}.{column} of {row[0]!r} is not valid JSON"
        return _schema_difference(conn)
    except sqlite3.Error:
        return None
    finally:
        conn.close()


def _schema_difference(conn: sqlite3.Connection) -> str | None:
    from coder.store import SCHEMA_VERSION, migrate_step

    expected = sqlite3.connect(":memory:")
    try:
        for version in range(1, SCHEMA_VERSION + 1):
            migrate_step(expected, version)
        want = _schema_items(expected)
    finally:
        expected.close()
    have = _schema_items(conn)
    for (kind, name), definition in want.items():
        if (kind, name) not in have:
            return f"coder's {kind} '{name}' was removed"
        if have[(kind, name)] != definition:
            return f"coder's {kind} '{name}' was changed"
    for kind, name in have:
        if (kind, name) not in want:
            return f"a {kind} '{name}' that is not coder's was added"
    return None


def _schema_items(conn: sqlite3.Connection) -> dict:
    schema = {}
    for kind, name, sql in conn.execute("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"):
        if kind == "table":  # columns, as ALTER TABLE leaves the CREATE statement's text its own way
            schema[(kind, name)] = conn.execute('SELECT name, type, "notnull", pk FROM pragma_table_info(?)',
                                                (name,)).fetchall()
        else:
            schema[(kind, name)] = " ".join((sql or "").split())
    return schema
