"""Changing the codebook by command as the analysis matures: rename, move, merge, split and
delete codes (`coder codebook ...`), and move or remove codings in bulk (`coder code move`,
`coder code remove --code ...`).

The invariant: no coding is lost on the way. A code's codings go with it when it is renamed
or moved (its sub-codes go too: a code is its dotted path, so every descendant gets a new
path), to the target when codes are merged or a code is deleted with `--reassign`, and they
are removed only when asked (`--drop-codings`, `code remove`). The one exception is a coding
that would become a second copy of one already on the target (same transcript, span and
coder): it is removed, and the audit row lists it.

Each operation is one transaction, with a backup first (backup.backup_before), one audit
row (action, before and after names, counts, the ids of the codings it touched) and a new
codebook version (the codebook as YAML, coder/codebook_yaml.py), so `codebook history` and
`codebook diff` see it as they see a load. With `dry_run` the operation runs and is rolled
back: what it would do, nothing written.

Codings change only through store/codings (`recode`, `remove`), codes through store/codebook.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

from coder.codebook import ID_PATTERN
from coder.errors import InputError
from coder.store import Store
from coder.store import codebook as code_rows
from coder.store import codings as coding_rows
from coder.store import memos


@dataclass(frozen=True)
class Change:
    """What an operation did (or, with dry_run, would do)."""

    action: str
    renamed: tuple[tuple[str, str], ...] = ()  # (old path, new path), every sub-code included
    created: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()
    recoded: tuple[str, ...] = ()  # ids of the codings put on another code
    removed: tuple[str, ...] = ()  # ids of the codings removed
    duplicates: tuple[str, ...] = ()  # of those, the ones a move would have made a second copy
    codings: tuple[dict, ...] = field(default=(), repr=False)  # the codings listed (split, code move/remove)
    target: str | None = None
    version: int | None = None
    dry_run: bool = False

    def as_json(self) -> dict:
        return {"action": self.action, "applied": not self.dry_run, "renamed": dict(self.renamed),
                "created": list(self.created), "deleted": list(self.deleted), "target": self.target,
                "recoded": len(self.recoded), "removed": len(self.removed), "duplicates": len(self.duplicates),
                "version": self.version, "codings": [_coding_json(c) for c in self.codings]}


def _coding_json(row: dict) -> dict:
    return {"id": row["uuid"], "transcript": row.get("transcript"), "case": row.get("case"),
            "segment": row.get("segment"), "start": row.get("start"), "end": row.get("end"), "code": row["code"],
            "coder": row.get("coder"), "status": row.get("status"), "text": row.get("text")}


class _DryRun(Exception):
    """Raised to roll a dry run's transaction back, carrying what it did."""

    def __init__(self, change: Change):
        super().__init__("dry run")
        self.change = change


def _run(store: Store, command: str, dry_run: bool, work) -> Change:
    """`work(ready)` in one transaction; `ready()`, called once the checks passed and before
    the first write, makes the backup (named after `command`, e.g. "codebook rename"). A dry
    run is rolled back."""
    from coder.backup import backup_before

    def ready() -> None:  # checks passed, the first write is next
        if not dry_run:
            backup_before(store, command)

    try:
        with store.transaction():
            change = work(ready)
            if dry_run:
                raise _DryRun(change)
    except _DryRun as done:
        return _replace(done.change, dry_run=True, version=None)
    return change


def _replace(change: Change, **values) -> Change:
    from dataclasses import replace

    return replace(change, **values)


# -- the tree -----------------------------------------------------------------------------------

class _Tree:
    """The codes as stored, read once inside the operation's transaction."""

    def __init__(self, store: Store):
        self.rows = {r["path"]: r for r in code_rows.code_rows(store)}
        self.dimensions = {d["id"] for d in code_rows.dimension_rows(store)}

    def subtree(self, path: str) -> list[str]:
        """The code and its sub-codes, in codebook order."""
        return [p for p in self.rows if p == path or p.startswith(path + ".")]

    def children(self, path: str) -> list[str]:
        return [p for p, r in self.rows.items() if r["parent"] == path]

    def parent_exists(self, parent: str) -> bool:
        return parent in self.dimensions or parent in self.rows


def _resolve(store: Store, ref: str) -> str:
    from coder import codebook_load

    return codebook_load.resolve(store, ref)


