"""`coder verify MANUSCRIPT`: a manuscript's quotes checked against the transcripts (the work is in
coder/verify.py)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from coder.commands.base import (FORCE, _check_suffix, _db_path, _env, _is_stdout, _store, app)
from coder.errors import ExitStatus, InputError


# -- verify -------------------------------------------------------------------------------

@app.command(short_help="Check a manuscript's quotes against the transcripts.")
def verify(ctx: typer.Context,
           manuscript: Path = typer.Argument(..., help="The manuscript: .md, .txt, .docx or .odt."),
           json_: bool = typer.Option(False, "--json", help="Print one JSON object per quote, in manuscript order."),
           html: Optional[Path] = typer.Option(None, "--html", metavar="FILE",
                                               help="Also write an HTML report: each quote beside its transcript "
                                                    "passage, the differences marked (- for stdout)."),
           threshold: float = typer.Option(85.0, "--threshold", min=0, max=100,
                                           help="How alike (0-100) a passage must be to count as found."),
           pseudonymised: bool = typer.Option(False, "--pseudonymised",
                                              help="Also report every listed name and informant's name that "
                                                   "appears anywhere in the manuscript."),
           force: bool = FORCE):
    """Check a manuscript's quotes against the transcripts: exact, normalised, close (with a
    word diff), spliced or not found, and whether each is attributed to the right case office,
    role or informant. Exit 0 when every quote is exact or normalised and no attribution is
    wrong (and, with --pseudonymised, no real name appears), 1 otherwise."""
    from coder import verify as verify_mod

    if json_ and _is_stdout(html):
        raise InputError("choose --json or --html -, not both on stdout", hint="give --html a file name")
    store = _store(ctx)
    env = _env()
    result = verify_mod.verify(store, manuscript, threshold=threshold, pseudonymised=pseudonymised)
    if _is_stdout(html):
        env.stdout.write(verify_mod.to_html(result))
    elif html is not None:
        from coder import export

        _check_suffix(html, "html")
        export.write_file(html, verify_mod.to_html(result), force=force, db=_db_path(ctx))
    if json_:
        from coder.render import dumps_json

        env.stdout.write(dumps_json(c.as_json() for c in result.checks))
        for name in result.names:
            env.err(f"{manuscript}:{name.line}: real name {name.name!r} (its pseudonym is {name.alias!r})")
    elif not _is_stdout(html):
        _print_verification(env, result)
    if html is not None and not _is_stdout(html):
        env.err(f"wrote {html}")
    env.err(result.summary())
    if not result.ok:
        raise typer.Exit(int(ExitStatus.PARTIAL))


def _print_verification(env, result) -> None:
    """A table that fits the terminal (80 columns piped), then a line for each quote that
    needs a look: the diff, the pieces of a splice, a wrong attribution."""
    import shutil
    import textwrap

    from rich import box
    from rich.table import Table
    from rich.text import Text

    from coder.render import printable
    from coder.verify import diff_text

    width = shutil.get_terminal_size((80, 24)).columns
    if not result.checks:
        env.err(f"no quotes found in {result.manuscript} (text in «…», „…“, \"…\", '…' of 4 words or "
                "more, and block quotes)")
    else:
        console = env.console()
        console.width = width
        table = Table(box=box.SIMPLE_HEAVY, pad_edge=False, expand=False, show_edge=False)
        lines = max(4, max(len(str(c.quote.line)) for c in result.checks))
        sources = min(16, max(6, max(len(f"{c.hit.source.name}:{c.hit.turn.number}") if c.hit else 1
                                     for c in result.checks)))
        table.add_column("line", justify="right", no_wrap=True, min_width=lines)
        table.add_column("verdict", no_wrap=True, min_width=10)
        table.add_column("score", justify="right", no_wrap=True, min_width=5)
        table.add_column("source", no_wrap=True, min_width=sources, max_width=sources, overflow="ellipsis")
        table.add_column("attrib.", no_wrap=True, min_width=7)
        # the rest of the line is the quote's (six columns take two spaces between each)
        table.add_column("quote", no_wrap=True, overflow="ellipsis",
                         max_width=max(12, width - lines - 10 - 5 - sources - 7 - 15))
        for check in result.checks:
            hit = check.hit
            source = f"{hit.source.name}:{hit.turn.number}" if hit else "-"
            score = "" if check.score is None else f"{check.score:.0f}"
            table.add_row(str(check.quote.line), check.verdict.replace("_", " "), score, Text(printable(source)),
                          check.attribution or "-", Text(printable(check.quote.text)))
        console.print(table)
    notes = []
    for check in result.checks:
        where = f"line {check.quote.line}"
        if check.verdict == "close":
            notes.append(f"{where}: close: {' … '.join(diff_text(ops) for ops in check.diff())}")
        elif check.verdict == "spliced":
            parts = "; ".join(f"“{p.text}” from {p.hit.source.name}:{p.hit.turn.number}" if p.hit
                              else f"“{p.text}”" for p in check.pieces)
            notes.append(f"{where}: spliced: {parts}")
        elif check.verdict == "not_found":
            best = f" (best match scored {check.score:.0f})" if check.score is not None else ""
            notes.append(f"{where}: not found in any transcript{best}")
        if check.attribution == "wrong":
            notes.append(f"{where}: attributed to “{check.claimed}”, but the source is {check.source_note}")
    for name in result.names:
        notes.append(f"line {name.line}: real name “{name.name}” (its pseudonym is {name.alias})")
    for note in notes:
        env.out(textwrap.fill(note, width=max(40, width - 1), subsequent_indent="    "))
