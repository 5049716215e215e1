"""`coder code orphans` and `coder code place`: codings whose text an edit of their transcript
took away, and putting them back (the work is in coder/orphans.py)."""
from __future__ import annotations

from typing import Optional

import typer

from coder.commands.base import CSV, JSON, _env, _format, _store, code_app


@code_app.command("orphans")
def code_orphans(ctx: typer.Context,
                 transcript: Optional[str] = typer.Option(None, "--transcript", metavar="TRANSCRIPT",
                                                          help="Only the orphaned codings of TRANSCRIPT."),
                 auto: bool = typer.Option(False, "--auto", help="Place each orphaned coding whose best place "
                                                                 "scores at least --threshold, and is the only "
                                                                 "place that does; the rest stay orphaned."),
                 threshold: float = typer.Option(90.0, "--threshold", min=0, max=100, metavar="N",
                                                 help="With --auto: the score (0-100) a place needs."),
                 json_: bool = JSON, csv_: bool = CSV):
    """List the orphaned codings (their text was edited out of the transcript and re-importing
    could not find it again) with the text they were coded on and the best places for it now,
    each with its segment and score. Put one back with `coder code place ID --segment N` or
    `--quote "..."`, or those with a confident match with --auto."""
    from coder import orphans

    env = _env()
    fmt = _format(json_, csv_)
    store = _store(ctx)
    if auto:
        result = orphans.place_confident(store, threshold=threshold, transcript=transcript)
        if fmt == "json":
            from coder.render import dumps_json

            env.stdout.write(dumps_json([{"id": p.id, "status": "placed", "transcript": p.transcript,
                                          "code": p.code, "segment": p.segment, "start": p.start, "end": p.end,
                                          "score": p.score, "text": p.text} for p in result.placed]
                                        + [{"id": o.id, "status": "left", "transcript": o.transcript, "code": o.code,
                                            "segment": None, "start": None, "end": None,
                                            "score": o.candidates[0].score if o.candidates else None,
                                            "text": o.text} for o in result.left]))
        else:
            for p in result.placed:
                env.out(f"placed {p.id[:8]} {p.code} on {p.transcript} §{p.segment} [{p.start}:{p.end}] "
                        f"score={p.score:g}")
        env.err(f"{len(result.placed)} placed, {len(result.left)} left orphaned (score below {threshold:g}, "
                "or two places as good)")
        return
    found = orphans.listing(store, transcript=transcript)
    if fmt == "json":
        from coder.render import dumps_json

        env.stdout.write(dumps_json([o.as_json() for o in found]))
        return
    from coder.render import print_records

    def places(o, sep: str) -> str:
        return sep.join(f"§{c.segment} ({c.score:.0f})" for c in o.candidates) or "none"

    if fmt == "csv":
        records = [{"id": o.id, "transcript": o.transcript, "code": o.code, "coder": o.coder, "text": o.text,
                    **{f"{key}_{i}": getattr(o.candidates[i - 1], key) if i <= len(o.candidates) else None
                       for i in range(1, orphans.CANDIDATES + 1) for key in ("segment", "score")}} for o in found]
        print_records(env, records, "csv")
        return
    records = [{"id": o.id[:8], "transcript": o.transcript, "code": o.code, "coder": o.coder, "text": o.text,
                "best places": places(o, ", ")} for o in found]
    print_records(env, records, None, empty="no orphaned codings")
    if found and env.stdout_isatty:
        env.err("place one with `coder code place ID --segment N` (or --quote \"...\"); "
                "`coder code orphans --auto` places those with a confident match")


@code_app.command("place")
def code_place(ctx: typer.Context,
               coding_id: str = typer.Argument(..., metavar="ID", help="The orphaned coding's id (or its first 6+ "
                                                                       "characters), as `coder code orphans` shows."),
               segment: Optional[int] = typer.Option(None, "--segment", min=1, metavar="N",
                                                     help="Place it on segment N, the whole turn (with --quote: "
                                                          "look for the quote in that turn only)."),
               quote: Optional[str] = typer.Option(None, "--quote", metavar="TEXT",
                                                   help="Place it on TEXT, found in its transcript as `coder code "
                                                        "quote` finds a quote."),
               threshold: float = typer.Option(85.0, "--threshold", min=0, max=100, metavar="N",
                                               help="With --quote: the lowest score (0-100) to accept.")):
    """Put an orphaned coding back into its transcript: on a segment, or on a quote. It keeps
    its id, code, coder and memo, and counts in reports again."""
    from coder import orphans

    p = orphans.place(_store(ctx), coding_id, segment=segment, quote=quote, threshold=threshold)
    score = f" score={p.score:g}" if p.score is not None else ""
    _env().out(f"placed {p.id[:8]} {p.code} on {p.transcript} §{p.segment} [{p.start}:{p.end}]{score}")
