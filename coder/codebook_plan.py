"""What loading an edited codebook changes: its plan (`coder codebook load`, `codebook diff`).

Codes are matched by path. A code whose path is new is, in this order:
- renamed, when it says `renamed_from: OLD` (OLD's path, or its last part when unique);
- moved, when exactly one code that left has the same id (cut and pasted under another
  parent);
- a proposed rename, when a code that left has the same description and keywords: shown,
  with the hint to add `renamed_from:`, and never applied (the code is added, the old one
  retired, as without the proposal);
- else added.
A rename or move takes the code's sub-codes along (their paths change with it). A code that
left without being matched is removed: retired when it has codings (they are kept on it),
deleted when it has none.

The plan counts the codings each change touches (a renamed or moved code's with its
sub-codes'). A plan whose renames and moves carry no codings changes nothing anyone coded and
is applied as a load always was; one that carries codings is applied only when asked
(`--apply`).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Iterable

from coder.errors import InputError

KINDS = ("added", "renamed", "moved", "proposed", "changed", "retired", "removed")


@dataclass(frozen=True)
class CodeSpec:
    """A code as the plan compares it."""

    path: str
    parent: str
    label: str
    label_en: str | None
    description: str | None
    keywords: tuple[str, ...]
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    color: str | None = None
    retired: bool = False
    renamed_from: str | None = None

    @property
    def id(self) -> str:
        return self.path.rsplit(".", 1)[1]

    def content(self) -> tuple:
        return (self.label, self.label_en, self.description, self.keywords, self.include, self.exclude,
                self.examples, self.color)


@dataclass(frozen=True)
class Step:
    kind: str  # one of KINDS
    path: str  # the code's path in the new codebook (in the old one for retired/removed)
    old: str | None = None  # renamed, moved, proposed: the old path
    codings: int = 0  # the codings the step touches

    def as_json(self) -> dict:
        return {"change": self.kind, "code": self.path, "from": self.old, "codings": self.codings}


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...]
    relocations: tuple[tuple[str, str], ...]  # (old path, new path) of each code renamed or moved itself
    renamed: tuple[tuple[str, str], ...] = ()  # (old path, new path) of those and every sub-code going along

    def of(self, kind: str) -> list[Step]:
        return [s for s in self.steps if s.kind == kind]

    @property
    def needs_apply(self) -> bool:
        """Renames or moves that carry codings, or a proposed rename of a code with codings
        (loaded as it is, they would stay behind on the retired code): applied only when asked."""
        return any(s.codings for s in self.steps if s.kind in ("renamed", "moved", "proposed"))

    def as_json(self) -> list[dict]:
        return [s.as_json() for s in self.steps]

    @property
    def is_empty(self) -> bool:
        return not self.steps

    def summary(self) -> str:
        counts = [f"{len(self.of(kind))} {kind}" for kind in KINDS if self.of(kind)]
        return ", ".join(counts) or "no change"


def specs_of_codebook(codebook) -> list[CodeSpec]:
    """The codes of a parsed codebook (coder.codebook.Codebook), in order."""
    return [CodeSpec(c.path, c.parent, c.label, c.label_en, c.description, tuple(c.keywords), tuple(c.include),
                     tuple(c.exclude), tuple(c.examples), c.color, renamed_from=c.renamed_from)
            for c in codebook.codes()]


def specs_of_rows(rows: Iterable[dict]) -> list[CodeSpec]:
    """The codes as stored (store/codebook.code_rows)."""
    return [CodeSpec(r["path"], r["parent"], r["label"], r["label_en"], r["description"],
                     tuple(json.loads(r["keywords"] or "[]")), tuple(json.loads(r["include"] or "[]")),
                     tuple(json.loads(r["exclude"] or "[]")), tuple(json.loads(r["examples"] or "[]")), r["color"],
                     retired=bool(r["retired"])) for r in rows]


def plan(old: list[CodeSpec], new: list[CodeSpec], *, codings: dict[str, int] | None = None,
         renames: dict[str, str] | None = None, source: str = "the codebook", strict: bool = True) -> Plan:
    """The plan that turns the `old` codes into the `new` ones. `codings`: how many codings
    each old code has (none known: 0); `renames`: renames known otherwise (the audit trail of
    commands, for `codebook diff`), as if written with renamed_from. `strict`: a renamed_from
    naming no code is an error (for a load; `codebook diff` passes over it)."""
    codings = codings or {}
    old_by = {s.path: s for s in old}
    new_by = {s.path: s for s in new}
    mapping: dict[str, str] = {}  # old path -> new path, sub-codes included
    roots: list[tuple[str, str, str]] = []  # (kind, old, new) of each code renamed or moved itself

    def take(kind: str, src: str, dst: str) -> None:
        roots.append((kind, src, dst))
        for path in old_by:
            if path == src or path.startswith(src + "."):
                target = dst + path[len(src):]
                if target in new_by and target not in old_by and path not in mapping \
                        and target not in mapping.values():
                    mapping[path] = target

    for src, dst in (renames or {}).items():
        if src in old_by and dst in new_by and dst not in old_by and src not in new_by and src not in mapping:
            take("renamed" if old_by[src].parent == new_by[dst].parent or old_by[src].id != new_by[dst].id
                 else "moved", src, dst)
    for spec in new:
        if not spec.renamed_from or spec.path in old_by or spec.path in mapping.values():
            continue
        src = _resolve_old(spec, old_by, new_by, source)
        if src is None and strict:
            from coder.codebook import _closest

            close = _closest(spec.renamed_from, sorted(old_by))
            raise InputError(f"'{spec.path}' says renamed_from '{spec.renamed_from}', which is no code of the "
                             "project", path=source, hint=f"did you mean {' or '.join(repr(c) for c in close)}?"
                             if close else "give the old code's path, as `coder codebook show` lists it")
        if src is None or src in mapping:
            continue
        take("renamed", src, spec.path)
    unmatched_old = [p for p, s in old_by.items() if p not in new_by and p not in mapping and not s.retired]
    unmatched_new = [p for p in new_by if p not in old_by and p not in mapping.values()]
    by_id_old: dict[str, list[str]] = {}
    for path in unmatched_old:
        by_id_old.setdefault(old_by[path].id, []).append(path)
    by_id_new: dict[str, list[str]] = {}
    for path in unmatched_new:
        by_id_new.setdefault(new_by[path].id, []).append(path)
    for code_id, olds in by_id_old.items():
        news = by_id_new.get(code_id, [])
        if len(olds) == 1 and len(news) == 1 and olds[0] not in mapping and news[0] not in mapping.values():
            take("moved", olds[0], news[0])
    proposed: dict[str, str] = {}  # new -> old
    left_old = [p for p in unmatched_old if p not in mapping]
    for path in (p for p in unmatched_new if p not in mapping.values()):
        spec = new_by[path]
        if not (spec.description or spec.keywords):
            continue
        same = [p for p in left_old if (old_by[p].description, old_by[p].keywords) == (spec.description, spec.keywords)
                and p not in proposed.values()]
        if len(same) == 1:
            proposed[path] = same[0]

    def carried(src: str) -> int:
        return sum(n for p, n in codings.items() if p == src or p.startswith(src + "."))

    steps: list[Step] = []
    moved_to = set(mapping.values())
    root_targets = {dst: (kind, src) for kind, src, dst in roots}
    for spec in new:
        if spec.path in root_targets:
            kind, src = root_targets[spec.path]
            steps.append(Step(kind, spec.path, src, carried(src)))
        elif spec.path in proposed:
            steps.append(Step("proposed", spec.path, proposed[spec.path], codings.get(proposed[spec.path], 0)))
        elif spec.path in moved_to:
            continue  # a sub-code that goes with its parent
        elif spec.path not in old_by:
            steps.append(Step("added", spec.path))
        elif spec.content() != old_by[spec.path].content() or old_by[spec.path].retired:
            steps.append(Step("changed", spec.path))
    for path in old_by:
        if path in new_by or path in mapping or old_by[path].retired:
            continue
        steps.append(Step("retired" if codings.get(path) else "removed", path, codings=codings.get(path, 0)))
    roots.sort(key=lambda r: r[1].count("."))
    return Plan(tuple(steps), tuple((src, dst) for _, src, dst in roots), tuple(mapping.items()))


def _resolve_old(spec: CodeSpec, old_by: dict, new_by: dict, source: str) -> str | None:
    ref = spec.renamed_from
    if ref in old_by:
        match = ref
    else:
        matches = [p for p in old_by if p.rsplit(".", 1)[1] == ref or p.endswith("." + ref)]
        if len(matches) > 1:
            raise InputError(f"renamed_from '{ref}' of '{spec.path}' matches {len(matches)} codes "
                             f"({', '.join(matches)})", path=source, hint="give the old code's full path")
        match = matches[0] if matches else None
    if match is None:
        return None
    if match in new_by:
        raise InputError(f"'{spec.path}' says renamed_from '{ref}', but '{match}' is still in the codebook",
                         path=source, hint="remove the old code from the file, or the renamed_from line")
    return match
