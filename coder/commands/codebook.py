"""`coder codebook validate/load/show/export` (the work is in coder/codebook.py, coder/project.py,
coder/export.py)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from coder.commands.base import (CSV, FORCE, JSON, MD, _db_path, _emit, _env, _format, _store, codebook_app)
from coder.commands.refi import _not_a_codebook
from coder.errors import InputError


# -- codebook -----------------------------------------------------------------------------

@codebook_app.command("validate")
def codebook_validate(file: Path = typer.Argument(..., help="Codebook: YAML, CSV or REFI-QDA (.qdc).")):
    """Check a codebook file; writes nothing. Exit 0 if valid, 2 if not."""
    from coder import refi
    from coder.codebook import load_codebook

    kind = refi.sniff(file)
    if kind is not None:  # REFI-QDA: read, checked and mapped onto dimensions and paths as a load would
        codes, warnings, _ = refi.read_codebook(file) if kind == "qdc" else _not_a_codebook(file)
        parsed = refi.plan_codebook(None, codes, name=file.stem, source=str(file)).codebook
        for line in warnings:
            _env().err(f"warning: {file}: {line}")
    else:
        parsed = load_codebook(file)
    dims = len(parsed.dimensions)
    _env().err(f"{file}: ok: {parsed.name!r}, {dims} dimension(s), {sum(1 for _ in parsed.codes())} codes")


@codebook_app.command("load")
def codebook_load(ctx: typer.Context, file: Path = typer.Argument(..., help="Codebook: YAML, CSV or REFI-QDA "
                                                                           "(.qdc).")):
    """Load or update the project's codebook (a new version is recorded; codes that are
    dropped but still used are kept as retired)."""
    from coder import project, refi
    from coder.codebook import load_codebook

    kind = refi.sniff(file)
    if kind is not None:  # REFI-QDA, from another tool
        read = refi.read_codebook(file) if kind == "qdc" else _not_a_codebook(file)
        from coder.commands.refi import _print_codebook_import

        _print_codebook_import(_env(), file, refi.load_codebook_file(_store(ctx), file, read=read))
        return
    parsed = load_codebook(file)
    result = project.load_codebook(_store(ctx), parsed)
    env = _env()
    env.err(f"codebook {parsed.name!r}: {result.status}, {result.codes} codes"
            + (f", {len(result.added)} new" if result.added and result.status == "updated" else ""))
    for path in result.retired:
        env.err(f"warning: '{path}' is no longer in the codebook but has codings; kept as retired")


@codebook_app.command("show")
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


@codebook_app.command("export")
def codebook_export(ctx: typer.Context, md: bool = MD, csv_: bool = CSV,
                    docx: bool = typer.Option(False, "--docx", help="Write a Word document."),
                    out: Optional[Path] = typer.Option(None, "--out", help="Write to this file (default for --docx: "
                                                                           "exports/codebook.docx)."),
                    force: bool = FORCE):
    """The codebook as a reviewer document: descriptions, include/exclude criteria, examples
    and the number of codings per code. The CSV can be loaded back with `codebook load`."""
    from coder import export
    from coder.reports import codebook_dimensions, codebook_rows
    from coder.store import codebook

    store = _store(ctx)
    rows = codebook_rows(store)
    if not rows:
        raise InputError("the project has no codebook", hint="load one with `coder codebook load FILE`")
    name = codebook.latest_name(store) or "Codebook"
    if docx:
        content = export.codebook_to_docx(name, rows)
        out = out or Path("exports") / "codebook.docx"
    elif csv_:
        content = export.codebook_to_csv(rows, name=name, dimensions=codebook_dimensions(store))
    else:
        content = export.codebook_to_markdown(name, rows)
    _emit(content, out, force=force, what=f"{len(rows)} code(s)", fmt="docx" if docx else "csv" if csv_ else "md",
          db=_db_path(ctx))
