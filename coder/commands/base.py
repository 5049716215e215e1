"""What every command shares: the `coder` app and its sub-apps, the options that several
commands take, the typed context made once per run (`AppContext`: the database path and the
terminal), and the error handling that turns a `CoderError` into one line on stderr and its
exit code (0 ok, 1 partly failed, 2 bad input) in `CoderGroup.invoke`.

The commands themselves live in this package, one module per noun (project, codebook, cases,
code, report, notes, export, verify, session, search, backup, refi, coders); `coder.cli`
registers them all. A command parses options, calls one library function and prints the
result: no SQL and no file parsing here.
"""
from __future__ import annotations

import json
import os
import shlex
import sqlite3
import sys
from pathlib import Path
from collections.abc import MutableMapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Optional

import typer
from typer.core import TyperCommand, TyperGroup
from typer.main import get_command_from_info, get_command_name
from typer.models import CommandInfo

try:  # the click typer parses with: its own copy in newer typers, else click itself
    from typer.core import _click
except ImportError:  # pragma: no cover
    import click as _click
NoSuchOption, UsageError = _click.exceptions.NoSuchOption, _click.exceptions.UsageError

from coder.errors import CoderError, ExitStatus, InputError

if TYPE_CHECKING:
    from coder.render import Env

INTERNAL_ERROR = 70  # EX_SOFTWARE: distinct from the contract's 0/1/2 so a bug is never mistaken for them
ENV_HELP = "Project database (a SQLite file). Default: $CODER_DB, else ./coder.db."


def _usage_error(exc: UsageError) -> None:
    """A usage error as one `error:` line (click prints a block of four), with a "did you
    mean" about the word typed, and where the help is; exit 2, as click does."""
    import difflib

    ctx = exc.ctx
    command = " ".join(["coder", *ctx.command_path.split()[1:]]) if ctx is not None else "coder"
    message = exc.format_message().rstrip(".")
    typed, choices = None, []
    if isinstance(exc, NoSuchOption) and ctx is not None:
        typed = exc.option_name
        choices = [name for param in ctx.command.params for name in (*param.opts, *param.secondary_opts)]
        message = f"no such option {typed}"
    elif message.startswith("No such command") and ctx is not None and hasattr(ctx.command, "list_commands"):
        typed = message.split("'")[1] if message.count("'") >= 2 else None
        choices = ctx.command.list_commands(ctx)
        message = f"no such command '{typed}'"
    # compared without the dashes, which every option shares: --bogus is not "close" to --out
    bare = {choice.lstrip("-"): choice for choice in choices}
    close = difflib.get_close_matches(typed.lstrip("-"), list(bare), n=1, cutoff=0.6) if typed else []
    hint = f"did you mean {bare[close[0]]}? " if close else ""
    _err(f"error: {message}; {hint}see `{command} -h`")
    sys.exit(2)


class CoderGroup(TyperGroup):
    """Turns every CoderError (and Ctrl-C) into one line on stderr and an exit code; its
    commands are made when first asked for (LazyCommands)."""

    typer_app: Optional["CoderTyper"] = None  # the app this group is made from (set by CoderTyper)

    def __init__(self, *args, commands=None, **kwargs):
        app_ = self.typer_app
        pending = app_.pending if app_ is not None else {}
        short = app_.pretty_exceptions_short if app_ is not None else True
        markup = kwargs.get("rich_markup_mode")
        commands = LazyCommands(pending, commands or {}, lambda info: get_command_from_info(
            info, pretty_exceptions_short=short, rich_markup_mode=markup))
        super().__init__(*args, commands=commands, **kwargs)
        _man_page_params(self.params)

    def list_commands(self, ctx: typer.Context) -> list[str]:
        return list(self.commands)  # the names, in the order registered, without making the commands

    def format_commands(self, ctx: typer.Context, formatter) -> None:
        """Each command with its first sentence, whole (wrapped, never cut)."""
        rows = [(name, summary(command)) for name in self.list_commands(ctx)
                if (command := self.commands.described(name)) is not None and not command.hidden]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        if not args and not ctx.resilient_parsing:  # bare `coder` (or `coder report`): the help, as pip does
            typer.echo(ctx.get_help())
            ctx.exit(0)
        if ctx.parent is None:  # the whole command line, once
            from coder.text import is_text

            ctx.meta["coder.not_text"] = next((arg for arg in args if not is_text(arg)), None)
        try:
            return super().parse_args(ctx, args)
        except UsageError as exc:  # `coder --bogus`
            _usage_error(exc)

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
        except UsageError as exc:  # a sub-command's options or arguments, as click parsed them
            _usage_error(exc)
        except KeyboardInterrupt:
            command = shlex.join(sys.argv[1:]) or "the command"
            _err(f"interrupted: `coder {command}` stopped before finishing; nothing from it was saved and earlier "
                 f"work is intact; run it again to finish (it skips what is already there)")
            ctx.exit(130)
        except sqlite3.Error as exc:
            from coder.sqlite_guard import explain

            db = ctx.obj.db if isinstance(ctx.obj, AppContext) else None
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
            _edited_outside(ctx, ctx.obj.db if isinstance(ctx.obj, AppContext) else None)
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
    from coder.store.integrity import edited_outside

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


