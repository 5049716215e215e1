"""The codebook's history: every version loaded, or left by a command that changed codes
(`coder codebook history`), and what changed between two of them (`coder codebook diff`),
told as a load's plan (coder/codebook_plan.py) with the renames the commands recorded."""
from __future__ import annotations

from dataclasses import dataclass

from coder.codebook_plan import Plan, plan, specs_of_codebook
from coder.errors import InputError
from coder.store import Store
from coder.store import codebook as code_rows


@dataclass(frozen=True)
class Version:
    id: int
    loaded_at: str
    name: str
    version: str | None
    source: str
    codes: int | None  # None: a REFI-QDA file, not read again here

    def as_json(self) -> dict:
        return {"id": self.id, "loaded_at": self.loaded_at, "name": self.name, "version": self.version,
                "source": self.source, "codes": self.codes}


def history(store: Store) -> list[Version]:
    out = []
    for row in code_rows.versions(store):
        codebook = _parsed(store, row["id"], quiet=True)
        out.append(Version(row["id"], row["loaded_at"], row["name"], row["version"], row["source"] or "",
                           sum(1 for _ in codebook.codes()) if codebook else None))
    return out


def _parsed(store: Store, version_id: int, *, quiet: bool = False):
    from coder.codebook import parse_codebook, parse_codebook_csv

    row = code_rows.version_text(store, version_id)
    if row is None:
        known = [str(v["id"]) for v in code_rows.versions(store)]
        raise InputError(f"no codebook version {version_id}", hint=f"the versions are {', '.join(known) or 'none'}; "
                                                                   "see `coder codebook history`")
    source = row["source"] or ""
    try:
        if source.lower().endswith(".csv"):
            return parse_codebook_csv(row["yaml"], source=f"version {version_id}")
        if source.lower().endswith((".qdc", ".qdpx")):
            raise InputError(f"version {version_id} came from a REFI-QDA file ({source})",
                             hint="compare versions loaded from YAML or CSV, or left by commands")
        return parse_codebook(row["yaml"], source=f"version {version_id}")
    except InputError:
        if quiet:
            return None
        raise


def diff(store: Store, first: int | None = None, second: int | None = None) -> tuple[int, int, Plan]:
    """What changed from version `first` to `second` (default: the two last)."""
    ids = [v["id"] for v in code_rows.versions(store)]
    if not ids:
        raise InputError("the project has no codebook", hint="load one with `coder codebook load FILE`")
    second = ids[-1] if second is None else second
    if first is None:
        before = [i for i in ids if i < second]
        if not before:
            raise InputError("only one codebook version: nothing to compare", hint="see `coder codebook history`")
        first = before[-1]
    old, new = _parsed(store, first), _parsed(store, second)
    renames: dict[str, str] = {}
    low, high = sorted((first, second))
    for step in code_rows.renames_between(store, low, high):
        for key, value in list(renames.items()):
            if value in step:
                renames[key] = step[value]
        for key, value in step.items():
            if key not in renames.values():
                renames.setdefault(key, value)
    if first > second:
        renames = {new_path: old_path for old_path, new_path in renames.items()}
    return first, second, plan(specs_of_codebook(old), specs_of_codebook(new), renames=renames, strict=False)
