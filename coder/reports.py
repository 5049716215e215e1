"""Report rows: code frequencies and quotes. SQL fetches rows; pure functions shape them."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Iterator

from coder.errors import InputError
from coder.store import Store

UNITS = ("segments", "documents", "informants", "words")
LEVELS = ("code", "dimension")
NO_GROUP = "(none)"
TRANSCRIPT_COLUMNS = {"case": "t.case_name", "transcript": "t.name", "informant": "t.informant", "role": "t.role",
                      "date": "t.date"}


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


def group_expression(store: Store, by: str) -> str:
    """SQL for the grouping value: a transcript column, else a transcript or case attribute."""
    if by in TRANSCRIPT_COLUMNS:
        return TRANSCRIPT_COLUMNS[by]
    known = attribute_names(store)
    if by not in known:
        from coder.codebook import _closest

        close = _closest(by, sorted(known | set(TRANSCRIPT_COLUMNS))) if known else []
        hint = f"did you mean {' or '.join(repr(c) for c in close)}?" if close else \
            f"known: {', '.join(sorted(set(TRANSCRIPT_COLUMNS) | known))}"
        raise InputError(f"unknown attribute '{by}' for --by", hint=hint)
    key = json.dumps(by)  # quoted JSON path member, safe for any attribute name
    return (f"COALESCE(json_extract(t.attributes, '$.' || '{_sql_quote(key)}'), "
            f"json_extract(cs.attributes, '$.' || '{_sql_quote(key)}'))")


def _sql_quote(text: str) -> str:
    return text.replace("'", "''")


def attribute_names(store: Store) -> set[str]:
    names: set[str] = set()
    for table in ("transcripts", "cases"):
        for (key,) in store.conn.execute(f"SELECT DISTINCT j.key FROM {table}, json_each({table}.attributes) j"):
            names.add(key)
    return names


def _unit_sql(unit: str) -> str:
    return {
        "segments": "(c.transcript_id << 24) | c.segment",
        "documents": "c.transcript_id",
        "informants": "COALESCE(t.informant, t.name)",
    }[unit]


def _ancestors(store: Store) -> dict[str, list[str]]:
    """Each code with the codes it counts for: itself and every code above it."""
    ancestors: dict[str, list[str]] = {}
    for ancestor, descendant in store.conn.execute("SELECT ancestor, descendant FROM code_closure"):
        ancestors.setdefault(descendant, []).append(ancestor)
    return ancestors


def _merged_attributes(case_json: str | None, transcript_json: str | None) -> dict:
    """A transcript's attributes over its case's (the transcript's win)."""
    return {**json.loads(case_json or "{}"), **json.loads(transcript_json or "{}")}


def _counts(store: Store, unit: str, group_sql: str, *, stored: bool = True) -> tuple[dict, dict]:
    """({(key, group): count}, {key: count over all groups}), where a key is a code (counting
    its sub-codes' units too) or a dimension, each unit once however many of its codes apply.

    Each unit comes with the set of codes on it (precomputed per transcript, coder/counts.py;
    `stored=False` computes them from the codings), and SQLite counts the units per group and
    code set (a few thousand rows, even for a million codings); a code set then counts for
    every code and dimension it reaches. A unit is in one transcript, so
    in one group, and its total is the sum over the groups, except for informants, who may
    have been interviewed in more than one group."""
    from coder import counts as stored_counts

    unit_rows = stored_counts.unit_rows_sql(store, unit) if stored else stored_counts.live_rows_sql(unit)
    reach = {code: set(above) for code, above in _ancestors(store).items()}
    for path, dimension in store.conn.execute("SELECT path, dimension FROM codes"):
        reach.setdefault(path, set()).add(dimension)
    reaches = {code: frozenset(keys) for code, keys in reach.items()}
    nothing: frozenset = frozenset()
    # (only what a unit needs: each column here is sorted once per unit)
    informant = ("COALESCE(t.informant, t.name)", "i, ") if unit == "informants" else ("NULL", "")
    cases = "LEFT JOIN cases cs ON cs.name = t.case_name" if "cs." in group_sql else ""
    sql = (f"SELECT {group_sql} AS g, {informant[0]} AS i, u.codes, SUM(u.n) FROM ({unit_rows}) u "
           f"JOIN transcripts t ON t.id = u.tid {cases} GROUP BY g, {informant[1]}u.codes")
    keys_of: dict[str, frozenset] = {}  # code set (as SQLite lists it) -> the codes and dimensions it reaches
    labels: dict = {}
    units: dict = {}  # (group, keys reached, informant) -> units
    for group, who, codes, n in store.conn.execute(sql):
        keys = keys_of.get(codes)
        if keys is None:
            keys = keys_of[codes] = nothing.union(*(reaches.get(code, nothing) for code in codes.split(",")))
        label = labels.get(group)
        if label is None:
            label = labels[group] = _group_label(group)
        slot = (label, keys, who)
        units[slot] = units.get(slot, 0) + n
    counts: dict = {}
    totals: dict = {}
    if unit == "informants":  # each informant once per key and group, and once per key overall
        pairs = {(key, label, who) for label, keys, who in units for key in keys}
        for key, label, _ in pairs:
            counts[key, label] = counts.get((key, label), 0) + 1
        for key, _ in {(key, who) for key, _, who in pairs}:
            totals[key] = totals.get(key, 0) + 1
        return counts, totals
    for (label, keys, _), n in units.items():
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
                stored: bool = True) -> FreqTable:
    """The frequency table; `stored=False` counts from the codings, ignoring the precomputed
    counts (the tests check that both agree)."""
    if unit not in UNITS:
        raise InputError(f"unknown unit '{unit}'", hint=f"use one of {', '.join(UNITS)}")
    if level not in LEVELS:
        raise InputError(f"unknown level '{level}'", hint=f"use one of {', '.join(LEVELS)}")
    group_sql = group_expression(store, by)
    counts, totals = _counts(store, unit, group_sql, stored=stored)
    by_key: dict[str, dict] = {}
    for (key, group), n in counts.items():
        by_key.setdefault(key, {})[group] = n
    groups = _ordered_groups(store, group_sql, {g for _, g in counts})
    rows: list[FreqRow] = []
    dimensions = store.query("SELECT id, label FROM dimensions ORDER BY position")
    codes = store.query("SELECT path, label, dimension, depth FROM codes co WHERE retired = 0 OR EXISTS "
                        "(SELECT 1 FROM codings c WHERE c.code = co.path) ORDER BY position")
    dimension_ids = {dim["id"] for dim in dimensions}
    for dim in dimensions:
        rows.append(FreqRow("dimension", dim["id"], dim["label"], 0, by_key.get(dim["id"], {}),
                            totals.get(dim["id"], 0)))
        if level == "code":
            for code in (c for c in codes if c["dimension"] == dim["id"]):
                rows.append(FreqRow("code", code["path"], code["label"], code["depth"], by_key.get(code["path"], {}),
                                    totals.get(code["path"], 0)))
    # a dimension id has no dot, a code path always has one: the two never clash
    cell_source = {(k, g): n for (k, g), n in counts.items() if (k in dimension_ids) == (level == "dimension")}
    order = {row.key: i for i, row in enumerate(rows)}
    group_order = {g: i for i, g in enumerate(groups)}
    cells = tuple({"group": g, "code": k, "count": n}
                  for (k, g), n in sorted(cell_source.items(), key=lambda kv: (group_order.get(kv[0][1], 0),
                                                                                order.get(kv[0][0], 0)))
                  if n)
    return FreqTable(by, unit, level, tuple(groups), tuple(rows), cells)


