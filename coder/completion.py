"""Shell completion: the values a TRANSCRIPT, CODE, CASE, CODER, DIMENSION or ATTRIBUTE (a
case or transcript attribute: `--by`, `--rows`, `--cols`, the key of `--where`) can take, read
from the open project as the user presses Tab.

The shell runs `coder` once per Tab press (bash, zsh and fish alike, with `_CODER_COMPLETE`
set; `coder --show-completion SHELL` prints the script that does it), so this path must be
quick: it opens the database read-only, waits for no writer, imports neither rich nor YAML,
and answers nothing rather than an error (no project here, a damaged file): a shell prints
whatever a completion says.
"""
from __future__ import annotations

from pathlib import Path

try:  # the click typer parses with: its own copy in newer typers, else click itself
    from typer.core import _click
except ImportError:  # pragma: no cover
    import click as _click

# the placeholder (coder/commands/base.py's METAVARS) -> what completes it
NOUNS = {"TRANSCRIPT": "transcripts", "CODE": "codes", "CASE": "cases", "CODER": "coders",
         "DIMENSION": "dimensions", "ATTRIBUTE": "attributes", "ROWS": "axes", "COLS": "axes",
         "KEY=VALUE": "conditions"}
AXES = ("codes", "cases", "dimensions")  # what `report matrix --rows/--cols` take besides an attribute


def project_names(db: Path, noun: str) -> list[str]:
    """The names of one kind in the project at `db`, in the project's order; [] when there is
    no readable project there."""
    from coder.store import Store
    from coder.store import cases, codebook, transcripts
    from coder.store import codings as coding_rows

    try:
        store = Store.open_for_reading(db, busy_seconds=0.2)
    except Exception:  # completion says nothing rather than an error in the middle of a command line
        return []
    try:
        if noun == "transcripts":
            return transcripts.names_in_import_order(store)
        if noun == "cases":
            return cases.names(store)
        if noun == "coders":
            return sorted(coding_rows.coder_names(store))
        if noun == "dimensions":
            return [row["id"] for row in codebook.dimensions(store)]
        if noun in ("attributes", "axes", "conditions"):
            from coder.selection import TRANSCRIPT_FIELDS

            keys = sorted(set(transcripts.attribute_keys(store)) | set(TRANSCRIPT_FIELDS) - {"transcript"})
            if noun == "conditions":  # --where KEY=VALUE: the key, then the value is the user's
                return [f"{key}=" for key in keys]
            return [*AXES, *keys] if noun == "axes" else keys
        paths = [row["path"] for row in codebook.current_codes(store)]
        last = [path.rsplit(".", 1)[-1] for path in paths]
        unique = [part for part in dict.fromkeys(last) if last.count(part) == 1 and part not in paths]
        return [*(row["id"] for row in codebook.dimensions(store)), *paths, *unique]
    except Exception:
        return []
    finally:
        store.close()


class ProjectNames(_click.types.StringParamType):
    """Text, completed in the shell from the names of one kind in the open project."""

    def __init__(self, noun: str):
        self.noun = noun

    @staticmethod
    def noun_for(metavar: str | None) -> str | None:
        return NOUNS.get((metavar or "").rstrip("."))

    def shell_complete(self, ctx, param, incomplete: str):
        from coder.store import default_db_path

        root = ctx.find_root()
        db = root.params.get("db") or default_db_path()
        return [_click.shell_completion.CompletionItem(name)
                for name in project_names(Path(db), self.noun) if name.startswith(incomplete)]
