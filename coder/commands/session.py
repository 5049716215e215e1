"""`coder session`: coding one transcript turn by turn from the keyboard (the work is in
coder/session.py, the screen in coder/session_screen.py)."""
from __future__ import annotations

import sys
from typing import List, Optional

import typer

from coder.commands.base import CODER_OPT, _coder_name, _env, _store, app
from coder.errors import InputError


@app.command(short_help="Code a transcript turn by turn from the keyboard.")
def session(ctx: typer.Context,
            transcript: str = typer.Argument(..., help="Transcript name (file name without extension)."),
            coder: Optional[str] = CODER_OPT,
            skip_speaker: Optional[List[str]] = typer.Option(
                None, "--skip-speaker", metavar="SPEAKER",
                help="Pass over this speaker's turns in n (the interviewer's are passed over already); repeatable.")):
    """Code a transcript turn by turn from the keyboard (press ? for the keys). Every change
    is saved at once; reopening resumes where you stopped."""
    import os

    from coder.session import Session
    from coder.session_screen import run

    store = _store(ctx)
    work = Session(store, transcript, _coder_name(coder), skip_speakers=skip_speaker or ())
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise InputError("coder session needs a terminal (it is interactive)",
                         hint="run it in a terminal window; for scripts use `coder code add/quote/apply`")
    screen = run(work, no_color=bool(os.environ.get("NO_COLOR")))
    from coder.store import codings

    mine = codings.count_by(store, work.transcript.id, work.coder)
    _env().err(f"{work.transcript.name}: stopped at turn {work.current.number}/{len(work.turns)}, "
               f"{mine} coding(s) by {work.coder}; all saved" + ("" if screen.done else " (interrupted)"))
