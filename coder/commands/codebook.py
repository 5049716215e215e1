"""`coder codebook validate/load/show/export` (the work is in coder/codebook.py, coder/codebook_load.py,
coder/export.py)."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from coder.commands.base import MD_DOC
from coder.commands.base import (CSV, FORCE, JSON, MD, _db_path, _emit, _env, _format, _is_stdout, _store,
                                 codebook_app)
from coder.commands.refi import _not_a_codebook
from coder.errors import InputError, PartialFailure


# -- codebook -----------------------------------------------------------------------------

@codebook_app.command("validate")
def codebook_validate(file: Path = typer.Argument(..., help="Codebook: YAML, CSV or REFI-QDA (.qdc).")):
    """Check a codebook file; writes nothing. Exit 0 if valid, 2 if not."""
    from coder.codebook import load_codebook
    from coder.refi_kind import sniff

    kind = sniff(file)
    if kind is not None:  # REFI-QDA: read, checked and mapped onto dimensions and paths as a load would
        from coder import refi

        codes, warnings, _ = refi.read_codebook(file) if kind == "qdc" else _not_a_codebook(file)
        parsed = refi.plan_codebook(None, codes, name=file.stem, source=str(file)).codebook
        for line in warnings:
            _env().err(f"warning: {file}: {line}")
    else:
        parsed = load_codebook(file)
    dims = len(parsed.dimensions)
    _env().err(f"{file}: ok: {parsed.name!r}, {dims} dimension(s), {sum(1 for _ in parsed.codes())} codes")


@codebook_app.command("load", short_help="Load or update the project's codebook; codings are kept.", epilog="""
    coder codebook load codebooks/nav_partnership.yaml
    coder codebook load codebook.csv                     # path,label,description,...