def _new_path(tree: _Tree, new: str, *, beside: str | None = None, under: str | None = None) -> str:
    """The path a new or renamed code gets: NEW as a full path (dimension.code...), else as an
    id under `under`, or beside the code `beside`."""
    if "." in new:
        parent, code_id = new.rsplit(".", 1)
        if not tree.parent_exists(parent):
            raise InputError(f"'{parent}' is neither a dimension nor a code", hint="give the new code's place as "
                             "dimension.code or an existing code's path")
    else:
        parent, code_id = under or tree.rows[beside]["parent"], new
    if not ID_PATTERN.fullmatch(code_id):
        raise InputError(f"'{code_id}' is not a code id", hint="an id is lowercase letters, digits and _ only")
    path = f"{parent}.{code_id}"
    if path in tree.rows:
        retired = " (retired: it keeps its codings)" if tree.rows[path]["retired"] else ""
        raise InputError(f"code '{path}' exists already{retired}",
                         hint="choose another name, or merge into it with `coder codebook merge`")
    return path


def _relocate(store: Store, tree: _Tree, old_root: str, new_root: str, *, at_end: bool) -> tuple[dict, list[str]]:
    """Give a code and its sub-codes new paths (new_root and below it), their codings and
    memos with them; returns {old: new} and the ids of the codings moved."""
    renamed = {p: new_root + p[len(old_root):] for p in tree.subtree(old_root)}
    bump = 1_000_000 if at_end else 0  # after its new siblings; positions are renumbered at the end
    new_parent = new_root.rsplit(".", 1)[0]
    for old, new in renamed.items():
        row = dict(tree.rows[old])
        code_rows.set_code_uuid(store, old, row["uuid"] + ":moving")
        row.update(path=new, dimension=new.split(".", 1)[0], depth=new.count("."),
                   parent=new_parent if old == old_root else new.rsplit(".", 1)[0],
                   id=new.rsplit(".", 1)[1], position=row["position"] + bump)
        code_rows.insert_code(store, row)
    moved = []
    on_codes = coding_rows.on_codes(store, list(renamed))
    coding_rows.recode(store, [(c["uuid"], renamed[c["code"]]) for c in on_codes])
    moved = [c["uuid"] for c in on_codes]
    memos.retarget_codes(store, renamed)
    code_rows.delete_codes(store, list(renamed))
    return renamed, moved


def _not_under_itself(source: str, target: str) -> None:
    if target == source or target.startswith(source + "."):
        raise InputError(f"cannot put '{source}' under itself", hint="choose a place outside it")


def _recode_into(store: Store, codings: Iterable[dict], target: str) -> tuple[list[str], list[str]]:
    """Put codings on `target`; one that would be a second copy of a coding there (same
    transcript, span and coder) is removed instead. Returns (moved ids, removed ids)."""
    taken = {(c["transcript_id"], c["start"], c["end"], c["coder"]) for c in coding_rows.on_codes(store, [target])}
    moves, duplicates = [], []
    for c in codings:
        if c["code"] == target:
            continue
        key = (c["transcript_id"], c["start"], c["end"], c["coder"])
        if key in taken:
            duplicates.append(c["uuid"])
        else:
            taken.add(key)
            moves.append((c["uuid"], target))
    if duplicates:
        coding_rows.remove(store, uuids=duplicates)
    coding_rows.recode(store, moves)
    return [uuid for uuid, _ in moves], duplicates


def _finish(store: Store, command: str, change: Change, renamed: dict[str, str] | None = None) -> Change:
    """Renumber, rebuild the closure, record the codebook version and the audit row."""
    from coder import codebook_yaml
    from coder.text import sha256_text

    _renumber(store)
    code_rows.delete_empty_dimensions(store)
    code_rows.rebuild_closure(store)
    latest = code_rows.latest_version(store) or {}
    text = codebook_yaml.render(store, renamed=renamed or dict(change.renamed))
    version = code_rows.add_version(store, name=latest.get("name") or "Codebook", version=latest.get("version"),
                                    source=command, sha256=sha256_text(text), yaml=text)
    change = _replace(change, version=version)
    coding_rows.audit(store, f"codebook.{change.action}", recoded=len(change.recoded), removed=len(change.removed),
                      command=command, target=change.target, renamed=dict(change.renamed),
                      created=list(change.created), deleted=list(change.deleted), version=version,
                      uuids=list(change.recoded), removed_uuids=list(change.removed),
                      duplicates=list(change.duplicates))
    return change


def _renumber(store: Store) -> None:
    rows = code_rows.code_rows(store)
    kids: dict[str, list[str]] = {}
    for r in rows:
        if not r["retired"]:
            kids.setdefault(r["parent"], []).append(r["path"])
    order: list[str] = []

    def walk(parent: str) -> None:
        for path in kids.get(parent, []):
            order.append(path)
            walk(path)

    for dim in code_rows.dimension_rows(store):
        walk(dim["id"])
    order += [r["path"] for r in rows if r["path"] not in set(order)]
    code_rows.set_positions(store, order)


