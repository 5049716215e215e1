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
