"""The codebook as stored: its versions, dimensions, codes and their closure (which code is
under which). Loading a codebook writes these tables in coder/project.py (`load_codebook`)."""
from __future__ import annotations

import sqlite3

from coder.store import Store


def latest_name(store: Store) -> str | None:
    """The name of the codebook loaded last, or None before any."""
    return store.scalar("SELECT name FROM codebook_versions ORDER BY id DESC LIMIT 1")


def dimensions(store: Store) -> list[sqlite3.Row]:
    """id, label and colour of each dimension, in the codebook's order."""
    return store.query("SELECT id, label, color FROM dimensions ORDER BY position")


def codes_with_counts(store: Store) -> list[sqlite3.Row]:
    """Every code in the codebook's order with its labels, place in the tree and how many
    codings (ok ones) it has, its sub-codes' included."""
    return store.query(
        "SELECT co.path, co.dimension, co.label, co.label_en, co.description, co.parent, co.depth, co.color, "
        "co.retired, (SELECT COUNT(*) FROM codings c JOIN code_closure cl ON cl.descendant = c.code "
        "WHERE cl.ancestor = co.path AND c.status = 'ok') AS codings FROM codes co ORDER BY co.position")


def current_codes(store: Store) -> list[sqlite3.Row]:
    """The codes that take codings (not retired), in order, with what `session` shows of
    them (the colour is the dimension's when the code has none)."""
    return store.query(
        "SELECT c.path, c.id, c.dimension, c.label, c.label_en, c.description, c.include, c.exclude, c.keywords, "
        "COALESCE(c.color, d.color) AS color FROM codes c JOIN dimensions d ON d.id = c.dimension "
        "WHERE c.retired = 0 ORDER BY c.position")


def keywords(store: Store) -> list[sqlite3.Row]:
    """path, dimension and keywords (JSON) of each code that takes codings, in order."""
    return store.query("SELECT path, dimension, keywords FROM codes WHERE retired = 0 ORDER BY position")


def under(store: Store, ref: str) -> set[str]:
    """The codes of a dimension, or a code with its sub-codes."""
    return {r[0] for r in store.conn.execute(
        "SELECT path FROM codes WHERE dimension = ? UNION SELECT descendant FROM code_closure "
        "WHERE ancestor = ?", (ref, ref))}
