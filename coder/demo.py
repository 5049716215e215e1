"""`coder demo`: a complete project from the shipped codebook, cases, transcripts and codings."""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from coder import codebook_load, export
from coder.backup import backup_before
from coder.cases import import_cases
from coder.codebook import load_codebook
from coder.coding import apply_codings
from coder.errors import CoderError
from coder.importing import import_transcripts
from coder.store import Store, holds_anything, meta_value, set_meta
from coder.store import codings as codings_store

CODEBOOK = Path("codebooks/nav_partnership.yaml")
CASES = Path("codebooks/nav_pilot_offices.yaml")
TRANSCRIPTS = Path("transcripts/demo")
CODINGS = Path("transcripts/demo_codings.csv")


@dataclass(frozen=True)
class DemoResult:
    db: Path
    sheet: Path
    transcripts: int
    codings: int


def data_root() -> Path:
    """The repository checkout when run from one, else the files a `pip install` put in share/."""
    for root in (Path(__file__).resolve().parent.parent, Path(sys.prefix) / "share" / "coder"):
        if (root / CODEBOOK).is_file() and (root / TRANSCRIPTS).is_dir():
            return root
    raise CoderError("the demo files are missing (codebooks/, transcripts/demo/)",
                     hint="run from a clone of the coder repository")


DEMO_MARK = "demo_project"  # meta key: this database was made by `coder demo`, which may rebuild it


def _refuse_other_project(store: Store, *, close: bool = False) -> None:
    """`coder demo` loads a codebook, cases and transcripts over whatever the database holds:
    it only ever writes into a new database or one it made itself, never into a user's project."""
    mine = meta_value(store, DEMO_MARK)
    used = holds_anything(store)
    if close:
        store.close()
    if used and not mine:
        raise CoderError("this is a project that `coder demo` did not make; the demo never writes into it "
                         "(nothing was changed)", path=str(store.path),
                         hint="give the demo an empty folder: coder demo my-demo/")


def build(db_path: Path, directory: Path, *, fmt: str = "md", log: Callable[[str], None] = lambda _: None) -> DemoResult:
    root = data_root()
    if fmt not in export.FORMATS:
        raise CoderError(f"unknown format '{fmt}'", hint=f"use one of {', '.join(export.FORMATS)}")
    if db_path.exists() and db_path.stat().st_size:  # before anything is made: the folder too
        _refuse_other_project(Store.open(db_path, backup=backup_before, notify=log), close=True)
    directory.mkdir(parents=True, exist_ok=True)
    store = Store.create(db_path, backup=backup_before, notify=log)
    try:
        _refuse_other_project(store)
        with store.transaction():
            set_meta(store, DEMO_MARK, "1")
    except BaseException:
        store.close()
        raise
    loaded = codebook_load.load_codebook(store, load_codebook(root / CODEBOOK))
    log(f"codebook: {loaded.status}, {loaded.codes} codes")
    cases = import_cases(store, root / CASES)
    log(f"cases: {cases.total} case offices")
    results = import_transcripts(store, [root / TRANSCRIPTS])
    log("transcripts: " + ", ".join(f"{sum(1 for r in results if r.status == s)} {s}"
                                    for s in ("imported", "updated", "unchanged", "error")
                                    if any(r.status == s for r in results)))
    codings = apply_codings(store, root / CODINGS, coder="demo", threshold=85.0)
    coded = sum(1 for r in codings if r.status == "coded")
    log(f"codings: {coded} new, {sum(1 for r in codings if r.status == 'duplicate')} already there")
    failed = [r for r in codings if r.status not in ("coded", "duplicate")]
    for r in failed:
        log(f"warning: {CODINGS} row {r.row}: {r.status}: {r.message}")
    from coder.reports import merge_passages, quotes

    sheet = export.Sheet(title="NAV partnership — quotes by case office", quotes=merge_passages(quotes(store)))
    out = export.write_file(directory / "exports" / f"demo_quotes.{fmt}", export.render(sheet, fmt), force=True,
                            db=db_path)
    total = codings_store.count_ok(store)
    store.close()
    return DemoResult(db_path, out, len(results), total)