@dataclass
class AppContext:
    """What one run of coder knows before its command starts, made once in `_main` and kept
    as the root context's `obj`: the project database and the terminal every command prints
    through (render.Env: stdout, stderr, colour, width), so tests need no monkey-patching."""

    db: Path
    env: "Env" = field(repr=False)


# The run's context for helpers called without the click context (`_env()`); set by `_main`
# for the length of one command, so a library embedding coder (or a test) never sees another
# run's streams.
_CURRENT: ContextVar[Optional[AppContext]] = ContextVar("coder_app_context", default=None)


# -- help pages ---------------------------------------------------------------------------
# `--help` reads as a man page: placeholders name what goes there (TRANSCRIPT, CODE, FILE, N),
# never a type (`<str>`, `{paths}`); the list of commands gives each one's first sentence,
# whole; the main commands end with examples (their `epilog`, one command line a line).

# A parameter's placeholder by its name, where the name alone is not the word (else the
# name, upper-cased; a number is N). The same names complete from the open project.
METAVARS = {"paths": "PATH", "values": "KEY=VALUE", "codes": "CODE", "out": "FILE", "codebook": "FILE",
            "where": "KEY=VALUE", "coding": "ID", "author": "NAME", "as": "ALIAS", "memo": "TEXT",
            "threshold": "SCORE", "text_columns": "COLUMN", "from": "CODER", "into": "CODER",
            "skip_speaker": "SPEAKER", "by": "ATTRIBUTE", "manuscript": "FILE", "directory": "FOLDER",
            "limit_per_code": "N", "context": "N"}


def _placeholder(param) -> str:
    name = param.name or ""
    if param.param_type_name == "option":
        name = next((opt.lstrip("-").replace("-", "_") for opt in param.opts if opt.startswith("--")), name)
    word = METAVARS.get(name)
    if word is None:
        numeric = isinstance(param.type, (_click.types.IntParamType, _click.types.FloatParamType))
        word = "N" if numeric else name.upper()
    return word + ("..." if param.nargs == -1 and param.param_type_name == "argument" else "")


def _man_page_params(params) -> None:
    """Give every parameter without a placeholder of its own the one its name calls for, and
    the names of the open project to complete (coder/completion.py)."""
    from coder.completion import ProjectNames

    for param in params:
        if getattr(param, "is_flag", False) or getattr(param, "is_bool_flag", False):
            continue
        if param.metavar is None and not isinstance(param.type, Choices):
            param.metavar = _placeholder(param)
        if type(param.type) is _click.types.StringParamType:
            noun = ProjectNames.noun_for(param.metavar)
            if noun is not None:
                param.type = ProjectNames(noun)


class Choices(_click.types.StringParamType):
    """An option's fixed values, listed in its help ([a|b|c]) and completed by the shell. The
    command checks the value itself, with a "did you mean"; some options also take a name
    (`--rows` an attribute), so any text passes here."""

    def __init__(self, *choices: str):
        self.choices = choices

    def get_metavar(self, param, ctx=None) -> str:
        return "[" + "|".join(self.choices) + "]"

    def shell_complete(self, ctx, param, incomplete: str):
        return [_click.shell_completion.CompletionItem(c) for c in self.choices if c.startswith(incomplete)]


