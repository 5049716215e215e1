"""The `coder` command line: parse options, call one library function, print the result.

No SQL and no file parsing here. Errors are `CoderError`s, printed as one line on stderr
with their exit code (0 ok, 1 partly failed, 2 bad input) by `CoderGroup.invoke`.
"""
from __future__ import annotations

import json
import os
import shlex
import sqlite3
import sys
from pathlib import Path
from typing import List, Optional

import typer
from typer.core import TyperGroup

from coder.errors import CoderError, ExitStatus, InputError, PartialFailure

INTERNAL_ERROR = 70  # EX_SOFTWARE: distinct from the contract's 0/1/2 so a bug is never mistaken for them
ENV_HELP = "Project database (a SQLite file). Default: $CODER_DB, else ./coder.db."


class CoderGroup(TyperGroup):
    """Turns every CoderError (and Ctrl-C) into one line on stderr and an exit code."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        if ctx.parent is None:  # the whole command line, once
            from coder.text import is_text

            ctx.meta["coder.not_text"] = next((arg for arg in args if not is_text(arg)), None)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: typer.Context):
        try:
            if ctx.meta.get("coder.not_text") is not None:
                raise InputError(f"the argument '{ctx.meta['coder.not_text']}' is not valid UTF-8 text",
                                 hint="coder keeps names and values as text: retype it in UTF-8, or rename the file "
                                      "it names")
            result = super().invoke(ctx)
            if ctx.parent is None:
                sys.stdout.flush()  # now, so that a reader that went away is noticed here, not at exit
            return result
        except BrokenPipeError:
            # `coder ... | head`: the reader has what it wanted. click stops quietly (exit 1, as
            # Python does on EPIPE), with stdout made harmless for the flush at exit.
            raise
        except CoderError as exc:
            _err(f"error: {exc}")
            ctx.exit(int(exc.exit_code))
        except KeyboardInterrupt:
            command = shlex.join(sys.argv[1:]) or "the command"
            _err(f"interrupted: `coder {command}` stopped before finishing; nothing from it was saved and earlier "
                 f"work is intact; run it again to finish (it skips what is already there)")
            ctx.exit(130)
        except sqlite3.Error as exc:
            from coder.safety import explain

            db = ctx.obj.get("db") if isinstance(ctx.obj, dict) else None
            if isinstance(exc, (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError)):
                _edited_outside(ctx, db)
                _internal_error(ctx, exc)  # a bug in coder, not a problem with the file
            if "JSON" in str(exc):  # json_extract() over a value another program wrote
                _edited_outside(ctx, db)

            error = explain(exc, db) or CoderError(f"database error: {exc}", path=str(db) if db else None)
            _err(f"error: {error}")
            ctx.exit(int(error.exit_code))
        except OSError as exc:
            _err(f"error: {exc.filename or ''}: {exc.strerror or exc}")
            ctx.exit(int(ExitStatus.BAD_INPUT))
        except json.JSONDecodeError as exc:  # coder reads JSON only from its own database
            _edited_outside(ctx, ctx.obj.get("db") if isinstance(ctx.obj, dict) else None)
            _internal_error(ctx, exc)
        except UnicodeEncodeError as exc:
            if exc.reason != "surrogates not allowed":
                _internal_error(ctx, exc)
            # the backstop for bytes that are not UTF-8 (an environment variable, say) found on
            # their way to the database or the screen; the transaction was rolled back
            _err(f"error: '{exc.object[max(0, exc.start - 30):exc.end + 30]}' is not valid UTF-8 text (from a file "
                 "name, an argument or an environment variable); nothing was written; use UTF-8 names and values")
            ctx.exit(int(ExitStatus.BAD_INPUT))
        except Exception as exc:
            # click's own control flow (exit, usage errors); typer may vendor its own click
            if type(exc).__module__.startswith(("click", "typer")):
                raise
            _internal_error(ctx, exc)


def _edited_outside(ctx: typer.Context, db) -> None:
    """When the error comes from what another program did to the database (a value that is
    no JSON, a trigger of its own), say so, and exit 2; else return."""
    from coder.errors import DatabaseError
    from coder.safety import edited_outside

    what = edited_outside(db) if db is not None else None
    if what is None:
        return
    error = DatabaseError(f"the database was edited outside coder: {what}; nothing was changed", path=str(db),
                          hint="restore the latest good backup (`coder backup --list`, then `coder restore FILE`), "
                               "or undo the edit with the program that made it")
    _err(f"error: {error}")
    ctx.exit(int(error.exit_code))


def _internal_error(ctx: typer.Context, exc: Exception) -> None:
    """A bug in coder, not bad input: one line, the traceback on request (CODER_DEBUG=1), and
    exit 70 either way: 1 means "partly done" to scripts."""
    if debugging():
        import traceback

        sys.stderr.write("".join(traceback.format_exception(exc)))
    _err(f"internal error: {type(exc).__name__}: {exc} (this is a bug in coder; run again with "
         "CODER_DEBUG=1 to see the traceback, and please report it)")
    ctx.exit(INTERNAL_ERROR)


def debugging() -> bool:
    """CODER_DEBUG=1 (or true, yes, on); 0, false, no or empty leave it off."""
    return os.environ.get("CODER_DEBUG", "").strip().lower() in ("1", "true", "yes", "on")


def _err(message: str) -> None:
    from coder.render import printable

    typer.echo(printable(message), err=True)


def _typer(help_text: str) -> typer.Typer:
    return typer.Typer(cls=CoderGroup, help=help_text, no_args_is_help=True, add_completion=False,
                       pretty_exceptions_enable=False, rich_markup_mode=None)


app = _typer("Code interview transcripts against a codebook: import, code, count, and export quote sheets.")
codebook_app = _typer("Load, check and show the codebook (codes grouped in dimensions).")
cases_app = _typer("Case offices and their attributes (population, leadership model, ...).")
code_app = _typer("Add, list and remove codings.")
report_app = _typer("Code frequencies and quote sheets.")
names_app = _typer("Names to hide in pseudonymised exports.")
memo_app = _typer("Memos on the project, a transcript, a code or a coding.")
export_app = _typer("Data exports for other tools (R, Stata, pandas, spreadsheets, REFI-QDA for NVivo, ATLAS.ti, "
                    "MAXQDA, QualCoder).")
app.add_typer(codebook_app, name="codebook")
app.add_typer(cases_app, name="cases")
app.add_typer(code_app, name="code")
app.add_typer(report_app, name="report")
app.add_typer(names_app, name="names")
app.add_typer(memo_app, name="memo")
app.add_typer(export_app, name="export")


@app.callback()
def _main(ctx: typer.Context,
          db: Optional[Path] = typer.Option(None, "--db", help=ENV_HELP, metavar="PATH"),
          version: bool = typer.Option(False, "--version", help="Show the version and exit.", is_eager=True)):
    if version:
        from coder import __version__

        typer.echo(f"coder {__version__}")
        raise typer.Exit()
    from coder.store import default_db_path

    ctx.obj = {"db": db or default_db_path()}


# -- helpers ------------------------------------------------------------------------------

def _env():
    from coder.render import Env

    return Env()


def _db_path(ctx: typer.Context) -> Path:
    root = ctx.find_root()
    return root.obj["db"] if root.obj else Path("coder.db")


def _store(ctx: typer.Context):
    """The project database, closed when the command ends (so nothing keeps it open after,
    even when coder runs inside another program, as in the tests)."""
    from coder.store import Store

    store = Store.open(_db_path(ctx))
    ctx.call_on_close(store.close)
    return store


def _format(json_: bool = False, csv_: bool = False, md: bool = False, *, csv_flag: str = "--csv",
            **more: bool) -> str | None:
    """The one output format the flags ask for (None: a table for people); more formats as
    keyword flags, e.g. docx=True. `csv_flag` is the flag that asked for CSV (--excel and
    --delimiter imply it), so a refusal names what was typed."""
    flags = {"json": json_, "csv": csv_, "md": md, **more}
    chosen = [name for name, flag in flags.items() if flag]
    if len(chosen) > 1:
        named = [csv_flag if name == "csv" else "--" + name for name in chosen]
        raise InputError(f"choose one output format, not {' and '.join(named)}")
    return chosen[0] if chosen else None


def _csv_flag(csv_: bool, excel: bool, delimiter: Optional[str]) -> str:
    """The flag that asked for CSV, as the user typed it."""
    return "--csv" if csv_ else "--excel" if excel else "--delimiter" if delimiter is not None else "--csv"


JSON = typer.Option(False, "--json", help="Print a JSON array of objects.")
CSV = typer.Option(False, "--csv", help="Print CSV.")
EXCEL = typer.Option(False, "--excel", help="CSV for Excel: UTF-8 with a byte-order mark and ';' between fields, "
                                           "as Excel expects where the decimal mark is a comma (Norwegian, "
                                           "German, ...). Implies --csv.")
DELIMITER = typer.Option(None, "--delimiter", metavar="CHAR", help="The CSV field separator (default ',', or ';' "
                                                                   "with --excel). Implies --csv.")
MD = typer.Option(False, "--md", help="Print a Markdown table.")
FORCE = typer.Option(False, "--force", help="Overwrite an existing output file.")


def _csv_dialect(excel: bool, delimiter: Optional[str]) -> tuple[str, str] | None:
    """(delimiter, what goes before the first byte) for --excel/--delimiter; None for plain CSV.
    Excel opens a UTF-8 file as UTF-8 only after a byte-order mark, and splits fields at the
    list separator of its locale: ';' wherever the decimal mark is a comma."""
    if delimiter is not None and (len(delimiter) != 1 or delimiter in '"\r\n'):
        raise InputError(f"--delimiter takes one character (not a quote mark or line break), not {delimiter!r}",
                         hint="e.g. --delimiter ';' or --delimiter $'\\t'")
    if not excel and delimiter is None:
        return None
    return delimiter or (";" if excel else ","), "\ufeff" if excel else ""


def _csv_text(text: str, dialect: tuple[str, str] | None) -> str:
    """CSV written with commas, in the dialect asked for."""
    if dialect is None:
        return text
    from coder.export import recode_csv

    return dialect[1] + recode_csv(text, dialect[0])


def _coder_name(value: Optional[str]) -> str:
    from coder.store import default_coder

    return value or default_coder()


CODER_OPT = typer.Option(None, "--coder", help="Who coded (default: $CODER_NAME, else your login name).")


# -- project ------------------------------------------------------------------------------

@app.command()
def init(ctx: typer.Context,
         codebook: Optional[Path] = typer.Option(None, "--codebook", help="Load this codebook too (YAML, CSV or "
                                                                           "REFI-QDA .qdc).")):
    """Create the project database (safe to run again)."""
    from coder import project
    from coder.codebook import load_codebook
    from coder.store import Store

    from coder import refi

    exchange = codebook is not None and refi.sniff(codebook) is not None
    if exchange:  # a REFI-QDA codebook (.qdc), read and checked before anything is created
        parsed = refi.read_codebook(codebook) if refi.sniff(codebook) == "qdc" else _not_a_codebook(codebook)
    else:
        parsed = load_codebook(codebook) if codebook else None  # validate before creating anything
    path = _db_path(ctx)
    existed = path.exists() and path.stat().st_size > 0  # an empty file is made a project, as a new one
    store = Store.create(path)
    ctx.call_on_close(store.close)
    env = _env()
    env.err(f"{'using existing' if existed else 'created'} project {path}")
    if exchange:
        from coder.commands_refi import _print_codebook_import

        _print_codebook_import(env, codebook, refi.load_codebook_file(store, codebook, read=parsed))
    elif parsed:
        result = project.load_codebook(store, parsed)
        env.err(f"codebook {parsed.name!r}: {result.status}, {result.codes} codes")


def _not_a_codebook(path: Path):
    raise InputError("a REFI-QDA project, not a codebook", path=str(path),
                     hint="import it with `coder import`, which reads its codebook too")


@app.command()
def demo(ctx: typer.Context,
         directory: Path = typer.Argument(Path("."), help="Where to build the demo project (coder.db, exports/)."),
         fmt: str = typer.Option("md", "--format", help="Quote sheet format: md, html, docx, xlsx or csv.")):
    """Build the demo project from the shipped codebook, cases, transcripts and codings;
    print the code frequencies per case office and write a quote sheet to exports/."""
    from coder import demo as demo_mod

    # The demo's project is DIR/coder.db; $CODER_DB names the user's own project, so it is not
    # used here. A --db typed on this command line is, but demo.build refuses a project it did
    # not make.
    explicit_db = ctx.find_root().params.get("db")
    db_path = Path(explicit_db) if explicit_db else directory / "coder.db"
    env = _env()
    result = demo_mod.build(db_path, directory, fmt=fmt, log=env.err)
    from coder.reports import frequencies
    from coder.store import Store

    store = Store.open(db_path)
    ctx.call_on_close(store.close)
    _print_freq(env, frequencies(store, by="case", unit="segments"), None)
    env.err(f"quote sheet: {result.sheet}")
    env.err(f"explore it: coder --db {db_path} report quotes --case Hamar")


@app.command("import")
def import_(ctx: typer.Context,
            paths: List[Path] = typer.Argument(..., help="Transcript files or folders (recursively): .txt, .md, "
                                               ".docx, .odt, .vtt, .srt, .csv, .xlsx; or REFI-QDA projects "
                                               "(.qdpx) from other tools."),
            case: Optional[str] = typer.Option(None, "--case", help="Case office for all these transcripts."),
            checksum: bool = typer.Option(False, "--checksum", help="Read every file to see whether it changed, "
                                          "instead of trusting an unchanged size and modification time."),
            follow_links: bool = typer.Option(False, "--follow-links", help="In folders, follow links that lead "
                                              "outside the folder too (by default only links inside it)."),
            replace: bool = typer.Option(False, "--replace", help="A file named as a transcript imported from "
                                         "another file is its new version (else such a file is refused)."),
            text_columns: Optional[List[str]] = typer.Option(None, "--text-columns", help="Survey answers: each "
                                                             "spreadsheet row is a respondent, this column (give it "
                                                             "once per column) their answer; the other columns "
                                                             "become attributes."),
            json_: bool = JSON):
    """Import transcripts, or a whole REFI-QDA project (.qdpx from NVivo, ATLAS.ti, MAXQDA,
    QualCoder, ...). Re-importing an unchanged file does nothing; a changed file keeps
    its codings, moved to where their text now is. A file whose size and modification time
    are as when it was imported is not read again (as make and rsync judge; --checksum reads
    it)."""
    from coder import project
    from coder.commands_refi import import_exchange_files

    given = [name for name, value in (("--case", case), ("--text-columns", text_columns), ("--replace", replace))
             if value]
    paths = import_exchange_files(ctx, paths, json_=json_, transcript_options=given)  # REFI-QDA projects
    if not paths:
        return
    store = _store(ctx)
    env = _env()
    progress = _progress(env, "importing")
    try:
        results = project.import_transcripts(store, paths, case=case, checksum=checksum, replace=replace,
                                             progress=progress, follow_links=follow_links, text_columns=text_columns)
    finally:
        progress.close()
    if json_:
        from coder.render import dumps_json

        env.stdout.write(dumps_json(r.as_json() for r in results))
    else:
        if len(results) == 1 and results[0].status == "error":
            raise CoderError(results[0].message)  # one file: one line, naming it
        for r in results:
            if r.status == "error":
                env.err(f"error: {r.message}")
            elif r.status == "skipped":
                env.err(f"skipped: {r.message}")
            elif r.status != "unchanged" or len(results) <= 20:
                detail = f" ({r.message})" if r.message else ""
                env.out(f"{r.status:9} {r.transcript}  case={r.case or '-'}  segments={r.segments}{detail}")
        counts = {s: sum(1 for r in results if r.status == s)
                  for s in ("imported", "updated", "unchanged", "skipped", "error")}
        env.err(", ".join(f"{n} {s}" for s, n in counts.items() if n))
    errors = [r for r in results if r.status == "error"]
    if errors:
        if len(errors) == len(results):
            raise CoderError(f"none of the {len(errors)} files could be imported")
        raise PartialFailure(f"{len(errors)} of {len(results)} files not imported")


class _progress:
    """A progress bar on stderr when it is a terminal; silent otherwise."""

    def __init__(self, env, label: str):
        self.env, self.label, self.bar, self.task = env, label, None, None

    def __call__(self, done: int, total: int) -> None:
        if total < 20 or not self.env.stderr_isatty:
            return
        if self.bar is None:
            from rich.progress import Progress

            self.bar = Progress(console=self.env.console(stderr=True), transient=True)
            self.bar.start()
            self.task = self.bar.add_task(self.label, total=total)
        self.bar.update(self.task, completed=done)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


@app.command()
def segments(ctx: typer.Context, transcript: str = typer.Argument(..., help="Transcript name (file name without extension)."),
             json_: bool = JSON, csv_: bool = CSV, md: bool = MD):
    """Show a transcript's segments (speaker turns), numbered as `code add` expects."""
    from coder import project

    store = _store(ctx)
    row = project.require_transcript(store, transcript)
    from coder.text import clock

    records = [{"transcript": row.name, "segment": s["number"], "speaker": s["speaker"], "start": s["start"],
                "end": s["end"], "text": s["text"], "time": clock(s["start_ms"]), "start_ms": s["start_ms"],
                "end_ms": s["end_ms"]}
               for s in store.query('SELECT number, speaker, start, "end", text, start_ms, end_ms FROM segments '
                                    "WHERE transcript_id = ? ORDER BY number", (row.id,))]
    from coder.render import print_records

    fmt = _format(json_, csv_, md)
    # a person sees when each turn was said only for a transcript that has times
    timed = fmt is None and any(r["time"] for r in records)
    columns = ["transcript", "segment", *(["time"] if timed else []), "speaker", "start", "end", "text"]
    print_records(_env(), records, fmt, columns=None if fmt else columns,
                  title=f"{row.name} ({row.case_name or 'no case'})")


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
        from coder.commands_refi import _print_codebook_import

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
    store = _store(ctx)
    fmt = _format(json_, csv_, md)
    rows = store.query(
        "SELECT co.path, co.dimension, co.label, co.label_en, co.description, co.parent, co.depth, co.color, "
        "co.retired, (SELECT COUNT(*) FROM codings c JOIN code_closure cl ON cl.descendant = c.code "
        "WHERE cl.ancestor = co.path AND c.status = 'ok') AS codings FROM codes co ORDER BY co.position")
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

    dims = store.query("SELECT id, label, color FROM dimensions ORDER BY position")
    root = Tree(escape(store.scalar("SELECT name FROM codebook_versions ORDER BY id DESC LIMIT 1") or "codebook"))
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


