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