# -- the operations -------------------------------------------------------------------------------

def rename(store: Store, old: str, new: str, *, dry_run: bool = False) -> Change:
    """Rename a code (NEW: an id, kept beside it, or a full path); its sub-codes, codings and
    memos follow."""
    source = _resolve(store, old)

    def work(ready) -> Change:
        tree = _Tree(store)
        target = _new_path(tree, new, beside=source)
        _not_under_itself(source, target)
        ready()
        renamed, moved = _relocate(store, tree, source, target, at_end=False)
        change = Change("rename", renamed=tuple(renamed.items()), recoded=tuple(moved), target=target)
        return _finish(store, f"coder codebook rename {source} {target}", change)

    return _run(store, "codebook rename", dry_run, work)


def move(store: Store, ref: str, parent: str, *, dry_run: bool = False) -> Change:
    """Put a code (with its sub-codes) under another code or at the top of a dimension."""
    source = _resolve(store, ref)

    def work(ready) -> Change:
        tree = _Tree(store)
        under = parent if parent in tree.dimensions else _resolve(store, parent)
        if under == tree.rows[source]["parent"]:
            raise InputError(f"'{source}' is under '{under}' already")
        target = _new_path(tree, tree.rows[source]["id"], under=under)
        _not_under_itself(source, target)
        ready()
        renamed, moved = _relocate(store, tree, source, target, at_end=True)
        change = Change("move", renamed=tuple(renamed.items()), recoded=tuple(moved), target=target)
        return _finish(store, f"coder codebook move {source} --under {under}", change)

    return _run(store, "codebook move", dry_run, work)


def merge(store: Store, refs: Sequence[str], into: str, *, dry_run: bool = False) -> Change:
    """Merge codes into one (an existing code, or a new one made beside the first): their
    codings go to it, their sub-codes under it, and the merged codes go."""
    sources = list(dict.fromkeys(_resolve(store, ref) for ref in refs))

    def work(ready) -> Change:
        tree = _Tree(store)
        target = _existing(store, tree, into)
        new_target = target is None
        if new_target:
            target = _new_path(tree, into, beside=sources[0])
        elif tree.rows[target]["retired"]:
            raise InputError(f"code '{target}' is retired: it takes no new codings",
                             hint="merge into a code of the codebook")
        for source in sources:
            if source == target or target.startswith(source + "."):
                which = "itself" if source == target else "one of its sub-codes"
                raise InputError(f"cannot merge '{source}' into '{target}', which is {which}")
        # deepest first: a source under another is merged into the target itself, not carried under it
        ordered = sorted(sources, key=lambda p: -p.count("."))
        taken = {tree.rows[c]["id"]: c for c in (tree.children(target) if not new_target else [])}
        for source in ordered:
            for child in tree.children(source):
                if child in sources:
                    continue
                code_id = tree.rows[child]["id"]
                if code_id in taken:
                    raise InputError(f"'{target}' would get two sub-codes '{code_id}' ('{taken[code_id]}' and "
                                     f"'{child}')", hint=f"rename or merge '{child}' first")
                taken[code_id] = child
        ready()
        if new_target:
            _create(store, tree, target, like=sources[0])
        renamed, recoded, duplicates = {}, [], []
        for source in ordered:
            for child in _Tree(store).children(source):
                done, moved = _relocate(store, _Tree(store), child, f"{target}.{child.rsplit('.', 1)[1]}",
                                        at_end=True)
                renamed.update(done)
                recoded += moved
            moved, dups = _recode_into(store, coding_rows.on_codes(store, [source]), target)
            recoded += moved
            duplicates += dups
            memos.retarget_codes(store, {source: target})  # a memo on a merged code is on the merged one now
            code_rows.delete_codes(store, [source])
        change = Change("merge", renamed=tuple(renamed.items()), created=(target,) if new_target else (),
                        deleted=tuple(sources), recoded=tuple(recoded), removed=tuple(duplicates),
                        duplicates=tuple(duplicates), target=target)
        return _finish(store, f"coder codebook merge {' '.join(sources)} --into {target}", change)

    return _run(store, "codebook merge", dry_run, work)


