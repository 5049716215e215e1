"""Hostile files and paths: where coder writes and what it reads. The oracle of the
hostile-input suite (tests/test_reliability.py): every command ends in a result or one
`error:` line with exit 0, 1 or 2; a refused command writes nothing anywhere, and leaves the
project as it was (its files compared byte for byte)."""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from conftest import CODEBOOK, REPO, Result, db_rows
from test_reliability import no_hang

from coder import backup as backup_module
from coder import output_files, sqlite_guard
from coder.cli import app


@pytest.fixture(autouse=True)
def _fresh_guard_state():
    sqlite_guard._warned.clear()
    sqlite_guard._fs_cache.clear()
    yield
    sqlite_guard._warned.clear()
    sqlite_guard._fs_cache.clear()


# -- the oracle -------------------------------------------------------------------------------

def tree(root: Path) -> dict[str, str]:
    """Every file under root (links as their target, FIFOs and folders by kind) with a digest
    of its bytes; SQLite's shared-memory index (-shm) is left out: readers write in it."""
    found = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        info = os.lstat(path)
        if stat.S_ISLNK(info.st_mode):
            found[rel] = "link -> " + os.readlink(path)
        elif stat.S_ISDIR(info.st_mode):
            found[rel] = "folder"
        elif stat.S_ISFIFO(info.st_mode):
            found[rel] = "fifo"
        elif not rel.endswith("-shm"):
            found[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def refused(result: Result, *, code: int = 2, says: str = "") -> str:
    """One `error:` line, the exit code of the contract, no traceback."""
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert says.lower() in lines[0].lower(), lines[0]
    return lines[0]


def assert_refused_and_unchanged(project, *args, code: int = 2, says: str = "") -> str:
    before = tree(project.root)
    line = refused(project.run(*args), code=code, says=says)
    assert tree(project.root) == before
    return line


def coder_process(db: Path, *args, prefix: tuple = (), **popen) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"}
    env.pop("CODER_DB", None)
    env.pop("CODER_DEBUG", None)
    return subprocess.run([*prefix, sys.executable, "-m", "coder", "--db", str(db), *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=120, **popen)


def as_result(done: subprocess.CompletedProcess) -> Result:
    return Result(done.returncode, done.stdout, done.stderr)


def unprivileged_prefix() -> tuple:
    """Root ignores file permissions; drop that power for the child when the tests run as root."""
    if os.geteuid() != 0:
        return ()
    import shutil

    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: cannot test permissions")
    return ("setpriv", "--bounding-set", "-dac_override,-dac_read_search,-fowner", "--inh-caps", "-all")


@pytest.fixture
def coded(loaded):
    """The loaded project with a coding, a memo and a backup, its files settled (no -wal)."""
    assert loaded.run("code", "add", "hamar_1", "2", "two_bosses").exit_code == 0
    assert loaded.run("memo", "add", "a memo").exit_code == 0
    assert loaded.run("backup").exit_code == 0
    assert loaded.run("code", "list").exit_code == 0  # the last to close removes -wal and -shm
    return loaded


# -- --out never replaces the project ------------------------------------------------------------

EXPORTS = [
    ("report", "quotes", "--csv"),
    ("export", "segments", "--csv"),
    ("report", "memos", "--csv"),
    ("codebook", "export", "--csv"),
    ("report", "matrix", "--csv"),
]


def _project_names(project) -> dict[str, Path]:
    backup = next((project.root / "coder.db.backups").glob("*.db"))
    os.link(project.db, project.root / "hardlink.csv")
    (project.root / "dblink.csv").symlink_to(project.db)
    (project.root / "backuplink.csv").symlink_to(backup)
    (project.root / "sub").mkdir()
    return {"database": project.db, "wal": Path(f"{project.db}-wal"), "shm": Path(f"{project.db}-shm"),
            "journal": Path(f"{project.db}-journal"), "hard link": project.root / "hardlink.csv",
            "symlink": project.root / "dblink.csv", "backup": backup, "link to a backup": project.root / "backuplink.csv",
            "new file in backups": backup.parent / "x.csv", "dotted path": project.root / "sub" / ".." / "coder.db"}


@pytest.mark.parametrize("command", EXPORTS, ids=lambda c: " ".join(c))
def test_out_never_writes_over_the_project_its_journal_or_its_backups(coded, command):
    for name, target in _project_names(coded).items():
        for force in ((), ("--force",)):
            line = assert_refused_and_unchanged(coded, *command, "--out", target, *force)
            assert "never writes over the project" in line or "file exists" in line, (name, line)
        if name in ("database", "hard link", "backup"):  # --force or not, it is the project that is named
            assert "never writes over the project" in line, (name, line)
        assert not list(coded.root.rglob("*.tmp"))


def test_a_report_to_stdout_with_out_dash_writes_no_file(coded):
    result = coded.run("report", "quotes", "--csv", "--out", "-")
    assert result.exit_code == 0 and "two_bosses" in result.stdout
    result = coded.run("report", "quotes", "--out", "-")  # no format flag: Markdown, as without --out
    assert result.exit_code == 0 and result.stdout.startswith("# Quotes")
    assert not (coded.root / "-").exists()


@pytest.mark.parametrize("flag,name", [("--xlsx", "s.csv"), ("--csv", "s.xlsx"), ("--docx", "s.md"),
                                       ("--html", "s.json")])
def test_a_file_name_that_contradicts_the_format_is_refused(coded, flag, name):
    assert_refused_and_unchanged(coded, "report", "quotes", flag, "--out", coded.root / name, says="ends in")


# -- safe output files ----------------------------------------------------------------------------

def test_exports_never_write_through_a_planted_temporary_file_link(coded, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "victim.txt"
    elsewhere.write_text("precious", encoding="utf-8")
    out = coded.root / "out" / "quotes.csv"
    out.parent.mkdir()
    for planted in ("quotes.csv.tmp", ".quotes.csv.tmp", ".quotes.csv.partial"):
        (out.parent / planted).symlink_to(elsewhere)
    result = coded.run("report", "quotes", "--csv", "--out", out)
    assert result.exit_code == 0, result.stderr
    assert elsewhere.read_text(encoding="utf-8") == "precious"
    assert "two_bosses" in out.read_text(encoding="utf-8")
    # only the planted links are left beside it
    assert sorted(p.name for p in out.parent.iterdir()) == sorted(
        ["quotes.csv", "quotes.csv.tmp", ".quotes.csv.tmp", ".quotes.csv.partial"])


@pytest.mark.parametrize("kind", ["folder", "fifo", "symlink", "device"])
def test_force_never_replaces_a_folder_fifo_link_or_device(coded, tmp_path_factory, kind):
    target = coded.root / "target.csv"
    if kind == "folder":
        target.mkdir()
        (target / "inside.txt").write_text("keep", encoding="utf-8")
    elif kind == "fifo":
        os.mkfifo(target)
    elif kind == "symlink":
        other = tmp_path_factory.mktemp("other") / "file.csv"
        other.write_text("keep", encoding="utf-8")
        target.symlink_to(other)
    else:
        target = Path("/dev/null")
    for force in ((), ("--force",)):
        assert_refused_and_unchanged(coded, "report", "quotes", "--csv", "--out", target, *force)
    assert not list(coded.root.rglob("*.tmp"))
    if kind == "symlink":
        assert other.read_text(encoding="utf-8") == "keep"


def test_a_failed_write_leaves_no_temporary_file(tmp_path):
    def half_then_fail(stream):
        stream.write("half a sheet")
        raise OSError(28, "No space left on device")

    with pytest.raises(output_files.OutputRefused, match="disk is full"):
        output_files.write_output(tmp_path / "sheet.csv", half_then_fail, force=False)
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "sheet.csv").write_text("old", encoding="utf-8")
    with pytest.raises(output_files.OutputRefused):
        output_files.write_output(tmp_path / "sheet.csv", half_then_fail, force=True)
    assert [p.name for p in tmp_path.iterdir()] == ["sheet.csv"]
    assert (tmp_path / "sheet.csv").read_text(encoding="utf-8") == "old"


def test_an_export_into_a_read_only_folder_names_the_file_asked_for(coded):
    prefix = unprivileged_prefix()
    folder = coded.root / "locked"
    folder.mkdir()
    os.chmod(folder, 0o555)
    try:
        done = coder_process(coded.db, "report", "quotes", "--csv", "--out", folder / "q.csv", prefix=prefix)
    finally:
        os.chmod(folder, 0o755)
    line = refused(as_result(done), says="read-only")
    assert "q.csv" in line and ".tmp" not in line
    assert list(folder.iterdir()) == []


# -- coder demo DIR --------------------------------------------------------------------------------

def test_demo_builds_in_its_folder_whatever_coder_db_says(coded, monkeypatch):
    before = tree(coded.root)
    monkeypatch.setenv("CODER_DB", str(coded.db))
    demo = coded.root.parent / (coded.root.name + "-demo")
    result = CliRunner().invoke(app, ["demo", str(demo)], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    assert tree(coded.root) == before
    assert db_rows(demo / "coder.db", "SELECT count(*) FROM transcripts")[0][0] == 12


def test_demo_refuses_to_build_into_a_project_it_did_not_make(coded):
    demo = coded.root / "demo"
    assert_refused_and_unchanged(coded, "demo", demo, says="did not make")


# -- coder check: a pure reader --------------------------------------------------------------------

def test_check_after_coding_is_not_damage_and_changes_nothing(coded):
    assert coded.run("code", "add", "lier_1", "2", "equality").exit_code == 0
    info = coded.db.stat()
    before = tree(coded.root)
    result = coded.run("check", "--json")
    assert result.exit_code == 0, result.stdout + result.stderr
    report = result.json()[0]
    assert report["problems"] == 0 and report["integrity"] == "ok"
    assert "normal" in report["stored_counts"]
    assert tree(coded.root) == before
    assert coded.db.stat().st_mtime_ns == info.st_mtime_ns


def test_check_does_not_wait_long_for_a_writer(coded, monkeypatch):
    """In rollback-journal mode a writer's lock keeps readers out: check says "busy" (exit 1)
    after a moment instead of waiting a minute."""
    monkeypatch.setenv("CODER_JOURNAL_MODE", "delete")
    assert coded.run("code", "add", "lier_1", "2", "equality").exit_code == 0
    writer = sqlite3.connect(coded.db, isolation_level=None)
    try:
        writer.execute("BEGIN EXCLUSIVE")
        writer.execute("INSERT INTO meta(key, value) VALUES ('x', 'y')")
        refused(coded.run("check"), code=1, says="busy")
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_check_on_a_project_from_an_older_coder_upgrades_nothing(project):
    fixture = REPO / "tests" / "fixtures" / "schema_v1.db"
    if not fixture.exists():
        pytest.skip("no schema 1 fixture")
    project.db.write_bytes(fixture.read_bytes())
    before = tree(project.root)
    result = project.run("check", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json()[0]["schema"] == 1
    assert tree(project.root) == before


# -- paths (issue 18) --------------------------------------------------------------------------------

def test_init_refuses_a_folder_that_does_not_exist(project):
    missing = project.root / "no" / "such" / "folder" / "x.db"
    result = CliRunner().invoke(app, ["--db", str(missing), "init"], catch_exceptions=False)
    refused(Result(result.exit_code, result.stdout, result.stderr), says="does not exist")
    assert not (project.root / "no").exists()


def test_init_on_an_empty_file_creates_the_project(project):
    project.db.write_bytes(b"")
    result = project.run("init")
    assert result.exit_code == 0
    assert "created project" in result.stderr and "existing" not in result.stderr
    assert db_rows(project.db, "PRAGMA user_version")[0][0] > 0


def test_a_refused_write_on_a_read_only_project_leaves_no_journal_files(coded):
    prefix = unprivileged_prefix()
    os.chmod(coded.db, 0o444)
    try:
        before = tree(coded.root)
        for args in (("cases", "set", "Hamar", "x=1"), ("code", "add", "lier_1", "2", "equality")):
            refused(as_result(coder_process(coded.db, *args, prefix=prefix, cwd=coded.root)), says="read-only")
        read = coder_process(coded.db, "code", "list", "--json", prefix=prefix, cwd=coded.root)
        assert read.returncode == 0 and len(json.loads(read.stdout)) == 1
        assert tree(coded.root) == before
        assert not Path(f"{coded.db}-wal").exists() and not Path(f"{coded.db}-shm").exists()
    finally:
        os.chmod(coded.db, 0o644)


# -- a disk with no room ------------------------------------------------------------------------------

def _small_disk():
    """RLIMIT_FSIZE: no file may grow past 16 KB, so SQLite cannot make its 32 KB -shm file, as
    on a disk with under 32 KB free."""
    import resource

    resource.setrlimit(resource.RLIMIT_FSIZE, (16 * 1024, 16 * 1024))


def test_reads_work_on_a_full_disk_and_writes_say_so(coded):
    before = tree(coded.root)
    for args in (("code", "list", "--json"), ("report", "freq", "--json"), ("check",), ("codebook", "show")):
        done = coder_process(coded.db, *args, preexec_fn=_small_disk, cwd=coded.root)
        assert done.returncode == 0, (args, done.stderr)
    done = coder_process(coded.db, "cases", "set", "Hamar", "x=1", preexec_fn=_small_disk, cwd=coded.root)
    refused(as_result(done), says="disk")
    assert tree(coded.root) == before


def test_backup_elsewhere_works_when_the_project_disk_is_full(coded, monkeypatch, tmp_path_factory):
    project_folder = os.path.realpath(coded.root)
    real = sqlite_guard.disk_nearly_full
    monkeypatch.setattr(sqlite_guard, "disk_nearly_full",
                        lambda folder: os.path.realpath(folder) == project_folder or real(folder))
    before = tree(coded.root)
    target = tmp_path_factory.mktemp("usb") / "copy.db"
    result = coded.run("backup", target)
    assert result.exit_code == 0, result.stderr
    assert db_rows(target, "SELECT count(*) FROM codings")[0][0] == 1
    assert tree(coded.root) == before
    assert coded.run("code", "list", "--json").exit_code == 0
    refused(coded.run("memo", "add", "x"), says="disk")


def test_backup_to_an_unwritable_place_blames_the_destination(coded):
    prefix = unprivileged_prefix()
    folder = coded.root / "locked"
    folder.mkdir()
    os.chmod(folder, 0o555)
    try:
        done = coder_process(coded.db, "backup", folder / "x.db", prefix=prefix, cwd=coded.root)
    finally:
        os.chmod(folder, 0o755)
    line = refused(as_result(done))
    assert line.startswith(f"error: {folder / 'x.db'}"), line
    assert list(folder.iterdir()) == []


def test_restore_from_read_only_media_works(coded):
    prefix = unprivileged_prefix()
    media = coded.root / "media"
    media.mkdir()
    copy = media / "copy.db"
    assert coded.run("backup", copy).exit_code == 0
    with sqlite3.connect(copy) as conn:  # a copy in WAL mode, as a raw copy of a project is
        conn.execute("PRAGMA journal_mode = WAL")
    for extra in media.glob("copy.db-*"):
        extra.unlink()
    assert coded.run("code", "add", "lier_1", "2", "equality").exit_code == 0
    os.chmod(copy, 0o444)
    os.chmod(media, 0o555)
    try:
        done = coder_process(coded.db, "restore", copy, prefix=prefix, cwd=coded.root)
        assert done.returncode == 0, done.stderr
        assert sorted(p.name for p in media.iterdir()) == ["copy.db"]
    finally:
        os.chmod(media, 0o755)
        os.chmod(copy, 0o644)
    assert db_rows(coded.db, "SELECT count(*) FROM codings")[0][0] == 1



def _files_beside(project) -> list[str]:
    return sorted(p.name for p in project.root.iterdir() if p.is_file())


def test_backup_and_restore_leave_no_journal_files_beside_what_they_read(coded):
    """Reading a file in WAL mode through a read-only connection makes a -wal and a -shm file
    that connection cannot remove: `coder backup` left them beside the project, and `coder
    restore` beside a raw copy of a project."""
    before = _files_beside(coded)
    assert coded.run("backup", coded.root / "copy.db").exit_code == 0
    assert _files_beside(coded) == sorted([*before, "copy.db"])
    conn = sqlite3.connect(coded.root / "copy.db")  # a raw copy of a project is in WAL mode
    conn.execute("PRAGMA journal_mode = WAL")
    conn.close()
    assert coded.run("code", "add", "lier_1", "2", "equality").exit_code == 0
    assert coded.run("code", "list").exit_code == 0  # the last to close removes -wal and -shm
    assert _files_beside(coded) == sorted([*before, "copy.db"])
    result = coded.run("restore", coded.root / "copy.db")
    assert result.exit_code == 0, result.stderr
    assert _files_beside(coded) == sorted([*before, "copy.db"])
    assert db_rows(coded.db, "SELECT count(*) FROM codings") == [(1,)]


def test_a_failed_restore_leaves_no_partial_copy(coded, monkeypatch):
    """Over a damaged project a restore builds the copy beside it (.coder.db.XXXX.restoring):
    when that fails (a full disk), the copy is removed and the damaged file is as it was."""
    good = next((coded.root / "coder.db.backups").glob("*.db"))
    coded.db.write_bytes(b"\x00garbage" * 5000)
    copy_pages = backup_module._copy_pages

    def disk_fills(source, dest, **kw):
        copy_pages(source, dest, **kw)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(backup_module, "_copy_pages", disk_fills)
    before = {name: digest for name, digest in tree(coded.root).items() if not name.startswith("coder.db.backups")}
    refused(coded.run("restore", good), says="restore failed")
    after = {name: digest for name, digest in tree(coded.root).items() if not name.startswith("coder.db.backups")}
    assert after == before  # no .restoring file, the damaged bytes kept
    assert [b.reason for b in backup_module.list_backups(coded.db) if "damaged" in b.reason] == ["before-restore-damaged"]

# -- NaN and infinity as attribute values ------------------------------------------------------------

NOT_FINITE = ["nan", "NaN", "inf", "-Infinity", "1e999"]


def _all_json_valid(db: Path) -> None:
    for table, column in (("cases", "attributes"), ("transcripts", "attributes"), ("audit", "details")):
        assert db_rows(db, f"SELECT count(*) FROM {table} WHERE NOT json_valid({column})") == [(0,)], table


def test_nan_and_infinite_attributes_are_kept_as_text_and_every_report_works(coded):
    for number, value in enumerate(NOT_FINITE):
        assert coded.run("cases", "set", "Hamar", f"staff{number}={value}").exit_code == 0
    coded.write("cases.csv", "case,budget\nLier,NaN\nHamar,12.5\n")
    coded.write("cases.yaml", "- case: Lier\n  growth: .inf\n  decline: -.inf\n  unknown: .nan\n")
    assert coded.run("cases", "import", coded.root / "cases.csv").exit_code == 0
    assert coded.run("cases", "import", coded.root / "cases.yaml").exit_code == 0
    coded.write("more/asker_1.txt", "---\ncase: Asker\nscore: .nan\nweight: .inf\n---\nLeder: Vi har to sjefer.\n")
    assert coded.run("import", coded.root / "more").exit_code == 0
    assert coded.run("code", "add", "asker_1", "1", "two_bosses").exit_code == 0
    _all_json_valid(coded.db)
    hamar = json.loads(db_rows(coded.db, "SELECT attributes FROM cases WHERE name = 'Hamar'")[0][0])
    assert [hamar[f"staff{n}"] for n in range(len(NOT_FINITE))] == NOT_FINITE  # as typed
    lier = json.loads(db_rows(coded.db, "SELECT attributes FROM cases WHERE name = 'Lier'")[0][0])
    assert lier == {"budget": "NaN", "growth": "inf", "decline": "-inf", "unknown": "nan"}
    for args in (("report", "freq", "--by", "staff0", "--json"), ("report", "freq", "--by", "budget"),
                 ("report", "freq", "--by", "score", "--unit", "informants"),
                 ("report", "quotes", "--where", "staff0=nan", "--json"), ("report", "quotes", "--where", "score=nan"),
                 ("report", "matrix", "--rows", "growth", "--json"), ("report", "matrix", "--rows", "weight"),
                 ("export", "segments", "--csv"), ("check",)):
        result = coded.run(*args)
        assert result.exit_code == 0, (args, result.stderr)
        assert "damaged" not in result.stderr
    quotes = coded.run("report", "quotes", "--where", "staff0=nan", "--json").json()
    assert quotes and {q["case"] for q in quotes} == {"Hamar"}


# -- a damaged file refuses writes ---------------------------------------------------------------------

def _damage_pages(db: Path, table: str) -> None:
    """Garbage over a table's pages (here one no write below touches), as a bad disk leaves."""
    conn = sqlite3.connect(db)
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    roots = [r[0] for r in conn.execute("SELECT rootpage FROM sqlite_master WHERE tbl_name = ? AND rootpage > 1",
                                        (table,))]
    conn.close()
    with open(db, "r+b") as handle:
        for root in roots:
            handle.seek((root - 1) * page_size)
            handle.write(bytes((i * 37 + 11) % 256 for i in range(page_size)))


def test_writes_to_a_damaged_file_are_refused_with_the_message_reports_give(coded):
    _damage_pages(coded.db, "memos")
    coded.write("more/asker_1.txt", "---\ncase: Asker\n---\nLeder: Vi har to sjefer.\n")
    report = refused(coded.run("report", "memos"), says="damaged")
    for args in (("code", "add", "lier_1", "2", "equality"), ("import", coded.root / "more"),
                 ("cases", "set", "Hamar", "x=1")):
        line = assert_refused_and_unchanged(coded, *args, says="the database is damaged")
        assert line.split(": ", 2)[1] == report.split(": ", 2)[1]  # the same words
        assert line.endswith("then `coder restore FILE`")


# -- import reads regular files only ---------------------------------------------------------------------

def _import(project, *args, **env) -> subprocess.CompletedProcess:
    """In a process of its own, with a time limit: a read that never ends fails the test."""
    return coder_process(project.db, "import", *args, cwd=project.root, **env)


def test_import_refuses_a_fifo_or_device_given_by_name_without_reading_it(coded):
    os.mkfifo(coded.root / "pipe.txt")
    (coded.root / "zero.txt").symlink_to("/dev/zero")
    for name, kind in (("pipe.txt", "FIFO"), ("zero.txt", "device")):
        before = tree(coded.root)
        line = refused(as_result(_import(coded, coded.root / name)), says=kind)
        assert name in line
        assert tree(coded.root) == before


def test_the_size_limit_holds_for_what_is_read_not_what_stat_says(coded):
    if not Path("/proc/self/maps").exists():
        pytest.skip("needs /proc (a file whose stat() size is 0)")
    (coded.root / "maps.txt").symlink_to("/proc/self/maps")
    env = {**os.environ, "PYTHONPATH": str(REPO), "CODER_MAX_BYTES": "64"}
    env.pop("CODER_DB", None)
    done = subprocess.run([sys.executable, "-m", "coder", "--db", str(coded.db), "import", "maps.txt"], env=env,
                          cwd=coded.root, capture_output=True, text=True, timeout=120)
    refused(as_result(done), says="over the limit")
    assert db_rows(coded.db, "SELECT count(*) FROM transcripts WHERE name = 'maps'") == [(0,)]


def test_a_folder_import_follows_links_only_inside_the_folder(coded, tmp_path_factory):
    outside = tmp_path_factory.mktemp("system")
    (outside / "passwd.txt").write_text("root: x\n", encoding="utf-8")
    corpus = coded.root / "corpus"
    (corpus / "2007").mkdir(parents=True)
    (corpus / "2007" / "asker_1.txt").write_text("---\ncase: Asker\n---\nLeder: Hei.\n", encoding="utf-8")
    (corpus / "etc").symlink_to(outside, target_is_directory=True)
    (corpus / "secret.txt").symlink_to(outside / "passwd.txt")
    (corpus / "same").symlink_to(corpus / "2007", target_is_directory=True)  # inside: followed, read once
    (corpus / "loop").symlink_to(corpus, target_is_directory=True)
    os.mkfifo(corpus / "pipe.txt")
    result = coded.run("import", corpus, "--json")
    assert result.exit_code == 1, result.stderr
    rows = result.json()
    assert [r["transcript"] for r in rows if r["status"] == "imported"] == ["asker_1"]
    errors = sorted(Path(r["path"]).name for r in rows if r["status"] == "error")
    assert errors == ["etc", "pipe.txt", "secret.txt"]
    assert db_rows(coded.db, "SELECT count(*) FROM transcripts WHERE name IN ('passwd', 'secret')") == [(0,)]
    followed = coded.run("import", corpus, "--follow-links", "--json")
    assert "passwd" in {r["transcript"] for r in followed.json() if r["status"] == "imported"}


def test_an_unreadable_sub_folder_is_an_error_and_the_rest_imports(coded):
    prefix = unprivileged_prefix()
    corpus = coded.root / "corpus"
    (corpus / "locked").mkdir(parents=True)
    (corpus / "locked" / "x.txt").write_text("Leder: x\n", encoding="utf-8")
    (corpus / "asker_1.txt").write_text("---\ncase: Asker\n---\nLeder: Hei.\n", encoding="utf-8")
    (corpus / "closed.txt").write_text("Leder: y\n", encoding="utf-8")
    os.chmod(corpus / "locked", 0o000)
    os.chmod(corpus / "closed.txt", 0o000)
    try:
        done = coder_process(coded.db, "import", corpus, "--json", prefix=prefix, cwd=coded.root)
    finally:
        os.chmod(corpus / "locked", 0o755)
        os.chmod(corpus / "closed.txt", 0o644)
    assert done.returncode == 1, done.stderr
    rows = json.loads(done.stdout)
    assert {(Path(r["path"]).name, r["status"]) for r in rows} == {
        ("locked", "error"), ("closed.txt", "error"), ("asker_1.txt", "imported")}


def test_a_file_changed_while_it_is_read_is_read_again_or_refused(coded, monkeypatch):
    from coder import text

    path = coded.write("more/asker_1.txt", "---\ncase: Asker\n---\nLeder: Hei.\n")
    real = text._read_at_most
    saves = {"left": 1}

    def an_editor_saves_meanwhile(fd, max_bytes, expected, where):
        data = real(fd, max_bytes, expected, where)
        if saves["left"]:
            saves["left"] -= 1
            with open(path, "a", encoding="utf-8") as handle:
                handle.write("\nLeder: Og mer.\n")
            os.utime(path, ns=(1, 1))  # a time of its own, whatever the clock's tick
        return data

    monkeypatch.setattr(text, "_read_at_most", an_editor_saves_meanwhile)
    assert coded.run("import", path).exit_code == 0
    stored = db_rows(coded.db, "SELECT text FROM transcripts WHERE name = 'asker_1'")[0][0]
    assert stored.endswith("Og mer.\n")  # the whole new version, read again

    saves["left"] = 10**6  # saved again and again: refused, nothing stored
    path2 = coded.write("more2/tjome_1.txt", "Leder: Hei.\n")
    path = path2
    refused(coded.run("import", path2), says="kept changing")
    assert db_rows(coded.db, "SELECT count(*) FROM transcripts WHERE name = 'tjome_1'") == [(0,)]


# -- generated --out names ----------------------------------------------------------------------------

NAME_PARTS = st.sampled_from(["coder.db", "coder.db-wal", "coder.db-shm", "coder.db-journal", "coder.db.backups",
                              "..", ".", "sub", "link", "dblink", "q.csv", "q.md", "-", "x y", "æøå.csv", ".tmp"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(NAME_PARTS, min_size=1, max_size=3), force=st.booleans())
def test_any_out_name_writes_that_file_or_nothing(coded, parts, force):
    """Whatever --out names (through links, .., the backup folder), the export writes exactly
    the file named, or refuses with one line and changes nothing; the project is never it."""
    root = coded.root
    if not (root / "sub").exists():
        (root / "sub").mkdir()
        (root / "link").symlink_to(root / "coder.db.backups", target_is_directory=True)
        (root / "dblink").symlink_to(root / "coder.db")
    out = Path(*parts)
    project_before = {k: v for k, v in tree(root).items() if k.startswith("coder.db")}
    before = tree(root)
    result = coded.run("report", "quotes", "--md", "--out", out, *(["--force"] if force else []))
    after = tree(root)
    assert {k: v for k, v in after.items() if k.startswith("coder.db")} == project_before
    changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    if result.exit_code == 0:
        if str(out) != "-":
            named = Path(os.path.relpath(os.path.realpath(root / out), os.path.realpath(root)))
            assert changed <= {str(named), *map(str, named.parents)}, changed  # the file and new folders
    else:
        refused(result)
        assert after == before
    import shutil

    for top in {made.split(os.sep)[0] for made in changed - set(before)} - set(before):  # start alike
        shutil.rmtree(root / top) if (root / top).is_dir() else (root / top).unlink()


# -- the contract, for one command of each hostile class ------------------------------------------------

# (what, the command, the exit code it must end with); names in the commands: `outside/` is a
# folder beside the project with links to it from inside (a planted `.tmp` link, a link to a
# file, a link to a folder), `pipe.txt` a FIFO, `stray.txt` UTF-8 with one cp1252 byte,
# `nl.yaml` a codebook with a code id ending in a line break.
HOSTILE_COMMANDS = [
    ("export over the project", ("report", "quotes", "--csv", "--out", "coder.db", "--force"), 2),
    ("export over the project's -wal", ("report", "matrix", "--csv", "--out", "coder.db-wal", "--force"), 2),
    ("export into the backups", ("export", "segments", "--csv", "--out", "coder.db.backups/x.csv"), 2),
    ("export through a link out", ("report", "quotes", "--csv", "--out", "victim.csv", "--force"), 2),
    ("export through a planted .tmp link", ("report", "quotes", "--md", "--out", "sheet.md"), 0),
    ("export over a folder", ("report", "quotes", "--csv", "--out", "folder", "--force"), 2),
    ("export over a FIFO", ("report", "quotes", "--csv", "--out", "pipe.txt", "--force"), 2),
    ("export named against its format", ("report", "quotes", "--xlsx", "--out", "s.csv"), 2),
    ("export to stdout", ("report", "quotes", "--csv", "--out", "-"), 0),
    ("a matrix to a file by its name", ("report", "matrix", "--out", "m.json"), 0),
    ("import a FIFO", ("import", "pipe.txt"), 2),
    ("import a device", ("import", "/dev/zero"), 2),
    ("import a folder with links out", ("import", "linked"), 1),
    ("import a stray cp1252 byte", ("import", "stray.txt"), 2),
    ("a NaN attribute", ("cases", "set", "Hamar", "staff=nan"), 0),
    ("check after coding", ("check",), 0),
    ("LIKE wildcards as an id", ("code", "remove", "%%%%%%"), 2),
    ("a segment Python reads", ("code", "add", "hamar_1", "1_0", "two_bosses"), 2),
    ("a code id with a newline", ("codebook", "load", "nl.yaml"), 2),
    ("bytes that are not UTF-8", ("cases", "set", "Ha\udcffmar", "x=1"), 2),
    ("--where not a comparison", ("report", "quotes", "--where", "=Unified"), 2),
    ("backup over the project", ("backup", "coder.db", "--force"), 2),
    ("restore a file that is no project", ("restore", "stray.txt"), 2),
    ("restore the project itself", ("restore", "coder.db"), 2),
    ("a codebook over the size of sense", ("codebook", "load", "pipe.txt"), 2),
]


def test_every_hostile_class_keeps_the_contract(coded, tmp_path_factory):
    """The hostile-input contract in one place: exit 0, 1 or 2 as promised; a refusal is one
    `error:` line and leaves the project's files as they were; nothing outside the project is
    written, whatever the links inside it point to."""
    root = coded.root
    outside = tmp_path_factory.mktemp("outside")
    (outside / "victim.csv").write_text("precious", encoding="utf-8")
    (outside / "etc").mkdir()
    (outside / "etc" / "passwd.txt").write_text("Leder: root\n", encoding="utf-8")
    (root / "victim.csv").symlink_to(outside / "victim.csv")
    (root / ".sheet.md.tmp").symlink_to(outside / "victim.csv")
    (root / "folder").mkdir()
    os.mkfifo(root / "pipe.txt")
    (root / "linked").mkdir()
    (root / "linked" / "asker_1.txt").write_text("---\ncase: Asker\n---\nLeder: Hei.\n", encoding="utf-8")
    (root / "linked" / "etc").symlink_to(outside / "etc", target_is_directory=True)
    coded.write("nl.yaml", CODEBOOK.replace("- id: two_bosses", '- id: "two_bosses\\n"'))
    (root / "stray.txt").write_bytes("Leder: på Tjøme\n".encode() + b"Leder: caf\xe9\n")
    outside_before = tree(outside)
    for what, args, code in HOSTILE_COMMANDS:
        before = tree(root)
        project_before = {k: v for k, v in before.items() if k.startswith("coder.db")}
        with no_hang(60):
            result = coded.run(*args)
        assert result.exit_code == code, (what, result.exit_code, result.stderr)
        assert "Traceback" not in result.stderr and "internal error" not in result.stderr, what
        if code == 2:
            refused(result)
            assert tree(root) == before, what
        if args[0] not in ("import", "cases", "code") or code == 2:
            assert {k: v for k, v in tree(root).items() if k.startswith("coder.db")} == project_before, what
        assert tree(outside) == outside_before, what


@pytest.mark.parametrize("out", ["q.csv/../..", "..", ".", "q.csv/../q.md", "sub/new/../../q.md"])
def test_an_out_name_through_a_missing_folder_or_naming_a_folder_is_refused_leaving_nothing(coded, out):
    """`q.csv/../..` once made the folder `q.csv`, then failed on `..` and left it behind."""
    before = tree(coded.root)
    result = coded.run("report", "quotes", "--md", "--out", out, "--force")
    refused(result)
    assert tree(coded.root) == before
