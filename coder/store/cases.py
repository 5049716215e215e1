"""Case offices and their attributes."""
from __future__ import annotations

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