def split(store: Store, ref: str, into: Sequence[str], *, dry_run: bool = False) -> Change:
    """New codes beside CODE (or where full paths say); CODE keeps its codings, listed so
    they can be reassigned (`code move --code CODE --to X ...`, or one by one in `session`)."""
    source = _resolve(store, ref)
    if len(into) < 2:
        raise InputError("split needs at least two new codes", hint="e.g. --into X --into Y")

    def work(ready) -> Change:
        tree = _Tree(store)
        created = [_new_path(tree, new, beside=source) for new in into]
        if len(set(created)) < len(created):
            raise InputError("split needs different new codes", hint="e.g. --into formal_line --into daily_line")
        ready()
        for path in created:
            _create(store, tree, path, like=source)
        listed = coding_rows.selected(store, coding_rows.CodingFilter(codes={source}))
        change = Change("split", created=tuple(created), codings=tuple(listed), target=source)
        return _finish(store, f"coder codebook split {source} --into {' '.join(created)}", change)

    return _run(store, "codebook split", dry_run, work)


def delete(store: Store, ref: str, *, reassign: str | None = None, drop_codings: bool = False,
           dry_run: bool = False) -> Change:
    """Delete a code and its sub-codes; refused while they have codings unless these go to
    another code (`reassign`) or are removed (`drop_codings`)."""
    source = _resolve(store, ref)
    if reassign and drop_codings:
        raise InputError("--reassign and --drop-codings cannot both be given", hint="choose one")
    if not (reassign or drop_codings):
        _refuse_coded(store, _Tree(store).subtree(source))  # before the backup: nothing to protect yet

    def work(ready) -> Change:
        tree = _Tree(store)
        paths = tree.subtree(source)
        codings = coding_rows.on_codes(store, paths)
        recoded, removed, duplicates, target = [], [], [], None
        if codings and reassign:
            target = _resolve(store, reassign)
            if target in paths:
                raise InputError(f"cannot reassign the codings of '{source}' to '{target}', which is deleted with it")
            if tree.rows[target]["retired"]:
                raise InputError(f"code '{target}' is retired: it takes no new codings",
                                 hint="reassign to a code of the codebook")
        elif not drop_codings:
            _refuse_coded(store, paths)
        ready()
        if codings and target:
            recoded, duplicates = _recode_into(store, codings, target)
            removed = duplicates
            memos.retarget_codes(store, dict.fromkeys(paths, target))
        elif codings:
            removed = [c["uuid"] for c in codings]
            coding_rows.remove(store, uuids=removed)
        code_rows.delete_codes(store, list(reversed(paths)))
        change = Change("delete", deleted=tuple(paths), recoded=tuple(recoded), removed=tuple(removed),
                        duplicates=tuple(duplicates), target=target)
        how = f" --reassign {target}" if target else " --drop-codings" if drop_codings and codings else ""
        return _finish(store, f"coder codebook delete {source}{how}", change)

    return _run(store, "codebook delete", dry_run, work)


def _refuse_coded(store: Store, paths: list[str]) -> None:
    codings = coding_rows.on_codes(store, paths)
    if codings:
        sub = " with its sub-codes" if len(paths) > 1 else ""
        raise InputError(f"'{paths[0]}' has {len(codings)} coding(s){sub}; nothing was deleted",
                         hint=f"move them first (`coder code move --code {paths[0]} --to OTHER`), or give "
                              "--reassign OTHER, or --drop-codings to remove them")


def _existing(store: Store, tree: _Tree, ref: str) -> str | None:
    if ref in tree.rows:
        return ref
    if "." in ref:
        return None  # a full path not there yet: a new code
    from coder.errors import UnknownCode

    try:
        return _resolve(store, ref)
    except UnknownCode:
        return None


def _create(store: Store, tree: _Tree, path: str, *, like: str) -> None:
    """A new code at `path`, labelled by its id until the codebook says more."""
    parent, code_id = path.rsplit(".", 1)
    from coder.store import new_uuid

    code_rows.insert_code(store, {
        "path": path, "uuid": new_uuid(), "id": code_id, "dimension": path.split(".", 1)[0], "parent": parent,
        "label": code_id.replace("_", " ").capitalize(), "label_en": None, "description": None, "include": "[]",
        "exclude": "[]", "examples": "[]", "keywords": "[]", "color": None, "depth": path.count("."),
        "position": tree.rows[like]["position"] if like in tree.rows else 1_000_000, "retired": 0})


# -- codings in bulk --------------------------------------------------------------------------------

def _chosen(store: Store, selection, keyword: str | None) -> list[dict]:
    from coder.selection import coding_filter

    rows = coding_rows.selected(store, coding_filter(store, selection))
    if keyword:
        from coder.autocode import keyword_pattern

        pattern = keyword_pattern(keyword)
        if pattern is None:
            raise InputError(f"--keyword '{keyword}' has no letters or digits")
        rows = [r for r in rows if pattern.search(r["text"])]
    return rows


