"""`coder search` (keyword in context, coder/search.py) and `coder autocode` (codings proposed
from the codebook's keywords, coder/autocode.py)."""
from __future__ import annotations

from typing import List, Optional

import typer

from coder.commands.base import CSV, JSON, _env, _format, _store, app
from coder.errors import InputError

HIT_COLUMNS = ["transcript", "case", "segment", "start", "end", "match", "before", "after"]
CONTEXT_OPT = typer.Option(8, "--context", min=0, max=100, help="Words of context on each side of a hit.")


@app.command(short_help="Keyword in context: every hit with the words around it.", epilog="""
    coder search sjef
    coder search "to sjefer" --case Hamar --context 12
    coder search partnerskapsmote --fuzzy                # finds partnerskapsmøtet
""")
def search(ctx: typer.Context,
           pattern: str = typer.Argument(..., help="The word or phrase to find (ignoring case)."),
           case: Optional[str] = typer.Option(None, "--case", help="Only this case office."),
           code: Optional[str] = typer.Option(None, "--code", help="Only in turns coded with this code (or its "
                                                                  "sub-codes) or dimension."),
           regex: bool = typer.Option(False, "--regex", help="PATTERN is a Python regular expression."),
           fuzzy: bool = typer.Option(False, "--fuzzy", help="Tolerate misspellings: ø/o, å/a, æ/ae, accents, a "
                                                            "dropped, doubled or wrong letter (words of 5+ letters)."),
           context: int = CONTEXT_OPT,
           json_: bool = JSON, csv_: bool = CSV):
    """Keyword in context: every hit in every transcript with its case office, turn number and
    the words around it."""
    from coder import codebook_load
    from coder.search import search as run_search

    store = _store(ctx)
    fmt = _format(json_, csv_)
    resolved = codebook_load.resolve(store, code, allow_dimension=True) if code else None
    hits = run_search(store, pattern, case=case, code=resolved, regex=regex, fuzzy=fuzzy, context=context)
    env = _env()
    seen = {"hits": 0, "transcripts": 0}
    last = [None]

    def counted(hits):  # written as they are found: a whole corpus's hits are never held
        for hit in hits:
            seen["hits"] += 1
            if hit.transcript != last[0]:  # hits come in transcript order
                seen["transcripts"] += 1
                last[0] = hit.transcript
            yield hit

    if fmt == "json":
        from coder.render import write_json

        write_json(env.stdout, (h.as_json() for h in counted(hits)))
    elif fmt == "csv":
        from coder.export import write_table_csv

        write_table_csv(HIT_COLUMNS, ([h.transcript, h.case, h.segment, h.start, h.end, h.match, h.before, h.after]
                                      for h in counted(hits)), env.stdout)
    else:
        from rich.text import Text

        console = env.console()
        marked = console.is_terminal and not env.no_color
        for hit in counted(hits):
            line = Text()
            line.append(f"{hit.transcript} §{hit.segment} ({hit.case or 'no case'}): ", style="dim")
            line.append(hit.before)
            line.append(hit.match if marked else f"[{hit.match}]", style="bold reverse" if marked else "")
            line.append(hit.after)
            console.print(line, soft_wrap=True, highlight=False)
    env.err(f"{seen['hits']} hit(s) in {seen['transcripts']} transcript(s)" if seen["hits"]
            else f"no hits for {pattern!r}")


