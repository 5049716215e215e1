"""Report rows: code frequencies and quotes. The store's reads (coder/store/) fetch rows; pure
functions here shape them."""
from __future__ import annotations

import json
import pickle
import tempfile
from array import array
from dataclasses import dataclass, field, fields, replace
from itertools import islice
from typing import Iterable, Iterator

from coder.errors import InputError
from coder.selection import EVERYTHING, Selection
from coder.ingest import is_interviewer
from coder.store import Store, cases as stored_cases, codebook as stored_codebook, codings as stored_codings
from coder.store import memos as stored_memos, transcripts as stored_transcripts
from coder.values import MemoType

UNITS = ("segments", "documents", "informants", "words")
LEVELS = ("code", "dimension")
NO_GROUP = "(none)"
TRANSCRIPT_COLUMNS = tuple(stored_transcripts.GROUP_COLUMNS)  # what --by may name besides an attribute


@dataclass(frozen=True)
class FreqRow:
    kind: str  # "dimension" | "code"
    key: str  # dimension id or code path
    label: str
    depth: int
    counts: dict  # group -> count (non-zero only)
    total: int


@dataclass(frozen=True)
class FreqTable:
    by: str
    unit: str
    level: str
    groups: tuple[str, ...]
    rows: tuple[FreqRow, ...]
    cells: tuple[dict, ...] = field(default=())  # {"group", "code", "count"} for non-zero (group, code)


def group_expression(store: Store, by: str, *, option: str = "--by") -> str:
    """The grouping the store reads (coder/store/transcripts.py `group_sql`): a transcript
    column, else a transcript or case attribute, checked against the project."""
    if by not in TRANSCRIPT_COLUMNS:
        from coder.selection import check_attribute

        check_attribute(store, by, option=option, known=attribute_names(store) | set(TRANSCRIPT_COLUMNS))
    return stored_transcripts.group_sql(by)


def attribute_names(store: Store) -> set[str]:
    from coder.selection import attribute_names as names

    return names(store)


def _ancestors(store: Store) -> dict[str, list[str]]:
    """Each code with the codes it counts for: itself and every code above it."""
    ancestors: dict[str, list[str]] = {}
    for ancestor, descendant in stored_codebook.closure(store):
        ancestors.setdefault(descendant, []).append(ancestor)
    return ancestors


def _reach(store: Store) -> dict[str, set[str]]:
    """Each code with the codes and the dimension it counts for: itself, every code above it,
    its dimension."""
    reach = {code: set(above) for code, above in _ancestors(store).items()}
    for path, dimension in stored_codebook.code_dimensions(store):
        reach.setdefault(path, set()).add(dimension)
    return reach


def _merged_attributes(case_json: str | None, transcript_json: str | None) -> dict:
    """A transcript's attributes over its case's (the transcript's win)."""
    return {**json.loads(case_json or "{}"), **json.loads(transcript_json or "{}")}


def _tally(store: Store, unit: str, axes: tuple[str, ...], selection: Selection = EVERYTHING, *,
           stored: bool = True) -> dict:
    """{(axis values, keys reached, informant): units}: every unit (segment, word, document)
    of the selected codings once, with the codes and dimensions its codes reach (a code
    reaches itself, the codes above it and its dimension), per value of each transcript-side
    axis (SQL over `t` and `cs`, e.g. a group expression). The informant is None unless the
    unit is informants. freq, the matrix and co-occurrence all count from this.

    Each unit comes with the set of codes on it (precomputed per transcript, coder/store/unit_counts.py;
    `stored=False` computes them from the codings), and SQLite counts the units per axis
    value and code set (a few thousand rows, even for a million codings); a code set then
    counts for every code and dimension it reaches."""
    from coder.store import unit_counts as stored_counts
    from coder.selection import selected_codes, transcript_ids

    tids = transcript_ids(store, selection)
    reaches = {code: frozenset(keys) for code, keys in _reach(store).items()}
    keep = selected_codes(store, selection)
    rows = stored_counts.tally_rows(store, unit, axes, coders=selection.coders, transcript_ids=tids, stored=stored)
    nothing: frozenset = frozenset()
    keys_of: dict[str, frozenset] = {}  # code set (as SQLite lists it) -> the codes and dimensions it reaches
    labels: dict = {}
    units: dict = {}  # (axis values, keys reached, informant) -> units
    width = len(axes)
    for row in rows:
        values, who, codes, n = row[:width], row[width], row[width + 1], row[width + 2]
        keys = keys_of.get(codes)
        if keys is None:
            on_unit = codes.split(",")
            if keep is not None:
                on_unit = [code for code in on_unit if code in keep]
            keys = keys_of[codes] = nothing.union(*(reaches.get(code, nothing) for code in on_unit))
        if not keys or not n:
            continue
        label = labels.get(values)
        if label is None:
            label = labels[values] = tuple(_group_label(v) for v in values)
        slot = (label, keys, who)
        units[slot] = units.get(slot, 0) + n
    return units