""")
def codebook_load(ctx: typer.Context, file: Path = typer.Argument(..., help="Codebook: YAML, CSV or REFI-QDA "
                                                                           "(.qdc)."),
                  apply: bool = typer.Option(False, "--apply", help="Apply a plan that moves codings: codes "
                                                                    "renamed (renamed_from:) or moved in the file."),
                  json_: bool = typer.Option(False, "--json", help="Print the plan and what was done as a JSON "
                                                                   "object (applied: false when nothing was "
                                                                   "loaded)."),
                  dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan; load nothing.")):
    """Load or update the project's codebook (a new version is recorded; codes that are
    dropped but still used are kept as retired). When the file renames or moves coded codes,
    the plan is shown and applied only with --apply."""
    from coder import codebook_ops
    from coder.codebook import load_codebook
    from coder.refi_kind import sniff

    kind = sniff(file)
    if kind is not None:  # REFI-QDA, from another tool
        from coder import refi

        read = refi.read_codebook(file) if kind == "qdc" else _not_a_codebook(file)
        from coder.commands.refi import _print_codebook_import

        _print_codebook_import(_env(), file, refi.load_codebook_file(_store(ctx), file, read=read))
        return
    parsed = load_codebook(file)
    planned = codebook_ops.load_with_plan(_store(ctx), parsed, apply=apply, dry_run=dry_run)
    _print_load(_env(), file, parsed, planned, json_, dry_run=dry_run)
    if not planned.applied and not dry_run:
        plan = planned.plan
        moving = sum(s.codings for s in plan.steps if s.kind in ("renamed", "moved"))
        if moving:
            raise PartialFailure(f"{file}: the plan moves {moving} coding(s) to renamed or moved codes; nothing was "
                                 "loaded", hint="check the plan, then run again with --apply")
        left = sum(s.codings for s in plan.of("proposed"))
        raise PartialFailure(f"{file}: a code that looks renamed would leave {left} coding(s) behind on the old, "
                             "retired code; nothing was loaded",
                             hint="add `renamed_from:` as suggested, or run again with --apply to load the file as "
                                  "it is")


_STEP_WORDS = {"renamed": "renamed", "moved": "moved", "proposed": "rename?", "added": "added", "changed": "changed",
               "retired": "retired", "removed": "removed"}


def _print_load(env, file: Path, parsed, planned, json_: bool, *, dry_run: bool = False) -> None:
    plan, result = planned.plan, planned.result
    renamed_away = {old for old, _ in plan.renamed}
    retired = [p for p in (result.retired if result else ()) if p not in renamed_away]
    if json_:
        import json

        env.stdout.write(json.dumps({
            "codebook": parsed.name, "applied": planned.applied, "status": result.status if result else None,
            "version": result.version_id if result else None, "codes": result.codes if result else None,
            "recoded": len(planned.recoded), "plan": plan.as_json()}, ensure_ascii=False, indent=2) + "\n")
    shown = [s for s in plan.steps if s.kind in ("renamed", "moved", "proposed")]
    if not json_ and (shown or not planned.applied):
        env.err(f"plan for {file}: {plan.summary()}")
        for step in plan.steps:
            if step.kind == "changed" and not dry_run:
                continue
            counted = {"renamed": " ({} coding(s) go with it)", "moved": " ({} coding(s) go with it)",
                       "proposed": " ({} coding(s) stay on the old code)",
                       "retired": " ({} coding(s) kept on it)"}.get(step.kind, "").format(step.codings) \
                if step.codings else ""
            what = f"{step.old} -> {step.path}" if step.old else step.path
            env.err(f"  {_STEP_WORDS[step.kind]:<8} {what}{counted}")
        for step in plan.of("proposed"):
            env.err(f"hint: '{step.path}' has the description and keywords of '{step.old}': if it is a rename, "
                    f"add `renamed_from: {step.old}` to it in {file} so its codings move with it")
        if dry_run:
            env.err("dry run: nothing was loaded")
    if result is None or json_:
        return
    added = [p for p in result.added if p not in {new for _, new in plan.renamed}]
    env.err(f"codebook {parsed.name!r}: {result.status}, {result.codes} codes"
            + (f", {len(added)} new" if added and result.status == "updated" else "")
            + (f", {len(planned.recoded)} coding(s) moved to renamed codes" if planned.recoded else ""))
    for path in retired:
        env.err(f"warning: '{path}' is no longer in the codebook but has codings; kept as retired")


@codebook_app.command("show", short_help="The codebook as a tree, with the codings per code.")
def codebook_show(ctx: typer.Context, json_: bool = JSON, csv_: bool = CSV, md: bool = MD):
    """The codebook as a tree, with labels and the number of codings per code."""
    from coder.store import codebook

    store = _store(ctx)
    fmt = _format(json_, csv_, md)
    rows = codebook.codes_with_counts(store)
    env = _env()
    if fmt:
        from coder.render import print_records

        records = [{"path": r["path"], "dimension": r["dimension"], "label": r["label"],
                    "description": r["description"], "parent": r["parent"], "label_en": r["label_en"],
                    "codings": r["codings"]} for r in rows]
        print_records(env, records, fmt)
        return
    if not rows:
        env.err("no codebook loaded: run `coder codebook load FILE`")
        return
    from rich.markup import escape as markup_escape
    from rich.tree import Tree

    from coder.render import printable

    def escape(text: str) -> str:  # data shown literally: no markup, no terminal controls
        return markup_escape(printable(text))

    dims = codebook.dimensions(store)
    root = Tree(escape(codebook.latest_name(store) or "codebook"))
    nodes = {}
    for dim in dims:
        nodes[dim["id"]] = root.add(f"[bold]{escape(dim['label'])}[/] ({escape(dim['id'])})")
    for r in rows:
        english = f" / {r['label_en']}" if r["label_en"] else ""
        retired = " [retired]" if r["retired"] else ""
        style = f"[{r['color']}]■[/] " if r["color"] else ""
        parent = nodes.get(r["parent"], root)
        nodes[r["path"]] = parent.add(f"{style}{escape(r['label'] + english)}  [dim]{escape(r['path'])}[/]  "
                                      f"{r['codings']}{escape(retired)}")
    env.console().print(root)


@codebook_app.command("export", short_help="The codebook as YAML that loads back, or a reviewer document "
                                            "(Markdown, CSV or Word).")
def codebook_export(ctx: typer.Context,
                    file: Optional[Path] = typer.Argument(None, metavar="[FILE]", help="Write to FILE, in the format "
                                                                                       "its name says (.yaml, .md, "
                                                                                       ".csv, .docx)."),
                    yaml_: bool = typer.Option(False, "--yaml", help="Write the codebook as YAML that `codebook load` "
                                                                     "reads back (the format of FILE.yaml)."),
                    md: bool = MD_DOC, csv_: bool = CSV,
                    docx: bool = typer.Option(False, "--docx", help="Write a Word document."),
                    out: Optional[Path] = typer.Option(None, "--out", help="Write to this file (default for --docx: "
                                                                           "exports/codebook.docx)."),
                    force: bool = FORCE):
    """The codebook as a reviewer document: descriptions, include/exclude criteria, examples
    and the number of codings per code. The CSV can be loaded back with `codebook load`, and
    so can the YAML (FILE.yaml or --yaml), which keeps the comments and order of the YAML
    loaded last, so a codebook changed by commands can go back into version control."""
    from coder import export
    from coder.reports import codebook_dimensions, codebook_rows
    from coder.store import codebook

    if file is not None and out is not None:
        raise InputError("give FILE or --out, not both", hint="e.g. `coder codebook export codebook.yaml`")
    if file is not None:
        suffix = file.suffix.lower()
        yaml_ = yaml_ or suffix in (".yaml", ".yml")
        md = md or suffix in (".md", ".markdown")
        csv_ = csv_ or suffix == ".csv"
        docx = docx or suffix == ".docx"
        if not (yaml_ or md or csv_ or docx):
            raise InputError(f"cannot tell the format from '{file.name}'", hint="name it .yaml, .md, .csv or .docx")
        out = file
    store = _store(ctx)
    rows = codebook_rows(store)
    if not rows:
        raise InputError("the project has no codebook", hint="load one with `coder codebook load FILE`")
    name = codebook.latest_name(store) or "Codebook"
    if yaml_:
        from coder import codebook_yaml

        if out is not None and out.suffix.lower() not in (".yaml", ".yml") and not _is_stdout(out):
            raise InputError(f"--out {out.name} does not end in .yaml, but the format asked for is YAML; nothing "
                             "was written", hint="name the file .yaml")
        retired = sum(1 for r in codebook.code_rows(store) if r["retired"])
        _emit(codebook_yaml.render(store), out, force=force, what=f"{len(rows) - retired} code(s)",
              db=_db_path(ctx))
        if retired:
            _env().err(f"note: {retired} retired code(s) are not in the YAML; they keep their codings, and a load "
                       "of this file keeps them retired")
        return
    if docx:
        content = export.codebook_to_docx(name, rows)
        out = out or Path("exports") / "codebook.docx"
    elif csv_:
        content = export.codebook_to_csv(rows, name=name, dimensions=codebook_dimensions(store))
    else:
        content = export.codebook_to_markdown(name, rows)
    _emit(content, out, force=force, what=f"{len(rows)} code(s)", fmt="docx" if docx else "csv" if csv_ else "md",
          db=_db_path(ctx))


# -- changing codes (the work is in coder/codebook_ops.py) -------------------------------------

DRY_RUN = typer.Option(False, "--dry-run", help="Show what would change; write nothing.")
CHANGE_JSON = typer.Option(False, "--json", help="Print what changed as a JSON object (applied: false for a dry "
                                                 "run).")


def _print_change(env, change, json_: bool) -> None:
    """One operation's result: JSON on stdout, or lines for a person on stderr (the codings
    it lists, for `split` and a dry run of `code move/remove`, as a table on stdout)."""
    if json_:
        import json

        env.stdout.write(json.dumps(change.as_json(), ensure_ascii=False, indent=2) + "\n")
        return

    def did(verb: str, past: str) -> str:
        return f"would {verb}" if change.dry_run else past

    renamed = dict(change.renamed)
    moved, removed = len(change.recoded), len(change.removed)
    if change.action in ("rename", "move") and change.target and not change.codings:
        source = next(iter(renamed), "?")
        subs = len(renamed) - 1
        verb = did(change.action, change.action + "d")
        env.err(f"{verb} '{source}' to '{change.target}'"
                + (f" with {subs} sub-code(s)" if subs else "") + f": {moved} coding(s) go with it")
    elif change.action == "merge":
        made = " (a new code)" if change.created else ""
        env.err(f"{did('merge', 'merged')} {', '.join(repr(p) for p in change.deleted)} into '{change.target}'{made}: "
                f"{moved} coding(s) moved" + (f", {len(renamed)} sub-code(s) moved under it" if renamed else ""))
    elif change.action == "split":
        env.err(f"{did('add', 'added')} {', '.join(repr(p) for p in change.created)} beside '{change.target}', "
                f"which keeps its {len(change.codings)} coding(s) until they are moved")
    elif change.action == "delete":
        extra = (f": {moved} coding(s) moved to '{change.target}'" if change.target
                 else f": {removed} coding(s) removed" if removed else "")
        env.err(f"{did('delete', 'deleted')} {', '.join(repr(p) for p in change.deleted)}{extra}")
    elif change.action == "move":
        env.err(f"{did('move', 'moved')} {moved} coding(s) to '{change.target}'")
    elif change.action == "remove":
        env.err(f"{did('remove', 'removed')} {removed} coding(s)")
    if change.duplicates:
        env.err(f"{len(change.duplicates)} of them {'are' if change.dry_run else 'were'} already on "
                f"'{change.target}' (same transcript, span and coder): {did('go', 'removed')} as duplicates")
    if change.codings and (change.action == "split" or change.dry_run):
        from coder.render import print_records

        one_code = len({c["code"] for c in change.codings}) == 1  # then the line above names it
        print_records(env, [{"id": c["uuid"][:8], "transcript": c["transcript"], "segment": c["segment"],
                             **({} if one_code else {"code": c["code"]}), "coder": c["coder"], "text": c["text"]}
                            for c in change.codings], None)
    if change.action == "split" and change.codings:
        first = change.created[0]
        env.err(f"hint: reassign them with `coder code move --code {change.target} --to {first} --keyword WORD` "
                f"(or --coder, --transcript), or one by one in `coder session`; then `coder codebook delete "
                f"{change.target}`")
    if change.dry_run:
        env.err("dry run: nothing was written")


@codebook_app.command("rename")
def codebook_rename(ctx: typer.Context,
                    old: str = typer.Argument(..., metavar="OLD", help="The code to rename (its path or unique "
                                                                        "last part)."),
                    new: str = typer.Argument(..., metavar="NEW", help="Its new id (kept in the same place) or full "
                                                                        "path (dimension.code)."),
                    dry_run: bool = DRY_RUN, json_: bool = CHANGE_JSON):
    """Rename a code. Its sub-codes, codings and memos go with it, in one transaction after a
    backup."""
    from coder import codebook_ops

    _print_change(_env(), codebook_ops.rename(_store(ctx), old, new, dry_run=dry_run), json_)


@codebook_app.command("move")
def codebook_move(ctx: typer.Context,
                  code: str = typer.Argument(..., metavar="CODE", help="The code to move (with its sub-codes)."),
                  under: str = typer.Option(..., "--under", metavar="PARENT", help="The code or dimension it goes "
                                                                                   "under."),
                  dry_run: bool = DRY_RUN, json_: bool = CHANGE_JSON):
    """Move a code, with its sub-codes and codings, under another code or to the top of a
    dimension."""
    from coder import codebook_ops

    _print_change(_env(), codebook_ops.move(_store(ctx), code, under, dry_run=dry_run), json_)


@codebook_app.command("merge")
def codebook_merge(ctx: typer.Context,
                   codes: List[str] = typer.Argument(..., metavar="CODE...", help="The codes to merge."),
                   into: str = typer.Option(..., "--into", metavar="TARGET", help="The code they become: an "
                                                                                  "existing code, or a new id or "
                                                                                  "path."),
                   dry_run: bool = DRY_RUN, json_: bool = CHANGE_JSON):
    """Merge codes into one. Their codings go to TARGET (a coding already there for the same
    span and coder is not copied twice), their sub-codes go under it, and the merged codes
    leave the codebook."""
    from coder import codebook_ops

    _print_change(_env(), codebook_ops.merge(_store(ctx), codes, into, dry_run=dry_run), json_)


@codebook_app.command("split")
def codebook_split(ctx: typer.Context,
                   code: str = typer.Argument(..., metavar="CODE", help="The code to split."),
                   into: List[str] = typer.Option(..., "--into", metavar="NEW", help="A new code beside CODE (an id, "
                                                                                     "or a full path); give two or "
                                                                                     "more."),
                   dry_run: bool = DRY_RUN, json_: bool = CHANGE_JSON):
    """Split a code: add new codes beside it and list its codings for reassignment. Move them
    with `coder code move --code CODE --to NEW` (by --keyword, --coder or --transcript) or one
    by one in `coder session`, then delete CODE."""
    from coder import codebook_ops

    _print_change(_env(), codebook_ops.split(_store(ctx), code, into, dry_run=dry_run), json_)


@codebook_app.command("delete")
def codebook_delete(ctx: typer.Context,
                    code: str = typer.Argument(..., metavar="CODE", help="The code to delete (with its sub-codes)."),
                    reassign: Optional[str] = typer.Option(None, "--reassign", metavar="TO", help="Move its codings "
                                                                                                  "to this code "
                                                                                                  "first."),
                    drop_codings: bool = typer.Option(False, "--drop-codings", help="Remove its codings (kept in "
                                                                                    "the backup made first)."),
                    dry_run: bool = DRY_RUN, json_: bool = CHANGE_JSON):
    """Delete a code and its sub-codes. Refused while they have codings, unless --reassign TO
    or --drop-codings says where those go."""
    from coder import codebook_ops

    _print_change(_env(), codebook_ops.delete(_store(ctx), code, reassign=reassign, drop_codings=drop_codings,
                                              dry_run=dry_run), json_)


@codebook_app.command("history", short_help="The codebook's versions: each load and each change by command.")
def codebook_history(ctx: typer.Context, json_: bool = JSON, csv_: bool = CSV, md: bool = MD):
    """The codebook's versions: each load, and each command that changed codes, oldest first."""
    from coder import codebook_versions
    from coder.render import print_records

    records = [v.as_json() for v in codebook_versions.history(_store(ctx))]
    fmt = _format(json_, csv_, md)
    columns = None
    if fmt is None:  # for people: the source last, where it can wrap; a name all versions share, once
        names = {r["name"] for r in records}
        columns = ["id", "loaded_at", "codes", "version", "source"] + (["name"] if len(names) > 1 else [])
        if len(names) == 1:
            _env().err(f"codebook {next(iter(names))!r}")
        for r in records:  # to the minute, in UTC as stored
            r["loaded_at"] = r["loaded_at"][:16].replace("T", " ")
    print_records(_env(), records, fmt, columns=columns,
                  empty="no codebook loaded: run `coder codebook load FILE`")


@codebook_app.command("diff", short_help="What changed in the codebook between two versions.")
def codebook_diff(ctx: typer.Context,
                  first: Optional[int] = typer.Argument(None, metavar="[V1]", help="A version, as `codebook history` "
                                                                                   "numbers them (default: the one "
                                                                                   "before V2)."),
                  second: Optional[int] = typer.Argument(None, metavar="[V2]", help="Another version (default: the "
                                                                                    "latest)."),
                  json_: bool = JSON, csv_: bool = CSV, md: bool = MD):
    """What changed in the codebook from version V1 to V2: codes added, renamed, moved,
    changed, and removed (renames done by command are known from the audit trail)."""
    from coder import codebook_versions
    from coder.render import print_records

    env = _env()
    first, second, plan = codebook_versions.diff(_store(ctx), first, second)
    records = [{"change": s.kind if s.kind != "proposed" else "renamed?", "code": s.path, "from": s.old}
               for s in plan.steps]
    fmt = _format(json_, csv_, md)
    if fmt is None:
        env.err(f"codebook version {first} -> {second}: {plan.summary()}")
    print_records(env, records, fmt, empty="no change")
