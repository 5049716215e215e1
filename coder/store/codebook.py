"""The codebook as stored: its versions, dimensions, codes and their closure (which code is
under which). Loading a codebook writes these tables in coder/codebook_load.py (`load_codebook`)."""
from __future__ import annotations

import json
import sqlite3
from typing import TYPE_CHECKING, Iterable, Iterator, Sequence

from coder.store import Store, now
from coder.store.schema import IS_OK


def under_sql(ancestor: str = "= ?") -> str:
    """SQL: the codes under an ancestor (`= ?`, or `IN (...)` for several), the ancestor
    included: code_closure holds every code with itself. The one spelling of the closure
    sub-query; a code filter reads `code IN ({under_sql()})`."""
    return f"SELECT descendant FROM code_closure WHERE ancestor {ancestor}"


LATEST_NAME = "SELECT name FROM codebook_versions ORDER BY id DESC LIMIT 1"

if TYPE_CHECKING:  # the codebook module (and YAML) loads only for commands that use it
    from coder.codebook import Code, Dimension


def latest_name(store: Store) -> str | None:
    """The name of the codebook loaded last, or None before any."""
    return store.scalar(LATEST_NAME)


def dimensions(store: Store) -> list[sqlite3.Row]:
    """id, label and colour of each dimension, in the codebook's order."""
    return store.query("SELECT id, label, color FROM dimensions ORDER BY position")


def codes_with_counts(store: Store) -> list[sqlite3.Row]:
    """Every code in the codebook's order with its labels, place in the tree and how many
    codings (ok ones) it has, its sub-codes' included."""
    return store.query(
        "SELECT co.path, co.dimension, co.label, co.label_en, co.description, co.parent, co.depth, co.color, "
        "co.retired, (SELECT COUNT(*) FROM codings c JOIN code_closure cl ON cl.descendant = c.code "
        f"WHERE cl.ancestor = co.path AND c.{IS_OK}) AS codings FROM codes co ORDER BY co.position")


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
        f"SELECT path FROM codes WHERE dimension = ? UNION {under_sql()}", (ref, ref))}


# -- changing codes by command (coder/codebook_ops.py) ------------------------------------------

CODE_COLUMNS = ("path", "uuid", "id", "dimension", "parent", "label", "label_en", "description", "include", "exclude",
                "examples", "keywords", "color", "depth", "position", "retired")


def code_rows(store: Store) -> list[dict]:
    """Every code with all its columns, in the codebook's order (retired ones last)."""
    return [dict(r) for r in store.query(f"SELECT {', '.join(CODE_COLUMNS)} FROM codes ORDER BY position")]


def dimension_rows(store: Store) -> list[dict]:
    """Every dimension with all its columns, in order."""
    return [dict(r) for r in store.query(
        "SELECT id, label, label_en, description, color, position FROM dimensions ORDER BY position")]


def insert_code(store: Store, row: dict) -> None:
    """A new code row (`row` has every column of CODE_COLUMNS)."""
    store.conn.execute(f"INSERT INTO codes({', '.join(CODE_COLUMNS)}) VALUES ({', '.join('?' for _ in CODE_COLUMNS)})",
                       [row[c] for c in CODE_COLUMNS])


def set_code_uuid(store: Store, path: str, uuid: str) -> None:
    """Give a code another uuid (a renamed code hands its uuid to its new row)."""
    store.conn.execute("UPDATE codes SET uuid = ? WHERE path = ?", (uuid, path))


def delete_codes(store: Store, paths: list[str]) -> None:
    """Delete codes that no coding uses any more (their closure rows go with them)."""
    store.conn.executemany("DELETE FROM codes WHERE path = ?", [(p,) for p in paths])


def delete_empty_dimensions(store: Store) -> None:
    """A dimension whose last code went goes too (as a load drops it)."""
    store.conn.execute("DELETE FROM dimensions WHERE id NOT IN (SELECT dimension FROM codes)")


def set_positions(store: Store, ordered: list[str]) -> None:
    """Number the codes in this order (the codebook's order: depth first)."""
    store.conn.executemany("UPDATE codes SET position = ? WHERE path = ?", [(i, p) for i, p in enumerate(ordered)])


def rebuild_closure(store: Store) -> None:
    """code_closure from the codes' paths: each code is under every code its path starts with."""
    store.conn.execute("DELETE FROM code_closure")
    paths = [r[0] for r in store.conn.execute("SELECT path FROM codes")]
    known = set(paths)
    pairs = []
    for path in paths:
        parts = path.split(".")
        for cut in range(2, len(parts) + 1):  # the first part is the dimension
            prefix = ".".join(parts[:cut])
            if prefix in known:
                pairs.append((prefix, path))
    store.conn.executemany("INSERT INTO code_closure(ancestor, descendant) VALUES (?, ?)", pairs)