def _counts(store: Store, unit: str, group_sql: str, selection: Selection = EVERYTHING, *,
            stored: bool = True) -> tuple[dict, dict]:
    """({(key, group): count}, {key: count over all groups}), where a key is a code (counting
    its sub-codes' units too) or a dimension, each unit once however many of its codes apply.
    A unit is in one transcript, so in one group, and its total is the sum over the groups,
    except for informants, who may have been interviewed in more than one group."""
    units = _tally(store, unit, (group_sql,), selection, stored=stored)
    counts: dict = {}
    totals: dict = {}
    if unit == "informants":  # each informant once per key and group, and once per key overall
        pairs = {(key, label, who) for (label,), keys, who in units for key in keys}
        for key, label, _ in pairs:
            counts[key, label] = counts.get((key, label), 0) + 1
        for key, _ in {(key, who) for key, _, who in pairs}:
            totals[key] = totals.get(key, 0) + 1
        return counts, totals
    for ((label,), keys, _), n in units.items():
        for key in keys:
            counts[key, label] = counts.get((key, label), 0) + n
    for (key, _), n in counts.items():
        totals[key] = totals.get(key, 0) + n
    return counts, totals


def _group_label(value) -> str:
    if value is None or value == "":
        return NO_GROUP
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def frequencies(store: Store, *, by: str = "case", unit: str = "segments", level: str = "code",
                stored: bool = True, selection: Selection = EVERYTHING) -> FreqTable:
    """The frequency table of the selected codings; `stored=False` counts from the codings,
    ignoring the precomputed counts (the tests check that both agree). With a code filter
    only the chosen codes (and their dimensions, counting those codes) are rows."""
    from coder.selection import selected_codes, transcript_ids

    if unit not in UNITS:
        raise InputError(f"unknown unit '{unit}'", hint=f"use one of {', '.join(UNITS)}")
    if level not in LEVELS:
        raise InputError(f"unknown level '{level}'", hint=f"use one of {', '.join(LEVELS)}")
    group_sql = group_expression(store, by)
    counts, totals = _counts(store, unit, group_sql, selection, stored=stored)
    by_key: dict[str, dict] = {}
    for (key, group), n in counts.items():
        by_key.setdefault(key, {})[group] = n
    groups = _ordered_groups(store, group_sql, {g for _, g in counts}, transcript_ids(store, selection))
    rows: list[FreqRow] = []
    dimensions = stored_codebook.dimension_labels(store)
    codes = codebook_tree(store)
    keep = selected_codes(store, selection)
    if keep is not None:
        codes = [c for c in codes if c["path"] in keep]
        dimensions = [d for d in dimensions if any(c["dimension"] == d["id"] for c in codes)]
    dimension_ids = {dim["id"] for dim in dimensions}
    for dim in dimensions:
        rows.append(FreqRow("dimension", dim["id"], dim["label"], 0, by_key.get(dim["id"], {}),
                            totals.get(dim["id"], 0)))
        if level == "code":
            for code in (c for c in codes if c["dimension"] == dim["id"]):
                label = code["label"] + (" (retired)" if code["retired"] else "")
                rows.append(FreqRow("code", code["path"], label, code["depth"], by_key.get(code["path"], {}),
                                    totals.get(code["path"], 0)))
    # a dimension id has no dot, a code path always has one: the two never clash
    shown = {row.key for row in rows}
    cell_source = {(k, g): n for (k, g), n in counts.items()
                   if (k in dimension_ids) == (level == "dimension") and (keep is None or k in shown)}
    order = {row.key: i for i, row in enumerate(rows)}
    group_order = {g: i for i, g in enumerate(groups)}
    cells = tuple({"group": g, "code": k, "count": n}
                  for (k, g), n in sorted(cell_source.items(), key=lambda kv: (group_order.get(kv[0][1], 0),
                                                                                order.get(kv[0][0], 0)))
                  if n)
    return FreqTable(by, unit, level, tuple(groups), tuple(rows), cells)