# -- cases --------------------------------------------------------------------------------

@cases_app.command("list")
def cases_list(ctx: typer.Context, json_: bool = JSON, csv_: bool = CSV, md: bool = MD):
    """Cases with their number of transcripts and segments, and their attributes."""
    import json as _json

    store = _store(ctx)
    rows = store.query(
        "SELECT cs.name, cs.attributes, (SELECT COUNT(*) FROM transcripts t WHERE t.case_name = cs.name) AS tr, "
        "(SELECT COUNT(*) FROM segments s JOIN transcripts t ON t.id = s.transcript_id WHERE t.case_name = cs.name) "
        "AS seg FROM cases cs ORDER BY cs.name")
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
    from coder import project

    parsed = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"'{item}' is not key=value", hint="write e.g. leadership_model=split")
        parsed[key.strip()] = project.parse_value(value)
    attributes = project.set_case_attributes(_store(ctx), case, parsed)
    _env().err(f"{case}: " + ", ".join(f"{k}={v}" for k, v in attributes.items()))


@cases_app.command("import")
def cases_import(ctx: typer.Context, file: Path = typer.Argument(..., help="CSV (column 'case' + attributes) or YAML.")):
    """Import case attributes from CSV or YAML, one row per case."""
    from coder import project

    result = project.import_cases(_store(ctx), file)
    _env().err(f"{file}: {len(result.new)} new, {len(result.updated)} updated, {len(result.unchanged)} unchanged "
               "case(s)")


