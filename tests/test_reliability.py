"""Reliability: several coders on one database, interruptions, backups, migrations, hostile
input. A project's coding is months of work; these tests are the promise that coder does not
lose it. Long scenarios are marked slow (CI runs them too)."""
from __future__ import annotations

import collections
import contextlib
import hashlib
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conftest import CODEBOOK, HAMAR_1, LIER_1, REPO, db_rows

from coder import backup as backup_module
from coder import sqlite_guard
from coder.store import SCHEMA_VERSION
from coder.errors import CoderError

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(autouse=True)
def _fresh_guard_state():
    """Warnings are printed once per process and file systems are looked up once: forget both."""
    sqlite_guard._warned.clear()
    sqlite_guard._fs_cache.clear()
    yield
    sqlite_guard._warned.clear()
    sqlite_guard._fs_cache.clear()


# -- helpers --------------------------------------------------------------------------------

def coder(db: Path, *args, env: dict | None = None, prefix: tuple = (), timeout: float = 120,
          **popen) -> subprocess.CompletedProcess:
    """Run the real command line in its own process, as a second coder would."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1", **(env or {})}
    full_env.pop("CODER_DB", None)
    return subprocess.run([*prefix, sys.executable, "-m", "coder", "--db", str(db), *map(str, args)],
                          env=full_env, capture_output=True, text=True, timeout=timeout, **popen)


# Runs the CLI in a process that dies (SIGKILL) or is interrupted (SIGINT, as Ctrl-C sends)
# at an exact point of the work: while reading the Nth transcript of an import, or once N rows
# were written in the open transaction (with a small page cache, so uncommitted pages are
# already in the WAL or journal file when it dies).
INTERRUPTING_RUNNER = r"""
import os, signal, sqlite3, sys
signal.signal(signal.SIGINT, signal.default_int_handler)  # a parent (a test worker) may have ignored it
mode, at = sys.argv[1], int(sys.argv[2])
if mode in ("kill-at-file", "int-at-file"):
    import coder.importing as importing
    real_read = importing.read_transcript
    calls = [0]
    sig = signal.SIGKILL if mode == "kill-at-file" else signal.SIGINT
    def read_transcript(*args, **kwargs):
        calls[0] += 1
        if calls[0] == at:
            os.kill(os.getpid(), sig)
        return real_read(*args, **kwargs)
    importing.read_transcript = read_transcript
elif mode == "kill-at-row":
    real_connect = sqlite3.connect
    def connect(*args, **kwargs):
        conn = real_connect(*args, **kwargs)
        conn.execute("PRAGMA cache_size = 20")
        def check():
            if conn.in_transaction and conn.total_changes >= at:
                os.kill(os.getpid(), signal.SIGKILL)
            return 0
        conn.set_progress_handler(check, 500)
        return conn
    sqlite3.connect = connect
sys.argv = ["coder", *sys.argv[3:]]
from coder.cli import main
main()
"""


def interrupted_coder(db: Path, mode: str, at: int, *args, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1", **(env or {})}
    return subprocess.run([sys.executable, "-c", INTERRUPTING_RUNNER, mode, str(at), "--db", str(db),
                           *map(str, args)], env=full_env, capture_output=True, text=True, timeout=120)


def settle(db: Path) -> None:
    """Close the connections that in-process CLI runs left for the garbage collector, so the
    project is as a user leaves it: every coder closed, the WAL folded into the file and gone."""
    import gc

    gc.collect()
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    assert not Path(f"{db}-wal").exists(), "a connection to the database is still open"


def integrity(db: Path) -> str:
    return db_rows(db, "PRAGMA integrity_check")[0][0]


def content_digest(db: Path) -> str:
    """A digest of everything in the database (schema and rows), whatever the journal mode."""
    conn = sqlite3.connect(db)
    try:
        return hashlib.sha256("\n".join(conn.iterdump()).encode()).hexdigest()
    finally:
        conn.close()


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def one_line_error(result, exit_code: int = 2) -> str:
    """The CLI contract for failures: the exit code, one line on stderr, never a traceback."""
    stderr = result.stderr
    code = result.exit_code if hasattr(result, "exit_code") else result.returncode
    assert code == exit_code, (code, stderr)
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1, stderr
    return errors[0]


class Hang(AssertionError):
    pass


@contextlib.contextmanager
def no_hang(seconds: float):
    """Fail (instead of hanging the suite) if the block runs longer than `seconds`."""
    def alarm(signum, frame):
        raise Hang(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


WORDS = ("vi har to sjefer og det er krevende men partnerskapet fungerer godt for oss i kommunen "
         "staten budsjett tillit møte rådmannen fylkesdirektøren kontoret").split()


def transcript_text(number: int, turns: int = 10, words: int = 30, case: str = "Hamar", seed: int = 0) -> str:
    rng = random.Random(number * 7919 + seed)
    body = []
    for turn in range(turns):
        speaker = "Intervjuer" if turn % 2 == 0 else "Leder"
        body.append(f"{speaker}: " + " ".join(rng.choice(WORDS) for _ in range(words)) + f" ({number}.{turn + 1})")
    return f"---\ncase: {case}\ninformant: Person {number}\n---\n" + "\n\n".join(body) + "\n"


def write_corpus(folder: Path, prefix: str, count: int, **kwargs) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for number in range(count):
        path = folder / f"{prefix}{number:03d}.txt"
        path.write_text(transcript_text(number, **kwargs), encoding="utf-8")
        paths.append(path)
    return paths


def unprivileged_prefix() -> tuple:
    """Root ignores file permissions; drop that power for the child when the tests run as root."""
    if os.geteuid() != 0:
        return ()
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: cannot test permissions")
    return ("setpriv", "--bounding-set", "-dac_override,-dac_read_search,-fowner", "--inh-caps", "-all")


# -- several coders on one database ------------------------------------------------------------

CODERS = ("anna", "bjorn", "cecilie", "dag")
CODES = ("vertical.two_bosses", "horizontal.relations.communication")


@pytest.mark.slow
def test_four_coders_and_an_importer_at_once(loaded):
    """4 processes each apply 500 codings (5 batches of 100), one imports 60 transcripts in 6
    batches, one keeps reading: exactly 2,000 codings, nobody sees "database is locked", and
    every read sees whole batches only."""
    db = loaded.db
    write_corpus(loaded.root / "corpus", "c", 25)
    assert loaded.run("import", "corpus").exit_code == 0
    write_corpus(loaded.root / "incoming", "n", 60, case="Lier", seed=1)
    batches: dict[str, list[Path]] = {}
    for index, name in enumerate(CODERS):
        rows = [(f"c{t:03d}", s, code) for t in range(25) for s in range(1, 11) for code in CODES]
        random.Random(index).shuffle(rows)
        batches[name] = []
        for b in range(5):
            path = loaded.write(f"batches/{name}_{b}.csv", "transcript,segment,code,coder\n" + "".join(
                f"{t},{s},{code},{name}\n" for t, s, code in rows[b * 100:(b + 1) * 100]))
            batches[name].append(path)
    incoming = sorted((loaded.root / "incoming").glob("*.txt"))
    results: list[subprocess.CompletedProcess] = []
    snapshots: list[list[dict]] = []
    writers_done = threading.Event()
    lock = threading.Lock()

    def record(result):
        with lock:
            results.append(result)

    def apply_all(name):
        for path in batches[name]:
            record(coder(db, "code", "apply", path))

    def import_all():
        for start in range(0, len(incoming), 10):
            record(coder(db, "import", *incoming[start:start + 10]))

    def read_all():
        while not writers_done.is_set():
            result = coder(db, "code", "list", "--json")
            record(result)
            if result.returncode == 0:
                snapshots.append(json.loads(result.stdout))
            time.sleep(0.3)

    writers = [threading.Thread(target=apply_all, args=(name,)) for name in CODERS]
    writers.append(threading.Thread(target=import_all))
    reader = threading.Thread(target=read_all)
    for thread in [*writers, reader]:
        thread.start()
    for thread in writers:
        thread.join(timeout=300)
    writers_done.set()
    reader.join(timeout=60)

    for result in results:
        assert result.returncode == 0, (result.args, result.stderr)
        assert "locked" not in result.stderr and "busy" not in result.stderr, result.stderr
    assert len([r for r in results if "apply" in r.args]) == 20
    assert snapshots, "the reader never got a snapshot"
    for snapshot in snapshots:  # each read sees whole transactions: multiples of one batch
        per_coder = collections.Counter(row["coder"] for row in snapshot)
        assert all(count % 100 == 0 for count in per_coder.values()), per_coder
        assert len({row["id"] for row in snapshot}) == len(snapshot)
    assert db_rows(db, "SELECT count(*) FROM codings") == [(2000,)]
    assert dict(db_rows(db, "SELECT coder, count(*) FROM codings GROUP BY coder")) == {n: 500 for n in CODERS}
    assert db_rows(db, "SELECT count(*) FROM transcripts") == [(2 + 25 + 60,)]
    assert integrity(db) == "ok"
    listed = loaded.run("code", "list", "--json").json()
    assert len(listed) == 2000 and len({r["id"] for r in listed}) == 2000
    freq = {(c["code"], c["group"]): c["count"] for c in loaded.run("report", "freq", "--json").json()}
    assert freq[("vertical.two_bosses", "Hamar")] == 250  # 25 transcripts x 10 segments, each once
    assert freq[("horizontal.relations.communication", "Hamar")] == 250
    assert freq[("horizontal.relations", "Hamar")] == 250  # a parent counts its sub-codes' units


@pytest.mark.slow
def test_two_coders_importing_the_same_folder_at_once(loaded):
    """Both imports wait for the write lock (held here meanwhile); whoever comes second finds the
    transcripts already there: no error, no duplicates."""
    write_corpus(loaded.root / "shared", "s", 10)
    holder = sqlite3.connect(loaded.db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    procs = [subprocess.Popen([sys.executable, "-m", "coder", "--db", str(loaded.db), "import", "shared", "--json"],
                              env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    _wait_until_open(procs, loaded.db)  # both have started and read the project before waiting for the lock
    holder.execute("COMMIT")
    holder.close()
    outputs = [p.communicate(timeout=120) for p in procs]
    for proc, (stdout, stderr) in zip(procs, outputs):
        assert proc.returncode == 0, stderr
    statuses = sorted(r["status"] for stdout, _ in outputs for r in json.loads(stdout))
    assert statuses == ["imported"] * 10 + ["unchanged"] * 10
    assert db_rows(loaded.db, "SELECT count(*) FROM transcripts WHERE name LIKE 's%'") == [(10,)]


def _wait_until_open(procs: list, db: Path, timeout: float = 60.0) -> None:
    """Until every process has the database open (polling /proc/PID/fd on Linux; elsewhere a
    pause long enough for them to start)."""
    if not Path(f"/proc/{os.getpid()}/fd").is_dir():
        time.sleep(2.0)
        return
    target, waiting = str(Path(db).resolve()), list(procs)
    deadline = time.monotonic() + timeout
    while waiting and time.monotonic() < deadline:
        for proc in list(waiting):
            if proc.poll() is not None:  # it ended early: what it printed tells why
                waiting.remove(proc)
                continue
            with contextlib.suppress(OSError):  # not started yet, or a descriptor closed as it was read
                if any(os.readlink(fd) == target for fd in Path(f"/proc/{proc.pid}/fd").iterdir()):
                    waiting.remove(proc)
        time.sleep(0.01)


OPENING_RUNNER = r"""
import sys, time
from coder.cli import main
start = float(sys.argv[1])
while time.time() < start:
    time.sleep(0.0005)
