"""The codebook in a project: loading (or updating) it into the store, and resolving what a
user types for a code (a path, an id, a label) to the code's path.

Nothing here prints; the YAML is read and validated in coder/codebook.py.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable

from coder.errors import UnknownCode
from coder.store import Store, new_uuid, now

if TYPE_CHECKING:  # the codebook module (and YAML) loads only for commands that use it
    from coder.codebook import Codebook


@dataclass(frozen=True)
class CodebookLoad:
    status: str  # "loaded" | "updated" | "unchanged"
    version_id: int | None
    codes: int
    added: tuple[str, ...]
    retired: tuple[str, ...]


def load_codebook(store: Store, codebook: Codebook) -> CodebookLoad:
    """Load or update the project's codebook. Codes are matched by path; a code that the new
    codebook drops is kept as retired when codings use it (nothing is lost), else removed."""
    with store.transaction():
        latest = store.query("SELECT id, sha256 FROM codebook_versions ORDER BY id DESC LIMIT 1")
        existing = {r["path"]: r["uuid"] for r in store.query("SELECT path, uuid FROM codes")}
        if latest and latest[0]["sha256"] == codebook.sha256 and existing:
            return CodebookLoad("unchanged", latest[0]["id"], len(existing), (), ())
        from coder.safety import backup_before

        backup_before(store, "codebook load", when=set(existing) - {c.path for c in codebook.codes()})
        cursor = store.conn.execute(
            "INSERT INTO codebook_versions(name, version, source, sha256, yaml, loaded_at) VALUES (?,?,?,?,?,?)",
            (codebook.name, codebook.version, codebook.source, codebook.sha256, codebook.yaml_text, now()))
        version_id = cursor.lastrowid
        store.conn.executemany(
            "INSERT INTO dimensions(id, label, label_en, description, color, position) VALUES (?,?,?,?,?,?) "
            "ON CONFLICT(id) DO UPDATE SET label=excluded.label, label_en=excluded.label_en, "
            "description=excluded.description, color=excluded.color, position=excluded.position",
            [(d.id, d.label, d.label_en, d.description, d.color, i) for i, d in enumerate(codebook.dimensions)])
        new_paths = []
        for position, code in enumerate(codebook.codes()):
            new_paths.append(code.path)
            store.conn.execute(
                "INSERT INTO codes(path, uuid, id, dimension, parent, label, label_en, description, include, exclude, "
                "examples, keywords, color, depth, position, retired) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,0) "
                "ON CONFLICT(path) DO UPDATE SET id=excluded.id, dimension=excluded.dimension, parent=excluded.parent, "
                "label=excluded.label, label_en=excluded.label_en, description=excluded.description, "
                "include=excluded.include, exclude=excluded.exclude, examples=excluded.examples, "
                "keywords=excluded.keywords, color=excluded.color, depth=excluded.depth, position=excluded.position, "
                "retired=0",
                (code.path, existing.get(code.path) or code.uuid or new_uuid(), code.id, code.dimension, code.parent, code.label,
                 code.label_en, code.description, _json(code.include), _json(code.exclude), _json(code.examples),
                 _json(code.keywords), code.color, code.depth, position))
        dropped = [p for p in existing if p not in set(new_paths)]
        used = {r[0] for r in store.conn.execute("SELECT DISTINCT code FROM codings")}
        retired = tuple(p for p in dropped if p in used)
        offset = len(new_paths)
        for index, path in enumerate(retired):
            store.conn.execute("UPDATE codes SET retired = 1, position = ? WHERE path = ?", (offset + index, path))
        store.conn.executemany("DELETE FROM codes WHERE path = ?", [(p,) for p in dropped if p not in used])
        store.conn.execute("DELETE FROM dimensions WHERE id NOT IN (SELECT dimension FROM codes)")
        _rebuild_closure(store)
        added = tuple(p for p in new_paths if p not in existing)
        store.audit("codebook.load", source=codebook.source, version=version_id, added=list(added),
                    retired=list(retired))
    return CodebookLoad("updated" if existing else "loaded", version_id, len(new_paths), added, retired)


def _rebuild_closure(store: Store) -> None:
    store.conn.execute("DELETE FROM code_closure")
    paths = [r[0] for r in store.conn.execute("SELECT path FROM codes")]
    pairs = []
    known = set(paths)
    for path in paths:
        parts = path.split(".")
        # ancestors are the code paths among its prefixes (the first part is the dimension)
        for cut in range(2, len(parts) + 1):
            prefix = ".".join(parts[:cut])
            if prefix in known:
                pairs.append((prefix, path))
    store.conn.executemany("INSERT INTO code_closure(ancestor, descendant) VALUES (?, ?)", pairs)


def _json(values: Iterable[str]) -> str:
    return json.dumps(list(values), ensure_ascii=False)


def resolve(store: Store, ref: str, *, allow_dimension: bool = False) -> str:
    paths = store.code_paths(include_retired=True)
    if not paths:
        raise UnknownCode(f"unknown code '{ref}': the project has no codebook",
                          hint="load one with `coder codebook load FILE`")
    from coder.codebook import resolve_code

    return resolve_code(ref, paths, dimensions=store.dimension_ids(), allow_dimension=allow_dimension)