# -- coding -------------------------------------------------------------------------------

def _print_coding_results(env, results, json_: bool) -> None:
    if json_:
        from coder.render import dumps_json

        env.stdout.write(dumps_json(r.as_json() for r in results))
        return
    for r in results:
        if r.status == "coded":
            score = f" score={r.score:g}" if r.score is not None else ""
            env.out(f"coded {r.transcript} §{r.segment} [{r.start}:{r.end}] {r.code}{score}  id={r.id}")
        elif r.status == "duplicate":
            env.out(f"already coded: {r.transcript} §{r.segment} [{r.start}:{r.end}] {r.code}")
        else:
            env.err(f"row {r.row}: {r.status}: {r.message}" if r.row else f"error: {r.message}")


THRESHOLD = typer.Option(85.0, "--threshold", min=0, max=100, help="Minimum fuzzy score (0-100) to accept a quote.")


@code_app.command("add")
def code_add(ctx: typer.Context,
             transcript: str = typer.Argument(..., help="Transcript name."),
             segment: str = typer.Argument(..., help="Segment number, as `coder segments` shows."),
             code: str = typer.Argument(..., help="Code path (vertical.two_bosses) or its unique last part."),
             coder: Optional[str] = CODER_OPT,
             memo: Optional[str] = typer.Option(None, "--memo", help="An analytic memo on this coding."),
             json_: bool = JSON):
    """Code a whole segment."""
    from coder import project

    store = _store(ctx)
    project.require_transcript(store, transcript)
    request = project.CodingRequest(row=0, transcript=transcript, code=code, segment=segment, memo=memo or "")
    results = project.add_codings(store, [request], coder=_coder_name(coder), threshold=100)
    _finish_single(results, json_)


