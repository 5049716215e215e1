"""`coder export qdc` and `coder export qdpx`, the REFI-QDA exchange files other tools read, and
reading them in (`import` of a .qdpx, `init --codebook` and `codebook load` of a .qdc).
The work is done in coder/refi.py."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from coder.commands.base import (CASE_OPT, CODE_OPT, CODER_FILTER, FORCE, PSEUDO_OPT, TRANSCRIPT_FILTER, WHERE_OPT,
                                 _db_path, _emit, _env, _selection, _store, export_app)
from coder.errors import InputError


def _not_a_codebook(path: Path):
    raise InputError("a REFI-QDA project, not a codebook", path=str(path),
                     hint="import it with `coder import`, which reads its codebook too")


def _pseudonymiser(store, pseudonymise: bool):
    if not pseudonymise:
        return None
    from coder import pseudonym

    return pseudonym.build(store)


@export_app.command("qdc", short_help="The codebook as REFI-QDA (.qdc) for NVivo, ATLAS.ti, MAXQDA.", epilog="""
    coder export qdc codebook.qdc
""")
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


@export_app.command("qdpx", short_help="The project as REFI-QDA (.qdpx) for NVivo, ATLAS.ti, MAXQDA.", epilog="""
    coder export qdpx project.qdpx                # open it in NVivo, ATLAS.ti, MAXQDA
""")
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
          what=lambda: f"{result.transcripts} transcript(s), {result.codings} coding(s), {result.codes} code(s), "
                       f"{result.memos} memo(s)")
    if not result.codings and not result.transcripts:
        _env().err("warning: nothing matched the filters; the file holds the codebook only")


def import_exchange_files(ctx: typer.Context, paths: list[Path], *, json_: bool,
                          transcript_options: list[str] = ()) -> list[Path]:
    """`coder import` of REFI-QDA projects (.qdpx, told by content as well as by name; a
    codebook, .qdc, is sent to `codebook load`). Every file is read and checked before the project
    is opened (or created, for a project into a new one). Returns the other paths."""
    from coder.refi_kind import sniff

    kinds = [(path, sniff(path)) for path in paths]
    exchange = [(path, kind) for path, kind in kinds if kind]
    if not exchange:
        return paths
    from coder import refi
    from coder.backup import backup_before
    from coder.errors import InputError
    from coder.store import Store

    if transcript_options:
        raise InputError(f"{' and '.join(transcript_options)} are for transcripts; a REFI-QDA project brings its own "
                         "cases and transcripts", path=str(exchange[0][0]))
    if json_ and len(exchange) < len(paths):
        raise InputError("with --json, import REFI-QDA files and transcripts in separate commands")
    read = []
    for path, kind in exchange:
        if kind == "qde":
            raise InputError("a bare project.qde; coder reads .qdpx archives (the zip of project.qde and its "
                             "sources/)", path=str(path), hint="import the .qdpx the other tool exported")
        if kind == "qdc":
            from coder.readers import FORMATS

            raise InputError(f"a REFI-QDA codebook, which `coder codebook load {path}` reads; import reads "
                             f"{FORMATS}", path=str(path))
        read.append((path, kind, refi.read_project_file(path)))
    db = _db_path(ctx)
    env = _env()
    if not db.exists() or db.stat().st_size == 0:
        store = Store.create(db, backup=backup_before, notify=env.err)
        ctx.call_on_close(store.close)
        try:
            reports = _import_read(store, read, env, json_)
        except BaseException:
            store.close()  # a project made for this import, which failed: not left behind empty
            for leftover in (db, Path(f"{db}-wal"), Path(f"{db}-shm"), Path(f"{db}-journal")):
                leftover.unlink(missing_ok=True)
            raise
        env.err(f"created project {db}")
    else:
        reports = _import_read(_store(ctx), read, env, json_)
    rest = [path for path, kind in kinds if not kind]
    if json_ and not rest:
        from coder.render import dumps_json

        env.stdout.write(dumps_json(reports))
    return rest


def _import_read(store, read: list, env, json_: bool) -> list[dict]:
    from coder import refi
    from coder.store import default_coder

    reports = []
    for path, kind, content in read:
        result = refi.import_project(store, path, default_coder=default_coder(), foreign=content)
        reports.append({"file": str(path), "format": "qdpx", **result.as_json()})
        if json_:
            continue
        for t in result.transcripts:
            detail = f" ({t.message})" if t.message else ""
            env.out(f"{t.status:9} {t.transcript}  case={t.case or '-'}  segments={t.segments}{detail}")
        env.err(f"{path}: {len(result.transcripts)} transcript(s), {result.codes_new + result.codes_updated} "
                f"code(s) ({result.codes_new} new), {result.codings_new} new coding(s)"
                + (f" ({result.codings_same} already there)" if result.codings_same else "")
                + (f", {result.codings_replaced} replaced" if result.codings_replaced else "")
                + f", {result.cases} case(s), {result.memos} memo(s)")
        for line in result.renames:
            env.err(f"renamed: {line}")
        for line in result.warnings:
            env.err(f"warning: {path}: {line}")
    return reports


def _print_codebook_import(env, path, result) -> None:
    env.err(f"{path}: codebook {result.status}, {result.codes} codes; of the file's codes {result.new} are new and "
            f"{result.updated} were in the project (top-level codes are dimensions)")
    for line in result.renames:
        env.err(f"renamed: {line}")
    for line in result.warnings:
        env.err(f"warning: {path}: {line}")
