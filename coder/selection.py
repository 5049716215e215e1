"""Which codings a report looks at: the filters every report and export takes, parsed once.

`--case`, `--code`, `--coder`, `--transcript` and `--where` mean the same on every report
(`report freq`, `quotes`, `matrix`, `cooccurrence`, `memos`, `export segments`): each may be
repeated and then means "any of these"; different filters must all hold. A code stands for
itself and its sub-codes, a dimension for all its codes. `--where` compares an attribute of
the transcript or its case: `key=value`, `key!=value`, `key=a,b` (any of them) and, for
numbers, `key>n`, `key>=n`, `key<n`, `key<=n`; repeated, every one must hold.

`resolve` checks what was typed against the project (unknown case, code, attribute: an error
with "did you mean"; a value no transcript has: a warning listing the values there are) and
gives a `Selection`. Reports turn it into what the store reads only through the functions
here: `transcript_ids` (case, transcript and --where filter transcripts) and `coding_filter`
(those transcripts, the codes and the coders: a coder/store/codings.py `CodingFilter`).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Callable, Iterable

from coder.errors import InputError
from coder.store import Store, cases as stored_cases, codebook as stored_codebook, codings as stored_codings
from coder.store import transcripts as stored_transcripts

OPERATORS = ("!=", ">=", "<=", "=", ">", "<")
NUMERIC = (">", ">=", "<", "<=")
# attribute, operator, value; the attribute may hold any character but the operators'
_WHERE = re.compile(r"^\s*(?P<key>[^=!<>]*?)\s*(?P<op>!=|>=|<=|=|>|<)\s*(?P<value>.*?)\s*$", re.S)
WHERE_HELP = "write key=value, key!=value, key=a,b or (numbers) key>n, key>=n, key<n, key<=n"
# Columns of the transcript itself; anything else is a transcript or case attribute.
TRANSCRIPT_FIELDS = ("case", "transcript", "informant", "role", "date")


@dataclass(frozen=True)
class Condition:
    """One --where: the attribute `key` compared by `op` with any of `values`."""
    key: str
    op: str
    values: tuple[str, ...]

    def holds(self, value) -> bool:
        if self.op in NUMERIC:
            number = _number(value)
            if number is None:
                return False
            limit = float(self.values[0])
            return {">": number > limit, ">=": number >= limit, "<": number < limit, "<=": number <= limit}[self.op]
        matches = _text(value).casefold() in {v.casefold() for v in self.values}
        return matches if self.op == "=" else not matches

    def __str__(self) -> str:
        return f"{self.key}{self.op}{','.join(self.values)}"


@dataclass(frozen=True)
class Selection:
    cases: tuple[str, ...] = ()  # stored spellings
    codes: tuple[str, ...] = ()  # code paths and dimension ids, each with what is under it
    coders: tuple[str, ...] = ()
    transcripts: tuple[str, ...] = ()
    where: tuple[Condition, ...] = ()

    @property
    def filters_transcripts(self) -> bool:
        return bool(self.cases or self.transcripts or self.where)

    @property
    def is_empty(self) -> bool:
        return not (self.filters_transcripts or self.codes or self.coders)


EVERYTHING = Selection()


def parse_where(text: str) -> Condition:
    """`--where` as typed, parsed strictly (a malformed one is an error naming --where)."""
    match = _WHERE.match(text)
    if not match or not match["key"] or not match["value"] or match["value"][0] in "=!<>":
        raise InputError(f"--where '{text}' is not a comparison", hint=WHERE_HELP)
    key, op, value = match["key"], match["op"], match["value"]
    if op in NUMERIC:
        if _number(value) is None:
            raise InputError(f"--where '{text}': '{value}' is not a number", hint=f"{op} compares numbers")
        return Condition(key, op, (value,))
    values = tuple(v.strip() for v in value.split(","))
    if not all(values):
        raise InputError(f"--where '{text}' has an empty value", hint=WHERE_HELP)
    return Condition(key, op, values)


def resolve(store: Store, *, cases: Iterable[str] = (), codes: Iterable[str] = (), coders: Iterable[str] = (),
            transcripts: Iterable[str] = (), where: Iterable[str] = (),
            warn: Callable[[str], None] | None = None) -> Selection:
    """A Selection from what was typed, each name checked against the project."""
    from coder import codebook_load
    from coder.transcripts import require_transcript

    conditions = tuple(parse_where(text) for text in where)
    case_names = tuple(dict.fromkeys(known_case(store, case) for case in cases))
    code_paths = tuple(dict.fromkeys(codebook_load.resolve(store, code, allow_dimension=True) for code in codes))
    transcript_names = tuple(dict.fromkeys(require_transcript(store, name).name for name in transcripts))
    if conditions:
        known = attribute_names(store) | set(TRANSCRIPT_FIELDS)
        for condition in conditions:
            check_attribute(store, condition.key, option="--where", known=known)
        if warn is not None:
            _warn_unseen_values(store, conditions, warn)
    coders = tuple(dict.fromkeys(coders))
    if coders and warn is not None:
        known = stored_codings.coder_names(store)
        for coder in coders:
            if coder not in known:
                warn(f"warning: --coder {coder}: no codings by '{coder}'; the coders there are: "
                     f"{', '.join(sorted(known, key=str.casefold)) or 'none'}")
    return Selection(cases=case_names, codes=code_paths, coders=coders, transcripts=transcript_names,
                     where=conditions)


def known_case(store: Store, case: str) -> str:
    """The stored spelling of a case name typed in any letter case."""
    known = stored_cases.names(store)
    match = [k for k in known if k.casefold() == case.casefold()]
    if not match:
        raise InputError(f"unknown case '{case}'", hint=f"known cases: {', '.join(sorted(known)) or 'none'}")
    return match[0]


def attribute_names(store: Store) -> set[str]:
    return stored_transcripts.attribute_keys(store)


def check_attribute(store: Store, key: str, *, option: str, known: set[str] | None = None) -> None:
    """An InputError naming the option when no transcript or case has the attribute."""
    known = known if known is not None else attribute_names(store) | set(TRANSCRIPT_FIELDS)
    if key in known:
        return
    from coder.codebook import _closest

    close = _closest(key, sorted(known)) if known else []
    hint = f"did you mean {' or '.join(repr(c) for c in close)}?" if close else \
        f"known: {', '.join(sorted(known))}"
    raise InputError(f"unknown attribute '{key}' for {option}", hint=hint)


# -- turning a selection into rows ----------------------------------------------------------

def transcript_values(store: Store) -> dict[int, dict]:
    """Every transcript's fields and attributes (its own over its case's), by transcript id."""
    out = {}
    for tid, name, case, informant, role, date, t_attrs, c_attrs in stored_transcripts.fields_and_attributes(store):
        values = {**json.loads(c_attrs or "{}"), **json.loads(t_attrs or "{}")}
        values.update({"case": case, "transcript": name, "informant": informant, "role": role, "date": date})
        out[tid] = values
    return out


def transcript_ids(store: Store, selection: Selection) -> list[int] | None:
    """The transcripts the selection keeps (None: all of them)."""
    if not selection.filters_transcripts:
        return None
    cases = set(selection.cases)
    names = set(selection.transcripts)
    kept = []
    for tid, values in transcript_values(store).items():
        if cases and values["case"] not in cases:
            continue
        if names and values["transcript"] not in names:
            continue
        if all(condition.holds(values.get(condition.key)) for condition in selection.where):
            kept.append(tid)
    return sorted(kept)


def selected_codes(store: Store, selection: Selection) -> set[str] | None:
    """The code paths the selection keeps, sub-codes included (None: all)."""
    if not selection.codes:
        return None
    dimensions = set(store.dimension_ids())
    chosen = [c for c in selection.codes if c not in dimensions]
    kept: set[str] = set()
    if chosen:
        kept |= stored_codebook.descendants(store, chosen)
        kept |= set(chosen)
    dims = [c for c in selection.codes if c in dimensions]
    if dims:
        kept |= stored_codebook.codes_of_dimensions(store, dims)
    return kept


def coding_sql(store: Store, selection: Selection, alias: str = "c") -> tuple[str, list]:
    """SQL conditions (joined with AND, or '') and parameters keeping the codings the selection
    keeps, for a store function that takes them (coder/store/codings.py `selected`)."""
    return coding_filter(store, selection).sql(alias)


def coding_filter(store: Store, selection: Selection) -> stored_codings.CodingFilter:
    """The codings the selection keeps (by transcript, code and coder), as the store reads them."""
    if selection.is_empty:
        return stored_codings.EVERY_CODING
    return stored_codings.CodingFilter(transcript_ids(store, selection), selected_codes(store, selection),
                                       selection.coders)


def _warn_unseen_values(store: Store, conditions: tuple[Condition, ...], warn: Callable[[str], None]) -> None:
    values = transcript_values(store).values()
    for condition in conditions:
        there = {_text(v.get(condition.key)) for v in values if v.get(condition.key) not in (None, "")}
        if condition.op in NUMERIC:
            if not any(_number(v) is not None for v in there):
                warn(f"warning: --where {condition}: no transcript or case has a number for '{condition.key}' "
                     f"(values: {', '.join(sorted(there)) or 'none'})")
            continue
        folded = {v.casefold() for v in there}
        missing = [v for v in condition.values if v.casefold() not in folded]
        if missing:
            warn(f"warning: --where {condition}: no transcript or case has {condition.key}="
                 f"{','.join(missing)}; the values there are: {', '.join(sorted(there, key=str.casefold)) or 'none'}")


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _number(value) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        return None