def _finish_single(results, json_: bool) -> None:
    env = _env()
    failed = [r for r in results if r.status not in ("coded", "duplicate")]
    _print_coding_results(env, [r for r in results if r not in failed] if not json_ else results, json_)
    if failed:
        first = failed[0]
        error_cls = InputError if first.status in ("unknown_code", "unknown_transcript") else PartialFailure
        if first.status == "not_found" and first.start is None and first.score is None and "segment" in first.message:
            error_cls = InputError
        raise error_cls(first.message)


@code_app.command("quote")
def code_quote(ctx: typer.Context,
               transcript: str = typer.Argument(..., help="Transcript name."),
               quote: str = typer.Argument(..., help="The quoted words; small differences are tolerated."),
               codes: List[str] = typer.Argument(..., help="One or more codes to apply to the quoted span."),
               coder: Optional[str] = CODER_OPT,
               memo: Optional[str] = typer.Option(None, "--memo", help="An analytic memo on this coding."),
               threshold: float = THRESHOLD,
               json_: bool = JSON):
    """Find a quote in a transcript (tolerating case, punctuation, whitespace, ø/o-style
    OCR swaps and small typos) and code exactly that span."""
    from coder import project

    store = _store(ctx)
    project.require_transcript(store, transcript)
    requests = [project.CodingRequest(row=0, transcript=transcript, code=c, quote=quote, memo=memo or "")
                for c in codes]
    results = project.add_codings(store, requests, coder=_coder_name(coder), threshold=threshold,
                                  action="code.quote")
    _finish_single(results, json_)


@code_app.command("apply")
def code_apply(ctx: typer.Context,
               file: Path = typer.Argument(..., help="CSV with columns transcript, code, and segment, quote or "
                                                     "start and end (optional: coder, memo, text)."),
               coder: Optional[str] = typer.Option(None, "--coder", help="The coder of every row (over the file's "
                                                                         "coder column; default: the column, else "
                                                                         "$CODER_NAME, else your login name)."),
               threshold: float = THRESHOLD,
               json_: bool = JSON):
    """Apply a batch of codings from CSV. Applying the same file again adds nothing. A row
    with start and end (code points, as `code list --csv` and `report quotes --csv` write
    them) codes exactly that span, checked against its text."""
    from coder import project

    store = _store(ctx)
    results = project.apply_codings(store, file, coder=_coder_name(coder), threshold=threshold,
                                    coder_wins=coder is not None)
    env = _env()
    if json_:
        _print_coding_results(env, results, True)
    else:
        for r in results:
            if r.status not in ("coded", "duplicate"):
                env.err(f"{file}: row {r.row}: {r.status}: {r.message}")
    counts = {s: sum(1 for r in results if r.status == s) for s in project.APPLY_STATUSES}
    env.err(f"{file}: " + (", ".join(f"{n} {s}" for s, n in counts.items() if n) or "no rows"))
    project.ensure_all_ok(results, ok=("coded", "duplicate"), what="rows")


@code_app.command("list")
def code_list(ctx: typer.Context,
              transcript: Optional[str] = typer.Option(None, "--transcript", help="Only this transcript."),
              code: Optional[str] = typer.Option(None, "--code", help="Only this code (and its sub-codes)."),
              coder: Optional[str] = typer.Option(None, "--coder", help="Only this coder's codings."),
              orphaned: bool = typer.Option(False, "--orphaned", help="Codings whose text was lost in an edit."),
              json_: bool = JSON, csv_: bool = CSV, md: bool = MD, excel: bool = EXCEL,
              delimiter: Optional[str] = DELIMITER):
    """List codings."""
    from coder import project

    dialect = _csv_dialect(excel, delimiter)
    store = _store(ctx)
    where, params = ["c.status = ?"], ["orphaned" if orphaned else "ok"]
    if transcript:
        where.append("t.id = ?")
        params.append(project.require_transcript(store, transcript).id)
    if code:
        where.append("c.code IN (SELECT descendant FROM code_closure WHERE ancestor = ?)")
        params.append(project.resolve(store, code))
    if coder:
        where.append("c.coder = ?")
        params.append(coder)
    rows = store.query(
        'SELECT c.uuid AS id, t.name AS transcript, t.case_name AS "case", c.segment, c.start, c."end", c.code, '
        f"c.coder, c.memo, c.text FROM codings c JOIN transcripts t ON t.id = c.transcript_id "
        f"WHERE {' AND '.join(where)} ORDER BY t.name, c.start, c.\"end\", c.code, c.coder", params)
    from coder.render import print_records

    records = [dict(r) for r in rows]
    fmt = _format(json_, csv_ or dialect is not None, md, csv_flag=_csv_flag(csv_, excel, delimiter))
    if fmt is None:
        for record in records:
            record["id"] = record["id"][:8]
    if fmt == "csv" and dialect:
        from coder.render import dumps_csv

        _env().stdout.write(_csv_text(dumps_csv(records), dialect))
        return
    print_records(_env(), records, fmt, empty="no codings match")


@code_app.command("remove")
def code_remove(ctx: typer.Context, coding_id: str = typer.Argument(..., metavar="ID",
                                                                      help="Coding id (or its first 8+ characters).")):
    """Remove one coding (kept in the audit trail)."""
    from coder import project

    removed = project.remove_coding(_store(ctx), coding_id)
    _env().err(f"removed {removed['uuid'][:8]}: {removed['transcript']} [{removed['start']}:{removed['end']}] "
               f"{removed['code']} ({removed['coder']})")


# -- reports ------------------------------------------------------------------------------
# Every report and export takes the same filters, with the same meaning (coder/selection.py):
# each repeatable, meaning "any of these"; different filters must all hold.

