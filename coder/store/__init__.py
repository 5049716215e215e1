"""The SQLite store: schema, migrations (PRAGMA user_version), transactions, queries.

Identities are stable: transcripts by name (+ uuid and content hash), codes by dotted path,
codings by uuid. Every command's writes happen in one transaction (`Store.transaction`),
and each write leaves a row in the `audit` table.
"""
from __future__ import annotations

import datetime as _dt
import getpass
import json
import os
import sqlite3
import uuid as _uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

from coder import sqlite_guard
from coder.errors import DatabaseBusy, DatabaseError
from coder.store.connect import connect_readonly
from coder.store.integrity import refuse_damaged
from coder.store.schema import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION, migrate_step  # noqa: F401

BUSY_TIMEOUT_MS = 60_000
JOURNAL_SWITCH_MS = 10_000  # changing the journal mode waits for other connections to close, not to commit
# What copies the file before a migration changes it (coder/backup.py's backup_before): the
# store sits below the backups, so the command opening it hands the function in.
BackupHook = Callable[["Store", str], object]
# Where a line for the person running the command goes (a warning, a backup made): the
# command's environment (render.Env.err); the store never writes to stderr itself.
Notify = Callable[[str], None]


def now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def new_uuid() -> str:
    return str(_uuid.uuid4())


def default_coder() -> str:
    name = os.environ.get("CODER_NAME")
    if name:
        return name
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"


def default_db_path() -> Path:
    return Path(os.environ.get("CODER_DB") or "coder.db")


@dataclass(frozen=True)
class TranscriptRow:
    id: int
    uuid: str
    name: str
    case_name: str | None
    informant: str | None
    role: str | None
    sha256: str
    text: str


@dataclass(frozen=True)
class TranscriptSource:
    """A transcript as `coder verify` reads it: its text and who said it, where, when."""
    id: int
    name: str
    case_name: str | None
    informant: str | None
    role: str | None
    date: str | None
    text: str


@dataclass(frozen=True)
class TurnBounds:
    transcript_id: int
    number: int
    speaker: str | None
    start: int
    end: int
    start_ms: int | None = None  # when the turn was said, where the transcript has times