def _ordered_groups(store: Store, group_sql: str, with_counts: set[str]) -> list[str]:
    """Every value the grouping takes among the transcripts (so empty columns show), sorted."""
    cases = "LEFT JOIN cases cs ON cs.name = t.case_name" if "cs." in group_sql else ""
    values = {_group_label(v) for (v,) in store.conn.execute(f"SELECT DISTINCT {group_sql} FROM transcripts t {cases}")}
    values |= with_counts
    if group_sql == TRANSCRIPT_COLUMNS["case"]:
        # Cases keep the order the researcher gave them (the cases file, or first import).
        position = {name: i for i, (name,) in enumerate(store.conn.execute("SELECT name FROM cases ORDER BY rowid"))}
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

    def as_json(self) -> dict:
        return {"case": self.case, "transcript": self.transcript, "informant": self.informant, "role": self.role,
                "code": self.code, "text": self.text, "start": self.start, "end": self.end, "coder": self.coder,
                "memo": self.memo}


@dataclass(frozen=True)
class QuoteFilter:
    case: str | None = None
    code: str | None = None  # a code path (its sub-codes included) or a dimension id
    dimension: str | None = None
    coder: str | None = None
    where: tuple[tuple[str, str], ...] = ()  # attribute = value, all must hold
    limit_per_code: int | None = None
    context_words: int = 0


def known_case(store: Store, case: str) -> str:
    """The stored spelling of a case name typed in any letter case."""
    known = [r[0] for r in store.conn.execute("SELECT name FROM cases")]
    match = [k for k in known if k.casefold() == case.casefold()]
    if not match:
        raise InputError(f"unknown case '{case}'", hint=f"known cases: {', '.join(sorted(known)) or 'none'}")
    return match[0]