def codebook_tree(store: Store) -> list:
    """The codes a report lists (the codebook's, and retired ones that still have codings), in
    tree order: each code right under its parent, so a retired code shows where it was."""
    codes = stored_codebook.reported_codes(store)
    by_path = {c["path"]: c for c in codes}

    def chain(code) -> tuple:
        above = by_path.get(code["parent"])
        return (*chain(above), code["position"]) if above is not None else (code["position"],)

    return sorted(codes, key=chain)


def _ordered_groups(store: Store, group_sql: str, with_counts: set[str], tids: list[int] | None = None) -> list[str]:
    """Every value the grouping takes among the (selected) transcripts, so empty columns show,
    sorted."""
    values = {_group_label(v) for v in stored_transcripts.group_values(store, group_sql, tids)}
    values |= with_counts
    if group_sql == stored_transcripts.BY_CASE:
        # Cases keep the order the researcher gave them (the cases file, or first import).
        position = {name: i for i, name in enumerate(stored_cases.names_in_order(store))}
        return sorted(values, key=lambda g: (g == NO_GROUP, position.get(g, len(position)), g))
    return sorted(values, key=lambda g: (g == NO_GROUP, _natural(g)))


def _natural(value: str):
    try:
        return (0, float(value), "")
    except ValueError:
        return (1, 0.0, value.casefold())


# -- quotes -------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Quote:
    case: str | None
    transcript: str
    informant: str | None
    role: str | None
    code: str
    code_label: str
    dimension: str
    dimension_label: str
    segment: int | None
    text: str
    start: int
    end: int
    coder: str
    memo: str | None
    id: str
    path_labels: tuple[str, ...] = ()  # labels from the dimension down to the code (MAXQDA-style levels)
    attributes: dict = field(default_factory=dict)  # the case's and the transcript's attributes
    before: str = ""  # context, when asked for
    after: str = ""
    speaker: str | None = None  # the turn's label as in the transcript ("Leder", "Intervjuer")
    speaker_kind: str = "informant"  # or "interviewer": then informant and role are the interview's
    start_ms: int | None = None  # when the quote's turn was said (subtitles, spreadsheets with times)

    @property
    def time(self) -> str | None:
        """When the quote's turn was said, as 00:12:31 (None for a transcript without times)."""
        from coder.text import clock

        return clock(self.start_ms)

    def as_json(self) -> dict:
        return {"case": self.case, "transcript": self.transcript, "informant": self.informant, "role": self.role,
                "code": self.code, "text": self.text, "start": self.start, "end": self.end, "coder": self.coder,
                "memo": self.memo, "speaker": self.speaker, "speaker_kind": self.speaker_kind, "time": self.time}


@dataclass(frozen=True)
class QuoteFilter:
    selection: Selection = EVERYTHING  # which codings (coder/selection.py)
    limit_per_code: int | None = None
    context_words: int = 0


def known_case(store: Store, case: str) -> str:
    """The stored spelling of a case name typed in any letter case."""
    from coder.selection import known_case as known

    return known(store, case)