def add_version(store: Store, *, name: str, version: str | None, source: str, sha256: str, yaml: str) -> int:
    """Record a codebook version (a load, or the codebook as a command left it); returns its id."""
    return store.conn.execute(
        "INSERT INTO codebook_versions(name, version, source, sha256, yaml, loaded_at) VALUES (?,?,?,?,?,?)",
        (name, version, source, sha256, yaml, now())).lastrowid


def versions(store: Store) -> list[dict]:
    """id, name, version, source, sha256 and time of every codebook version, oldest first."""
    return [dict(r) for r in store.query(
        "SELECT id, name, version, source, sha256, loaded_at FROM codebook_versions ORDER BY id")]


def version_text(store: Store, version_id: int) -> dict | None:
    """A version with the text it was loaded from."""
    rows = store.query("SELECT id, name, version, source, sha256, yaml, loaded_at FROM codebook_versions "
                       "WHERE id = ?", (version_id,))
    return dict(rows[0]) if rows else None


def latest_version(store: Store) -> dict | None:
    """The codebook version recorded last, with its text."""
    last = store.scalar("SELECT MAX(id) FROM codebook_versions")
    return version_text(store, last) if last is not None else None


# -- reads for the reports (coder/reports.py, coder/selection.py) ----------------------------

def closure(store: Store) -> Iterator[tuple[str, str]]:
    """(ancestor, descendant) for each code and each code above it, itself included."""
    return store.conn.execute("SELECT ancestor, descendant FROM code_closure")


def code_dimensions(store: Store) -> list[tuple[str, str]]:
    """(path, dimension) of every code, retired ones too."""
    return store.conn.execute("SELECT path, dimension FROM codes").fetchall()


def dimension_labels(store: Store) -> list[sqlite3.Row]:
    """id and label of each dimension, in the codebook's order."""
    return store.query("SELECT id, label FROM dimensions ORDER BY position")


def dimension_details(store: Store) -> list[sqlite3.Row]:
    """id, labels, description and colour of each dimension, in the codebook's order."""
    return store.query("SELECT id, label, label_en, description, color FROM dimensions ORDER BY position")


def labels(store: Store) -> dict[str, str]:
    """Every code's path and every dimension's id -> its label."""
    found = {path: label for path, label in store.conn.execute("SELECT path, label FROM codes")}
    found.update({dim: label for dim, label in store.conn.execute("SELECT id, label FROM dimensions")})
    return found


def current_labels(store: Store) -> list[tuple[str, str]]:
    """(path, label) of each code that takes codings (not retired), in the codebook's order."""
    return [(r[0], r[1]) for r in store.conn.execute("SELECT path, label FROM codes WHERE retired = 0 "
                                                     "ORDER BY position")]


def reported_codes(store: Store) -> list[sqlite3.Row]:
    """The codes a report lists: the codebook's, and retired ones that still have codings, in
    position order, each with its place in the tree."""
    return store.query("SELECT path, label, dimension, depth, parent, position, retired FROM codes co "
                       "WHERE retired = 0 OR EXISTS (SELECT 1 FROM codings c WHERE c.code = co.path) "
                       "ORDER BY position")


def descendants(store: Store, ancestors: Iterable[str]) -> set[str]:
    """The codes under any of `ancestors` (code paths), themselves included."""
    return {d for (d,) in store.conn.execute(under_sql("IN (SELECT value FROM json_each(?))"),
                                             (json.dumps(list(ancestors)),))}


def codes_of_dimensions(store: Store, dimensions: Iterable[str]) -> set[str]:
    """The codes of any of `dimensions`."""
    return {p for (p,) in store.conn.execute("SELECT path FROM codes WHERE dimension IN (SELECT value FROM json_each(?))",
                                             (json.dumps(list(dimensions)),))}


def codings_per_code(store: Store) -> dict[str, int]:
    """How many codings (ok ones) each code has, its sub-codes' included (codes with none left out)."""
    return dict(store.conn.execute(
        "SELECT cl.ancestor, COUNT(*) FROM codings c JOIN code_closure cl ON cl.descendant = c.code "
        f"WHERE c.{IS_OK} GROUP BY cl.ancestor"))


def current_codes_in_full(store: Store) -> list[sqlite3.Row]:
    """Every column of each code that takes codings, with its dimension's label, in order."""
    return store.query("SELECT co.*, d.label AS dimension_label FROM codes co JOIN dimensions d "
                       "ON d.id = co.dimension WHERE co.retired = 0 ORDER BY co.position")

# -- loading a codebook (coder/codebook_load.py) -------------------------------------------------

def latest_version_hash(store: Store) -> tuple[int, str] | None:
    """(id, sha256) of the codebook version recorded last, or None before any."""
    row = store.conn.execute("SELECT id, sha256 FROM codebook_versions ORDER BY id DESC LIMIT 1").fetchone()
    return (row[0], row[1]) if row else None


def uuids_by_path(store: Store) -> dict[str, str]:
    """Every code's uuid by its path, in the table's order."""
    return {path: uuid for path, uuid in store.conn.execute("SELECT path, uuid FROM codes")}


