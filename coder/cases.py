"""Cases and their attributes: setting them from the command line, importing them from a
cases file (read in coder/ingest.py). Nothing here prints."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from coder.errors import InputError
from coder.ingest import finite_or_text, read_case_rows
from coder.store import Store
from coder.store import cases as case_rows

RESERVED_CASE_KEYS = ("case", "transcripts", "segments")


def set_case_attributes(store: Store, case: str, values: dict[str, object]) -> dict:
    values = {key: finite_or_text(value) for key, value in values.items()}
    for key in values:
        if not key or key in RESERVED_CASE_KEYS:
            raise InputError(f"'{key}' cannot be a case attribute name", hint="choose another name")
    with store.transaction():
        attributes = _merge_case(store, case, values)
        store.audit("cases.set", case=case, values=values)
    return attributes


def _merge_case(store: Store, case: str, values: dict) -> dict:
    store.ensure_case(case)
    current = case_rows.attributes(store, case)
    current.update({key: finite_or_text(value) for key, value in values.items()})
    case_rows.set_attributes(store, case, current)
    return current


@dataclass(frozen=True)
class CasesImport:
    new: tuple[str, ...]  # cases the project did not have
    updated: tuple[str, ...]  # cases whose attributes changed
    unchanged: tuple[str, ...]  # cases that already had every value the file gives

    @property
    def total(self) -> int:
        return len(self.new) + len(self.updated) + len(self.unchanged)


def import_cases(store: Store, path: Path) -> CasesImport:
    rows = read_case_rows(path)
    with store.transaction():
        before = case_rows.all_attributes(store)
        touched: dict[str, None] = {}
        for case, values in rows:
            _merge_case(store, case, values)
            touched[case] = None
        after = case_rows.all_attributes(store)
        result = CasesImport(
            new=tuple(c for c in touched if c not in before),
            updated=tuple(c for c in touched if c in before and before[c] != after[c]),
            unchanged=tuple(c for c in touched if c in before and before[c] == after[c]))
        store.audit("cases.import", source=str(path), cases=result.total, new=len(result.new),
                    updated=len(result.updated))
    return result



# -- renaming and removing (`coder cases rename/remove`) ------------------------------------------

def _require_case(store: Store, case: str) -> str:
    names = case_rows.names(store)
    if case in names:
        return case
    from coder.codebook import _closest

    close = _closest(case, names) if names else []
    hint = f"did you mean {' or '.join(repr(c) for c in close)}?" if close else "see `coder cases list`"
    raise InputError(f"unknown case '{case}'", hint=hint)


@dataclass(frozen=True)
class CaseRenamed:
    old: str
    new: str
    transcripts: tuple[str, ...]


def rename_case(store: Store, old: str, new: str) -> CaseRenamed:
    """Rename a case; its transcripts, attributes and reports follow. A transcript whose front
    matter still names the old case is put in the new one when it is imported again."""
    new = new.strip()
    if not new:
        raise InputError("a case's name must not be empty")
    with store.transaction():
        old = _require_case(store, old)
        if new == old:
            raise InputError(f"case '{old}' is called that already; nothing was changed")
        if new in case_rows.names(store):
            raise InputError(f"there is a case '{new}' already; nothing was changed",
                             hint="choose another name (merging two cases is not a rename)")
        transcripts = tuple(case_rows.transcripts_of(store, old))
        case_rows.rename(store, old, new)
        store.audit("cases.rename", old=old, new=new, transcripts=len(transcripts), names=list(transcripts))
    return CaseRenamed(old, new, transcripts)


@dataclass(frozen=True)
class CaseRemoved:
    case: str
    attributes: dict
    transcripts: tuple[str, ...]  # now without a case


def remove_case(store: Store, case: str, *, force: bool = False) -> CaseRemoved:
    """Remove a case and its attributes. While transcripts belong to it, only with `force`:
    they are kept, without a case (reports show them under no case)."""
    from coder.backup import backup_before

    with store.transaction():
        case = _require_case(store, case)
        transcripts = tuple(case_rows.transcripts_of(store, case))
        if transcripts and not force:
            shown = ", ".join(transcripts[:5]) + (", …" if len(transcripts) > 5 else "")
            raise InputError(f"case '{case}' has {len(transcripts)} transcript(s) ({shown}); nothing was removed",
                             hint=f"give them another case first (front matter `case:` and `coder import`), or run "
                                  f"`coder cases remove {case} --force` to keep them without a case")
        attributes = case_rows.attributes(store, case)
        backup_before(store, f"cases remove {case}", when=bool(transcripts or attributes))
        case_rows.release(store, case)
        case_rows.remove(store, case)
        store.audit("cases.remove", case=case, attributes=attributes, transcripts=list(transcripts))
    return CaseRemoved(case, attributes, transcripts)