CASE_OPT = typer.Option(None, "--case", help="Only these case offices (repeatable: any of them).")
CODE_OPT = typer.Option(None, "--code", help="Only these codes, each with its sub-codes, or dimensions "
                                             "(repeatable: any of them).")
DIMENSION_OPT = typer.Option(None, "--dimension", help="Only codes of this dimension (the same as --code "
                                                       "with a dimension; repeatable).")
CODER_FILTER = typer.Option(None, "--coder", help="Only these coders' codings (repeatable: any of them).")
TRANSCRIPT_FILTER = typer.Option(None, "--transcript", help="Only these transcripts (repeatable: any of them).")
WHERE_OPT = typer.Option(None, "--where", help="Only where a case/transcript attribute compares so: key=value, "
                                              "key!=value, key=a,b (any), population>20000 (>, >=, <, <=); "
                                              "repeatable: all must hold.")


def _selection(store, *, case=None, code=None, coder=None, transcript=None, where=None, dimension=None):
    """The report filters as typed, checked against the project (errors exit 2; a --where
    value no transcript has is a warning)."""
    from coder.selection import resolve

    dimensions = list(dimension or [])
    for value in dimensions:
        if value not in store.dimension_ids():
            raise InputError(f"unknown dimension '{value}'", hint=f"use one of {', '.join(store.dimension_ids())}")
    return resolve(store, cases=case or [], codes=[*(code or []), *dimensions], coders=coder or [],
                   transcripts=transcript or [], where=where or [], warn=_env().err)


@report_app.command("freq")
def report_freq(ctx: typer.Context,
                by: str = typer.Option("case", "--by", help="Columns: case, or any case/transcript attribute "
                                                           "(leadership_model, role, ...)."),
                unit: str = typer.Option("segments", "--unit", help="Count segments, documents, informants or words."),
                level: str = typer.Option("code", "--level", help="code, or dimension for dimension totals only."),
                percent: bool = typer.Option(False, "--percent", help="Show each count as a percentage of all "
                                                                      "units in its column."),
                heatmap: bool = typer.Option(False, "--heatmap", help="Shade cells by size (legible without "
                                                                      "colour too)."),
                png: bool = typer.Option(False, "--png", help="Write a bar chart (needs matplotlib)."),
                svg: bool = typer.Option(False, "--svg", help="Write a bar chart as SVG (needs matplotlib)."),
                out: Optional[Path] = typer.Option(None, "--out", help="Write to this file (.csv, .json or "
                                                                       ".md; the chart for --png/--svg, default "
                                                                       "exports/...)."),
                force: bool = FORCE,
                case: Optional[List[str]] = CASE_OPT, code: Optional[List[str]] = CODE_OPT,
                coder: Optional[List[str]] = CODER_FILTER, transcript: Optional[List[str]] = TRANSCRIPT_FILTER,
                where: Optional[List[str]] = WHERE_OPT,
                json_: bool = JSON, csv_: bool = CSV, md: bool = MD, excel: bool = EXCEL,
                delimiter: Optional[str] = DELIMITER):
    """Code frequencies: codes (grouped under dimensions, with subtotals) by case office.
    A parent code counts its sub-codes' units too, each unit once (a word under two
    overlapping codings is one word)."""
    from coder.reports import frequencies, group_totals

    store = _store(ctx)
    selection = _selection(store, case=case, code=code, coder=coder, transcript=transcript, where=where)
    table = frequencies(store, by=by, unit=unit, level=level, selection=selection)
    totals = group_totals(store, by=by, unit=unit, selection=selection) if percent else None
    if out is not None and not (png or svg or json_ or csv_ or md or excel or delimiter is not None):
        png, svg = out.suffix.lower() == ".png", out.suffix.lower() == ".svg"  # --out chart.png: the chart
    if png or svg:
        from coder import charts, export

        fmt = "svg" if svg else "png"
        target = out or Path("exports") / f"{export.safe_filename('freq', unit, 'by', by)}.{fmt}"
        _emit(charts.freq_chart(table, fmt=fmt, totals=totals), target, force=force, what="chart", fmt=fmt, db=_db_path(ctx))
        return
    dialect = _csv_dialect(excel, delimiter)
    fmt = _format(json_, csv_ or dialect is not None, md, csv_flag=_csv_flag(csv_, excel, delimiter)) or (
        _format_from_suffix(out) if out and not _is_stdout(out) else None)
    if out is not None and not _is_stdout(out):
        if fmt not in ("json", "csv", "md"):
            raise InputError(f"a frequency table can be written as json, csv or md, not {fmt}",
                             hint="or a chart with --png/--svg")
        import io
        from types import SimpleNamespace

        text = io.StringIO()
        _print_freq(SimpleNamespace(stdout=text), table, fmt, totals=totals, dialect=dialect)
        _emit(text.getvalue(), out, force=force, what="frequency table", fmt=fmt, db=_db_path(ctx))
        return
    _print_freq(_env(), table, fmt, totals=totals, heatmap=heatmap, dialect=dialect)


def _cell_value(count: int, total: int | None):
    if total is None:
        return count
    return round(100.0 * count / total, 1) if total else 0.0


def _print_freq(env, table, fmt: str | None, *, totals: dict | None = None, heatmap: bool = False,
                dialect: tuple[str, str] | None = None) -> None:
    from coder.render import dumps_csv, dumps_json, dumps_markdown

    grand = sum(totals.values()) if totals else None
    if fmt == "json":
        cells = [{**c, "percent": _cell_value(c["count"], totals.get(c["group"], 0))} if totals else c
                 for c in table.cells]
        env.stdout.write(dumps_json(cells))
        return
    columns = ["dimension", "code", "label", *table.groups, "total"]
    records = []
    for row in table.rows:
        records.append({"dimension": row.key if row.kind == "dimension" else row.key.split(".")[0],
                        "code": "" if row.kind == "dimension" else row.key, "label": row.label,
                        **{g: _cell_value(row.counts.get(g, 0), totals.get(g, 0) if totals else None)
                           for g in table.groups},
                        "total": _cell_value(row.total, grand)})
    if fmt == "csv":
        env.stdout.write(_csv_text(dumps_csv(records, columns), dialect))
        return
    if fmt == "md":
        env.stdout.write(dumps_markdown(records, columns))
        return
    from rich import box
    from rich.markup import escape as markup_escape
    from rich.table import Table
    from rich.text import Text

    from coder.render import printable

    def escape(text: str) -> str:  # data shown literally: no markup, no terminal controls
        return markup_escape(printable(text))

    peak = max((n for row in table.rows if row.kind == "code" for n in row.counts.values()), default=0)
    title = f"Coded {table.unit} by {table.by}" + (" (% of all units in the column)" if totals else "")
    grid = Table(title=Text(printable(title)), box=box.SIMPLE_HEAVY, title_justify="left")
    grid.add_column("code")
    for group in table.groups:
        grid.add_column(Text(printable(group)), justify="right")
    grid.add_column("total", justify="right", style="bold")

    def cell(count: int, total: int | None, shade: bool) -> str:
        if not count:
            return "·"
        value = _cell_value(count, total)
        text = f"{value:g}%" if total is not None else str(value)
        if heatmap and shade and peak:
            level = min(7, int(8 * count / (peak + 1)))
            bar = " ▁▂▃▄▅▆▇"[level] if level else "▁"
            color = ("grey35", "grey50", "dark_orange3", "orange3", "orange1", "red3", "red1", "bright_red")[level]
            text = f"[{color}]{text} {bar}[/]" if not env.no_color else f"{text} {bar}"
        return text

    for index, row in enumerate(table.rows):
        cells = [cell(row.counts.get(g, 0), totals.get(g, 0) if totals else None, row.kind == "code")
                 for g in table.groups]
        total = cell(row.total, grand, False)
        if row.kind == "dimension":
            if index:
                grid.add_section()
            grid.add_row(f"[bold]{escape(row.label)}[/] ({escape(row.key)})", *[f"[bold]{c}[/]" for c in cells], total)
        else:
            indent = "  " * row.depth
            grid.add_row(f"{indent}{escape(row.label)} [dim]{escape(row.key.split('.', 1)[1])}[/]", *cells, total)
    env.console().print(grid)
    env.err("· = 0; a dimension row counts each unit once, even when several of its codes apply")