def quotes(store: Store, filters: QuoteFilter = QuoteFilter()) -> list[Quote]:
    where, params = ["c.status = 'ok'"], []
    if filters.case is not None:
        where.append("t.case_name = ?")
        params.append(known_case(store, filters.case))
    for value in (filters.code, filters.dimension):
        if value is None:
            continue
        if value in store.dimension_ids():
            where.append("co.dimension = ?")
        else:
            where.append("c.code IN (SELECT descendant FROM code_closure WHERE ancestor = ?)")
        params.append(value)
    if filters.coder is not None:
        where.append("c.coder = ?")
        params.append(filters.coder)
    for key, value in filters.where:
        where.append(f"CAST({group_expression(store, key)} AS TEXT) = ?")
        params.append(value)
    sql = (
        'SELECT t.case_name, t.name, t.informant, t.role, c.code, co.label, co.dimension, d.label, c.segment, '
        'c.text, c.start, c."end", c.coder, c.memo, c.uuid, t.attributes, cs.attributes, t.id, s.start, s."end" '
        "FROM codings c JOIN transcripts t ON t.id = c.transcript_id JOIN codes co ON co.path = c.code "
        "JOIN dimensions d ON d.id = co.dimension LEFT JOIN cases cs ON cs.name = t.case_name "
        "LEFT JOIN segments s ON s.transcript_id = c.transcript_id AND s.number = c.segment "
        f"WHERE {' AND '.join(where)} "
        "ORDER BY t.case_name IS NULL, cs.rowid, d.position, co.position, t.name, c.start, c.\"end\", c.coder")
    labels = {path: label for path, label in store.conn.execute("SELECT path, label FROM codes")}
    labels.update({dim: label for dim, label in store.conn.execute("SELECT id, label FROM dimensions")})
    texts: dict[int, str] = {}
    per_code: dict[tuple, int] = {}
    path_labels: dict[str, tuple] = {}  # per code, and attributes per transcript: read once, shared
    attributes: dict[int, dict] = {}
    result = []
    for row in store.conn.execute(sql, params):
        *fields, t_attrs, c_attrs, transcript_id, seg_start, seg_end = row
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
                texts[transcript_id] = store.scalar("SELECT text FROM transcripts WHERE id = ?", (transcript_id,))
            bounds = (min(seg_start, start), max(seg_end, end)) if seg_start is not None else None
            before, after = context_words(texts[transcript_id], start, end, filters.context_words, bounds=bounds)
        result.append(Quote(*fields, path_labels=levels, attributes=attrs, before=before, after=after))
    return result


def context_words(text: str, start: int, end: int, words: int,
                  bounds: tuple[int, int] | None = None) -> tuple[str, str]:
    """Up to `words` words on each side of a span, within `bounds` (the quote's turn)."""
    from coder.text import context_around

    low, high = bounds if bounds else (0, len(text))
    return context_around(text[low:high], start - low, end - low, words)


# -- denominators for --percent -----------------------------------------------------------

def group_totals(store: Store, *, by: str, unit: str) -> dict[str, int]:
    """All units in each group, coded or not: the base of a column percentage."""
    group_sql = group_expression(store, by)
    base = "FROM segments s JOIN transcripts t ON t.id = s.transcript_id LEFT JOIN cases cs ON cs.name = t.case_name"
    if unit == "words":
        import re

        totals: dict[str, int] = {}
        word = re.compile(r"\w+")
        for group, text in store.conn.execute(f"SELECT {group_sql}, s.text {base}"):
            label = _group_label(group)
            totals[label] = totals.get(label, 0) + sum(1 for _ in word.finditer(text))
        return totals
    unit_sql = {"segments": "s.id", "documents": "t.id", "informants": "COALESCE(t.informant, t.name)"}[unit]
    return {_group_label(g): n for g, n in
            store.conn.execute(f"SELECT {group_sql}, COUNT(DISTINCT {unit_sql}) {base} GROUP BY 1")}


# -- co-occurrence ------------------------------------------------------------------------

