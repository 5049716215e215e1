"""Codebook YAML -> frozen dataclasses, validated with line numbers.

A code's identity is its dotted path (`vertical.two_bosses`); a user may also refer to a
code by its last part when that is unique in the codebook.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from coder.errors import InputError, UnknownCode
from coder.text import CODEBOOK_FILE, csv_header, csv_records, missing_column, read_text_file, sha256_text

# Both validate a whole value: always fullmatch ("$" alone also matches before a final newline).
ID_PATTERN = re.compile(r"[a-z0-9_]+")
COLOR_PATTERN = re.compile(r"#[0-9A-Fa-f]{6}")
TOP_KEYS = ("name", "version", "language", "description", "dimensions")
DIMENSION_KEYS = ("id", "label", "description", "color", "codes")
CODE_KEYS = ("id", "renamed_from", "label", "description", "include", "exclude", "examples", "keywords", "color",
             "codes")
LIST_KEYS = ("include", "exclude", "examples", "keywords")


@dataclass(frozen=True)
class Code:
    path: str
    id: str
    dimension: str
    parent: str  # parent code's path, or the dimension id for a top-level code
    label: str  # Norwegian label (or the only one)
    label_en: str | None = None
    description: str | None = None
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    color: str | None = None
    depth: int = 1
    children: tuple["Code", ...] = field(default=(), repr=False)
    uuid: str | None = None  # kept from another tool's file (REFI-QDA GUID), so a re-import updates it
    renamed_from: str | None = None  # `renamed_from:` the code's old path (or last part): a load moves its codings


@dataclass(frozen=True)
class Dimension:
    id: str
    label: str
    label_en: str | None
    description: str | None
    color: str | None
    codes: tuple[Code, ...]


@dataclass(frozen=True)
class Codebook:
    name: str
    version: str | None
    language: str | None
    description: str | None
    dimensions: tuple[Dimension, ...]
    source: str = ""
    sha256: str = ""
    yaml_text: str = ""

    def codes(self) -> Iterator[Code]:
        """Every code, depth first, in codebook order."""
        def walk(codes: Iterable[Code]) -> Iterator[Code]:
            for code in codes:
                yield code
                yield from walk(code.children)
        for dimension in self.dimensions:
            yield from walk(dimension.codes)


def load_codebook(path: Path) -> Codebook:
    """A codebook from YAML, or from CSV when the file name ends in .csv."""
    decoded = read_text_file(path, reads=CODEBOOK_FILE)
    if path.suffix.lower() == ".csv":
        return parse_codebook_csv(decoded.text, source=str(path))
    return parse_codebook(decoded.text, source=str(path))


def parse_codebook(text: str, *, source: str) -> Codebook:
    from coder import yamlio  # here, not above: resolving a code (`code add`) needs no YAML

    data = yamlio.load(text, path=source)
    if not isinstance(data, dict):
        raise InputError("a codebook is a YAML mapping with 'name' and 'dimensions'", path=source, line=1)
    _check_keys(data, TOP_KEYS, source, "the codebook")
    name = _required_str(data, "name", source, "the codebook")
    dims_raw = data.get("dimensions")
    if not isinstance(dims_raw, list) or not dims_raw:
        raise InputError("'dimensions' must be a list with at least one dimension", path=source,
                         line=data.line_of("dimensions"))
    dimensions: list[Dimension] = []
    seen_dims: dict[str, int] = {}
    for index, raw in enumerate(dims_raw):
        line = dims_raw.item_lines[index]
        if not isinstance(raw, dict):
            raise InputError("each dimension is a mapping with 'id', 'label' and 'codes'", path=source, line=line)
        where = f"dimension {index + 1}"
        _check_keys(raw, DIMENSION_KEYS, source, where)
        dim_id = _id(raw, source, where)
        if dim_id in seen_dims:
            raise InputError(f"duplicate dimension id '{dim_id}'", path=source, line=raw.line_of("id"),
                             hint=f"it is already used on line {seen_dims[dim_id]}")
        seen_dims[dim_id] = raw.line_of("id")
        label, label_en = _label(raw, source, f"dimension '{dim_id}'")
        codes_raw = raw.get("codes")
        if not isinstance(codes_raw, list) or not codes_raw:
            raise InputError(f"dimension '{dim_id}' needs 'codes': a list with at least one code", path=source,
                             line=raw.line_of("codes"))
        codes = _codes(codes_raw, dim_id, dim_id, "", source, depth=1)
        dimensions.append(Dimension(dim_id, label, label_en, _opt_str(raw, "description", source),
                                    _color(raw, source), codes))
    return Codebook(name=name, version=_opt_str(data, "version", source), language=_opt_str(data, "language", source),
                    description=_opt_str(data, "description", source), dimensions=tuple(dimensions),
                    source=source, sha256=sha256_text(text), yaml_text=text)


def _codes(items: list, dimension: str, parent: str, prefix: str, source: str, depth: int) -> tuple[Code, ...]:
    codes: list[Code] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(items):
        line = items.item_lines[index]
        if not isinstance(raw, dict):
            raise InputError(f"each code under '{parent}' is a mapping with 'id' and 'label'", path=source, line=line)
        code_id = _id(raw, source, f"code {index + 1} under '{parent}'")
        path = f"{parent}.{code_id}"
        _check_keys(raw, CODE_KEYS, source, f"code '{path}'")
        if code_id in seen:
            raise InputError(f"duplicate code id '{code_id}' under '{parent}'", path=source, line=raw.line_of("id"),
                             hint=f"it is already used on line {seen[code_id]}")
        seen[code_id] = raw.line_of("id")
        label, label_en = _label(raw, source, f"code '{path}'")
        children_raw = raw.get("codes")
        children: tuple[Code, ...] = ()
        if children_raw is not None:
            if not isinstance(children_raw, list):
                raise InputError(f"'codes' of '{path}' must be a list", path=source, line=raw.line_of("codes"))
            children = _codes(children_raw, dimension, path, path, source, depth + 1)
        codes.append(Code(
            path=path, id=code_id, dimension=dimension, parent=parent, label=label, label_en=label_en,
            description=_opt_str(raw, "description", source),
            include=_str_list(raw, "include", source, path), exclude=_str_list(raw, "exclude", source, path),
            examples=_str_list(raw, "examples", source, path), keywords=_str_list(raw, "keywords", source, path),
            color=_color(raw, source), depth=depth, children=children,
            renamed_from=_opt_str(raw, "renamed_from", source),
        ))
    return tuple(codes)


def _check_keys(raw: dict, allowed: tuple[str, ...], source: str, where: str) -> None:
    for key in raw:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
            hint = f"did you mean '{close[0]}'?" if close else f"allowed keys: {', '.join(allowed)}"
            raise InputError(f"unknown key '{key}' in {where}", path=source, line=raw.line_of(key), hint=hint)


def _text(value, key: str, source: str, line: int, where: str = "") -> str:
    """A YAML value that must be text. YAML reads `yes` as true, `1.10` as 1.1, `010` as 8 and
    `2020-01-01` as a date: turned back into text they would not be what was written, so
    they are refused, and the fix is to quote them."""
    if isinstance(value, str):
        return value
    kind = ("a list" if isinstance(value, list) else "a mapping" if isinstance(value, dict)
            else "true/false (YAML reads yes, no, on, off as such)" if isinstance(value, bool)
            else "a number" if isinstance(value, (int, float)) else "empty" if value is None
            else "a date" if hasattr(value, "isoformat") else type(value).__name__)
    hint = ('put it in quotes ("...") to keep it as text' if not isinstance(value, (list, dict))
            else f"write {key} as one piece of text")
    raise InputError(f"'{key}'{f' of {where}' if where else ''} must be text, not {kind}", path=source, line=line,
                     hint=hint)


def _id(raw: dict, source: str, where: str) -> str:
    value = raw.get("id")
    if value is None:
        raise InputError(f"{where} has no 'id'", path=source, line=raw.line)
    value = _text(value, "id", source, raw.line_of("id"), where)
    if not ID_PATTERN.fullmatch(value):
        raise InputError(f"id '{value}' in {where} must be lowercase letters, digits and _ only",
                         path=source, line=raw.line_of("id"), hint=f"try '{_suggest_id(value)}'")
    return value


def _suggest_id(value: str) -> str:
    folded = value.lower().replace("æ", "ae").replace("ø", "o").replace("å", "a")
    return re.sub(r"[^a-z0-9_]+", "_", folded).strip("_") or "code"


def _label(raw: dict, source: str, where: str) -> tuple[str, str | None]:
    value = raw.get("label")
    if value is None:
        raise InputError(f"{where} has no 'label'", path=source, line=raw.line)
    if isinstance(value, dict):
        unknown = [k for k in value if k not in ("nb", "nn", "no", "en")]
        if unknown:
            raise InputError(f"label of {where} has unknown language '{unknown[0]}'", path=source,
                             line=value.line_of(unknown[0]), hint="use nb and en")
        texts = {lang: _text(text, lang, source, value.line_of(lang), f"the label of {where}")
                 for lang, text in value.items() if text is not None}
        native = texts.get("nb") or texts.get("nn") or texts.get("no") or texts.get("en")
        if not native or not native.strip():
            raise InputError(f"label of {where} is empty", path=source, line=raw.line_of("label"))
        return native, texts.get("en")
    if isinstance(value, list):
        raise InputError(f"label of {where} must be a string or {{nb: ..., en: ...}}", path=source,
                         line=raw.line_of("label"))
    value = _text(value, "label", source, raw.line_of("label"), where)
    if value.strip() == "":
        raise InputError(f"label of {where} must be a string or {{nb: ..., en: ...}}", path=source,
                         line=raw.line_of("label"))
    return value, None


def _required_str(raw: dict, key: str, source: str, where: str) -> str:
    value = raw.get(key)
    if value is None or (isinstance(value, str) and value.strip() == ""):
        raise InputError(f"{where} needs '{key}'", path=source, line=getattr(raw, "line", 1))
    return _text(value, key, source, raw.line_of(key))


def _opt_str(raw: dict, key: str, source: str) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if key == "version" and isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # version: 2
    return _text(value, key, source, raw.line_of(key)).strip()


def _str_list(raw: dict, key: str, source: str, where: str) -> tuple[str, ...]:
    value = raw.get(key)
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or any(isinstance(v, (dict, list)) for v in value):
        raise InputError(f"'{key}' of '{where}' must be a list of strings", path=source, line=raw.line_of(key))
    return tuple(_text(v, f"{key}[{i}]", source, value.item_lines[i], f"'{where}'") for i, v in enumerate(value))


def _color(raw: dict, source: str) -> str | None:
    value = raw.get("color")
    if value is None:
        return None
    if not COLOR_PATTERN.fullmatch(str(value)):
        raise InputError(f"colour '{value}' is not #RRGGBB", path=source, line=raw.line_of("color"),
                         hint='quote it in YAML: color: "#1f77b4"')
    return str(value).lower()


# -- referring to codes -------------------------------------------------------------------

def resolve_code(ref: str, paths: Iterable[str], *, dimensions: Iterable[str] = (), allow_dimension: bool = False) -> str:
    """Turn what a user typed into a code path: the full path, or a unique last part.

    With allow_dimension, a dimension id resolves to itself (for filters, not for coding).
    """
    ref = ref.strip()
    paths = list(paths)
    dimensions = list(dimensions)
    if ref in paths:
        return ref
    if allow_dimension and ref in dimensions:
        return ref
    by_last = [p for p in paths if p.rsplit(".", 1)[-1] == ref or p.endswith("." + ref)]
    if len(by_last) == 1:
        return by_last[0]
    if len(by_last) > 1:
        raise UnknownCode(f"code '{ref}' is ambiguous: it could be {' or '.join(sorted(by_last))}",
                          hint="use the full path")
    candidates = paths + (dimensions if allow_dimension else [])
    close = _closest(ref, candidates)
    hint = f"did you mean {' or '.join(repr(c) for c in close)}?" if close else "see `coder codebook show`"
    raise UnknownCode(f"unknown code '{ref}'", hint=hint)


def _closest(ref: str, candidates: list[str]) -> list[str]:
    from rapidfuzz import fuzz, process

    lasts = {c: c.rsplit(".", 1)[-1] for c in candidates}
    scored = process.extract(ref, lasts, scorer=fuzz.WRatio, limit=3, score_cutoff=60)
    return [key for _, _, key in scored]


# -- codebooks kept in spreadsheets ---------------------------------------------------------

# A text a spreadsheet would run as a formula (= + - @, tab or CR first) is written with a '
# in front, which spreadsheets do not show. So that loading takes off exactly the quote coder
# added, a text that already starts with quotes before such a character gets one more.
_FORMULA_AFTER_QUOTES = re.compile(r"'*[=+\-@\t\r]")
_QUOTED_FORMULA = re.compile(r"'+[=+\-@\t\r]")
LIST_SEPARATORS = "|;"


def csv_text(value: str) -> str:
    """A text as a codebook CSV holds it (see _FORMULA_AFTER_QUOTES)."""
    return "'" + value if _FORMULA_AFTER_QUOTES.match(value) else value


def text_from_csv(cell: str) -> str:
    """The text a codebook CSV cell holds: a ' before = + - @ is taken off (once)."""
    return cell[1:] if _QUOTED_FORMULA.match(cell) else cell