def move_codings(store: Store, selection, to: str, *, keyword: str | None = None, dry_run: bool = False) -> Change:
    """Put the codings the filters select (and whose text has `keyword`) on another code."""
    if not selection.codes:
        raise InputError("code move needs --code: the code whose codings move", hint="e.g. --code two_bosses")
    target = _resolve(store, to)

    def work(ready) -> Change:
        tree = _Tree(store)
        if tree.rows[target]["retired"]:
            raise InputError(f"code '{target}' is retired: it takes no new codings", hint="move to a code of the codebook")
        rows = [r for r in _chosen(store, selection, keyword) if r["code"] != target]
        ready()
        moved, duplicates = _recode_into(store, rows, target)
        change = Change("move", recoded=tuple(moved), removed=tuple(duplicates), duplicates=tuple(duplicates),
                        codings=tuple(rows), target=target)
        if rows:
            coding_rows.audit(store, "code.move", recoded=len(moved), removed=len(duplicates),
                              codes=list(selection.codes), target=target, keyword=keyword, uuids=moved,
                              duplicates=duplicates)
        return change

    return _run(store, "code move", dry_run, work)


def remove_codings(store: Store, selection, *, keyword: str | None = None, dry_run: bool = False) -> Change:
    """Remove the codings the filters select (kept in the backup made first and in the audit row)."""
    if selection.is_empty and not keyword:
        raise InputError("code remove needs a coding id or a filter (--code, --transcript, --coder, --case, "
                         "--keyword)", hint="it never removes every coding")

    def work(ready) -> Change:
        rows = _chosen(store, selection, keyword)
        ready()
        coding_rows.remove(store, uuids=[r["uuid"] for r in rows])
        if rows:
            coding_rows.audit(store, "code.remove", removed=len(rows), codes=list(selection.codes),
                              coders=list(selection.coders), transcripts=list(selection.transcripts),
                              cases=list(selection.cases), keyword=keyword, uuids=[r["uuid"] for r in rows])
        return Change("remove", removed=tuple(r["uuid"] for r in rows), codings=tuple(rows))

    return _run(store, "code remove", dry_run, work)


# -- loading an edited codebook: its plan, applied --------------------------------------------------

@dataclass(frozen=True)
class PlannedLoad:
    """A load of a codebook file with its plan; `result` is None when nothing was written."""

    plan: object  # codebook_plan.Plan
    applied: bool
    result: object | None = None  # the load's CodebookLoad
    recoded: tuple[str, ...] = ()


def load_with_plan(store: Store, codebook, *, apply: bool = False, dry_run: bool = False) -> PlannedLoad:
    """Load a codebook, its renames and moves taking their codings along. A plan that would
    move codings (or leave them behind on a code it proposes was renamed) is only applied
    with `apply`; any other is applied as a load always was. `dry_run`: the plan alone."""
    from coder import codebook_load, codebook_plan

    stored = code_rows.code_rows(store)
    if not stored and dry_run:
        return PlannedLoad(codebook_plan.plan([], codebook_plan.specs_of_codebook(codebook)), False)
    if not stored:  # a fresh project: nothing to plan
        return PlannedLoad(codebook_plan.Plan((), ()), True, codebook_load.load_codebook(store, codebook))
    plan = codebook_plan.plan(codebook_plan.specs_of_rows(stored), codebook_plan.specs_of_codebook(codebook),
                              codings=code_rows.codings_on_each_code(store), source=codebook.source)
    if dry_run or (plan.needs_apply and not apply):
        return PlannedLoad(plan, False)
    renamed = dict(plan.renamed)
    with store.transaction():
        result = codebook_load.load_codebook(store, codebook)  # adds the new codes; the old ones are retired
        recoded: list[str] = []
        if renamed:
            uuids = {r["path"]: r["uuid"] for r in stored}
            present = {r["path"] for r in code_rows.code_rows(store)}
            on_old = coding_rows.on_codes(store, list(renamed))
            coding_rows.recode(store, [(c["uuid"], renamed[c["code"]]) for c in on_old])
            recoded = [c["uuid"] for c in on_old]
            memos.retarget_codes(store, renamed)
            code_rows.delete_codes(store, [old for old in renamed if old in present])
            for old, new in renamed.items():  # the code keeps its identity under its new path
                code_rows.set_code_uuid(store, new, uuids[old])
            _renumber(store)
            code_rows.rebuild_closure(store)
            coding_rows.audit(store, "codebook.rename", recoded=len(recoded), command=f"coder codebook load "
                              f"{codebook.source}", renamed=renamed, version=result.version_id, uuids=recoded)
    return PlannedLoad(plan, True, result, tuple(recoded))