PSEUDO_OPT = typer.Option(False, "--pseudonymise", help="Replace informants' and listed names with aliases.")


@report_app.command("quotes")
def report_quotes(ctx: typer.Context,
                  case: Optional[List[str]] = CASE_OPT, code: Optional[List[str]] = CODE_OPT,
                  dimension: Optional[List[str]] = DIMENSION_OPT, coder: Optional[List[str]] = CODER_FILTER,
                  transcript: Optional[List[str]] = TRANSCRIPT_FILTER, where: Optional[List[str]] = WHERE_OPT,
                  limit_per_code: Optional[int] = typer.Option(None, "--limit-per-code", min=1,
                                                               help="At most this many quotes per code and case."),
                  context: int = typer.Option(0, "--context", min=0, max=200,
                                              help="Show N words before and after each quote."),
                  json_: bool = JSON, csv_: bool = CSV, md: bool = MD, excel: bool = EXCEL,
                  delimiter: Optional[str] = DELIMITER,
                  docx: bool = typer.Option(False, "--docx", help="Write a Word document."),
                  xlsx: bool = typer.Option(False, "--xlsx", help="Write an Excel workbook."),
                  html: bool = typer.Option(False, "--html", help="Write a printable HTML page."),
                  out: Optional[Path] = typer.Option(None, "--out", help="Write to this file (default for "
                                                                         "docx/xlsx/html: exports/...)."),
                  pseudonymise: bool = PSEUDO_OPT, force: bool = FORCE):
    """Quote extracts grouped by case office, dimension and code, each attributed (role, case)."""
    import datetime

    from coder import export
    from coder.reports import QuoteFilter, merge_passages, quote_columns, quotes

    dialect = _csv_dialect(excel, delimiter)
    fmt = _format(json_, csv_ or dialect is not None, md, docx=docx, xlsx=xlsx, html=html,
                  csv_flag=_csv_flag(csv_, excel, delimiter)) or (
        "md" if out is None or _is_stdout(out) else _format_from_suffix(out))
    store = _store(ctx)
    selection = _selection(store, case=case, code=code, coder=coder, transcript=transcript, where=where,
                           dimension=dimension)
    filters = QuoteFilter(selection=selection, limit_per_code=limit_per_code, context_words=context)
    rows = quotes(store, filters)
    if fmt not in ("json", "csv"):  # data keeps a row per coding; people read each passage once
        rows = merge_passages(rows)
    # the filters name the sheet and its file: a filtered sheet never takes the unfiltered one's name
    named = (*selection.cases, *selection.codes, *(f"coded by {c}" for c in selection.coders),
             *(f"transcript {t}" for t in selection.transcripts),
             selection.where and "where " + " and ".join(str(w) for w in selection.where))
    # the subtitle says what each filter is: "case Hamar, code vertical, coded by anna, where ..."
    kinds = (*(("case",) * len(selection.cases)), *(("code",) * len(selection.codes)),
             *(("",) * (len(selection.coders) + len(selection.transcripts) + 1)))
    project_name = store.scalar("SELECT name FROM codebook_versions ORDER BY id DESC LIMIT 1") or ""
    if pseudonymise:
        from coder import pseudonym

        hide = pseudonym.build(store)
        rows = pseudonym.apply_to_quotes(rows, hide)
        named = tuple(hide.replace_text(part) if part else part for part in named)
        project_name = hide.replace_text(project_name)
    title = "Quotes" + "".join(f" — {part}" for part in named if part)
    used = [f"{what} {part}" for what, part in zip(kinds, named) if part]
    used += [f"at most {limit_per_code} per code and case"] if limit_per_code else []
    levels, attribute_keys = quote_columns(store)  # the same columns whatever the rows
    sheet = export.Sheet(title=title, quotes=rows, pseudonymised=pseudonymise, project=project_name,
                         date=datetime.date.today().isoformat(), filters=tuple(u.strip() for u in used),
                         levels=levels, context=bool(context), attribute_keys=attribute_keys)
    # CSV, the format for all quotes at once, goes row by row to its destination
    separator, bom = dialect or (",", "")
    content = (lambda stream: export.write_csv(sheet, stream, delimiter=separator, prefix=bom)) if fmt == "csv" \
        else export.render(sheet, fmt)
    if out is None and fmt in export.BINARY_FORMATS + ("html",):
        out = Path("exports") / (export.safe_filename("quotes", *named, limit_per_code and f"max{limit_per_code}",
                                                      "pseudonymised" if pseudonymise else None) + f".{fmt}")
    _emit(content, out, force=force, what=f"{len(rows)} quote(s)", fmt=fmt, db=_db_path(ctx))


def _format_from_suffix(path: Path) -> str:
    from coder.export import FORMATS

    suffix = path.suffix.lower().lstrip(".")
    suffix = {"markdown": "md", "htm": "html"}.get(suffix, suffix)
    if suffix not in FORMATS:
        raise InputError(f"cannot tell the format from '{path.name}'", hint=f"use one of --{', --'.join(FORMATS)}")
    return suffix


def _emit(content, out: Optional[Path], *, force: bool, what, fmt: str | None = None,
          db: Optional[Path] = None) -> None:
    """Data to stdout (no --out, or --out -), or to a file: never over the project, never over
    an existing file without --force, and never in a format its name contradicts (all file
    writing goes through export.write_file). `content` may be a function writing to a stream;
    `what` (or a function giving it, once written) names what was written."""
    from coder import export

    env = _env()
    if out is None or _is_stdout(out):
        if isinstance(content, bytes):
            buffer = getattr(env.stdout, "buffer", None)
            if out is None or buffer is None or env.stdout_isatty:
                raise InputError("this format is binary", hint="give --out FILE (or --out - into a pipe)")
            env.stdout.flush()
            buffer.write(content)
            buffer.flush()
        elif callable(content):
            content(env.stdout)
        else:
            env.stdout.write(content)
        return
    if fmt is not None:
        _check_suffix(out, fmt)
    export.write_file(out, content, force=force, db=db)
    env.err(f"wrote {what() if callable(what) else what} to {out}")