def csv_list(items) -> str:
    """Items joined with ' | '; a | ; or \\ inside an item is written with a \\ before it."""
    return " | ".join(item.replace("\\", "\\\\").replace("|", "\\|").replace(";", "\\;") for item in items)


def list_from_csv(cell: str) -> tuple[str, ...]:
    """Items separated by | or ; (as people type them in a spreadsheet), \\| \\; and \\\\ read
    as the character itself; items stripped, empty ones dropped."""
    items, current, index = [], [], 0
    while index < len(cell):
        char = cell[index]
        if char == "\\" and index + 1 < len(cell) and cell[index + 1] in LIST_SEPARATORS + "\\":
            current.append(cell[index + 1])
            index += 2
            continue
        if char in LIST_SEPARATORS:
            items.append("".join(current))
            current = []
        else:
            current.append(char)
        index += 1
    items.append("".join(current))
    return tuple(item.strip() for item in items if item.strip())


def parse_codebook_csv(text: str, *, source: str) -> Codebook:
    """A codebook from CSV: a `path` column (dimension.code.sub) or a `name` column (flat codes
    in one dimension), plus optional label, label_en, description, include, exclude, examples,
    keywords (lists separated by | or ;, a separator inside an item written \\| or \\;) and
    color. A row whose path is a bare dimension id gives that dimension's label and
    description; a `codebook` column, the codebook's name. Taguette's codebook export
    (`tag,description`) is a flat list too. A ' that coder put before a text starting with
    = + - @ (so spreadsheets do not run it) is taken off again."""
    records = csv_records(text, source)
    header = csv_header(records, source, lower=True)
    if "tag" in header and "name" not in header and "path" not in header:
        header = ["name" if h == "tag" else h for h in header]  # Taguette's codebook
    if "path" not in header and "name" not in header:
        raise missing_column(source, "path", header,
                             needs="path,label,description,... (or, for a flat list, name or tag,description)")
    dims: dict[str, dict] = {}
    codes: dict[str, dict] = {}
    codebook_name = ""
    for line, cells in enumerate(records, start=2):
        row = {k: text_from_csv(v.strip()) for k, v in zip(header, cells) if k}
        if not any(row.values()):
            continue
        codebook_name = codebook_name or row.get("codebook", "")
        if row.get("path"):
            path = row["path"]
        else:
            path = f"codes.{_suggest_id(row.get('name', ''))}"
            row.setdefault("label", row.get("name", ""))
            if not row.get("label"):
                row["label"] = row.get("name", "")
        parts = path.split(".")
        bad = [p for p in parts if not ID_PATTERN.fullmatch(p)]
        if bad:
            raise InputError(f"'{bad[0]}' in path '{path}' must be lowercase letters, digits and _ only",
                             path=source, line=line, hint=f"try '{_suggest_id(bad[0])}'")
        if row.get("color") and not COLOR_PATTERN.fullmatch(row["color"]):
            raise InputError(f"colour '{row['color']}' is not #RRGGBB", path=source, line=line)
        if path in codes or (len(parts) == 1 and path in dims and dims[path].get("line")):
            raise InputError(f"duplicate path '{path}'", path=source, line=line)
        if len(parts) == 1:
            dims[path] = {**row, "line": line}
            continue
        dims.setdefault(parts[0], {})
        codes[path] = {**row, "line": line}
    for path, row in codes.items():
        parent = path.rsplit(".", 1)[0]
        if parent.count(".") and parent not in codes:
            raise InputError(f"'{path}' has no parent row '{parent}'", path=source, line=row["line"])
    def build(prefix: str, dimension: str, depth: int) -> tuple[Code, ...]:
        out = []
        for path, row in codes.items():
            if path.rsplit(".", 1)[0] != prefix:
                continue
            lists = {key: list_from_csv(row.get(key, "")) for key in LIST_KEYS}
            out.append(Code(path=path, id=path.rsplit(".", 1)[1], dimension=dimension, parent=prefix,
                            label=row.get("label") or path.rsplit(".", 1)[1], label_en=row.get("label_en") or None,
                            description=row.get("description") or None, color=(row.get("color") or None),
                            depth=depth, children=build(path, dimension, depth + 1), **lists))
        return tuple(out)
    dimensions = []
    for dim_id, row in dims.items():
        children = build(dim_id, dim_id, 1)
        if not children:
            raise InputError(f"dimension '{dim_id}' has no codes", path=source, line=row.get("line", 1))
        dimensions.append(Dimension(dim_id, row.get("label") or dim_id, row.get("label_en") or None,
                                    row.get("description") or None, row.get("color") or None, children))
    if not dimensions:
        raise InputError("the codebook has no codes", path=source, line=1)
    name = codebook_name or Path(source).stem.replace("_", " ")
    return Codebook(name=name, version=None, language=None, description=None, dimensions=tuple(dimensions),
                    source=source, sha256=sha256_text(text), yaml_text=text)