def cooccurrence(store: Store, *, unit: str = "segments", codes: tuple[str, ...] = ()) -> list[dict]:
    """{"code_a", "code_b", "count"} for each unordered pair of codes applied to the same
    segment (or transcript), code_a < code_b. Given `codes`, each counts its sub-codes too.

    Read from each unit's set of codes (coder/counts.py): SQLite lists how many units carry
    each set, and each set counts once for every pair it holds. (Joining the codings to
    themselves on the unit took minutes at 100,000 codings.)"""
    from itertools import combinations

    from coder import counts as stored_counts

    if unit not in ("segments", "documents"):
        raise InputError(f"unknown unit '{unit}' for co-occurrence", hint="use segments or documents")
    wanted = set(codes)  # a code on a unit counts as those of these it is, or is under
    reach = {code: wanted.intersection(above) for code, above in _ancestors(store).items()} if codes else {}
    rows = stored_counts.unit_rows_sql(store, unit)
    pairs: dict[tuple[str, str], int] = {}
    for code_set, n in store.conn.execute(f"SELECT u.codes, SUM(u.n) FROM ({rows}) u GROUP BY u.codes"):
        on_unit = set(code_set.split(","))
        keys = set().union(*(reach.get(code, ()) for code in on_unit)) if codes else on_unit
        for pair in combinations(sorted(keys), 2):
            pairs[pair] = pairs.get(pair, 0) + n
    return [{"code_a": a, "code_b": b, "count": n} for (a, b), n in sorted(pairs.items())]


# -- matrix coding query ------------------------------------------------------------------

@dataclass(frozen=True)
class Matrix:
    rows: tuple[tuple[str, str], ...]  # (key, label)
    cols: tuple[tuple[str, str], ...]
    counts: dict  # (row key, col key) -> count
    quotes: dict  # (row key, col key) -> [Quote], when asked for


def _axis(store: Store, axis: str) -> tuple[str, str, list[tuple[str, str]]]:
    """(SQL value, extra join, ordered (key, label) list) for one side of a matrix."""
    if axis in ("codes", "code"):
        items = [(r[0], r[1]) for r in store.conn.execute(
            "SELECT path, label FROM codes WHERE retired = 0 ORDER BY position")]
        return "cl.ancestor", "JOIN code_closure cl ON cl.descendant = c.code", items
    if axis in ("dimensions", "dimension"):
        items = [(r[0], r[1]) for r in store.conn.execute("SELECT id, label FROM dimensions ORDER BY position")]
        return "co.dimension", "", items
    by = "case" if axis in ("cases", "case") else axis
    sql = group_expression(store, by)
    groups = _ordered_groups(store, sql, set())
    return sql, "", [(g, g) for g in groups]


def matrix(store: Store, *, rows: str, cols: str, unit: str = "segments", with_quotes: bool = False,
           quote_filter: QuoteFilter = QuoteFilter()) -> Matrix:
    if {rows, cols} <= {"codes", "code"}:
        raise InputError("codes × codes is a co-occurrence table", hint="use `coder report cooccurrence`")
    if unit not in UNITS:
        raise InputError(f"unknown unit '{unit}'", hint=f"use one of {', '.join(UNITS)}")
    row_sql, row_join, row_items = _axis(store, rows)
    col_sql, col_join, col_items = _axis(store, cols)
    joins = " ".join(j for j in {row_join, col_join} if j)
    base = ("FROM codings c JOIN transcripts t ON t.id = c.transcript_id JOIN codes co ON co.path = c.code "
            f"LEFT JOIN cases cs ON cs.name = t.case_name {joins} WHERE c.status = 'ok'")
    if unit == "words":
        sql = (f"SELECT r, k, SUM(words) FROM (SELECT DISTINCT {row_sql} AS r, {col_sql} AS k, c.transcript_id, "
               f"c.start, c.\"end\", c.words {base}) GROUP BY r, k")
    else:
        sql = f"SELECT {row_sql}, {col_sql}, COUNT(DISTINCT {_unit_sql(unit)}) {base} GROUP BY 1, 2"
    counts = {(_group_label(r), _group_label(k)): n for r, k, n in store.conn.execute(sql)}
    cell_quotes: dict = {}
    if with_quotes:
        ancestors = _ancestors(store)
        for quote in quotes(store, quote_filter):
            for r in _quote_keys(quote, rows, ancestors):
                for k in _quote_keys(quote, cols, ancestors):
                    cell_quotes.setdefault((r, k), []).append(quote)
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

