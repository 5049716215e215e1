"""The codebook in a project: loading (or updating) it into the store, and resolving what a
user types for a code (a path, an id, a label) to the code's path.

Nothing here prints; the YAML is read and validated in coder/codebook.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from coder.errors import UnknownCode
from coder.store import Store, new_uuid
from coder.store import codebook as codebook_rows
from coder.store import codings as coding_rows

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
        latest = codebook_rows.latest_version_hash(store)
        existing = codebook_rows.uuids_by_path(store)
        if latest and latest[1] == codebook.sha256 and existing:
            return CodebookLoad("unchanged", latest[0], len(existing), (), ())
        if set(existing) - {c.path for c in codebook.codes()}:  # codes dropped: back up first
            from coder.backup import backup_before

            backup_before(store, "codebook load")
        version_id = codebook_rows.add_version(store, name=codebook.name, version=codebook.version,
                                               source=codebook.source, sha256=codebook.sha256,
                                               yaml=codebook.yaml_text)
        codebook_rows.upsert_dimensions(store, codebook.dimensions)
        new_paths = []
        for position, code in enumerate(codebook.codes()):
            new_paths.append(code.path)
            codebook_rows.upsert_code(store, code, uuid=existing.get(code.path) or code.uuid or new_uuid(),
                                      position=position)
        dropped = [p for p in existing if p not in set(new_paths)]
        used = coding_rows.codes_in_use(store)
        retired = tuple(p for p in dropped if p in used)
        codebook_rows.retire(store, retired, first_position=len(new_paths))
        codebook_rows.delete_codes(store, [p for p in dropped if p not in used])
        codebook_rows.delete_empty_dimensions(store)
        codebook_rows.rebuild_closure(store)
        added = tuple(p for p in new_paths if p not in existing)
        store.audit("codebook.load", source=codebook.source, version=version_id, added=list(added),
                    retired=list(retired))
    return CodebookLoad("updated" if existing else "loaded", version_id, len(new_paths), added, retired)


def resolve(store: Store, ref: str, *, allow_dimension: bool = False) -> str:
    paths = store.code_paths(include_retired=True)
    if not paths:
        raise UnknownCode(f"unknown code '{ref}': the project has no codebook",
                          hint="load one with `coder codebook load FILE`")
    from coder.codebook import resolve_code

    return resolve_code(ref, paths, dimensions=store.dimension_ids(), allow_dimension=allow_dimension)
