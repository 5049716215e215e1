"""Backups of a project: SQLite's online backup API (a consistent copy while others write),
automatic copies before destructive operations (kept: the last `CODER_KEEP_BACKUPS`, default
10), listing, verification and restore; and `coder check`.

This module sits above the store: the store is handed `backup_before` (`Store.open(...,
backup=backup_before)`) for the copy it makes before a migration.
"""
from __future__ import annotations

import datetime as _dt
import os
import re
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from coder import output_files
from coder.errors import DatabaseBusy, DatabaseError
from coder.output_files import backup_folder, fsync, fsync_folder, remove_quietly
from coder.sqlite_guard import SQLITE_BUSY, SQLITE_CORRUPT, SQLITE_LOCKED, SQLITE_NOTADB, explain, primary_code
from coder.store import integrity
from coder.store.connect import connect_readonly

if TYPE_CHECKING:
    from coder.store import Store

DEFAULT_KEEP = 10
MIN_FREE_BYTES = 1024 * 1024  # a backup must leave at least this much room on the disk


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
            fd, made = output_files.create_exclusive(target, suffix=".partial")  # never through a planted link
            os.close(fd)
            partial = Path(made)
            copy = sqlite3.connect(str(partial), isolation_level=None)
            try:
                # one step: a consistent snapshot (in WAL mode writers go on meanwhile)
                source.backup(copy, pages=-1)
                integrity.make_self_contained(copy)  # a backup is one self-contained file
                verdict = integrity.quick_check(copy)
                schema = integrity.schema_version(copy)
            finally:
                copy.close()
        finally:
            source.close()
        if verdict != "ok":
            raise DatabaseError(f"the database is damaged (quick_check: {verdict}), so no backup was made",
                                path=str(source_path),
                                hint="restore the latest good backup: `coder backup --list`, then `coder restore FILE`")
        fsync(partial)
        os.replace(partial, target)
        fsync_folder(target.parent)
    except sqlite3.Error as exc:
        remove_quietly(partial)
        blamed = target if writing and primary_code(exc) not in (SQLITE_CORRUPT, SQLITE_NOTADB, SQLITE_BUSY,
                                                                 SQLITE_LOCKED) else source_path
        raise (explain(exc, blamed) or DatabaseError(f"backup failed: {exc}", path=str(blamed))) from None
    except OSError as exc:
        remove_quietly(partial)
        raise DatabaseError(f"could not write the backup ({exc.strerror or exc})", path=str(target),
                            hint="free some space, or choose a folder you can write to") from None
    except BaseException:
        remove_quietly(partial)
        raise
    created = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    return Backup(target, created, _slug(reason) if reason else "", target.stat().st_size, schema)


def backup_before(store: Store, action: str, *, when: object = True) -> Backup | None:
    """The automatic backup before a destructive operation (`action`, e.g. "codebook load").

    Call it inside the operation's transaction, before its first write: the write lock is
    held, so the copy is exactly the state the operation starts from. If the copy cannot be
    made, the operation is refused (its transaction rolls back) rather than run unprotected.
    """
    if not when or not automatic_backups_enabled() or store.path is None:
        return None
    db = Path(store.path)
    try:
        made = backup_database(db, reason=f"before-{action}")
    except DatabaseError as exc:
        raise DatabaseError(f"could not back up the database before {action} ({exc.detail}); nothing was changed",
                            path=str(db), hint="fix that and run again, or set CODER_AUTO_BACKUP=0 to go on "
                                               "without the automatic backup") from None
    store.tell(f"backed up {db} to {made.path} before {action}")
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
            return integrity.schema_version(conn)
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
            app_id = integrity.application_id(conn)
            schema = integrity.schema_version(conn)
            if app_id != application_id:
                raise DatabaseError("not a coder database (a SQLite file made by another program)"
                                    if integrity.table_count(conn)
                                    else "not a coder database (an empty SQLite file)", path=str(path),
                                    hint="pick a file from `coder backup --list`")
            if schema > schema_version:
                raise DatabaseError(f"made by a newer coder (schema {schema}; this coder knows up to "
                                    f"{schema_version})", path=str(path), hint="upgrade coder: pip install -U coder")
            verdict = integrity.integrity_verdict(conn)
            if verdict != "ok":
                raise DatabaseError(f"the file is damaged (integrity_check: {verdict})", path=str(path),
                                    hint="pick an older backup from `coder backup --list`")
            counts = integrity.row_counts(conn)
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
            fd, made = output_files.create_exclusive(db, suffix=".restoring")
            os.close(fd)
            partial = Path(made)
            try:
                _copy_pages(source, partial)
                fsync(partial)
                for leftover in (Path(f"{db}-wal"), Path(f"{db}-shm"), Path(f"{db}-journal")):
                    remove_quietly(leftover)
                os.replace(partial, db)
            except BaseException:  # a failed restore leaves nothing beside the database
                for leftover in (partial, Path(f"{partial}-journal"), Path(f"{partial}-wal"), Path(f"{partial}-shm")):
                    remove_quietly(leftover)
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
            tables = integrity.table_count(conn)
            app_id = integrity.application_id(conn)
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
        if integrity.open_elsewhere(probe):
            raise DatabaseBusy("another coder or program has the database open; nothing was restored",
                               path=str(db), hint="ask them to close coder and run restore again, or pass "
                                                  "--force (they then see the restored data)")
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


def _connect_readonly(path: Path, busy_timeout: float) -> sqlite3.Connection:
    if not path.exists():
        raise DatabaseError("no coder database here", path=str(path), hint="run `coder init` first, or pass --db PATH")
    conn = connect_readonly(path, timeout=busy_timeout)
    integrity.set_busy_timeout(conn, busy_timeout)
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


# -- checking -------------------------------------------------------------------------------

def check_database(store: Store) -> dict:
    """What `coder check` reports: integrity, broken links, schema, journal mode, counts and
    backups. Damage that stops SQLite from even finishing its check is reported as found, not
    raised."""
    found = integrity.check(store)
    broken = found.broken_links
    return {"database": str(store.path), "schema": found.schema,
            "journal_mode": store.journal_mode, "integrity": "; ".join(found.findings) or "ok",
            "foreign_keys": f"{broken} broken link(s)" if broken else ("ok" if broken is not None else "?"),
            "transcripts": found.transcripts, "codings": found.codings,
            "backups": len(list_backups(store.path, read_schema=False)),
            "problems": len(found.findings) + (broken or 0)}