@app.command(short_help="Propose codings from the codebook's keywords.", epilog="""
    coder autocode --code vertical                       # look first (writes nothing)
    coder autocode --apply --skip-speaker Intervjuer
    coder autocode --clear                               # undo what --apply wrote
""")
def autocode(ctx: typer.Context,
             codes: Optional[List[str]] = typer.Option(None, "--code", help="Only this code (with its sub-codes) or "
                                                                           "dimension; repeatable."),
             dry_run: bool = typer.Option(False, "--dry-run", help="List the proposals (the default)."),
             apply: bool = typer.Option(False, "--apply", help="Write the proposals as codings by the coder "
                                                               "'autocode'; applying again adds nothing."),
             clear: bool = typer.Option(False, "--clear", help="Remove the codings --apply wrote (with --code: of "
                                                               "those codes; with --coder: written as that coder). "
                                                               "Proposals applied with `code apply` stay."),
             coder: Optional[str] = typer.Option(None, "--coder", help="The coder name for the codings (default: "
                                                                       "autocode)."),
             skip_speaker: Optional[List[str]] = typer.Option(None, "--skip-speaker", help="Propose nothing in this "
                                                                                          "speaker's turns, e.g. "
                                                                                          "Intervjuer; repeatable."),
             context: int = CONTEXT_OPT,
             json_: bool = JSON, csv_: bool = CSV):
    """Propose codings from the codebook's keywords (whole words, ignoring case, inflected forms
    by prefix: "partnerskap" finds "partnerskapet"); each proposal codes the whole turn. The
    --csv output is a file for `coder code apply`."""
    from coder import autocode as auto
    from coder import codebook_load

    chosen = [name for name, flag in (("--dry-run", dry_run), ("--apply", apply), ("--clear", clear)) if flag]
    if len(chosen) > 1:
        raise InputError(f"choose one of --dry-run, --apply and --clear, not {' and '.join(chosen)}")
    fmt = _format(json_, csv_)
    store = _store(ctx)
    name = coder or auto.AUTOCODER
    resolved = [codebook_load.resolve(store, c, allow_dimension=True) for c in codes or []]
    env = _env()
    if clear:
        if fmt:
            raise InputError("--clear prints no data", hint="drop --json/--csv")
        removed = auto.clear(store, coder=coder, codes=resolved)
        env.err(f"removed {removed} coding(s) by {coder or auto.AUTOCODER} (those `autocode --apply` wrote)")
        return
    listed = fmt == "json" or not (fmt or apply)  # the context is shown
    proposals = auto.propose(store, codes=resolved, skip_speakers=skip_speaker or [],
                             context=context if listed else None)
    tally = {"proposals": 0, "turns": 0, "done": 0}

    def counted(proposals):  # counted as they pass: a corpus's proposals are never held
        turn = None
        for p, done in auto.already_applied(store, proposals, coder=name):
            tally["proposals"] += 1
            tally["done"] += done
            if (p.transcript, p.segment) != turn:  # a turn's proposals come together
                tally["turns"] += 1
                turn = (p.transcript, p.segment)
            yield p

    if fmt == "csv":
        from coder.export import write_table_csv

        write_table_csv(["transcript", "code", "segment", "quote", "coder", "memo"],
                        # coder empty unless --coder: whoever applies the reviewed file is its coder
                        ([p.transcript, p.code, p.segment, "", coder or "", p.memo] for p in counted(proposals)),
                        env.stdout)
    elif fmt == "json":
        from coder.render import write_json

        write_json(env.stdout, (p.as_json() for p in counted(proposals)))
    elif not apply:
        from coder.render import print_records

        # the hit is marked [like this]: print_records shows cells literally, never as markup
        print_records(env, [{"transcript": p.transcript, "segment": p.segment, "code": p.code, "keyword": p.keyword,
                             "context": p.context} for p in counted(proposals)], None,
                      empty="no proposals: no keyword of the codebook occurs in the transcripts")
    if apply:
        if fmt:  # listed already: proposed again (the same, nothing was written in between), one by one
            proposals = auto.propose(store, codes=resolved, skip_speakers=skip_speaker or [], context=None)
        from coder.render import Progress

        with Progress(env, "autocoding", quiet=fmt == "json") as progress:
            result = auto.apply(store, progress.track(proposals), coder=name)
        if result.added:  # counted now for `report freq`, so its first run is as quick as later ones
            from coder.store import unit_counts

            unit_counts.refresh_after_bulk_write(store)
        env.err(f"autocode: {result.added} new coding(s) by {name}, {result.existing} already there; review them "
                f"with `coder code list --coder {name}`, remove them with `coder autocode --clear`")
        return
    env.err(f"{tally['proposals']} proposal(s) in {tally['turns']} turn(s)"
            + (f", {tally['done']} already applied" if tally["done"] else "")
            + "; nothing written (write them with --apply)")