class Store:
    """A coder project database. Open with `Store.open(path)` or `Store.create(path)`."""

    def __init__(self, conn: sqlite3.Connection, path: Path):
        self.conn = conn
        self.path = path
        self.actor = default_coder()
        self.notify: Notify | None = None
        self.notices: list[str] = []  # what `tell` kept, when nobody gave `notify`

    # -- opening --------------------------------------------------------------------------
    @classmethod
    def create(cls, path: Path, *, backup: BackupHook | None = None, notify: Notify | None = None) -> "Store":
        """Create the project database if missing (idempotent) and return it. The folder must
        exist: a mistyped --db creates no folders."""
        folder = path.parent if str(path.parent) else Path(".")
        if not folder.is_dir():
            raise DatabaseError("cannot create the database: the folder does not exist", path=str(path),
                                hint=f"create the folder first (mkdir {folder}), or check the --db path")
        return cls._open(path, create=True, backup=backup, notify=notify)

    @classmethod
    def open(cls, path: Path, *, backup: BackupHook | None = None, notify: Notify | None = None) -> "Store":
        if not path.exists():
            raise DatabaseError(f"no coder database at {path}", hint="run `coder init` first, or pass --db PATH")
        return cls._open(path, create=False, backup=backup, notify=notify)

    @classmethod
    def open_for_reading(cls, path: Path, *, busy_seconds: float = 2.0) -> "Store":
        """The database opened read-only, for a command that only reads and must change
        nothing, not even the journal mode (`coder check`): an older schema is not upgraded,
        and a writer holding the file is waited for `busy_seconds` only."""
        if not path.exists():
            raise DatabaseError(f"no coder database at {path}", hint="run `coder init` first, or pass --db PATH")
        return cls._open(path, create=False, reading_only=True, busy_ms=int(busy_seconds * 1000))

    @classmethod
    def _open(cls, path: Path, *, create: bool, reading_only: bool = False, busy_ms: int | None = None,
              backup: BackupHook | None = None, notify: Notify | None = None) -> "Store":
        if busy_ms is None:  # read when called, not when defined: a test may shorten the wait
            busy_ms = BUSY_TIMEOUT_MS
        folder = path.parent if str(path.parent) else Path(".")
        new = not path.exists() or path.stat().st_size == 0
        if create and new and not os.access(folder, os.W_OK | os.X_OK):
            raise DatabaseError("cannot create the database: the folder is read-only", path=str(path),
                                hint="choose a folder you can write to (--db PATH)")
        # A file (or folder) we cannot write is opened read-only: reading works, and a write
        # fails at once with a clear message instead of half-way. So is a file on a disk too
        # full to hold SQLite's shared-memory file: reading and backing up elsewhere still work.
        read_only_reason = None
        if reading_only:
            read_only_reason = "opened for reading only"
        elif path.exists() and not (os.access(path, os.W_OK) and os.access(folder, os.W_OK | os.X_OK)):
            read_only_reason = "the file or its folder is not writable"
        elif not new and sqlite_guard.disk_nearly_full(folder):
            read_only_reason = "the disk holding it is full"
        conn = None
        journal_files = [Path(f"{path}-wal"), Path(f"{path}-shm")]
        were_there = [p.exists() for p in journal_files]
        # Reading only, a writable file whose -wal holds nothing is opened as usual but may not
        # write (query_only): closing it then removes the -wal and -shm files as after any
        # command, where a read-only connection would leave them behind. Its file is unchanged.
        quiet_writable = (reading_only and os.access(path, os.W_OK) and os.access(folder, os.W_OK | os.X_OK)
                          and not sqlite_guard.has_frames(Path(f"{path}-wal")))
        for attempt in (1, 2):
            try:
                conn = cls._connect(path, read_only=read_only_reason is not None and not quiet_writable)
                if reading_only:
                    conn.execute("PRAGMA query_only = ON")
                conn.execute(f"PRAGMA busy_timeout = {busy_ms}")
                # retried: the first read can meet another process's WAL recovery or exclusive lock
                app_id, version, tables = sqlite_guard.retry_busy(lambda: (
                    conn.execute("PRAGMA application_id").fetchone()[0],
                    conn.execute("PRAGMA user_version").fetchone()[0],
                    conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]), timeout=busy_ms / 1000)
                break
            except sqlite3.DatabaseError as exc:
                if conn is not None:
                    conn.close()
                    conn = None
                if attempt == 1 and (read_only_reason is None or quiet_writable) and not new \
                        and sqlite_guard.is_out_of_space(exc):
                    quiet_writable = False
                    # no room for the shared-memory file: read the file as it is, write nothing
                    read_only_reason = "the disk holding it is full"
                    sqlite_guard.remove_empty_journal(journal_files, were_there)
                    continue
                raise (sqlite_guard.explain(exc, path, busy_seconds=busy_ms / 1000)
                       or DatabaseError(f"not a coder database ({exc})", path=str(path),
                                        hint="pass --db with a file made by `coder init`")) from None
        read_only = read_only_reason is not None
        if app_id != APPLICATION_ID and tables:
            conn.close()
            raise DatabaseError("not a coder database (a SQLite file made by another program)", path=str(path),
                                hint="pass --db with a file made by `coder init`")
        if version > SCHEMA_VERSION:
            conn.close()
            raise DatabaseError(f"made by a newer coder (schema {version}; this coder knows up to {SCHEMA_VERSION})",
                                path=str(path), hint="upgrade coder: pip install -U coder")
        store = cls(conn, path)
        store.notify = notify
        store.read_only = read_only
        store.read_only_reason = read_only_reason
        try:
            store._configure()
            if version < SCHEMA_VERSION:
                if not create and version == 0 and not tables:
                    raise DatabaseError("empty file, not a coder database", path=str(path), hint="run `coder init`")
                if reading_only:
                    return store
                if read_only:
                    raise DatabaseError(f"made by an older coder (schema {version}) and must be upgraded to schema "
                                        f"{SCHEMA_VERSION}, but it is read-only", path=str(path),
                                        hint="make the file and its folder writable, or use the older coder")
                store._migrate(version, backup)
        except BaseException:
            conn.close()
            raise
        return store

    @classmethod
    def _connect(cls, path: Path, *, read_only: bool = False) -> sqlite3.Connection:
        """The SQLite connection (tests replace this to simulate other file systems)."""
        if read_only:
            return connect_readonly(path, timeout=BUSY_TIMEOUT_MS / 1000, clean=True)
        return sqlite3.connect(str(path), isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000,
                               check_same_thread=False)

    read_only = False  # set by _open: the file or its folder is not writable, the disk is full, or check
    read_only_reason: str | None = None
    _in_transaction = False  # inside transaction(): a nested one joins it
    _checked = False  # set by the first transaction: the file passed integrity.refuse_damaged
    journal_mode: str | None = None  # set by _configure: "wal", or "delete" where WAL cannot work

    def _configure(self) -> None:
        """Foreign keys on; WAL mode (readers never wait for a writer, writers queue on the
        busy timeout) unless the file system cannot do it, then the rollback journal."""
        conn, timeout = self.conn, BUSY_TIMEOUT_MS / 1000
        conn.execute("PRAGMA foreign_keys = ON")
        current = sqlite_guard.retry_busy(lambda: conn.execute("PRAGMA journal_mode").fetchone()[0], timeout=timeout)
        if self.read_only:
            self.journal_mode = current
            return
        choice = sqlite_guard.wanted_journal_mode(self.path)
        mode, busy = current, False
        if current != choice.mode:
            # Changing the mode needs a moment alone with the file; SQLite may answer "locked"
            # at once when several processes open it together: retried with backoff.
            conn.execute(f"PRAGMA busy_timeout = {JOURNAL_SWITCH_MS}")
            try:
                mode = sqlite_guard.retry_busy(lambda: conn.execute(f"PRAGMA journal_mode = {choice.mode}").fetchone()[0],
                                         timeout=JOURNAL_SWITCH_MS / 1000)
            except sqlite3.OperationalError as exc:
                if not sqlite_guard.is_busy(exc):
                    raise
                busy = True  # others keep it open: go on in the current mode, a later open switches
            finally:
                conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if choice.mode == "wal" and mode != "wal":
            if not busy:
                self._warn_once(sqlite_guard.wal_fallback_warning(
                    self.path, "this file system cannot do WAL (SQLite refused it)"))
            if mode not in ("delete", "truncate", "persist"):
                mode = conn.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
        elif choice.mode == "delete" and mode == "wal":
            raise DatabaseBusy(f"{choice.reason or 'WAL mode is unsafe here'}, but another program has the "
                               "database open in WAL mode; nothing was done", path=str(self.path),
                               hint="close coder on the other computers, then run the command again")
        elif choice.reason and choice.reason != "CODER_JOURNAL_MODE=delete":
            self._warn_once(sqlite_guard.wal_fallback_warning(self.path, choice.reason))
        self.journal_mode = mode
        conn.execute("PRAGMA synchronous = FULL")  # a command that said "done" survives a power cut

    def tell(self, message: str) -> None:
        """A line for the person running the command: through `notify` (the command's
        environment), else kept in `notices` for the caller."""
        if self.notify is not None:
            self.notify(message)
        else:
            self.notices.append(message)

    def _warn_once(self, message: str) -> None:
        if sqlite_guard.first_time(message):
            self.tell(f"warning: {message}")

    def _migrate(self, version: int, backup: BackupHook | None = None) -> None:
        """Bring the schema up to SCHEMA_VERSION in one transaction. A project made by an older
        coder is copied to its backup folder first (by `backup`); a new file has nothing to lose. A step of
        MIGRATIONS is SQL, or a function of the connection for what SQL cannot say."""
        with self.transaction():
            current = self.conn.execute("PRAGMA user_version").fetchone()[0]
            if current >= SCHEMA_VERSION:  # another process upgraded it while we waited for the lock
                return
            if current > 0 and backup is not None:
                backup(self, f"migration-v{current}-to-v{SCHEMA_VERSION}")
            try:
                for target in range(current + 1, SCHEMA_VERSION + 1):
                    migrate_step(self.conn, target)
                    self.conn.execute(f"PRAGMA user_version = {target}")
            except sqlite3.Error as exc:
                if sqlite_guard.explain(exc, self.path) is not None:
                    raise
                raise DatabaseError(f"could not upgrade the database from schema {current} to {SCHEMA_VERSION} "
                                    f"({exc}); it was left unchanged", path=str(self.path),
                                    hint="please report this bug; meanwhile use the coder version that made it"
                                    ) from None
            if current == 0:
                self.conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                self.conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('created_at', ?)", (now(),))
            else:
                self.audit("migrate", from_schema=current, to_schema=SCHEMA_VERSION)

    def close(self) -> None:
        self.conn.close()

    # -- transactions ---------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE takes the write lock up front, so a concurrent writer waits
        (busy timeout, then retries with backoff) instead of failing half-way. Errors from
        the disk or the file (full, read-only, damaged, locked too long) roll back and become
        one DatabaseError line."""
        if self._in_transaction:
            # inside a command's own transaction (a REFI-QDA import loads a codebook, transcripts,
            # cases, codings and memos as one): the outer one commits or rolls back all of it
            yield self.conn
            return
        if self.read_only:
            if self.read_only_reason == "the disk holding it is full":
                raise DatabaseError("the disk holding the database is full; nothing was written and the database "
                                    "is unchanged", path=str(self.path),
                                    hint="free some space on that drive and run the command again")
            raise DatabaseError(f"the database is read-only ({self.read_only_reason or 'the file or its folder is not writable'}); "
                                "nothing was written", path=str(self.path),
                                hint="check the permissions, or copy the database somewhere writable")
        timeout = BUSY_TIMEOUT_MS / 1000
        try:
            sqlite_guard.retry_busy(lambda: self.conn.execute("BEGIN IMMEDIATE"), timeout=timeout)
        except sqlite3.Error as exc:
            raise (sqlite_guard.explain(exc, self.path, busy_seconds=timeout) or exc) from None
        try:
            if not self._checked:  # once per open database: a session writes many times
                self._checked = True
                refuse_damaged(self.conn, self.path)
            self._in_transaction = True
            try:
                yield self.conn
            finally:
                self._in_transaction = False
        except BaseException as exc:
            self._rollback()
            error = sqlite_guard.explain(exc, self.path, busy_seconds=timeout) if isinstance(exc, sqlite3.Error) else None
            if error is not None:
                raise error from None
            raise
        try:
            sqlite_guard.retry_busy(lambda: self.conn.execute("COMMIT"), timeout=timeout)
        except sqlite3.Error as exc:
            self._rollback()
            raise (sqlite_guard.explain(exc, self.path, busy_seconds=timeout) or exc) from None

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Reads that see one state of the database however long they take (a deferred read
        transaction): a command that reads in several passes, as `coder verify` does, is not
        confused by another process removing or re-importing a transcript half-way."""
        if self._in_transaction or self.conn.in_transaction:
            yield
            return
        self.conn.execute("BEGIN")
        try:
            yield
        finally:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")  # nothing was written: a read transaction ends so

    @contextmanager
    def savepoint(self, name: str) -> Iterator[None]:
        """Inside a transaction: what the block wrote is undone if it raises, the rest kept."""
        self.conn.execute(f'SAVEPOINT "{name}"')
        try:
            yield
        except BaseException:
            self.conn.execute(f'ROLLBACK TO "{name}"')
            self.conn.execute(f'RELEASE "{name}"')
            raise
        self.conn.execute(f'RELEASE "{name}"')

    def _rollback(self) -> None:
        # SQLite may already have rolled back by itself (disk full, I/O error): no second error
        if self.conn.in_transaction:
            try:
                self.conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass

    def audit(self, action: str, **details) -> None:
        self.conn.execute("INSERT INTO audit(at, actor, action, details) VALUES (?, ?, ?, ?)",
                          (now(), self.actor, action, json.dumps(details, ensure_ascii=False, default=str)))

    # -- queries --------------------------------------------------------------------------
    def query(self, sql: str, params: Sequence | dict = ()) -> list[sqlite3.Row]:
        cursor = self.conn.execute(sql, params)
        cursor.row_factory = sqlite3.Row
        return cursor.fetchall()

    def scalar(self, sql: str, params: Sequence | dict = ()):
        row = self.conn.execute(sql, params).fetchone()
        return row[0] if row else None

    def code_paths(self, *, include_retired: bool = False) -> list[str]:
        where = "" if include_retired else "WHERE retired = 0"
        return [r[0] for r in self.conn.execute(f"SELECT path FROM codes {where} ORDER BY position")]

    def dimension_ids(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT id FROM dimensions ORDER BY position")]

    def transcript(self, name: str) -> TranscriptRow | None:
        """A transcript by its name, in any Unicode form (typed decomposed, or stored so by an
        older coder from a Mac's file name)."""
        import unicodedata

        sql = "SELECT id, uuid, name, case_name, informant, role, sha256, text FROM transcripts WHERE name = ?"
        row = self.conn.execute(sql, (name,)).fetchone()
        if row is None and not name.isascii():
            nfc = unicodedata.normalize("NFC", name)
            row = self.conn.execute(sql, (nfc,)).fetchone()
            if row is None:
                stored = next((n for n in self.transcript_names() if unicodedata.normalize("NFC", n) == nfc), None)
                row = self.conn.execute(sql, (stored,)).fetchone() if stored is not None else None
        return TranscriptRow(*row) if row else None

    def transcript_names(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT name FROM transcripts ORDER BY name")]

    def segment_bounds(self, transcript_id: int) -> list[tuple[int, int, int]]:
        """(number, start, end) of each segment, in order."""
        return self.conn.execute(
            'SELECT number, start, "end" FROM segments WHERE transcript_id = ? ORDER BY number',
            (transcript_id,)).fetchall()

    def turn_bounds(self, transcript_id: int) -> list[TurnBounds]:
        """A transcript's segments: (transcript id, number, speaker, start, end, start_ms), in order."""
        return [TurnBounds(*row) for row in self.conn.execute(
            'SELECT transcript_id, number, speaker, start, "end", start_ms FROM segments WHERE transcript_id = ? '
            "ORDER BY number", (transcript_id,))]

    def listed_speakers(self, transcript_id: int) -> dict[str, tuple[bool, str | None, str | None]]:
        """The speakers a transcript's front matter lists: label -> (interviewer, informant, role)."""
        rows = self.conn.execute("SELECT label, interviewer, informant, role FROM speakers WHERE transcript_id = ?",
                                 (transcript_id,))
        return {label: (bool(interviewer), informant, role) for label, interviewer, informant, role in rows}

    def speaker_roles(self) -> list[str]:
        """The roles front matter gives the speakers of focus groups."""
        return [r[0] for r in self.conn.execute("SELECT DISTINCT role FROM speakers WHERE role IS NOT NULL")]

    def coding_places(self, uuids: Sequence[str]) -> dict[str, str]:
        """Where each coding is, as a person names it: uuid -> `transcript §segment code`."""
        rows = self.conn.execute(
            "SELECT c.uuid, t.name, c.segment, c.code FROM codings c JOIN transcripts t ON t.id = c.transcript_id "
            "WHERE c.uuid IN (SELECT value FROM json_each(?))", (json.dumps(list(uuids)),))
        return {uuid: f"{name} §{segment} {code}" if segment is not None else f"{name} {code}"
                for uuid, name, segment, code in rows}

    def transcript_interviewer(self, transcript_id: int) -> str | None:
        """Who the front matter's `interviewer:` names, if anyone."""
        value = self.scalar("SELECT json_extract(attributes, '$.interviewer') FROM transcripts WHERE id = ?",
                            (transcript_id,))
        return None if value is None else str(value)

    def case_names(self) -> list[str]:
        """The case offices, listed or named by a transcript."""
        return [r[0] for r in self.conn.execute(
            "SELECT name FROM cases UNION SELECT case_name FROM transcripts WHERE case_name IS NOT NULL ORDER BY 1")]

    def listed_names(self) -> list[tuple[str, str, str]]:
        """(name, alias, kind) of the names pseudonymisation hides."""
        return self.conn.execute("SELECT name, alias, kind FROM names ORDER BY name").fetchall()

    def ensure_case(self, name: str) -> None:
        self.conn.execute("INSERT OR IGNORE INTO cases(name, attributes, created_at) VALUES (?, '{}', ?)", (name, now()))

    # -- merge: another copy of the study, read only (its reads and writes are in the noun modules) --
    @classmethod
    def open_other_copy(cls, path: Path) -> "Store":
        """Another copy of a project, to read and never write (`coder merge OTHER.db`): opened
        read-only, and refused as `open` refuses (not a coder project, a newer schema, damaged).
        A copy from an older coder is upgraded in a copy of it in memory, through MIGRATIONS,
        so it reads as this schema while the file stays as it was."""
        store = cls.open_for_reading(path)
        try:
            refuse_damaged(store.conn, path)
            version = store.scalar("PRAGMA user_version")
            if version >= SCHEMA_VERSION:
                return store
            memory = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
            store.conn.backup(memory)
            store.close()
            for target in range(version + 1, SCHEMA_VERSION + 1):
                migrate_step(memory, target)
        except sqlite3.DatabaseError as exc:
            store.close()
            raise (sqlite_guard.explain(exc, path) or sqlite_guard.damaged_error(str(exc), path)) from None
        except BaseException:
            store.close()
            raise
        upgraded = cls(memory, path)
        upgraded.read_only, upgraded.read_only_reason = True, f"an upgraded copy of schema {version} in memory"
        return upgraded


# -- REFI-QDA exchange (coder/refi.py): what an export reads ---------------------------------

def exchange_codebook(store: Store) -> tuple[str | None, list[sqlite3.Row], list[sqlite3.Row]]:
    """(the latest codebook's name, dimensions in order, codes in order) for an export."""
    name = store.scalar("SELECT name FROM codebook_versions ORDER BY id DESC LIMIT 1")
    dimensions = store.query("SELECT id, label, label_en, description, color FROM dimensions ORDER BY position")
    codes = store.query("SELECT path, uuid, id, dimension, parent, label, label_en, description, include, exclude, "
                        "examples, keywords, color, retired FROM codes ORDER BY position")
    return name, dimensions, codes


def exchange_transcripts(store: Store) -> list[sqlite3.Row]:
    """Every transcript with its attributes (not its text: read one at a time), in import order."""
    return store.query("SELECT id, uuid, name, case_name, informant, role, date, attributes, imported_at "
                       "FROM transcripts ORDER BY id")


def exchange_cases(store: Store) -> list[sqlite3.Row]:
    return store.query("SELECT name, attributes FROM cases ORDER BY rowid")


def exchange_memos(store: Store) -> list[sqlite3.Row]:
    return store.query("SELECT uuid, target_type, target, author, text, created_at FROM memos ORDER BY id")


def project_created_at(store: Store) -> str | None:
    return store.scalar("SELECT value FROM meta WHERE key = 'created_at'")


def transcript_uuids(store: Store) -> dict[str, str]:
    """Each transcript's name -> uuid."""
    return dict(store.conn.execute("SELECT name, uuid FROM transcripts"))


def codings_by_uuid(store: Store, uuids: Iterable[str]) -> dict[str, tuple]:
    """uuid -> (transcript name, start, end, code, coder) of the codings among `uuids`."""
    found: dict[str, tuple] = {}
    wanted = list(uuids)
    for i in range(0, len(wanted), 500):
        chunk = wanted[i:i + 500]
        for row in store.conn.execute(
                'SELECT c.uuid, t.name, c.start, c."end", c.code, c.coder FROM codings c JOIN transcripts t '
                f"ON t.id = c.transcript_id WHERE c.uuid IN ({','.join('?' * len(chunk))})", chunk):
            found[row[0]] = tuple(row[1:])
    return found


# -- the project as a whole ------------------------------------------------------------------

def meta_value(store: Store, key: str) -> str | None:
    return store.scalar("SELECT value FROM meta WHERE key = ?", (key,))


def set_meta(store: Store, key: str, value: str) -> None:
    store.conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))


def holds_anything(store: Store) -> int:
    """How many codebook versions, transcripts and cases the project has (0: none)."""
    return store.scalar("SELECT (SELECT count(*) FROM codebook_versions) + (SELECT count(*) FROM transcripts) + "
                        "(SELECT count(*) FROM cases)")
