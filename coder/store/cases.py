"""Case offices and their attributes."""
from __future__ import annotations

import json
import sqlite3

from coder.store import Store


def listing(store: Store) -> list[sqlite3.Row]:
    """Each case by name, with its attributes (JSON) and how many transcripts (tr) and
    segments (seg) it has."""
    return store.query(
        "SELECT cs.name, cs.attributes, (SELECT COUNT(*) FROM transcripts t WHERE t.case_name = cs.name) AS tr, "
        "(SELECT COUNT(*) FROM segments s JOIN transcripts t ON t.id = s.transcript_id WHERE t.case_name = cs.name) "
        "AS seg FROM cases cs ORDER BY cs.name")


def names(store: Store) -> list[str]:
    """Every case's name, in order (for completing them in the shell)."""
    return [name for (name,) in store.conn.execute("SELECT name FROM cases ORDER BY name")]

def names_in_order(store: Store) -> list[str]:
    """The listed cases' names in the order the researcher gave them (the cases file, or first import)."""
    return [name for (name,) in store.conn.execute("SELECT name FROM cases ORDER BY rowid")]

# -- setting attributes (coder/cases.py) -------------------------------------------------------

def attributes(store: Store, case: str) -> dict:
    """A case's attributes ({} for a case without any, or not in the project)."""
    return json.loads(store.scalar("SELECT attributes FROM cases WHERE name = ?", (case,)) or "{}")


def all_attributes(store: Store) -> dict[str, dict]:
    """Every case's attributes by its name."""
    return {name: json.loads(text or "{}") for name, text in store.conn.execute("SELECT name, attributes FROM cases")}


def set_attributes(store: Store, case: str, values: dict) -> None:
    """Replace a case's attributes (the case must exist: `Store.ensure_case`)."""
    store.conn.execute("UPDATE cases SET attributes = ? WHERE name = ?",
                       (json.dumps(values, ensure_ascii=False, sort_keys=True), case))


# -- renaming and removing cases (coder/cases.py) ---------------------------------------------------

RENAMES_KEY = "case_renames"  # meta: {"old name": "new name"}, so a front matter naming the old one finds the new


def transcripts_of(store: Store, case: str) -> list[str]:
    """The names of the transcripts of a case."""
    return [n for (n,) in store.conn.execute("SELECT name FROM transcripts WHERE case_name = ? ORDER BY name",
                                             (case,))]


def rename(store: Store, old: str, new: str) -> None:
    """A case's name; its transcripts follow (the schema's ON UPDATE CASCADE), and a transcript
    whose front matter names the old name is put in the new one when imported (`current_name`)."""
    store.conn.execute("UPDATE cases SET name = ? WHERE name = ?", (new, old))
    renames = renamed(store)
    renames = {was: (new if now == old else now) for was, now in renames.items() if was != new}
    renames[old] = new
    store.conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                       (RENAMES_KEY, json.dumps(renames, ensure_ascii=False, sort_keys=True)))


def renamed(store: Store) -> dict[str, str]:
    """Every case renamed, by its old name."""
    text = store.scalar("SELECT value FROM meta WHERE key = ?", (RENAMES_KEY,))
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def current_name(store: Store, case: str) -> str:
    """The name a case has now, given one it may have had before a rename."""
    return renamed(store).get(case, case)


def remove(store: Store, case: str) -> None:
    """Delete a case (its transcripts must have been taken out of it: `release`)."""
    store.conn.execute("DELETE FROM cases WHERE name = ?", (case,))
    renames = {was: now for was, now in renamed(store).items() if now != case}
    store.conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                       (RENAMES_KEY, json.dumps(renames, ensure_ascii=False, sort_keys=True)))


def release(store: Store, case: str) -> int:
    """Take every transcript out of a case (no case); returns how many."""
    return store.conn.execute("UPDATE transcripts SET case_name = NULL WHERE case_name = ?", (case,)).rowcount


def in_full(store: Store) -> list[dict]:
    """Every case, every column, in the order they came."""
    return [dict(r) for r in store.query("SELECT * FROM cases ORDER BY rowid")]


def add_copy(store: Store, name: str, attributes: str, created_at: str) -> None:
    store.conn.execute("INSERT INTO cases(name, attributes, created_at) VALUES (?, ?, ?)",
                       (name, attributes, created_at))


def set_attributes_json(store: Store, name: str, attributes: str) -> None:
    store.conn.execute("UPDATE cases SET attributes = ? WHERE name = ?", (attributes, name))
