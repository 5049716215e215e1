"""`coder cases list/set/import`: case offices and their attributes."""
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
