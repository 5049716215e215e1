"""Report rows: code frequencies and quotes. SQL fetches rows; pure functions shape them."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

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


def _counts(store: Store, unit: str, key_sql: str, joins: str, group_sql: str | None) -> dict:
    """{(key, group): count}. group_sql None counts over all groups."""
    group_select = group_sql or "NULL"
    base = (f"FROM codings c JOIN transcripts t ON t.id = c.transcript_id "
            f"LEFT JOIN cases cs ON cs.name = t.case_name {joins} WHERE c.status = 'ok'")
    if unit == "words":
        sql = (f"SELECT k, g, SUM(words) FROM (SELECT DISTINCT {key_sql} AS k, {group_select} AS g, "
               f"c.transcript_id, c.start, c.\"end\", c.words {base}) GROUP BY k, g")
    else:
        sql = f"SELECT {key_sql} AS k, {group_select} AS g, COUNT(DISTINCT {_unit_sql(unit)}) {base} GROUP BY k, g"
    return {(k, _group_label(g)): n for k, g, n in store.conn.execute(sql)}


def _group_label(value) -> str:
    if value is None or value == "":
        return NO_GROUP
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def frequencies(store: Store, *, by: str = "case", unit: str = "segments", level: str = "code") -> FreqTable:
    if unit not in UNITS:
        raise InputError(f"unknown unit '{unit}'", hint=f"use one of {', '.join(UNITS)}")
    if level not in LEVELS:
        raise InputError(f"unknown level '{level}'", hint=f"use one of {', '.join(LEVELS)}")
    group_sql = group_expression(store, by)
    closure = "JOIN code_closure cl ON cl.descendant = c.code"
    dims = "JOIN codes co ON co.path = c.code"
    dim_counts = _counts(store, unit, "co.dimension", dims, group_sql)
    dim_totals = _counts(store, unit, "co.dimension", dims, None)
    code_counts = _counts(store, unit, "cl.ancestor", closure, group_sql) if level == "code" else {}
    code_totals = _counts(store, unit, "cl.ancestor", closure, None) if level == "code" else {}
    groups = _ordered_groups(store, group_sql, {g for _, g in dim_counts})
    rows: list[FreqRow] = []
    dimensions = store.query("SELECT id, label FROM dimensions ORDER BY position")
    codes = store.query("SELECT path, label, dimension, depth FROM codes WHERE retired = 0 OR path IN "
                        "(SELECT code FROM codings) ORDER BY position")
    for dim in dimensions:
        rows.append(FreqRow("dimension", dim["id"], dim["label"], 0,
                            {g: n for (k, g), n in dim_counts.items() if k == dim["id"]},
                            dim_totals.get((dim["id"], NO_GROUP), 0)))
        if level == "code":
            for code in (c for c in codes if c["dimension"] == dim["id"]):
                rows.append(FreqRow("code", code["path"], code["label"], code["depth"],
                                    {g: n for (k, g), n in code_counts.items() if k == code["path"]},
                                    code_totals.get((code["path"], NO_GROUP), 0)))
    cell_source = code_counts if level == "code" else dim_counts
    order = {row.key: i for i, row in enumerate(rows)}
    group_order = {g: i for i, g in enumerate(groups)}
    cells = tuple({"group": g, "code": k, "count": n}
                  for (k, g), n in sorted(cell_source.items(), key=lambda kv: (group_order.get(kv[0][1], 0),
                                                                                order.get(kv[0][0], 0)))
                  if n)
    return FreqTable(by, unit, level, tuple(groups), tuple(rows), cells)


def _ordered_groups(store: Store, group_sql: str, with_counts: set[str]) -> list[str]:
    """Every value the grouping takes among the transcripts (so empty columns show), sorted."""
    values = {_group_label(v) for (v,) in store.conn.execute(
        f"SELECT DISTINCT {group_sql} FROM transcripts t LEFT JOIN cases cs ON cs.name = t.case_name")}
    values |= with_counts
    return sorted(values, key=lambda g: (g == NO_GROUP, _natural(g)))


def _natural(value: str):
    try:
        return (0, float(value), "")
    except ValueError:
        return (1, 0.0, value.casefold())


# -- quotes -------------------------------------------------------------------------------

@dataclass(frozen=True)
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

    def as_json(self) -> dict:
        return {"case": self.case, "transcript": self.transcript, "informant": self.informant, "role": self.role,
                "code": self.code, "text": self.text, "start": self.start, "end": self.end, "coder": self.coder,
                "memo": self.memo}


def quotes(store: Store, *, case: str | None = None, code: str | None = None, coder: str | None = None) -> list[Quote]:
    where, params = ["c.status = 'ok'"], []
    if case is not None:
        known = [r[0] for r in store.conn.execute("SELECT DISTINCT case_name FROM transcripts WHERE case_name IS NOT NULL")]
        match = [k for k in known if k.casefold() == case.casefold()]
        if not match:
            raise InputError(f"unknown case '{case}'", hint=f"known cases: {', '.join(sorted(known)) or 'none'}")
        where.append("t.case_name = ?")
        params.append(match[0])
    if code is not None:
        if code in store.dimension_ids():
            where.append("co.dimension = ?")
        else:
            where.append("c.code IN (SELECT descendant FROM code_closure WHERE ancestor = ?)")
        params.append(code)
    if coder is not None:
        where.append("c.coder = ?")
        params.append(coder)
    sql = (
        'SELECT t.case_name, t.name, t.informant, t.role, c.code, co.label, co.dimension, d.label, c.segment, '
        'c.text, c.start, c."end", c.coder, c.memo, c.uuid '
        "FROM codings c JOIN transcripts t ON t.id = c.transcript_id JOIN codes co ON co.path = c.code "
        "JOIN dimensions d ON d.id = co.dimension "
        f"WHERE {' AND '.join(where)} "
        "ORDER BY t.case_name IS NULL, t.case_name, d.position, co.position, t.name, c.start, c.\"end\", c.coder")
    return [Quote(*row) for row in store.conn.execute(sql, params)]