def quotes(store: Store, filters: QuoteFilter = QuoteFilter()) -> list[Quote]:
    return list(iter_quotes(store, filters))


def iter_quotes(store: Store, filters: QuoteFilter = QuoteFilter()) -> Iterator[Quote]:
    """The quotes one at a time, as read (a CSV of every quote is written without holding
    them)."""
    from coder.selection import coding_filter

    rows = stored_codings.quote_rows(store, coding_filter(store, filters.selection))
    labels = stored_codebook.labels(store)
    texts: dict[int, str] = {}
    per_code: dict[tuple, int] = {}
    path_labels: dict[str, tuple] = {}  # per code, and attributes per transcript: read once, shared
    attributes: dict[int, dict] = {}
    speakers = stored_transcripts.speakers(store)
    for row in rows:
        *fields, t_attrs, c_attrs, transcript_id, seg_start, seg_end, speaker, said = row
        case, code, start, end = fields[0], fields[4], fields[10], fields[11]
        if filters.limit_per_code is not None:
            key = (case, code)
            per_code[key] = per_code.get(key, 0) + 1
            if per_code[key] > filters.limit_per_code:
                continue
        levels = path_labels.get(code)
        if levels is None:
            parts = code.split(".")
            levels = path_labels[code] = tuple(labels.get(".".join(parts[:i]), parts[i - 1])
                                               for i in range(1, len(parts) + 1))
        attrs = attributes.get(transcript_id)
        if attrs is None:
            attrs = attributes[transcript_id] = _merged_attributes(c_attrs, t_attrs)
        before = after = ""
        if filters.context_words:
            if transcript_id not in texts:
                texts[transcript_id] = stored_transcripts.text(store, transcript_id)
            bounds = (min(seg_start, start), max(seg_end, end)) if seg_start is not None else None
            before, after = context_words(texts[transcript_id], start, end, filters.context_words, bounds=bounds)
        kind = "informant"
        listed = speakers.get((transcript_id, speaker))
        if listed is not None:
            interviewer, informant, role = listed
            if interviewer:
                kind = "interviewer"
            else:  # a focus group: this speaker's own name and role, else the transcript's
                fields[2], fields[3] = informant or fields[2], role or fields[3]
        elif is_interviewer(speaker, attrs.get("interviewer")):
            kind = "interviewer"
        yield Quote(*fields, path_labels=levels, attributes=attrs, before=before, after=after,
                    speaker=speaker, speaker_kind=kind, start_ms=said)


def quote_columns(store: Store) -> tuple[int, list[str]]:
    """The levels a quote's code can have (dimension and code levels: the codebook's depth)
    and every attribute key of the project's cases and transcripts: a quote sheet's columns."""
    depth = max((path.count(".") + 1 for path in store.code_paths(include_retired=True)), default=0)
    return depth, sorted(attribute_names(store))


def merge_passages(quotes: Iterable[Quote]) -> list[Quote]:
    """One entry per passage, for sheets people read: codings of one code in one turn whose
    spans overlap (one coder's sentence inside another's turn, or the same span by two
    coders) become one quote of their joint span, "coded by anna, bjorn", memos together.
    The quotes come in report order (by code, transcript, start)."""
    return list(iter_merge_passages(quotes))


def iter_merge_passages(quotes: Iterable[Quote]) -> Iterator[Quote]:
    """merge_passages() as the quotes are read: a passage is given once the next quote no
    longer overlaps it."""
    last = None
    for quote in quotes:
        joined = _joined(last, quote)
        if joined is None:
            if last is not None:
                yield last
            last = quote
        else:
            last = joined
    if last is not None:
        yield last


def _joined(last: Quote | None, quote: Quote) -> Quote | None:
    """`last` and the next quote as one passage, or None when they are two."""
    if (last is None or (last.code, last.transcript, last.segment) != (quote.code, quote.transcript, quote.segment)
            or quote.start >= last.end):
        return None
    text = last.text + quote.text[last.end - quote.start:] if quote.end > last.end else last.text
    coders = ", ".join(dict.fromkeys([*last.coder.split(", "), quote.coder]))
    memos = " / ".join(dict.fromkeys(m for m in (last.memo, quote.memo) if m)) or None
    return replace(last, text=text, end=max(last.end, quote.end), coder=coders, memo=memos,
                   after=quote.after if quote.end > last.end else last.after)