sys.argv = ["coder", *sys.argv[2:]]
main()
"""


@pytest.mark.slow
def test_many_processes_opening_a_rollback_journal_database_at_once(tmp_path):
    """Switching a database to WAL needs a moment alone with it; SQLite answers "database is
    locked" at once (without waiting) when several processes try together. Opening retries."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for attempt in range(1):
        db = tmp_path / f"round{attempt}.db"
        shutil.copyfile(FIXTURES / "schema_v1.db", db)  # a released fixture: rollback-journal mode
        start = time.time() + 3.0  # all have imported coder by then, even on two cores
        procs = [subprocess.Popen([sys.executable, "-c", OPENING_RUNNER, str(start), "--db", str(db), "code", "list",
                                   "--json"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(8)]
        for proc in procs:
            stdout, stderr = proc.communicate(timeout=120)
            assert proc.returncode == 0, stderr
            assert len(json.loads(stdout)) == 7
        assert db_rows(db, "PRAGMA journal_mode") == [("wal",)]


class _LockedAtFirst(sqlite3.Connection):
    """A connection on which SQLite answers "database is locked" at once, without waiting, the
    first few times a statement runs: what several processes opening or writing together meet."""

    statement = ""
    failures = 0

    def execute(self, sql, *args):
        if " ".join(sql.split()).upper() == self.statement and type(self).failures:
            type(self).failures -= 1
            raise sqlite3.OperationalError("database is locked")
        return super().execute(sql, *args)


@pytest.mark.parametrize("statement, args", [
    ("PRAGMA JOURNAL_MODE = WAL", ("code", "list", "--json")),
    ("BEGIN IMMEDIATE", ("code", "add", "lier_1", "2", "two_bosses", "--coder", "eva")),
    ("COMMIT", ("code", "add", "lier_1", "2", "two_bosses", "--coder", "eva")),
])
def test_an_immediate_database_is_locked_is_retried(v1_copy, monkeypatch, statement, args):
    from coder.store import BUSY_TIMEOUT_MS, Store

    monkeypatch.setattr(_LockedAtFirst, "statement", statement)
    monkeypatch.setattr(_LockedAtFirst, "failures", 3)
    monkeypatch.setattr(Store, "_connect", classmethod(lambda cls, path, read_only=False: sqlite3.connect(
        str(path), isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000, factory=_LockedAtFirst)))
    result = _run(v1_copy, *args)
    assert result.exit_code == 0, result.stderr
    assert _LockedAtFirst.failures == 0, "the statement was never tried"
    assert db_rows(v1_copy, "PRAGMA journal_mode") == [("wal",)]


def test_a_writer_that_holds_the_lock_too_long_gives_a_clear_busy_error(loaded, monkeypatch):
    import coder.store

    monkeypatch.setattr(coder.store, "BUSY_TIMEOUT_MS", 300)
    holder = sqlite3.connect(loaded.db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        result = loaded.run("code", "add", "hamar_1", "2", "two_bosses")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    line = one_line_error(result, exit_code=1)
    assert "busy" in line and "nothing was written" in line and "run the command again" in line
    assert db_rows(loaded.db, "SELECT count(*) FROM codings") == [(0,)]


# -- journal mode on file systems without WAL ----------------------------------------------------

def test_network_drive_uses_the_rollback_journal_with_one_warning(project, monkeypatch):
    monkeypatch.setattr(sqlite_guard, "network_filesystem", lambda path: "cifs")
    first = project.run("init", "--codebook", "codebook.yaml")
    assert first.exit_code == 0
    warnings = [line for line in first.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, first.stderr
    assert "network drive (cifs)" in warnings[0] and "journal_mode=DELETE" in warnings[0]
    project.write("t/hamar_1.txt", HAMAR_1)
    assert project.run("import", "t").exit_code == 0
    assert project.run("code", "add", "hamar_1", "2", "two_bosses").exit_code == 0
    assert db_rows(project.db, "PRAGMA journal_mode") == [("delete",)]
    assert not Path(f"{project.db}-wal").exists()
    assert integrity(project.db) == "ok"


def test_the_store_tells_its_warnings_and_backups_to_the_caller_not_to_stderr(v1_copy, monkeypatch, capfd):
    """The store writes nothing to stderr itself: its warnings (no WAL on a network drive)
    and the backup before a migration go to the `notify` the command gives (its
    environment), or are kept in `notices` for a caller that gives none."""
    from coder.backup import backup_before
    from coder.store import Store

    monkeypatch.setattr(sqlite_guard, "network_filesystem", lambda path: "nfs")
    told: list[str] = []
    Store.open(v1_copy, backup=backup_before, notify=told.append).close()
    assert [line.split(" ")[0] for line in told] == ["warning:", "backed"], told
    assert "network drive (nfs)" in told[0] and "before migration-v1-to-v" in told[1]
    sqlite_guard._warned.clear()
    store = Store.open(v1_copy)
    store.close()
    assert len(store.notices) == 1 and "network drive (nfs)" in store.notices[0]
    assert capfd.readouterr().err == ""


def test_file_system_that_refuses_wal_falls_back_to_the_rollback_journal(project, monkeypatch):
    """SQLite's unix-dotfile VFS has no shared memory, like many network file systems: WAL is refused."""
    from coder.store import BUSY_TIMEOUT_MS, Store

    def connect_without_shared_memory(cls, path, *, read_only=False):
        return sqlite3.connect(f"{Path(path).resolve().as_uri()}?vfs=unix-dotfile", uri=True, isolation_level=None,
                               timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)

    monkeypatch.setattr(Store, "_connect", classmethod(connect_without_shared_memory))
    result = project.run("init", "--codebook", "codebook.yaml")
    assert result.exit_code == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "cannot do WAL" in warnings[0] and "journal_mode=DELETE" in warnings[0]
    project.write("t/lier_1.txt", LIER_1)
    assert project.run("import", "t").exit_code == 0
    assert db_rows(project.db, "PRAGMA journal_mode") == [("delete",)]


def test_network_drive_with_the_database_open_in_wal_mode_elsewhere_is_refused(loaded, monkeypatch):
    import coder.store

    monkeypatch.setattr(coder.store, "JOURNAL_SWITCH_MS", 300)
    other = sqlite3.connect(loaded.db)
    other.execute("SELECT count(*) FROM codes").fetchone()  # a coder on the server itself, in WAL mode
    before = content_digest(loaded.db)
    monkeypatch.setattr(sqlite_guard, "network_filesystem", lambda path: "nfs")
    try:
        result = loaded.run("code", "add", "hamar_1", "2", "two_bosses")
    finally:
        other.close()
    line = one_line_error(result, exit_code=1)
    assert "network drive" in line and "WAL" in line
    assert content_digest(loaded.db) == before


def test_mount_table_tells_network_drives_from_local_disks():
    mountinfo = (
        "22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n"
        "40 22 0:50 / /home/anna/Felles\\040prosjekt rw - cifs //fileserver/prosjekt rw\n"
        "41 22 0:51 / /mnt/nfs rw - nfs4 server:/export rw\n"
    )
    mounts = sqlite_guard.parse_mountinfo(mountinfo)
    assert sqlite_guard.mount_type_of("/home/anna/Felles prosjekt/koding", mounts) == "cifs"
    assert sqlite_guard.mount_type_of("/mnt/nfs", mounts) == "nfs4"
    assert sqlite_guard.mount_type_of("/home/anna", mounts) == "ext4"
    assert sqlite_guard.mount_type_of("/mnt/nfsother", mounts) == "ext4"


def test_coder_journal_mode_overrides_the_detection(project, monkeypatch):
    monkeypatch.setenv("CODER_JOURNAL_MODE", "delete")
    result = project.run("init")
    assert result.exit_code == 0 and "warning" not in result.stderr
    assert db_rows(project.db, "PRAGMA journal_mode") == [("delete",)]


# -- interruptions ------------------------------------------------------------------------------

def _assert_clean_prefix(db: Path, files: list[Path]) -> int:
    """The transcripts in the database are the first k files of the batch, each one whole."""
    names = {row[0]: row[1] for row in db_rows(
        db, "SELECT t.name, count(s.id) FROM transcripts t LEFT JOIN segments s ON s.transcript_id = t.id "
            "WHERE t.name LIKE 'k%' GROUP BY t.id")}
    expected = [p.stem for p in sorted(files)]
    assert sorted(names) == expected[:len(names)], "not a prefix of the batch"
    assert all(count == 10 for count in names.values()), "a transcript without all its segments"
    return len(names)


@pytest.mark.slow
@pytest.mark.parametrize("journal", ["wal", "delete"])
def test_sigkill_in_the_middle_of_importing_500_transcripts(loaded, journal):
    env = {"CODER_JOURNAL_MODE": journal}
    settle(loaded.db)
    assert coder(loaded.db, "cases", "list", env=env).returncode == 0  # switch the journal mode first
    files = write_corpus(loaded.root / "batch", "k", 500, words=80)
    killed = interrupted_coder(loaded.db, "kill-at-file", 300, "import", "batch", env=env)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    leftovers = [Path(f"{loaded.db}-wal"), Path(f"{loaded.db}-journal")]
    assert any(p.exists() and p.stat().st_size > 0 for p in leftovers), "died before writing anything"
    assert integrity(loaded.db) == "ok"
    assert _assert_clean_prefix(loaded.db, files) in (0, *range(1, 300))
    rerun = coder(loaded.db, "import", "batch", "--json", env=env)
    assert rerun.returncode == 0, rerun.stderr
    assert _assert_clean_prefix(loaded.db, files) == 500
    assert db_rows(loaded.db, "SELECT count(*), count(DISTINCT name) FROM transcripts") == [(502, 502)]
    again = coder(loaded.db, "import", "batch", "--json", env=env)
    assert {r["status"] for r in json.loads(again.stdout)} == {"unchanged"}
    assert integrity(loaded.db) == "ok"


@pytest.fixture
def ten_thousand_rows(loaded) -> Path:
    """100 transcripts x 20 segments x 5 codes: a codings CSV of 10,000 distinct rows."""
    write_corpus(loaded.root / "many", "m", 100, turns=20, words=12)
    assert loaded.run("import", "many").exit_code == 0
    codes = ("vertical.two_bosses", "vertical.partnership_meeting", "horizontal.relations",
             "horizontal.relations.communication", "horizontal.relations.equality")
    rows = "".join(f"m{t:03d},{s},{code}\n" for t in range(100) for s in range(1, 21) for code in codes)
    return loaded.write("codings.csv", "transcript,segment,code\n" + rows)


@pytest.mark.slow
@pytest.mark.parametrize("journal", ["wal", "delete"])
def test_sigkill_in_the_middle_of_applying_10000_codings(loaded, ten_thousand_rows, journal):
    env = {"CODER_JOURNAL_MODE": journal}
    settle(loaded.db)
    assert coder(loaded.db, "cases", "list", env=env).returncode == 0
    killed = interrupted_coder(loaded.db, "kill-at-row", 5000, "code", "apply", ten_thousand_rows, env=env)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert integrity(loaded.db) == "ok"
    assert db_rows(loaded.db, "SELECT count(*) FROM codings")[0][0] in (0, 10_000)
    rerun = coder(loaded.db, "code", "apply", ten_thousand_rows, env=env)
    assert rerun.returncode == 0, rerun.stderr
    assert db_rows(loaded.db, "SELECT count(*) FROM codings") == [(10_000,)]
    assert db_rows(loaded.db, 'SELECT count(*) FROM (SELECT DISTINCT transcript_id, start, "end", code, coder '
                              "FROM codings)") == [(10_000,)]
    again = coder(loaded.db, "code", "apply", ten_thousand_rows, env=env)
    assert again.returncode == 0 and "10000 duplicate" in again.stderr, again.stderr
    assert db_rows(loaded.db, "SELECT count(*) FROM codings") == [(10_000,)]
    assert integrity(loaded.db) == "ok"


@pytest.mark.slow
def test_ctrl_c_during_an_import_says_what_happened_and_how_to_finish(loaded):
    files = write_corpus(loaded.root / "batch", "k", 200)
    before = content_digest(loaded.db)
    result = interrupted_coder(loaded.db, "int-at-file", 120, "import", "batch")
    assert result.returncode == 130, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("interrupted"), result.stderr
    assert "nothing from it was saved" in lines[0] and "run it again" in lines[0] and "import batch" in lines[0]
    assert content_digest(loaded.db) == before
    assert _assert_clean_prefix(loaded.db, files) == 0
    assert coder(loaded.db, "import", "batch").returncode == 0
    assert _assert_clean_prefix(loaded.db, files) == 200


# -- backups and restore ---------------------------------------------------------------------------

def test_backup_makes_a_checked_self_contained_copy(loaded):
    loaded.run("code", "add", "hamar_1", "2", "two_bosses")
    result = loaded.run("backup")
    assert result.exit_code == 0, result.stderr
    made = Path(result.stdout.strip())
    assert made.parent == loaded.root / "coder.db.backups"
    assert made.name.startswith("coder-") and made.suffix == ".db"
    assert db_rows(made, "PRAGMA journal_mode") == [("delete",)]  # one file, no -wal needed
    assert db_rows(made, "SELECT count(*) FROM codings") == [(1,)]
    assert integrity(made) == "ok"
    listed = loaded.run("backup", "--list", "--json").json()
    assert [(Path(b["file"]).name, b["reason"], b["schema"]) for b in listed] == [(made.name, "manual", SCHEMA_VERSION)]
    second = loaded.run("backup", "--json").json()  # same second: a new name, not an overwrite
    assert second[0]["file"] != str(made) and len(loaded.run("backup", "--list", "--json").json()) == 2


def test_backup_to_a_named_file_never_overwrites_without_force(loaded):
    target = loaded.root / "usb" / "kopi.db"
    assert loaded.run("backup", str(target)).exit_code == 0
    size = target.stat().st_size
    loaded.run("code", "add", "hamar_1", "2", "two_bosses")
    again = loaded.run("backup", str(target))
    assert "already exists" in one_line_error(again)
    assert db_rows(target, "SELECT count(*) FROM codings") == [(0,)] and target.stat().st_size == size
    assert loaded.run("backup", str(target), "--force").exit_code == 0
    assert db_rows(target, "SELECT count(*) FROM codings") == [(1,)]
    assert "itself" in one_line_error(loaded.run("backup", str(loaded.db), "--force"))


@pytest.mark.slow
def test_backup_is_consistent_while_another_coder_writes(loaded):
    write_corpus(loaded.root / "corpus", "c", 20)
    assert loaded.run("import", "corpus").exit_code == 0
    batches = []
    for b in range(8):
        rows = "".join(f"c{t:03d},{s},{code},w{b}\n" for t in range(20) for s in range(1, 6) for code in CODES[:1])
        batches.append(loaded.write(f"w{b}.csv", "transcript,segment,code,coder\n" + rows))  # 100 rows each

    def write_all():
        for path in batches:
            assert coder(loaded.db, "code", "apply", path).returncode == 0

    writer = threading.Thread(target=write_all)
    writer.start()
    copies = []
    while writer.is_alive() or not copies:
        result = coder(loaded.db, "backup")
        assert result.returncode == 0, result.stderr
        copies.append(Path(result.stdout.strip()))
    writer.join()
    for copy in copies:
        assert integrity(copy) == "ok"
        count = db_rows(copy, "SELECT count(*) FROM codings")[0][0]
        assert count % 100 == 0, "a backup caught half a transaction"
    assert db_rows(loaded.db, "SELECT count(*) FROM codings") == [(800,)]


def _drop_equality(text: str) -> str:
    return text.replace("          - id: equality\n            label: Likeverd\n", "")


def test_codebook_load_that_retires_or_deletes_codes_backs_up_first(loaded):
    loaded.run("code", "add", "lier_1", "2", "equality")
    loaded.write("codebook.yaml", CODEBOOK.replace("version: \"1\"", "version: \"2\""))  # nothing dropped
    assert loaded.run("codebook", "load", "codebook.yaml").exit_code == 0
    assert loaded.run("backup", "--list", "--json").json() == []
    loaded.write("codebook.yaml", _drop_equality(CODEBOOK))
    result = loaded.run("codebook", "load", "codebook.yaml")
    assert result.exit_code == 0 and "retired" in result.stderr
    backups = loaded.run("backup", "--list", "--json").json()
    assert [b["reason"] for b in backups] == ["before-codebook-load"]
    assert f"backed up {loaded.db} to {backups[0]['file']}" in result.stderr
    kept = Path(backups[0]["file"])  # the state before: the code not yet retired
    assert db_rows(kept, "SELECT retired FROM codes WHERE path = 'horizontal.relations.equality'") == [(0,)]


def test_automatic_backups_keep_the_last_few_and_never_touch_manual_ones(loaded, monkeypatch):
    monkeypatch.setenv("CODER_KEEP_BACKUPS", "3")
    manual = Path(loaded.run("backup").stdout.strip())
    versions = [CODEBOOK, _drop_equality(CODEBOOK)]
    for round_ in range(6):  # every second load drops 'equality' again: a destructive load each time
        loaded.write("codebook.yaml", versions[round_ % 2].replace('version: "1"', f'version: "{round_}"'))
        assert loaded.run("codebook", "load", "codebook.yaml").exit_code == 0
    backups = loaded.run("backup", "--list", "--json").json()
    assert [b["reason"] for b in backups] == ["manual"] + ["before-codebook-load"] * 3
    assert manual.exists()


def test_when_the_backup_cannot_be_made_the_destructive_operation_is_refused(loaded):
    (loaded.root / "coder.db.backups").write_text("a file where the backup folder should be")
    before = content_digest(loaded.db)
    loaded.write("codebook.yaml", _drop_equality(CODEBOOK))
    line = one_line_error(loaded.run("codebook", "load", "codebook.yaml"))
    assert "could not back up the database before codebook load" in line and "nothing was changed" in line
    assert "CODER_AUTO_BACKUP=0" in line
    assert content_digest(loaded.db) == before


def test_restore_brings_a_backup_back_and_keeps_the_replaced_database(loaded):
    first = loaded.run("code", "add", "hamar_1", "2", "two_bosses")
    assert first.exit_code == 0
    good = Path(loaded.run("backup").stdout.strip())
    loaded.run("code", "add", "lier_1", "2", "equality")
    settle(loaded.db)  # no other coder has it open
    result = loaded.run("restore", str(good))
    assert result.exit_code == 0, result.stderr
    assert "1 coding(s)" in result.stderr
    assert len(loaded.run("code", "list", "--json").json()) == 1
    assert db_rows(loaded.db, "SELECT action FROM audit ORDER BY id DESC LIMIT 1") == [("restore",)]
    previous = [b for b in loaded.run("backup", "--list", "--json").json() if b["reason"] == "before-restore"]
    assert len(previous) == 1 and db_rows(Path(previous[0]["file"]), "SELECT count(*) FROM codings") == [(2,)]
    settle(loaded.db)
    assert loaded.run("restore", previous[0]["file"]).exit_code == 0  # and a restore can be undone
    assert len(loaded.run("code", "list", "--json").json()) == 2
    assert integrity(loaded.db) == "ok"


def _newer(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()


def _other_program(path: Path) -> None:
    path.unlink()
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE photos (id INTEGER)")
    conn.commit()
    conn.close()


@pytest.mark.parametrize("spoil, needle", [
    (lambda p: p.write_text("not a database\n" * 300), "not a usable coder database"),
    (_other_program, "another program"),
    (_newer, "newer coder"),
    (lambda p: _overwrite_table_pages(p, ("codings", "segments")), "damaged"),
])
def test_restore_refuses_a_file_that_is_not_a_good_coder_database(loaded, spoil, needle):
    loaded.run("code", "add", "hamar_1", "2", "two_bosses")
    candidate = Path(loaded.run("backup").stdout.strip())
    spoil(candidate)
    settle(loaded.db)
    before = file_digest(loaded.db), content_digest(loaded.db)
    line = one_line_error(loaded.run("restore", str(candidate)))
    assert needle in line
    assert (file_digest(loaded.db), content_digest(loaded.db)) == before
    assert not [b for b in loaded.run("backup", "--list", "--json").json() if b["reason"] == "before-restore"]


def test_restore_waits_for_other_coders_to_close_the_database(loaded):
    backup = Path(loaded.run("backup").stdout.strip())
    loaded.run("code", "add", "hamar_1", "2", "two_bosses")
    settle(loaded.db)
    other = sqlite3.connect(loaded.db)
    other.execute("SELECT count(*) FROM codings").fetchone()  # another coder's open session
    try:
        refused = loaded.run("restore", str(backup))
        line = one_line_error(refused, exit_code=1)
        assert "has the database open" in line and "--force" in line
        assert db_rows(loaded.db, "SELECT count(*) FROM codings") == [(1,)]
        forced = loaded.run("restore", str(backup), "--force")
        assert forced.exit_code == 0, forced.stderr
        assert other.execute("SELECT count(*) FROM codings").fetchone() == (0,)  # they see it at once
    finally:
        other.close()
    assert integrity(loaded.db) == "ok"


def test_restore_over_a_damaged_database_keeps_the_damaged_bytes(loaded):
    good = Path(loaded.run("backup").stdout.strip())
    settle(loaded.db)
    loaded.db.write_bytes(b"\x00garbage" * 5000)
    damaged = file_digest(loaded.db)
    result = loaded.run("restore", str(good))
    assert result.exit_code == 0, result.stderr
    assert integrity(loaded.db) == "ok" and len(loaded.run("code", "list", "--json").json()) == 0
    kept = [b.path for b in backup_module.list_backups(loaded.db) if b.reason == "before-restore-damaged"]
    assert len(kept) == 1 and file_digest(kept[0]) == damaged


# -- schema versions and migrations ---------------------------------------------------------------

@pytest.fixture
def v1_copy(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CODER_NAME", "tester")
    monkeypatch.delenv("CODER_DB", raising=False)
    db = tmp_path / "old.db"
    shutil.copyfile(FIXTURES / "schema_v1.db", db)
    return db


def _run(db: Path, *args):
    from typer.testing import CliRunner

    from coder.cli import app

    return CliRunner().invoke(app, ["--db", str(db), *map(str, args)], catch_exceptions=False)


@pytest.mark.parametrize("fixture", sorted(p.name for p in FIXTURES.glob("schema_v*.db")))
def test_every_schema_fixture_opens_and_reads_back(fixture, tmp_path, monkeypatch):
    monkeypatch.setenv("CODER_NAME", "tester")
    db = tmp_path / fixture
    shutil.copyfile(FIXTURES / fixture, db)
    expected = json.loads((FIXTURES / fixture).with_suffix(".json").read_text(encoding="utf-8"))
    listed = _run(db, "code", "list", "--json")
    assert listed.exit_code == 0, listed.stderr
    assert json.loads(listed.stdout) == expected["code_list"]
    freq = _run(db, "report", "freq", "--json")
    assert freq.exit_code == 0, freq.stderr
    assert json.loads(freq.stdout) == expected["freq"]
    assert _run(db, "code", "add", "lier_1", "2", "two_bosses", "--coder", "new").exit_code == 0
    freq = json.loads(_run(db, "report", "freq", "--json").stdout)
    assert {c["code"]: c["count"] for c in freq if c["group"] == "Lier"}["vertical.two_bosses"] == \
        {c["code"]: c["count"] for c in expected["freq"] if c["group"] == "Lier"}.get("vertical.two_bosses", 0) + 1


def _schema(db: Path) -> set:
    rows = db_rows(db, "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")
    return {(kind, name, " ".join((sql or "").split())) for kind, name, sql in rows}


def test_every_fixture_upgrades_to_the_schema_of_a_new_database(tmp_path):
    """A table or column added to the schema without a migration shows up here. If that
    schema version was never released, remake its fixture (tests/fixtures/make_fixtures.py
    --force); else add a migration (SCHEMA_VERSION + 1) in coder/store.py."""
    from coder.store import Store

    fresh = tmp_path / "fresh.db"
    Store.create(fresh).close()
    fixtures = sorted(FIXTURES.glob("schema_v*.db"))
    assert fixtures, "no fixture databases"
    for fixture in fixtures:
        old = tmp_path / fixture.name
        shutil.copyfile(fixture, old)
        Store.open(old).close()
        assert _schema(old) == _schema(fresh), (
            f"{fixture.name} upgraded differs from a new database: a schema change without a migration "
            "(add one, SCHEMA_VERSION + 1, or remake an unreleased fixture: make_fixtures.py --force)")
        assert db_rows(old, "PRAGMA user_version") == db_rows(fresh, "PRAGMA user_version")


def test_a_database_from_an_older_coder_is_backed_up_then_upgraded(v1_copy, monkeypatch):
    import coder.store

    future = SCHEMA_VERSION + 1  # a migration this coder does not have yet
    monkeypatch.setattr(coder.store, "SCHEMA_VERSION", future)
    monkeypatch.setitem(coder.store.MIGRATIONS, future, "ALTER TABLE codings ADD COLUMN confidence REAL;\n"
                                                        "CREATE INDEX codings_coder ON codings(coder);")
    result = _run(v1_copy, "code", "list", "--json")
    assert result.exit_code == 0, result.stderr
    assert len(json.loads(result.stdout)) == 7
    assert f"before migration-v1-to-v{future}" in result.stderr
    assert db_rows(v1_copy, "PRAGMA user_version") == [(future,)]
    assert "confidence" in [row[1] for row in db_rows(v1_copy, "PRAGMA table_info(codings)")]
    assert db_rows(v1_copy, "SELECT action, details FROM audit ORDER BY id DESC LIMIT 1") == [
        ("migrate", json.dumps({"from_schema": 1, "to_schema": future}))]
    backups = backup_module.list_backups(v1_copy)
    assert [(b.reason, b.schema) for b in backups] == [(f"before-migration-v1-to-v{future}", 1)]
    assert file_digest(backups[0].path) != file_digest(v1_copy)
    assert _run(v1_copy, "report", "freq", "--json").exit_code == 0
    assert len(backup_module.list_backups(v1_copy)) == 1  # upgraded once


def test_a_migration_written_in_python_runs_too(v1_copy, monkeypatch):
    import coder.store

    def split_coder_names(conn):
        conn.execute("UPDATE codings SET coder = upper(coder)")

    monkeypatch.setattr(coder.store, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    monkeypatch.setitem(coder.store.MIGRATIONS, SCHEMA_VERSION + 1, split_coder_names)
    assert _run(v1_copy, "cases", "list").exit_code == 0
    assert {row[0] for row in db_rows(v1_copy, "SELECT DISTINCT coder FROM codings")} == {"ANNA", "BJORN"}


def test_a_failing_migration_leaves_the_database_as_it_was(v1_copy, monkeypatch):
    import coder.store

    before = content_digest(v1_copy)
    monkeypatch.setattr(coder.store, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    monkeypatch.setitem(coder.store.MIGRATIONS, SCHEMA_VERSION + 1,
                        "ALTER TABLE codings ADD COLUMN confidence REAL;\nALTER TABLE no_such_table ADD COLUMN x;")
    line = one_line_error(_run(v1_copy, "code", "list", "--json"))
    assert f"could not upgrade the database from schema 1 to {SCHEMA_VERSION + 1}" in line and "left unchanged" in line
    assert content_digest(v1_copy) == before
    assert db_rows(v1_copy, "PRAGMA user_version") == [(1,)]


def test_a_database_from_a_newer_coder_is_refused_untouched(v1_copy):
    _newer(v1_copy)
    before = file_digest(v1_copy)
    for args in (("code", "list"), ("code", "add", "lier_1", "2", "two_bosses"), ("backup",)):
        line = one_line_error(_run(v1_copy, *args))
        assert "newer coder (schema 99" in line and "upgrade coder" in line
    assert file_digest(v1_copy) == before


# -- hostile and broken input ---------------------------------------------------------------------

def outcome(parse, *args, **kwargs):
    """Only two outcomes are allowed: a result, or a CoderError with a one-line message."""
    try:
        with no_hang(20):
            return parse(*args, **kwargs)
    except CoderError as exc:
        message = str(exc)
        assert message.strip(), "an empty error message"
        assert not re.search("[\x00-\x08\x0a-\x1f\x7f]", message), f"a control character in: {message!r}"
        return exc


FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

yaml_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=12),
                         st.sampled_from(["2020-13-45", "2007-03-01", "~", "yes", "0x1F", ".nan", "*x", "&a"]))
yaml_values = st.recursive(yaml_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)), max_leaves=25)
code_ids = st.one_of(st.from_regex(r"\A[a-z0-9_]{1,8}\Z"), st.text(max_size=6))
codes = st.recursive(
    st.fixed_dictionaries({"id": code_ids, "label": st.one_of(st.text(max_size=10), yaml_values)}),
    lambda inner: st.fixed_dictionaries({"id": code_ids, "label": st.text(max_size=10)},
                                        optional={"codes": st.lists(inner, max_size=3), "color": st.text(max_size=8),
                                                  "keywords": yaml_values, "other": yaml_values}),
    max_leaves=12)
codebooks = st.fixed_dictionaries(
    {"name": st.one_of(st.text(max_size=10), yaml_values)},
    optional={"dimensions": st.lists(st.fixed_dictionaries(
        {"id": code_ids, "label": st.text(max_size=10), "codes": st.lists(codes, max_size=3)}), max_size=3),
        "version": yaml_values, "extra": yaml_values})


def _mutate(text: str, data) -> str:
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(text)))
        choice = data.draw(st.integers(0, 2))
        if choice == 0:
            text = text[:at] + data.draw(st.text(max_size=8)) + text[at:]
        elif choice == 1:
            text = text[:at] + text[at + data.draw(st.integers(1, 20)):]
        else:
            text = text[:at] + data.draw(st.sampled_from(["&a ", "*a", "<<: ", "!!python/object ", "\t", "{", "[",
                                                            ": ", "- ", "\"", "!!binary ", "%YAML 1.1\n"])) + text[at:]
    return text


HOSTILE_YAML = {
    "deep flow nesting": "[" * 5000 + "]" * 5000,
    "deep block nesting": "a:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 3000)),
    "billion laughs": "a: &a [1, 2]\nb: &b [*a, *a, *a]\nc: &c [*b, *b, *b]\nd: [*c, *c, *c]\n",
    "merge key": "base: &b {x: 1}\nname: {<<: *b}\n",
    "python tag": "name: !!python/object:os.system x\n",
    "impossible date": "name: x\ndate: 2020-13-45\n",
    "bad timestamp tag": "name: !!timestamp nonsense\n",
    "control character": "name: \x08x\n",
    "newline in a key": 'name: x\n"a\\nb": 1\n',
    "terminal escape in a value": 'name: x\ndimensions:\n  - id: "\\e[31mred"\n',
    "binary tag": "name: !!binary AAAA\n",
    "huge document": "x: 1\n" * 20_000,
}


@pytest.mark.parametrize("text", HOSTILE_YAML.values(), ids=HOSTILE_YAML.keys())
def test_hostile_yaml_in_a_codebook_or_front_matter(text):
    from coder.codebook import parse_codebook
    from coder.ingest import parse_transcript

    outcome(parse_codebook, text, source="codebook.yaml")
    outcome(parse_transcript, f"---\n{text}\n---\nLeder: hei\n", path="t.txt", name="t")


@FUZZ
@given(st.text())
@example("name: x\n\t\n")
def test_codebook_yaml_fuzz(text):
    from coder.codebook import parse_codebook

    outcome(parse_codebook, text, source="codebook.yaml")


@FUZZ
@given(codebooks)
def test_codebook_structures_fuzz(data):
    from coder.codebook import parse_codebook

    text = yaml.safe_dump(data, allow_unicode=True)
    result = outcome(parse_codebook, text, source="codebook.yaml")
    if not isinstance(result, CoderError):
        assert all(code.path.startswith(code.dimension + ".") for code in result.codes())


@FUZZ
@given(st.data())
def test_mutated_codebook_fuzz(data):
    from coder.codebook import parse_codebook

    outcome(parse_codebook, _mutate(CODEBOOK, data), source="codebook.yaml")


@FUZZ
@given(st.text())
@example("name\n\"unterminated\n")
def test_codebook_csv_fuzz(text):
    from coder.codebook import parse_codebook_csv

    outcome(parse_codebook_csv, text, source="codebook.csv")


@FUZZ
@given(st.one_of(st.text(), st.builds(lambda meta, body: f"---\n{meta}\n---\n{body}",
                                      st.one_of(st.text(), yaml_values.map(lambda v: yaml.safe_dump(v))), st.text())))
@example("---\ncase: &a [1]\ninformant: *a\n---\nLeder: hei\n")
@example("---\ndate: 2020-02-30\n---\nLeder: hei\n")
def test_transcript_fuzz(text):
    from coder.ingest import parse_transcript

    result = outcome(parse_transcript, text, path="t.txt", name="t")
    if not isinstance(result, CoderError):
        for segment in result.segments:
            assert result.text[segment.start:segment.end] == segment.text and segment.text.strip()


HUGE_TRANSCRIPTS = {
    "a line of 2 MB": "Leder: " + "ord " * 500_000,
    "a million blank lines": "Leder: hei" + "\n" * 1_000_000 + "Intervjuer: ja\n",
    "front matter of 10,000 keys": "---\n" + "".join(f"k{i}: {i}\n" for i in range(10_000)) + "---\nLeder: hei\n",
    "100,000 speaker turns": "".join(f"L{i % 7}: ord\n" for i in range(100_000)),
    "colons everywhere": ("a:" * 50 + "\n") * 20_000,
}


@pytest.mark.parametrize("text", HUGE_TRANSCRIPTS.values(), ids=HUGE_TRANSCRIPTS.keys())
def test_huge_transcripts_parse_or_are_refused(text):
    from coder.ingest import parse_transcript

    result = outcome(parse_transcript, text, path="t.txt", name="t")
    if not isinstance(result, CoderError):
        assert all(result.text[s.start:s.end] == s.text for s in result.segments)


@FUZZ
@given(st.one_of(st.binary(max_size=3000),
                 st.builds(lambda bom, data: bom + data, st.sampled_from([b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"]),
                           st.binary(max_size=500))))
@example(b"\xff\xfe\x00")
@example(b"Leder: hei\x00")
@example("Leder: blåbær".encode("cp1252"))
def test_decoding_random_bytes_fuzz(data):
    from coder.text import decode_bytes

    result = outcome(decode_bytes, data, path="t.txt")
    if not isinstance(result, CoderError):
        assert "\r" not in result.text


@FUZZ
@given(st.one_of(st.text(), st.builds(lambda rows: "transcript,segment,code,quote,memo\n" + "\n".join(rows),
                                      st.lists(st.text(max_size=40), max_size=8))))
@example("transcript,code,segment\r\nhamar_1,x,\"1\r\n")
@example("\ufefftranscript,code,segment\nhamar_1,x,1\n")
def test_codings_csv_fuzz(tmp_path_factory, text):
    from coder.ingest import read_coding_requests

    path = tmp_path_factory.mktemp("csv") / "codings.csv"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    outcome(read_coding_requests, path)


UNCLOSED_QUOTE = 'hamar_1,x,"' + "ord " * 60_000 + "\n"


@pytest.mark.parametrize("reader, text", [
    ("codings", "transcript,code,quote\n" + UNCLOSED_QUOTE),
    ("codebook", "path,label\nvertical.x,\"" + "x" * 200_000 + "\n"),
    ("cases", "case,population\nHamar,\"" + "1" * 200_000 + "\n"),
], ids=["codings csv", "codebook csv", "cases csv"])
def test_a_csv_cell_over_the_limit_is_an_input_error(tmp_path, reader, text):
    """A quote opened and never closed makes the rest of the file one enormous cell."""
    from coder.codebook import load_codebook
    from coder.ingest import read_case_rows, read_coding_requests

    path = tmp_path / f"{reader}.csv"
    path.write_text(text, encoding="utf-8")
    parse = {"codings": read_coding_requests, "codebook": load_codebook, "cases": read_case_rows}[reader]
    error = outcome(parse, path)
    assert isinstance(error, CoderError) and str(error).startswith(f"{path}:2: ")


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_a_failing_codebook_load_or_import_writes_nothing(loaded, data):
    """Through the command line: a codebook or transcript that fails leaves the database as it was."""
    before = content_digest(loaded.db)
    loaded.write("fuzzed.yaml", _mutate(CODEBOOK, data))
    with no_hang(30):
        result = loaded.run("codebook", "load", "fuzzed.yaml")
    if result.exit_code != 0:
        one_line_error(result)
        assert content_digest(loaded.db) == before
    before = content_digest(loaded.db)
    folder = loaded.root / f"fuzz{len(list(loaded.root.glob('fuzz*')))}"
    loaded.write(f"{folder.name}/t.txt", data.draw(st.binary(max_size=400)) + _mutate(HAMAR_1, data).encode())
    with no_hang(30):
        result = loaded.run("import", folder.name)
    if result.exit_code != 0:  # one line for the file, one for the summary
        assert result.exit_code == 2 and "Traceback" not in result.stderr, result.stderr
        assert result.stderr.startswith("error: "), result.stderr
        assert content_digest(loaded.db) == before


def test_a_transcript_over_the_size_limit_is_refused_with_the_limit_named(loaded, monkeypatch):
    monkeypatch.setenv("CODER_MAX_BYTES", "2000")
    loaded.write("big/long.txt", transcript_text(1, turns=30))
    before = content_digest(loaded.db)
    result = loaded.run("import", "big")
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert all("over the limit of 2,000" in line and "CODER_MAX_BYTES" in line
               for line in result.stderr.splitlines() if line.startswith("error:")), result.stderr
    assert content_digest(loaded.db) == before


def test_a_line_of_megabytes_is_one_segment(loaded):
    line = "Leder: " + " ".join(WORDS[i % len(WORDS)] for i in range(600_000))  # ~4 MB on one line
    loaded.write("huge/huge.txt", "---\ncase: Hamar\n---\n" + line + "\n")
    with no_hang(60):
        result = loaded.run("import", "huge")
        assert result.exit_code == 0, result.stderr
        segments = loaded.run("segments", "huge", "--json").json()
    assert len(segments) == 1 and len(segments[0]["text"]) == len(line) - len("Leder: ")
    assert loaded.run("code", "add", "huge", "1", "two_bosses").exit_code == 0


@pytest.mark.slow
def test_a_codebook_of_thousands_of_codes_still_works(project):
    dimensions = [{"id": f"dim{d}", "label": f"Dimension {d}", "codes": [
        {"id": f"code{c}", "label": f"Kode {d}.{c}", "description": "En kode " * 10,
         "keywords": [f"ord{c}"], "codes": [{"id": f"sub{s}", "label": f"Underkode {s}"} for s in range(9)]}
        for c in range(30)]} for d in range(10)]
    project.write("big.yaml", yaml.safe_dump({"name": "Big", "dimensions": dimensions}, allow_unicode=True))
    with no_hang(120):
        result = project.run("init", "--codebook", "big.yaml")
        assert result.exit_code == 0, result.stderr
        assert "3000 codes" in result.stderr
        project.write("t/hamar_1.txt", HAMAR_1)
        assert project.run("import", "t").exit_code == 0
        rows = "".join(f"hamar_1,{1 + i % 4},dim{i % 10}.code{i % 30}.sub{i % 9}\n" for i in range(300))
        project.write("c.csv", "transcript,segment,code\n" + rows)
        assert project.run("code", "apply", "c.csv").exit_code == 0
        shown = project.run("codebook", "show", "--json").json()
        assert len(shown) == 3000
        assert project.run("codebook", "show").exit_code == 0
        freq = project.run("report", "freq", "--json")
        assert freq.exit_code == 0 and freq.json()
        assert project.run("report", "freq").exit_code == 0


# -- the database file itself: read-only, disk full, not SQLite, damaged ----------------------------

@pytest.fixture
def protected(loaded):
    """Undo chmods so pytest can clean up tmp_path."""
    yield loaded
    for path in (loaded.root, loaded.db):
        os.chmod(path, 0o755 if path.is_dir() else 0o644)


@pytest.mark.parametrize("what", ["file", "folder"])
def test_a_read_only_database_can_be_read_but_not_written(protected, what):
    loaded = protected
    loaded.run("code", "add", "hamar_1", "2", "two_bosses")
    settle(loaded.db)  # as a closed project on a read-only drive looks: no -wal file
    prefix = unprivileged_prefix()
    if what == "file":
        os.chmod(loaded.db, 0o444)
    else:
        os.chmod(loaded.root, 0o555)
    before = file_digest(loaded.db)
    read = coder(loaded.db, "code", "list", "--json", prefix=prefix, cwd=loaded.root)
    assert read.returncode == 0, read.stderr
    assert len(json.loads(read.stdout)) == 1
    # the stored counts cannot be written: the report counts from the codings instead
    freq = coder(loaded.db, "report", "freq", "--json", prefix=prefix, cwd=loaded.root)
    assert freq.returncode == 0, freq.stderr
    assert json.loads(freq.stdout) == [{"group": "Hamar", "code": "vertical.two_bosses", "count": 1}]
    for args in (("code", "add", "lier_1", "2", "equality"), ("import", "transcripts"),
                 ("codebook", "load", "codebook.yaml")):
        result = coder(loaded.db, *args, prefix=prefix, cwd=loaded.root)
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "read-only" in errors[0] and "nothing was written" in errors[0], result.stderr
    assert file_digest(loaded.db) == before


def test_a_full_disk_fails_cleanly_and_changes_nothing(loaded):
    """RLIMIT_FSIZE (what `ulimit -f` sets) makes every write past the limit fail, as a full disk does."""
    import resource

    write_corpus(loaded.root / "batch", "k", 40, words=200)
    settle(loaded.db)
    before = file_digest(loaded.db), content_digest(loaded.db)
    limit = 256 * 1024

    def small_disk():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    result = coder(loaded.db, "import", "batch", preexec_fn=small_disk)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "disk" in errors[0], result.stderr
    assert "not saved" in errors[0] or "nothing was written" in errors[0], errors
    assert (file_digest(loaded.db), content_digest(loaded.db)) == before
    assert integrity(loaded.db) == "ok"
    assert coder(loaded.db, "import", "batch").returncode == 0  # with room again, it works
    assert db_rows(loaded.db, "SELECT count(*) FROM transcripts") == [(42,)]


def test_sqlite_full_says_the_disk_is_full(loaded, monkeypatch):
    from coder.store import Store

    configure = Store._configure

    def with_a_tiny_disk(self):
        configure(self)
        pages = self.conn.execute("PRAGMA page_count").fetchone()[0]
        self.conn.execute(f"PRAGMA max_page_count = {pages + 2}")

    monkeypatch.setattr(Store, "_configure", with_a_tiny_disk)
    write_corpus(loaded.root / "batch", "k", 20, words=200)
    before = content_digest(loaded.db)
    line = one_line_error(loaded.run("import", "batch"))
    assert "the disk is full" in line and "nothing was written" in line and "free some space" in line
    assert content_digest(loaded.db) == before


COMMANDS = [("code", "list", "--json"), ("report", "freq", "--json"), ("code", "add", "hamar_1", "2", "two_bosses"),
            ("import", "transcripts"), ("codebook", "load", "codebook.yaml"), ("backup",), ("init",),
            ("cases", "set", "Hamar", "population=1")]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_a_file_that_is_not_sqlite_is_refused_untouched(loaded, args):
    settle(loaded.db)
    loaded.db.write_bytes(b"Kari's notes, not a database\n" * 200)
    for suffix in ("-wal", "-shm"):
        Path(f"{loaded.db}{suffix}").unlink(missing_ok=True)
    before = file_digest(loaded.db)
    line = one_line_error(loaded.run(*args))
    assert "not a coder database" in line
    assert file_digest(loaded.db) == before


def _overwrite_table_pages(db: Path, tables: tuple[str, ...]) -> None:
    """Damage a real database the way a bad disk or a sync client does: the pages of these
    tables and of their indexes become garbage (the schema on page 1 stays readable)."""
    settle(db)
    conn = sqlite3.connect(db)
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    roots = [row[0] for row in conn.execute(
        f"SELECT rootpage FROM sqlite_master WHERE tbl_name IN ({','.join('?' * len(tables))}) AND rootpage > 1",
        tables)]
    conn.close()
    rng = random.Random(7)
    with open(db, "r+b") as handle:
        for root in roots:
            handle.seek((root - 1) * page_size)
            handle.write(bytes(rng.randrange(256) for _ in range(page_size)))


@pytest.mark.parametrize("args", [a for a in COMMANDS if a[0] not in ("init", "cases")], ids=lambda a: " ".join(a[:2]))
def test_a_damaged_database_gives_one_line_and_is_not_made_worse(loaded, args):
    loaded.run("code", "add", "hamar_1", "2", "two_bosses")
    _overwrite_table_pages(loaded.db, ("codings", "segments", "transcripts", "codebook_versions", "codes"))
    before = file_digest(loaded.db)
    result = loaded.run(*args)
    line = one_line_error(result)
    assert "damaged" in line or "malformed" in line, line
    assert "restore" in line
    assert file_digest(loaded.db) == before


def test_check_finds_the_damage(loaded):
    assert loaded.run("check").exit_code == 0
    report = loaded.run("check", "--json").json()[0]
    assert report["integrity"] == "ok" and report["problems"] == 0 and report["journal_mode"] == "wal"
    _overwrite_table_pages(loaded.db, ("segments",))
    result = loaded.run("check", "--json")
    assert "problem(s) found" in one_line_error(result, exit_code=1)
    found = result.json()[0]
    assert found["problems"] >= 1 and found["integrity"] != "ok"
