"""`coder cases list/set/import/rename/remove`: case offices and their attributes."""
from __future__ import annotations

from pathlib import Path
from typing import List

import typer

from coder.commands.base import (CSV, JSON, MD, _env, _format, _store, cases_app)
from coder.errors import InputError


# -- cases --------------------------------------------------------------------------------

@cases_app.command("list", short_help="Cases with their transcripts, segments and attributes.")
def cases_list(ctx: typer.Context, json_: bool = JSON, csv_: bool = CSV, md: bool = MD):
    """Cases with their number of transcripts and segments, and their attributes."""
    import json as _json

    from coder.store import cases

    store = _store(ctx)
    rows = cases.listing(store)
    records, keys = [], []
    for r in rows:
        attributes = _json.loads(r["attributes"])
        keys += [k for k in attributes if k not in keys]
        records.append({"case": r["name"], "transcripts": r["tr"], "segments": r["seg"], **attributes})
    from coder.render import print_records

    print_records(_env(), records, _format(json_, csv_, md), columns=["case", "transcripts", "segments", *keys],
                  empty="no cases yet: import transcripts with front matter 'case:' or run `coder cases import`")


@cases_app.command("set")
def cases_set(ctx: typer.Context, case: str = typer.Argument(..., help="Case name, e.g. Hamar."),
              values: List[str] = typer.Argument(..., help="key=value pairs, e.g. population=27000.")):
    """Set attributes of a case (creating the case if needed)."""
    from coder.cases import set_case_attributes
    from coder.ingest import parse_value

    parsed = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"'{item}' is not key=value", hint="write e.g. leadership_model=split")
        parsed[key.strip()] = parse_value(value)
    attributes = set_case_attributes(_store(ctx), case, parsed)
    _env().err(f"{case}: " + ", ".join(f"{k}={v}" for k, v in attributes.items()))


@cases_app.command("import")
def cases_import(ctx: typer.Context, file: Path = typer.Argument(..., help="CSV (column 'case' + attributes) or YAML.")):
    """Import case attributes from CSV or YAML, one row per case."""
    from coder.cases import import_cases

    result = import_cases(_store(ctx), file)
    _env().err(f"{file}: {len(result.new)} new, {len(result.updated)} updated, {len(result.unchanged)} unchanged "
               "case(s)")


@cases_app.command("rename")
def cases_rename(ctx: typer.Context,
                 old: str = typer.Argument(..., metavar="CASE", help="The case's name now, e.g. Hamar."),
                 new: str = typer.Argument(..., metavar="NEW", help="Its new name (not one in use).")):
    """Rename a case. Its transcripts, attributes and reports follow, and a transcript whose
    front matter still names the old case is put in the new one when it is imported again."""
    from coder.cases import rename_case

    renamed = rename_case(_store(ctx), old, new)
    _env().err(f"renamed case {renamed.old} to {renamed.new} ({len(renamed.transcripts)} transcript(s) follow it)")


@cases_app.command("remove")
def cases_remove(ctx: typer.Context,
                 case: str = typer.Argument(..., metavar="CASE", help="The case to remove, e.g. Hamar."),
                 force: bool = typer.Option(False, "--force", help="Remove it also while transcripts belong to "
                                                                   "it: they are kept, without a case.")):
    """Remove a case and its attributes. While transcripts belong to it, it is removed only
    with --force, and they are kept without a case (reports show them under no case; a
    backup is made first). Importing a transcript whose front matter names the case again
    makes the case again."""
    from coder.cases import remove_case

    removed = remove_case(_store(ctx), case, force=force)
    message = f"removed case {removed.case}"
    if removed.attributes:
        message += " and its attributes (" + ", ".join(f"{k}={v}" for k, v in removed.attributes.items()) + ")"
    if removed.transcripts:
        message += (f"; its {len(removed.transcripts)} transcript(s) ({', '.join(removed.transcripts)}) are kept, "
                    "now without a case")
    _env().err(message)
