"""`coder memo add/list/edit/remove` and `coder names add/list/remove`: memos, and the names pseudonymised exports hide."""
from __future__ import annotations

from typing import Optional

import typer

from coder.commands.base import MEMO_TYPES, Choices
from coder.commands.base import (CSV, JSON, MD, _coder_name, _env, _format, _store, memo_app, names_app)
from coder.commands.report import report_memos


# -- memos -------------------------------------------------------------------------------

@memo_app.command("add")
def memo_add(ctx: typer.Context, text: str = typer.Argument(..., help="The memo."),
             transcript: Optional[str] = typer.Option(None, "--transcript", help="Attach to this transcript."),
             code: Optional[str] = typer.Option(None, "--code", help="Attach to this code."),
             coding: Optional[str] = typer.Option(None, "--coding", help="Attach to this coding (id or its start)."),
             author: Optional[str] = typer.Option(None, "--author", help="Who wrote it (default: your coder name).")):
    """Write a memo; without --transcript/--code/--coding it is a project memo."""
    from coder import notes

    target = notes.add_memo(_store(ctx), text, transcript=transcript, code=code, coding=coding,
                            author=_coder_name(author))
    _env().err(f"memo added to {target}")


@memo_app.command("list")
def memo_list(ctx: typer.Context,
              target_type: Optional[str] = typer.Option(None, "--type", click_type=MEMO_TYPES,
                                                        help="project, transcript, code or coding."),
              json_: bool = JSON, csv_: bool = CSV, md: bool = MD):
    """List memos (the same as `coder report memos`)."""
    report_memos(ctx, target_type=target_type, case=None, code=None, coder=None, transcript=None, where=None,
                 pseudonymise=False, json_=json_, csv_=csv_, md=md, out=None, force=False)


@memo_app.command("edit")
def memo_edit(ctx: typer.Context,
              memo_id: str = typer.Argument(..., metavar="ID", help="The memo's id (or its first 6+ characters), as "
                                                                     "`coder memo list` shows it."),
              text: str = typer.Option(..., "--text", metavar="TEXT", help="The memo's new text.")):
    """Replace the text of a memo. The text it had is kept in the history (`coder log`)."""
    from coder.notes import edit_memo

    memo = edit_memo(_store(ctx), memo_id, text)
    _env().err(f"memo {memo['uuid'][:8]} on {(memo['target_type'] + ' ' + memo['target']).strip()} edited")


@memo_app.command("remove")
def memo_remove(ctx: typer.Context,
                memo_id: str = typer.Argument(..., metavar="ID", help="The memo's id (or its first 6+ characters), "
                                                                       "as `coder memo list` shows it.")):
    """Remove a memo. Its text is kept in the history (`coder log --full`)."""
    from coder.notes import remove_memo

    memo = remove_memo(_store(ctx), memo_id)
    _env().err(f"removed memo {memo['uuid'][:8]} on {(memo['target_type'] + ' ' + memo['target']).strip()}")


# -- names --------------------------------------------------------------------------------

@names_app.command("add", short_help="Add a name that pseudonymised exports replace.")
def names_add(ctx: typer.Context, name: str = typer.Argument(..., help='A name to hide, e.g. "Kari Nordmann".'),
              alias: str = typer.Option(..., "--as", help='What to show instead, e.g. "Leder A".'),
              kind: str = typer.Option("person", "--kind", click_type=Choices("person", "place"),
                                       help="person or place.")):
    """Add a name that pseudonymised exports replace (in quotes and attributions)."""
    from coder import notes

    notes.add_name(_store(ctx), name, alias, kind)
    _env().err(f"{name!r} will be shown as {alias!r} in pseudonymised exports")


@names_app.command("list", short_help="The pseudonym mapping (informants get aliases by themselves).")
def names_list(ctx: typer.Context, json_: bool = JSON, csv_: bool = CSV, md: bool = MD):
    """The pseudonym mapping (informants get Informant A, B, ... automatically)."""
    from coder import pseudonym
    from coder.render import print_records
    from coder.store import names

    store = _store(ctx)
    records = [{"name": name, "alias": alias, "kind": kind} for name, alias, kind in names.listing(store)]
    listed = {r["name"] for r in records}
    records += [{"name": n, "alias": a, "kind": "informant"} for n, a in pseudonym.informant_aliases(store).items()
                if n not in listed]
    print_records(_env(), records, _format(json_, csv_, md), empty="no names")


@names_app.command("remove")
def names_remove(ctx: typer.Context,
                 name: str = typer.Argument(..., metavar="NAME", help='The listed name, e.g. "Kari Nordmann".')):
    """Take a name off the list that pseudonymised exports replace. An informant's own alias
    (Informant A, ...) comes from the transcripts and is not on the list."""
    from coder.notes import remove_name

    alias, kind = remove_name(_store(ctx), name)
    _env().err(f"{name.strip()!r} ({kind}, shown as {alias!r}) is no longer replaced in pseudonymised exports")