def segment_dataset(store: Store) -> tuple[list[str], Iterator[list]]:
    """One row per segment with its case, informant and attributes, and a 0/1 column per
    code (a parent is 1 when any of its sub-codes is), for R, Stata or pandas. The rows come
    one at a time, in transcript and segment order, so a corpus of any size streams out."""
    codes = [r[0] for r in store.conn.execute("SELECT path FROM codes WHERE retired = 0 ORDER BY position")]
    index = {code: i for i, code in enumerate(codes)}
    coded: dict[int, set[int]] = {}
    for segment_id, ancestor in store.conn.execute(
            "SELECT s.id, cl.ancestor FROM codings c JOIN segments s ON s.transcript_id = c.transcript_id "
            "AND s.number = c.segment JOIN code_closure cl ON cl.descendant = c.code WHERE c.status = 'ok'"):
        if ancestor in index:
            coded.setdefault(segment_id, set()).add(index[ancestor])
    attribute_keys = sorted(attribute_names(store))
    header = ["transcript", "case", "informant", "role", "segment", "speaker", "start", "end", "words", "text",
              *attribute_keys, *codes]

    def rows() -> Iterator[list]:
        import re

        word = re.compile(r"\w+")
        uncoded = [0] * len(codes)
        attributes: dict[str, list] = {}  # per transcript: its attribute columns, read once
        for (segment_id, name, case, informant, role, number, speaker, start, end, text, t_attrs,
             c_attrs) in store.conn.execute(
                'SELECT s.id, t.name, t.case_name, t.informant, t.role, s.number, s.speaker, s.start, s."end", '
                "s.text, t.attributes, cs.attributes FROM segments s JOIN transcripts t ON t.id = s.transcript_id "
                "LEFT JOIN cases cs ON cs.name = t.case_name ORDER BY t.name, s.number"):
            columns = attributes.get(name)
            if columns is None:
                merged = _merged_attributes(c_attrs, t_attrs)
                columns = attributes[name] = [merged.get(k) for k in attribute_keys]
            flags = coded.get(segment_id)
            row = [name, case, informant, role, number, speaker, start, end, len(word.findall(text)), text, *columns]
            row += [1 if i in flags else 0 for i in range(len(codes))] if flags else uncoded
            yield row

    return header, rows()


# -- memos --------------------------------------------------------------------------------

MEMO_TYPES = ("project", "transcript", "code", "coding")


def memos(store: Store, *, target_type: str | None = None) -> list[dict]:
    """Every memo with where it belongs: project, transcript, code, or coding (coding memos
    are the `memo` of a coding, plus any memo attached to a coding later)."""
    if target_type is not None and target_type not in MEMO_TYPES:
        import difflib

        close = difflib.get_close_matches(target_type, MEMO_TYPES, n=1)
        raise InputError(f"unknown memo type '{target_type}'",
                         hint=(f"did you mean '{close[0]}'? " if close else "") + f"use one of {', '.join(MEMO_TYPES)}")
    records = [{"type": r[0], "target": r[1], "author": r[2], "text": r[3], "created_at": r[4], "id": r[5]}
               for r in store.conn.execute(
                   "SELECT target_type, target, author, text, created_at, uuid FROM memos ORDER BY created_at, id")]
    for uuid, name, code, coder, memo, created in store.conn.execute(
            "SELECT c.uuid, t.name, c.code, c.coder, c.memo, c.created_at FROM codings c JOIN transcripts t "
            "ON t.id = c.transcript_id WHERE c.memo IS NOT NULL AND c.memo != '' ORDER BY t.name, c.start"):
        records.append({"type": "coding", "target": f"{name}: {code} ({uuid[:8]})", "author": coder, "text": memo,
                        "created_at": created, "id": uuid})
    if target_type:
        records = [r for r in records if r["type"] == target_type]
    order = {"project": 0, "transcript": 1, "code": 2, "coding": 3}
    return sorted(records, key=lambda r: (order.get(r["type"], 9), r["target"], r["created_at"]))


# -- the codebook as a document -----------------------------------------------------------

def codebook_dimensions(store: Store) -> list[dict]:
    return [dict(r) for r in store.query("SELECT id, label, label_en, description, color FROM dimensions "
                                         "ORDER BY position")]


def codebook_rows(store: Store) -> list[dict]:
    counts = dict(store.conn.execute(
        "SELECT cl.ancestor, COUNT(*) FROM codings c JOIN code_closure cl ON cl.descendant = c.code "
        "WHERE c.status = 'ok' GROUP BY cl.ancestor"))
    rows = []
    for r in store.query("SELECT co.*, d.label AS dimension_label FROM codes co JOIN dimensions d "
                         "ON d.id = co.dimension WHERE co.retired = 0 ORDER BY co.position"):
        rows.append({"path": r["path"], "dimension": r["dimension"], "dimension_label": r["dimension_label"],
                     "label": r["label"], "label_en": r["label_en"], "description": r["description"],
                     "include": json.loads(r["include"]), "exclude": json.loads(r["exclude"]),
                     "examples": json.loads(r["examples"]), "keywords": json.loads(r["keywords"]),
                     "depth": r["depth"], "color": r["color"], "codings": counts.get(r["path"], 0)})
    return rows
