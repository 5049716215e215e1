"""The names pseudonymised exports hide, and the informants who get aliases."""
from __future__ import annotations

from coder.store import Store


def listing(store: Store) -> list[tuple[str, str, str]]:
    """(name, alias, kind) of each listed name, by name."""
    return store.conn.execute("SELECT name, alias, kind FROM names ORDER BY name").fetchall()


def informants(store: Store) -> list[tuple[str]]:
    """Each transcript's informant in import order, then a focus group's members (by
    transcript and speaker label); repeats left in."""
    rows = store.conn.execute("SELECT DISTINCT informant FROM transcripts WHERE informant IS NOT NULL "
                              "AND informant != '' ORDER BY id").fetchall()
    rows += store.conn.execute("SELECT informant FROM speakers WHERE informant IS NOT NULL AND informant != '' "
                               "ORDER BY transcript_id, label").fetchall()  # a focus group's members
    return rows


def add(store: Store, name: str, alias: str, kind: str) -> None:
    """A name pseudonymised exports hide, and what they show instead (one already listed is
    given the new alias and kind)."""
    store.conn.execute("INSERT INTO names(name, alias, kind) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET "
                       "alias = excluded.alias, kind = excluded.kind", (name, alias, kind))


def remove(store: Store, name: str) -> tuple[str, str] | None:
    """Take a name off the list; returns its (alias, kind), or None when it was not listed."""
    row = store.conn.execute("SELECT alias, kind FROM names WHERE name = ?", (name,)).fetchone()
    if row is not None:
        store.conn.execute("DELETE FROM names WHERE name = ?", (name,))
    return tuple(row) if row else None


def in_full(store: Store) -> list[dict]:
    """Every listed name, every column."""
    return [dict(r) for r in store.query("SELECT * FROM names ORDER BY rowid")]


def add_row(store: Store, name: str, alias: str, kind: str) -> None:
    store.conn.execute("INSERT INTO names(name, alias, kind) VALUES (?, ?, ?)", (name, alias, kind))