_QUOTE_FIELDS = tuple(f.name for f in fields(Quote))


class _Spill:
    """Quotes pickled into one temporary file, each read back by its offset."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile()
        self._at_end = True  # no seek (a flush) before each write, only after a read

    def write(self, quote: Quote) -> int:
        if not self._at_end:
            self._file.seek(0, 2)
            self._at_end = True
        offset = self._file.tell()
        # as a tuple of its fields: pickled faster than the dataclass
        pickle.dump(tuple(getattr(quote, name) for name in _QUOTE_FIELDS), self._file, pickle.HIGHEST_PROTOCOL)
        return offset

    def read(self, offset: int) -> Quote:
        self._file.seek(offset)
        self._at_end = False
        return Quote(*pickle.load(self._file))


class CellQuotes:
    """A matrix cell's quotes, merged into passages as merge_passages() does, held out of
    memory: the first few (what a table's cell shows) in memory, the rest pickled into a
    temporary file the cells share. A sequence to read: len(), iteration, [:n]."""

    IN_MEMORY = 5  # render.MAX_QUOTES_IN_CELL: a summary reads no further

    def __init__(self, spill, transform=None) -> None:
        self._spill, self._transform = spill, transform  # spill None: the first few and the count only
        self._first: list[Quote] = []
        self._offsets = array("q")
        self._last: Quote | None = None
        self._count = 0

    def add(self, quote: Quote) -> None:
        joined = _joined(self._last, quote)
        if joined is not None:
            self._last = joined
            return
        self.close()
        self._last = quote

    def close(self) -> None:
        """The last passage added is complete."""
        if self._last is None:
            return
        if len(self._first) < self.IN_MEMORY:
            self._first.append(self._last)
        elif self._spill is not None:
            self._offsets.append(self._spill.write(self._last))
        self._last = None
        self._count += 1

    def map(self, transform) -> "CellQuotes":
        """The same quotes, each given through `transform` when read (pseudonymised)."""
        self.close()
        view = CellQuotes.__new__(CellQuotes)
        view.__dict__.update(self.__dict__)
        view._transform = transform if self._transform is None else (lambda q: transform(self._transform(q)))
        return view

    def __len__(self) -> int:
        return self._count + (self._last is not None)

    def __bool__(self) -> bool:
        return len(self) > 0

    def __iter__(self) -> Iterator[Quote]:
        self.close()
        given = self._transform or (lambda q: q)
        yield from map(given, self._first)
        if len(self) > len(self._first) and self._spill is None:
            raise ValueError("this cell keeps only its first quotes (matrix(all_quotes=False))")
        for offset in self._offsets:
            yield given(self._spill.read(offset))

    def __getitem__(self, index):
        if isinstance(index, slice):
            return list(islice(self, index.start or 0, index.stop, index.step))
        return next(islice(self, index, None))

    def __eq__(self, other) -> bool:
        return list(self) == list(other)


def context_words(text: str, start: int, end: int, words: int,
                  bounds: tuple[int, int] | None = None) -> tuple[str, str]:
    """Up to `words` words on each side of a span, within `bounds` (the quote's turn)."""
    from coder.text import context_around

    low, high = bounds if bounds else (0, len(text))
    return context_around(text[low:high], start - low, end - low, words)


# -- denominators for --percent -----------------------------------------------------------

def group_totals(store: Store, *, by: str, unit: str, selection: Selection = EVERYTHING) -> dict[str, int]:
    """All units in each group of the selected transcripts, coded or not: the base of a
    column percentage."""
    from coder.selection import transcript_ids

    group_sql = group_expression(store, by)
    tids = transcript_ids(store, selection)
    if unit == "words":
        from coder.text import count_words

        totals: dict[str, int] = {}
        for group, text in stored_transcripts.segment_texts_by_group(store, group_sql, tids):
            label = _group_label(group)
            totals[label] = totals.get(label, 0) + count_words(text)
        return totals
    return {_group_label(g): n for g, n in stored_transcripts.units_by_group(store, group_sql, unit, tids)}


# -- co-occurrence ------------------------------------------------------------------------

def cooccurrence(store: Store, *, unit: str = "segments", codes: tuple[str, ...] = (),
                 selection: Selection = EVERYTHING) -> list[dict]:
    """{"code_a", "code_b", "count"} for each unordered pair of codes applied to the same
    segment (or transcript), code_a < code_b. A code counts its sub-codes too, so a pair
    counts the same whichever other codes are asked for; a code is not paired with the codes
    under it. Given `codes` (codes or dimensions), only pairs of those.

    Read from each unit's set of codes (coder/store/unit_counts.py): SQLite lists how many units carry
    each set, and each set counts once for every pair it holds. (Joining the codings to
    themselves on the unit took minutes at 100,000 codings.)"""
    from itertools import combinations

    if unit not in ("segments", "documents"):
        raise InputError(f"unknown unit '{unit}' for co-occurrence", hint="use segments or documents")
    wanted = set(codes)
    reach = _reach(store)
    pairs: dict[tuple[str, str], int] = {}
    for (_, keys, _), n in _tally(store, unit, (), selection).items():
        # without `codes`, pairs of codes (a dimension id has no dot, a code path always has one)
        chosen = sorted(keys & wanted if codes else (k for k in keys if "." in k))
        for a, b in combinations(chosen, 2):
            if a in reach.get(b, ()) or b in reach.get(a, ()):
                continue  # a code and a code (or dimension) above it: not two codes meeting
            pairs[a, b] = pairs.get((a, b), 0) + n
    return [{"code_a": a, "code_b": b, "count": n} for (a, b), n in sorted(pairs.items())]


# -- matrix coding query ------------------------------------------------------------------

@dataclass(frozen=True)
class Matrix:
    rows: tuple[tuple[str, str], ...]  # (key, label)
    cols: tuple[tuple[str, str], ...]
    counts: dict  # (row key, col key) -> count
    quotes: dict  # (row key, col key) -> CellQuotes (a sequence of Quote), when asked for


CODE_AXES = ("codes", "code")
DIMENSION_AXES = ("dimensions", "dimension")


def _axis(store: Store, axis: str, selection: Selection) -> tuple[str | None, list[tuple[str, str]]]:
    """(SQL value over the transcript, or None for a side of codes or dimensions; the ordered
    (key, label) list) for one side of a matrix."""
    from coder.selection import selected_codes, transcript_ids

    keep = selected_codes(store, selection)
    if axis in CODE_AXES:
        items = [(path, label) for path, label in stored_codebook.current_labels(store) if keep is None or path in keep]
        return None, items
    if axis in DIMENSION_AXES:
        used = None if keep is None else {d for (p, d) in stored_codebook.code_dimensions(store) if p in keep}
        items = [(r[0], r[1]) for r in stored_codebook.dimension_labels(store) if used is None or r[0] in used]
        return None, items
    by = "case" if axis in ("cases", "case") else axis
    sql = group_expression(store, by, option="--rows/--cols")
    groups = _ordered_groups(store, sql, set(), transcript_ids(store, selection))
    return sql, [(g, g) for g in groups]


def matrix(store: Store, *, rows: str, cols: str, unit: str = "segments", with_quotes: bool = False,
           quote_filter: QuoteFilter = QuoteFilter(), all_quotes: bool = True) -> Matrix:
    """Rows × columns of codes, dimensions, cases or attributes; each cell counts the units
    of the selected codings (`quote_filter.selection`) in both, as `report freq` does. With
    quotes, each cell's passages (CellQuotes): all of them, or with `all_quotes` False the
    first few and their number (what a table shows)."""
    if {rows, cols} <= set(CODE_AXES):
        raise InputError("codes × codes is a co-occurrence table", hint="use `coder report cooccurrence`")
    if unit not in UNITS:
        raise InputError(f"unknown unit '{unit}'", hint=f"use one of {', '.join(UNITS)}")
    selection = quote_filter.selection
    row_sql, row_items = _axis(store, rows, selection)
    col_sql, col_items = _axis(store, cols, selection)
    axes = tuple(sql for sql in (row_sql, col_sql) if sql is not None)
    cells: dict = {}  # (row key, col key) -> units, or the set of informants

    def keys_on(axis: str, values: list, keys: frozenset) -> list[str]:
        if axis in CODE_AXES:
            return [k for k in keys if "." in k]  # a dimension id has no dot, a code path always has one
        if axis in DIMENSION_AXES:
            return [k for k in keys if "." not in k]
        return [values.pop(0)]

    # counted from the codings, as freq counts but writing nothing (the stored counts are
    # freq's: a matrix refused its --out leaves the project untouched)
    for (values, keys, who), n in _tally(store, unit, axes, selection, stored=False).items():
        values = list(values)
        row_keys = keys_on(rows, values, keys)
        col_keys = keys_on(cols, values, keys)
        for r in row_keys:
            for k in col_keys:
                if unit == "informants":
                    cells.setdefault((r, k), set()).add(who)
                else:
                    cells[r, k] = cells.get((r, k), 0) + n
    counts = {cell: len(n) if isinstance(n, set) else n for cell, n in cells.items()}
    cell_quotes: dict = {}
    if with_quotes:  # read once, each cell's passages kept out of memory (CellQuotes)
        ancestors = _ancestors(store)
        spill = _Spill() if all_quotes else None
        for quote in iter_quotes(store, quote_filter):
            for r in _quote_keys(quote, rows, ancestors):
                for k in _quote_keys(quote, cols, ancestors):
                    cell = cell_quotes.get((r, k))
                    if cell is None:
                        cell = cell_quotes[r, k] = CellQuotes(spill)
                    cell.add(quote)
    return Matrix(tuple(row_items), tuple(col_items), counts, cell_quotes)


def _quote_keys(quote: Quote, axis: str, ancestors: dict) -> list[str]:
    if axis in ("codes", "code"):
        return ancestors.get(quote.code, [quote.code])
    if axis in ("dimensions", "dimension"):
        return [quote.dimension]
    if axis in ("cases", "case"):
        return [_group_label(quote.case)]
    value = {"transcript": quote.transcript, "informant": quote.informant, "role": quote.role}.get(axis)
    return [_group_label(value if value is not None else quote.attributes.get(axis))]


# -- the segments data set ----------------------------------------------------------------

def segment_dataset(store: Store, selection: Selection = EVERYTHING) -> tuple[list[str], Iterator[list]]:
    """One row per segment with its case, informant and attributes, and a 0/1 column per
    code (a parent is 1 when any of its sub-codes is), for R, Stata or pandas. The rows come
    one at a time, in transcript and segment order, so a corpus of any size streams out.
    A selection keeps the segments of its transcripts, the columns of its codes, and counts
    only its coders' codings."""
    from coder.selection import coding_filter, selected_codes, transcript_ids

    keep = selected_codes(store, selection)
    codes = [path for path in store.code_paths() if keep is None or path in keep]
    index = {code: i for i, code in enumerate(codes)}
    coded: dict[int, set[int]] = {}
    for segment_id, ancestor in stored_codings.segment_ancestors(store, coding_filter(store, selection)):
        if ancestor in index:
            coded.setdefault(segment_id, set()).add(index[ancestor])
    attribute_keys = sorted(attribute_names(store))
    header = ["transcript", "case", "informant", "role", "segment", "speaker", "start", "end", "words", "text",
              *attribute_keys, *codes]

    tids = transcript_ids(store, selection)

    def rows() -> Iterator[list]:
        from coder.text import WORD

        uncoded = [0] * len(codes)
        attributes: dict[str, list] = {}  # per transcript: its attribute columns, read once
        for (segment_id, name, case, informant, role, number, speaker, start, end, text, t_attrs,
             c_attrs) in stored_transcripts.dataset_rows(store, tids):
            columns = attributes.get(name)
            if columns is None:
                merged = _merged_attributes(c_attrs, t_attrs)
                columns = attributes[name] = [merged.get(k) for k in attribute_keys]
            flags = coded.get(segment_id)
            row = [name, case, informant, role, number, speaker, start, end, len(WORD.findall(text)), text, *columns]
            row += [1 if i in flags else 0 for i in range(len(codes))] if flags else uncoded
            yield row

    return header, rows()


# -- memos --------------------------------------------------------------------------------

MEMO_TYPES = tuple(kind.value for kind in MemoType)


def memos(store: Store, *, target_type: str | None = None, selection: Selection = EVERYTHING) -> list[dict]:
    """Every memo with where it belongs: project, transcript, code, or coding (coding memos
    are the `memo` of a coding, plus any memo attached to a coding later). A selection keeps
    the memos it can judge and that pass: on its transcripts (and their codings), on its
    codes (and their codings), by its coders; a project memo only when nothing is filtered."""
    from coder.selection import coding_filter, selected_codes, transcript_ids

    if target_type is not None and target_type not in MEMO_TYPES:
        import difflib

        close = difflib.get_close_matches(target_type, MEMO_TYPES, n=1)
        raise InputError(f"unknown memo type '{target_type}'",
                         hint=(f"did you mean '{close[0]}'? " if close else "") + f"use one of {', '.join(MEMO_TYPES)}")
    records = [{"type": r[0], "target": r[1], "author": r[2], "text": r[3], "created_at": r[4], "id": r[5]}
               for r in stored_memos.every(store)]
    if not selection.is_empty:
        tids = transcript_ids(store, selection)
        names = None if tids is None else stored_transcripts.names_of(store, tids)
        keep = selected_codes(store, selection)
        coded = stored_codings.uuids(store, coding_filter(store, selection))

        def kept(record: dict) -> bool:
            if selection.coders and record["author"] not in selection.coders:
                return False
            kind, target = record["type"], record["target"]
            if kind == "transcript":
                return keep is None and (names is None or target in names)
            if kind == "code":
                return names is None and (keep is None or target in keep)
            if kind == "coding":
                return target in coded
            return False

        records = [r for r in records if kept(r)]
    for uuid, name, code, coder, memo, created in stored_codings.memos(store, coding_filter(store, selection)):
        records.append({"type": "coding", "target": f"{name}: {code} ({uuid[:8]})", "author": coder, "text": memo,
                        "created_at": created, "id": uuid})
    if target_type:
        records = [r for r in records if r["type"] == target_type]
    return sorted(records, key=memo_order)


def memo_order(record: dict) -> tuple:
    """Memos by kind, then by what they are on as shown (a pseudonymised list is sorted by its
    neutral ids again: the real names' order would tell them apart)."""
    return ({"project": 0, "transcript": 1, "code": 2, "coding": 3}.get(record["type"], 9), record["target"],
            record["created_at"])


# -- the codebook as a document -----------------------------------------------------------

def codebook_dimensions(store: Store) -> list[dict]:
    return [dict(r) for r in stored_codebook.dimension_details(store)]


def codebook_rows(store: Store) -> list[dict]:
    counts = stored_codebook.codings_per_code(store)
    rows = []
    for r in stored_codebook.current_codes_in_full(store):
        rows.append({"path": r["path"], "dimension": r["dimension"], "dimension_label": r["dimension_label"],
                     "label": r["label"], "label_en": r["label_en"], "description": r["description"],
                     "include": json.loads(r["include"]), "exclude": json.loads(r["exclude"]),
                     "examples": json.loads(r["examples"]), "keywords": json.loads(r["keywords"]),
                     "depth": r["depth"], "color": r["color"], "codings": counts.get(r["path"], 0)})
    return rows
