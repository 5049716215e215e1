import sqlite3

from conftest import db_rows


def test_init_is_idempotent_and_marks_the_file(project):
    assert project.run("init").exit_code == 0
    assert project.run("init").exit_code == 0
    assert db_rows(project.db, "PRAGMA application_id") == [(0x436F6452,)]
    assert db_rows(project.db, "PRAGMA user_version")[0][0] >= 1


def test_command_without_database_names_coder_init(project):
    result = project.run("report", "freq")
    assert result.exit_code == 2
    assert "coder init" in result.stderr
    assert not project.db.exists()


def test_not_a_database(project):
    project.db.write_text("hello, I am a text file\n" * 100)
    result = project.run("report", "freq")
    assert result.exit_code == 2
    assert "not a coder database" in result.stderr
    assert project.db.read_text().startswith("hello")


def test_other_programs_sqlite_file_is_refused(project):
    conn = sqlite3.connect(project.db)
    conn.execute("CREATE TABLE photos (id INTEGER)")
    conn.commit()
    conn.close()
    result = project.run("cases", "list")
    assert result.exit_code == 2
    assert "not a coder database" in result.stderr


def test_newer_database_is_refused(project):
    project.run("init")
    conn = sqlite3.connect(project.db)
    conn.execute("PRAGMA user_version = 999")
    conn.close()
    result = project.run("cases", "list")
    assert result.exit_code == 2
    assert "newer coder" in result.stderr


def test_db_from_environment(project, monkeypatch):
    other = project.root / "elsewhere.db"
    monkeypatch.setenv("CODER_DB", str(other))
    from typer.testing import CliRunner

    from coder.cli import app

    result = CliRunner().invoke(app, ["init"])
    assert result.exit_code == 0
    assert other.exists() and not project.db.exists()


def test_views_are_usable_directly(loaded):
    loaded.run("code", "add", "hamar_1", "2", "two_bosses")
    rows = db_rows(loaded.db, 'SELECT transcript, "case", code, text FROM coded_quotes')
    assert rows[0][:3] == ("hamar_1", "Hamar", "vertical.two_bosses")
    freq = db_rows(loaded.db, "SELECT code, \"case\", segments FROM code_frequencies ORDER BY code")
    assert ("vertical.two_bosses", "Hamar", 1) in freq


def test_every_write_leaves_an_audit_row(loaded):
    loaded.run("code", "add", "hamar_1", "2", "two_bosses")
    actions = [r[0] for r in db_rows(loaded.db, "SELECT action FROM audit ORDER BY id")]
    assert actions == ["codebook.load", "import", "code.add"]