def _is_stdout(out: Optional[Path]) -> bool:
    return out is not None and str(out) == "-"


_SUFFIX_FORMATS = {"csv": "csv", "json": "json", "md": "md", "markdown": "md", "html": "html", "htm": "html",
                   "docx": "docx", "xlsx": "xlsx", "png": "png", "svg": "svg", "qdc": "qdc", "qdpx": "qdpx"}


def _check_suffix(out: Path, fmt: str) -> None:
    """`--xlsx --out sheet.csv` is a mistake either way: refuse rather than guess."""
    suffix = out.suffix.lower().lstrip(".")
    named = _SUFFIX_FORMATS.get(suffix)
    if named is not None and named != fmt:
        raise InputError(f"--out {out.name} ends in .{suffix}, but the format asked for is {fmt}; nothing was "
                         "written", hint=f"name the file .{fmt}, or leave out the format flag to go by the name")


@report_app.command("cooccurrence")
def report_cooccurrence(ctx: typer.Context,
                        unit: str = typer.Option("segments", "--unit", help="segments or documents."),
                        codes: Optional[List[str]] = typer.Option(None, "--codes", help="Only these codes (each "
                                                                                        "with its sub-codes); "
                                                                                        "repeatable; a dimension "
                                                                                        "too)."),
                        case: Optional[List[str]] = CASE_OPT, code: Optional[List[str]] = CODE_OPT,
                        coder: Optional[List[str]] = CODER_FILTER,
                        transcript: Optional[List[str]] = TRANSCRIPT_FILTER, where: Optional[List[str]] = WHERE_OPT,
                        json_: bool = JSON, csv_: bool = CSV, md: bool = MD):
    """Code × code: how many segments (or transcripts) carry both codes. A code counts its
    sub-codes too (and is not paired with them), so a pair's count is the same with or
    without --codes."""
    from coder import project
    from coder.reports import cooccurrence

    store = _store(ctx)
    selection = _selection(store, case=case, code=code, coder=coder, transcript=transcript, where=where)
    resolved = tuple(dict.fromkeys(project.resolve(store, c, allow_dimension=True) for c in codes or []))
    pairs = cooccurrence(store, unit=unit, codes=resolved, selection=selection)
    fmt = _format(json_, csv_, md)
    from coder.render import print_records

    print_records(_env(), pairs, fmt, title=f"Codes on the same {unit[:-1]}", empty="no two codes co-occur")


@report_app.command("matrix")
def report_matrix(ctx: typer.Context,
                  rows: str = typer.Option("cases", "--rows", help="codes, cases, dimensions or an attribute."),
                  cols: str = typer.Option("codes", "--cols", help="codes, cases, dimensions or an attribute."),
                  unit: str = typer.Option("segments", "--unit", help="segments, documents, informants or words."),
                  with_quotes: bool = typer.Option(False, "--quotes", help="Put the quotes behind each cell in it "
                                                                           "(framework matrix)."),
                  case: Optional[List[str]] = CASE_OPT, code: Optional[List[str]] = CODE_OPT,
                  coder: Optional[List[str]] = CODER_FILTER, transcript: Optional[List[str]] = TRANSCRIPT_FILTER,
                  where: Optional[List[str]] = WHERE_OPT,
                  pseudonymise: bool = PSEUDO_OPT,
                  json_: bool = JSON, csv_: bool = CSV, md: bool = MD, excel: bool = EXCEL,
                  delimiter: Optional[str] = DELIMITER,
                  html: bool = typer.Option(False, "--html", help="Write an HTML page."),
                  out: Optional[Path] = typer.Option(None, "--out", help="Write to this file."),
                  force: bool = FORCE):
    """Matrix coding query: e.g. one row per case office, one column per code; each cell
    counts the units coded, and with --quotes lists what was said."""
    from coder import matrix_view
    from coder.reports import QuoteFilter, matrix

    store = _store(ctx)
    filters = QuoteFilter(selection=_selection(store, case=case, code=code, coder=coder, transcript=transcript,
                                               where=where))
    result = matrix(store, rows=rows, cols=cols, unit=unit, with_quotes=with_quotes, quote_filter=filters)
    named = (rows, cols)  # an axis may be an attribute, named after anything
    if pseudonymise:
        from coder import pseudonym

        hide = pseudonym.build(store)
        result = matrix_view.pseudonymise(result, hide)
        named = tuple(map(hide.replace_text, named))
    dialect = _csv_dialect(excel, delimiter)
    fmt = _format(json_, csv_ or dialect is not None, md, html=html, csv_flag=_csv_flag(csv_, excel, delimiter)) or (
        _format_from_suffix(out) if out and not _is_stdout(out) else None)
    if fmt not in (None, "json", "csv", "md", "html"):
        raise InputError(f"a matrix can be written as json, csv, md or html, not {fmt}")
    if fmt is None:
        matrix_view.print_table(_env(), result, rows=named[0], cols=named[1], unit=unit)
        return
    content = matrix_view.render(result, fmt, title=f"{named[0]} × {named[1]} ({unit})")
    if fmt == "csv":
        content = _csv_text(content, dialect)
    if out is None and fmt == "html":
        from coder import export

        out = Path("exports") / f"{export.safe_filename('matrix', *named)}.html"
    _emit(content, out, force=force, what="matrix", fmt=fmt, db=_db_path(ctx))


@report_app.command("memos")
def report_memos(ctx: typer.Context,
                 target_type: Optional[str] = typer.Option(None, "--type", help="project, transcript, code or coding."),
                 case: Optional[List[str]] = CASE_OPT, code: Optional[List[str]] = CODE_OPT,
                 coder: Optional[List[str]] = CODER_FILTER, transcript: Optional[List[str]] = TRANSCRIPT_FILTER,
                 where: Optional[List[str]] = WHERE_OPT,
                 pseudonymise: bool = PSEUDO_OPT,
                 json_: bool = JSON, csv_: bool = CSV, md: bool = MD,
                 out: Optional[Path] = typer.Option(None, "--out", help="Write to this file."), force: bool = FORCE):
    """Every memo (on the project, transcripts, codes and codings) with where it belongs.
    Filters keep the memos on their transcripts, codes and codings (by their coders); a
    project memo shows only without filters."""
    from coder.reports import memo_order, memos

    store = _store(ctx)
    selection = _selection(store, case=case, code=code, coder=coder, transcript=transcript, where=where)
    records = memos(store, target_type=target_type, selection=selection)
    if pseudonymise:
        from coder import pseudonym

        hide = pseudonym.build(store)
        records = sorted((pseudonym.hide_memo(r, hide) for r in records), key=memo_order)
    fmt = _format(json_, csv_, md) or (_format_from_suffix(out) if out and not _is_stdout(out) else None)
    if out is not None and not _is_stdout(out):
        from coder.render import dumps_csv, dumps_json, dumps_markdown

        writer = {"json": dumps_json, "csv": dumps_csv, "md": dumps_markdown}.get(fmt)
        if writer is None:
            raise InputError(f"memos can be written as json, csv or md, not {fmt}")
        _emit(writer(records), out, force=force, what=f"{len(records)} memo(s)", fmt=fmt, db=_db_path(ctx))
        return
    from coder.render import print_records

    print_records(_env(), records, fmt, columns=["type", "target", "author", "text", "created_at"],
                  empty="no memos yet: add one with `coder memo add`")


