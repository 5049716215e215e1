"""Commands registered on the main `coder` app (see the import at the end of coder/cli.py):
`coder export qdc` and `coder export qdpx`, the REFI-QDA exchange files other tools read.
The work is done in coder/refi.py."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from coder.cli import (CASE_OPT, CODE_OPT, CODER_FILTER, FORCE, PSEUDO_OPT, TRANSCRIPT_FILTER, WHERE_OPT, _db_path,
                       _emit, _env, _selection, _store, export_app)


def _pseudonymiser(store, pseudonymise: bool):
    if not pseudonymise:
        return None
    from coder import pseudonym

    return pseudonym.build(store)


@export_app.command("qdc")
def export_qdc(ctx: typer.Context,
               file: Path = typer.Argument(..., metavar="FILE.qdc", help="Where to write the codebook ('-': stdout)."),
               code: Optional[List[str]] = CODE_OPT, pseudonymise: bool = PSEUDO_OPT, force: bool = FORCE):
    """The codebook as REFI-QDA (.qdc), for NVivo, ATLAS.ti, MAXQDA, QualCoder and others:
    dimensions as parent codes, codes nested, colours, and descriptions that carry the
    labels, include/exclude criteria, examples and keywords."""
    from coder import refi

    store = _store(ctx)
    scope = _selection(store, code=code)
    result = refi.export_codebook(store, codes=scope.codes, pseudonymiser=_pseudonymiser(store, pseudonymise))
    _emit(result.content, file, force=force, what=f"{result.codes} code(s)", fmt="qdc", db=_db_path(ctx))


@export_app.command("qdpx")
def export_qdpx(ctx: typer.Context,
                file: Path = typer.Argument(..., metavar="FILE.qdpx", help="Where to write the project ('-': stdout)."),
                case: Optional[List[str]] = CASE_OPT, code: Optional[List[str]] = CODE_OPT,
                coder: Optional[List[str]] = CODER_FILTER, transcript: Optional[List[str]] = TRANSCRIPT_FILTER,
                where: Optional[List[str]] = WHERE_OPT, pseudonymise: bool = PSEUDO_OPT, force: bool = FORCE):
    """The project as REFI-QDA (.qdpx): codebook, coders, case offices with their
    attributes, transcripts, codings and memos, limited by the same filters as the reports."""
    from coder import refi

    store = _store(ctx)
    scope = _selection(store, case=case, code=code, coder=coder, transcript=transcript, where=where)
    result = refi.export_project(store, scope, pseudonymiser=_pseudonymiser(store, pseudonymise))
    _emit(result.content, file, force=force, fmt="qdpx", db=_db_path(ctx),
          what=f"{result.transcripts} transcript(s), {result.codings} coding(s), {result.codes} code(s), "
               f"{result.memos} memo(s)")
    if not result.codings and not result.transcripts:
        _env().err("warning: nothing matched the filters; the file holds the codebook only")