UNITS = Choices("segments", "documents", "informants", "words")  # what a report counts
MEMO_TYPES = Choices("project", "transcript", "code", "coding")  # what a memo is on


class CoderCommand(TyperCommand):
    """A command whose help reads as a man page (see above)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _man_page_params(self.params)

    def collect_usage_pieces(self, ctx: typer.Context) -> list[str]:
        # TRANSCRIPT, not typer's {TRANSCRIPT}; an optional argument in brackets
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name == "argument":
                pieces.append(param.metavar if param.required else f"[{param.metavar}]")
        return pieces

    def format_epilog(self, ctx: typer.Context, formatter) -> None:
        """The examples, one command line a line, as typed (not re-wrapped)."""
        if self.epilog:
            import inspect

            with formatter.section("Examples"):
                for line in inspect.cleandoc(self.epilog).splitlines():
                    formatter.write(f"{'':>{formatter.current_indent}}{line}\n")


def summary(command) -> str:
    """What `coder --help` lists for a command: its short_help, else the first sentence of
    its help, whole (click cuts it to the width, mid-sentence)."""
    if command.short_help:
        return command.short_help
    import inspect

    text = " ".join(inspect.cleandoc(command.help or "").partition("\n\n")[0].split())
    depth = 0
    for i, char in enumerate(text):
        depth += (char in "([") - (char in ")]")
        if char != "." or depth or text[i + 1:i + 2] not in ("", " "):
            continue
        if text[i - 1:i] == "." or text[:i + 1].endswith(("e.g.", "i.e.")):  # "A, B, ..." and "e.g." go on
            continue
        return text[:i + 1]
    return text


class LazyCommands(MutableMapping):
    """A group's commands by name, in the order registered, each made into a click command the
    first time it is asked for. typer makes every command of the app at each start (reading
    each function's signature and type hints), which was a third of the start-up of a
    command; so `coder init` makes one command, and `coder --help` none: its list needs only
    names and help texts (`described`)."""

    def __init__(self, pending: dict[str, CommandInfo], made: dict, make):
        self._entries: dict = {**pending, **made}  # as typer orders them: commands, then groups
        self._make = make

    def __getitem__(self, name: str):
        entry = self._entries[name]
        if isinstance(entry, CommandInfo):
            entry = self._entries[name] = self._make(entry)
        return entry

    def __setitem__(self, name: str, command) -> None:
        self._entries[name] = command

    def __delitem__(self, name: str) -> None:
        del self._entries[name]

    def __iter__(self):
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def described(self, name: str):
        """The command, or what its help says of it (short_help, help, hidden) as typer would
        make it, without making it; None for no such command."""
        entry = self._entries.get(name)
        if not isinstance(entry, CommandInfo):
            return entry
        import inspect
        from types import SimpleNamespace

        text = inspect.getdoc(entry.callback) if entry.help is None else inspect.cleandoc(entry.help)
        return SimpleNamespace(short_help=entry.short_help, help=text, hidden=entry.hidden)


class CoderTyper(typer.Typer):
    """typer's app, whose commands are CoderCommands (man-page help), kept aside as registered
    (`pending`) for its groups to make when asked for (LazyCommands)."""

    def __init__(self, *, cls=None, **kwargs):
        self.pending: dict[str, CommandInfo] = {}
        group = cls or CoderGroup
        super().__init__(cls=type(group.__name__, (group,), {"typer_app": self, "__module__": group.__module__}),
                         **kwargs)

    def command(self, *args, cls=None, **kwargs):
        register = super().command(*args, cls=cls or CoderCommand, **kwargs)

        def decorator(function):
            register(function)
            info = self.registered_commands.pop()  # typer would make it at every start
            self.pending[info.name or get_command_name(function.__name__)] = info
            return function

        return decorator


def _typer(help_text: str, short_help: str | None = None, completion: bool = False) -> typer.Typer:
    return CoderTyper(cls=CoderGroup, help=help_text, short_help=short_help, no_args_is_help=True,
                      add_completion=completion,
                      pretty_exceptions_enable=False, rich_markup_mode=None,
                      context_settings={"help_option_names": ["-h", "--help"]})


app = _typer("Code interview transcripts against a codebook: import, code, count, and export quote sheets.",
             completion=True)
codebook_app = _typer("Load, check, show and change the codebook (codes grouped in dimensions): rename, move, "
                      "merge, split, delete.")
cases_app = _typer("Case offices and their attributes (population, leadership model, ...).",
                   short_help="Case offices and their attributes.")
code_app = _typer("Add, list and remove codings.")
report_app = _typer("Code frequencies and quote sheets.")
names_app = _typer("Names to hide in pseudonymised exports.")
memo_app = _typer("Memos on the project, a transcript, a code or a coding.")
export_app = _typer("Data exports for other tools (R, Stata, pandas, spreadsheets, REFI-QDA for NVivo, ATLAS.ti, "
                    "MAXQDA, QualCoder).", short_help="Data for other tools: R, Stata, pandas, spreadsheets, "
                                                      "REFI-QDA.")
app.add_typer(codebook_app, name="codebook")
app.add_typer(cases_app, name="cases")
app.add_typer(code_app, name="code")
app.add_typer(report_app, name="report")
app.add_typer(names_app, name="names")
app.add_typer(memo_app, name="memo")
app.add_typer(export_app, name="export")


def _show_version(value: bool) -> None:
    """--version: answered before anything else is parsed (click would ask for a command first)."""
    if value:
        from coder import __version__

        typer.echo(f"coder {__version__}")
        raise typer.Exit()


@app.callback()
def _main(ctx: typer.Context,
          db: Optional[Path] = typer.Option(None, "--db", help=ENV_HELP, metavar="PATH"),
          version: bool = typer.Option(False, "--version", help="Show the version and exit.", is_eager=True,
                                       callback=_show_version),
          wide: bool = typer.Option(False, "--wide", help="Print tables as wide as their cells, not fitted to the "
                                                         "terminal's width.")):
    from coder.render import Env
    from coder.store import default_db_path

    ctx.obj = AppContext(db=db or default_db_path(), env=Env(wide=wide))
    token = _CURRENT.set(ctx.obj)
    ctx.call_on_close(lambda: _CURRENT.reset(token))


# -- helpers ------------------------------------------------------------------------------

def _env() -> "Env":
    """The terminal of the command being run (one per run), or a new one outside a run."""
    current = _CURRENT.get()
    if current is not None:
        return current.env
    from coder.render import Env

    return Env()


def _db_path(ctx: typer.Context) -> Path:
    root = ctx.find_root()
    return root.obj.db if isinstance(root.obj, AppContext) else Path("coder.db")


def _store(ctx: typer.Context):
    """The project database, closed when the command ends (so nothing keeps it open after,
    even when coder runs inside another program, as in the tests)."""
    from coder.store import Store

    store = Store.open(_db_path(ctx), backup=_backup_before, notify=_env().err)
    ctx.call_on_close(store.close)
    return store


def _backup_before(store, action: str, **kwargs):
    """coder/backup.py's backup_before, loaded when a migration calls it (a rare run), not at
    every start."""
    from coder.backup import backup_before

    return backup_before(store, action, **kwargs)


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
MD_DOC = typer.Option(False, "--md", help="Print a Markdown document (headings and lists, as the other formats lay "
                                          "it out).")
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


PSEUDO_OPT = typer.Option(False, "--pseudonymise", help="Replace informants' and listed names with aliases.")


# -- writing a command's output -------------------------------------------------------------

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
        binary = getattr(content, "binary", False)  # written by a function into a file first (a zip seeks)
        if isinstance(content, bytes) or binary:
            buffer = getattr(env.stdout, "buffer", None)
            if out is None or buffer is None or env.stdout_isatty:
                raise InputError("this format is binary", hint="give --out FILE (or --out - into a pipe)")
            env.stdout.flush()
            if binary:
                import shutil
                import tempfile

                with tempfile.TemporaryFile() as written:
                    content(written)
                    written.seek(0)
                    shutil.copyfileobj(written, buffer, 1 << 20)
            else:
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