# -- memos, data exports, the codebook as a document ----------------------------------------

@memo_app.command("add")
def memo_add(ctx: typer.Context, text: str = typer.Argument(..., help="The memo."),
             transcript: Optional[str] = typer.Option(None, "--transcript", help="Attach to this transcript."),
             code: Optional[str] = typer.Option(None, "--code", help="Attach to this code."),
             coding: Optional[str] = typer.Option(None, "--coding", help="Attach to this coding (id or its start)."),
             author: Optional[str] = typer.Option(None, "--author", help="Who wrote it (default: your coder name).")):
    """Write a memo; without --transcript/--code/--coding it is a project memo."""
    from coder import project

    target = project.add_memo(_store(ctx), text, transcript=transcript, code=code, coding=coding,
                              author=_coder_name(author))
    _env().err(f"memo added to {target}")


@memo_app.command("list")
def memo_list(ctx: typer.Context,
              target_type: Optional[str] = typer.Option(None, "--type", help="project, transcript, code or coding."),
              json_: bool = JSON, csv_: bool = CSV, md: bool = MD):
    """List memos (the same as `coder report memos`)."""
    report_memos(ctx, target_type=target_type, case=None, code=None, coder=None, transcript=None, where=None,
                 pseudonymise=False, json_=json_, csv_=csv_, md=md, out=None, force=False)


@export_app.command("segments")
def export_segments(ctx: typer.Context, csv_: bool = CSV, excel: bool = EXCEL,
                    delimiter: Optional[str] = DELIMITER,
                    xlsx: bool = typer.Option(False, "--xlsx", help="Write an Excel workbook."),
                    out: Optional[Path] = typer.Option(None, "--out", help="Write to this file (default for "
                                                                           "--xlsx: exports/segments.xlsx)."),
                    case: Optional[List[str]] = CASE_OPT, code: Optional[List[str]] = CODE_OPT,
                    coder: Optional[List[str]] = CODER_FILTER, transcript: Optional[List[str]] = TRANSCRIPT_FILTER,
                    where: Optional[List[str]] = WHERE_OPT,
                    pseudonymise: bool = PSEUDO_OPT, force: bool = FORCE):
    """One row per segment (transcript, case, informant, role, turn, text, attributes) and a
    0/1 column per code, for mixed-methods analysis in R, Stata or pandas. Filters keep the
    segments of their transcripts, the columns of their codes, the codings of their coders."""
    from coder import export
    from coder.reports import segment_dataset

    separator, bom = _csv_dialect(excel, delimiter) or (",", "")
    if xlsx and (excel or delimiter):
        raise InputError("--excel and --delimiter are for CSV, not --xlsx")
    store = _store(ctx)
    selection = _selection(store, case=case, code=code, coder=coder, transcript=transcript, where=where)
    header, rows = segment_dataset(store, selection)
    if pseudonymise:
        from coder import pseudonym

        hide = pseudonym.build(store)
        header = [hide.replace_text(h) for h in header]
        rows = ([hide.transcript_id(row[0]), *map(hide.value, row[1:])] for row in rows)
    written = [0]

    def counted(rows):
        for row in rows:
            written[0] += 1
            yield row

    if xlsx:
        content = export.table_to_xlsx(header, counted(rows), title="Segments")
        out = out or Path("exports") / "segments.xlsx"
    else:  # row by row to stdout or the file: the segments of a whole corpus are never held at once
        content = lambda stream: export.write_table_csv(header, counted(rows), stream,  # noqa: E731
                                                        delimiter=separator, prefix=bom)
    _emit(content, out, force=force, what=lambda: f"{written[0]} segment(s)", fmt="xlsx" if xlsx else "csv",
          db=_db_path(ctx))


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

    store = _store(ctx)
    rows = codebook_rows(store)
    if not rows:
        raise InputError("the project has no codebook", hint="load one with `coder codebook load FILE`")
    name = store.scalar("SELECT name FROM codebook_versions ORDER BY id DESC LIMIT 1") or "Codebook"
    if docx:
        content = export.codebook_to_docx(name, rows)
        out = out or Path("exports") / "codebook.docx"
    elif csv_:
        content = export.codebook_to_csv(rows, name=name, dimensions=codebook_dimensions(store))
    else:
        content = export.codebook_to_markdown(name, rows)
    _emit(content, out, force=force, what=f"{len(rows)} code(s)", fmt="docx" if docx else "csv" if csv_ else "md",
          db=_db_path(ctx))


# -- names --------------------------------------------------------------------------------

@names_app.command("add")
def names_add(ctx: typer.Context, name: str = typer.Argument(..., help='A name to hide, e.g. "Kari Nordmann".'),
              alias: str = typer.Option(..., "--as", help='What to show instead, e.g. "Leder A".'),
              kind: str = typer.Option("person", "--kind", help="person or place.")):
    """Add a name that pseudonymised exports replace (in quotes and attributions)."""
    from coder import project

    project.add_name(_store(ctx), name, alias, kind)
    _env().err(f"{name!r} will be shown as {alias!r} in pseudonymised exports")


@names_app.command("list")
def names_list(ctx: typer.Context, json_: bool = JSON, csv_: bool = CSV, md: bool = MD):
    """The pseudonym mapping (informants get Informant A, B, ... automatically)."""
    from coder import pseudonym
    from coder.render import print_records

    store = _store(ctx)
    records = [{"name": r["name"], "alias": r["alias"], "kind": r["kind"]}
               for r in store.query("SELECT name, alias, kind FROM names ORDER BY name")]
    listed = {r["name"] for r in records}
    records += [{"name": n, "alias": a, "kind": "informant"} for n, a in pseudonym.informant_aliases(store).items()
                if n not in listed]
    print_records(_env(), records, _format(json_, csv_, md), empty="no names")


# -- verify -------------------------------------------------------------------------------

@app.command()
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


# Later capabilities keep their commands in their own modules; each registers on `app`.
from coder import commands_session, commands_safety, commands_refi  # noqa: E402,F401
from coder import commands_coders  # noqa: E402,F401
from coder import commands_merge  # noqa: E402,F401


def main() -> None:
    """Entry point: run the app; the group turns errors into exit codes."""
    try:
        app(prog_name="coder")
    except KeyboardInterrupt:
        _err("interrupted")
        sys.exit(130)