def upsert_dimensions(store: Store, dimensions: Sequence[Dimension]) -> None:
    """Write the dimensions as the codebook has them, numbered in its order (one already
    there is updated)."""
    store.conn.executemany(
        "INSERT INTO dimensions(id, label, label_en, description, color, position) VALUES (?,?,?,?,?,?) "
        "ON CONFLICT(id) DO UPDATE SET label=excluded.label, label_en=excluded.label_en, "
        "description=excluded.description, color=excluded.color, position=excluded.position",
        [(d.id, d.label, d.label_en, d.description, d.color, i) for i, d in enumerate(dimensions)])


def upsert_code(store: Store, code: Code, *, uuid: str, position: int) -> None:
    """Write a code of the codebook at `position`, not retired (one already there, matched by
    path, is updated and keeps its uuid)."""
    store.conn.execute(
        "INSERT INTO codes(path, uuid, id, dimension, parent, label, label_en, description, include, exclude, "
        "examples, keywords, color, depth, position, retired) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,0) "
        "ON CONFLICT(path) DO UPDATE SET id=excluded.id, dimension=excluded.dimension, parent=excluded.parent, "
        "label=excluded.label, label_en=excluded.label_en, description=excluded.description, "
        "include=excluded.include, exclude=excluded.exclude, examples=excluded.examples, "
        "keywords=excluded.keywords, color=excluded.color, depth=excluded.depth, position=excluded.position, "
        "retired=0",
        (code.path, uuid, code.id, code.dimension, code.parent, code.label, code.label_en, code.description,
         _json(code.include), _json(code.exclude), _json(code.examples), _json(code.keywords), code.color,
         code.depth, position))


def _json(values: Iterable[str]) -> str:
    return json.dumps(list(values), ensure_ascii=False)


def retire(store: Store, paths: Sequence[str], *, first_position: int) -> None:
    """Mark codes the codebook dropped but codings use as retired, numbered after its codes."""
    for index, path in enumerate(paths):
        store.conn.execute("UPDATE codes SET retired = 1, position = ? WHERE path = ?", (first_position + index, path))


def is_retired(store: Store, path: str) -> bool:
    return bool(store.scalar("SELECT retired FROM codes WHERE path = ?", (path,)))


def renames_between(store: Store, after: int, upto: int) -> list[dict[str, str]]:
    """The renames (old path -> new path) the commands and loads recorded with a version in
    (after, upto], oldest first (from their audit rows)."""
    return [json.loads(r[0]) for r in store.conn.execute(
        "SELECT json_extract(details, '$.renamed') FROM audit WHERE action LIKE 'codebook.%' "
        "AND json_extract(details, '$.renamed') IS NOT NULL "
        "AND json_extract(details, '$.version') > ? AND json_extract(details, '$.version') <= ? ORDER BY id",
        (after, upto))]


def codings_on_each_code(store: Store) -> dict[str, int]:
    """How many codings (ok and orphaned) each code has on itself (its sub-codes' not counted)."""
    return dict(store.conn.execute("SELECT code, COUNT(*) FROM codings GROUP BY code").fetchall())


# -- merge: another copy's codebook (coder/merge.py) ----------------------------------------------

def dimensions_in_full(store: Store) -> list[dict]:
    """Every dimension, every column, in order."""
    return [dict(r) for r in store.query("SELECT * FROM dimensions ORDER BY position")]


def codes_in_full(store: Store) -> list[dict]:
    """Every code, every column this schema has, in order."""
    return [dict(r) for r in store.query("SELECT * FROM codes ORDER BY position")]


def add_dimension_copy(store: Store, row: dict, position: int) -> None:
    """A dimension copied from another copy of the project, at `position`."""
    store.conn.execute("INSERT INTO dimensions(id, label, label_en, description, color, position) "
                       "VALUES (?,?,?,?,?,?)",
                       (row["id"], row["label"], row.get("label_en"), row.get("description"), row.get("color"),
                        position))


def add_code_copy(store: Store, row: dict, position: int) -> None:
    """A code copied from another copy of the project (its UUID kept), at `position`; the
    closure is rebuilt by the caller once all are in."""
    store.conn.execute(
        "INSERT INTO codes(path, uuid, id, dimension, parent, label, label_en, description, include, exclude, "
        "examples, keywords, color, depth, position, retired) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (row["path"], row["uuid"], row["id"], row["dimension"], row["parent"], row["label"], row.get("label_en"),
         row.get("description"), row["include"], row["exclude"], row["examples"], row["keywords"],
         row.get("color"), row["depth"], position, row.get("retired", 0)))


def max_position(store: Store, table: str) -> int:
    if table not in ("codes", "dimensions"):
        raise ValueError(f"max_position() does not read {table}")
    return store.scalar(f"SELECT COALESCE(MAX(position), -1) FROM {table}")
