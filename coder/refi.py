"""REFI-QDA, the exchange format of NVivo, ATLAS.ti, MAXQDA, QualCoder and others: a
codebook (`.qdc`, namespace urn:QDA-XML:codebook:1.0) and a project (`.qdpx`, a zip of
`project.qde`, namespace urn:QDA-XML:project:1.0, plus `sources/<guid>.txt`).

How coder's project maps onto it:
- dimensions are top-level codes (not codable), codes nest below them; a code's labels,
  include/exclude criteria, examples and keywords have no place of their own, so they
  travel at the end of its Description, in lines another person can read ("Include:",
  "- ..."), which an import reads back (`describe` / `read_description`);
- coders are Users, case offices Cases with their attributes as Variables; transcripts are
  TextSources whose text is the normalised text, so a PlainTextSelection's positions are
  coder's own offsets (code points, end exclusive); one selection per coding;
- memos are Notes, referred to from what they annotate; a coding's own memo is its
  selection's Description.

GUIDs are the ones coder stores (transcripts, codes, codings, memos) or uuid5 of a stable
name (dimensions, users, cases, variables, selections): exporting twice gives the same file.
"""
from __future__ import annotations

import datetime as _dt
import io
import json
import re
import uuid as _uuid
import zipfile
from dataclasses import dataclass
from decimal import Decimal
from typing import Iterable
from xml.etree import ElementTree as ET

from coder.selection import EVERYTHING, Selection, transcript_ids
from coder.store import Store

NS_PROJECT = "urn:QDA-XML:project:1.0"
NS_CODEBOOK = "urn:QDA-XML:codebook:1.0"
# uuid5 namespace of the GUIDs coder derives (dimensions, users, cases, variables, selections)
GUID_NAMESPACE = _uuid.UUID("5f0c7a52-0d6c-4f0e-9d38-6b1f3c1e2a10")
ORIGIN = "coder"
# ZIP members carry a date; a fixed one keeps two exports of the same project byte-identical
_ZIP_DATE = (2000, 1, 1, 0, 0, 0)
# characters XML 1.0 cannot hold (a form feed in a memo, say): dropped from XML text
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")

# The lines that carry what REFI-QDA has no place for, at the end of a Description.
LABEL_EN = "Label (en)"
INCLUDE, EXCLUDE, EXAMPLES, KEYWORDS = "Include", "Exclude", "Examples", "Keywords"
CODER_PATH = "coder path"
_LIST_HEADINGS = (INCLUDE, EXCLUDE, EXAMPLES, KEYWORDS)
_DESCRIPTION_LINE = re.compile(rf"({re.escape(LABEL_EN)}|{INCLUDE}|{EXCLUDE}|{EXAMPLES}|{KEYWORDS}|{CODER_PATH}):"
                               r"(?: (.*))?")


def derived_guid(kind: str, key: str) -> str:
    return str(_uuid.uuid5(GUID_NAMESPACE, f"{kind}:{key}")).upper()


def guid(value: str) -> str:
    return value.upper()


def _xml_text(value) -> str:
    return _NOT_XML.sub("", str(value))


# -- descriptions that carry labels, criteria, examples and keywords ------------------------

@dataclass(frozen=True)
class Described:
    """What a Description holds: the description itself and coder's fields, if any."""
    description: str | None
    label_en: str | None = None
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    path: str | None = None


def describe(d: Described) -> str | None:
    """A Description another tool shows as it is, and an import reads back into its fields."""
    lines = []
    if d.label_en:
        lines.append(f"{LABEL_EN}: {_one_line(d.label_en)}")
    for heading, items in zip(_LIST_HEADINGS, (d.include, d.exclude, d.examples, d.keywords)):
        if items:
            lines.append(f"{heading}:")
            lines += [f"- {_one_line(item)}" for item in items]
    if d.path:
        lines.append(f"{CODER_PATH}: {d.path}")
    text = (d.description or "").strip()
    if lines:
        text = f"{text}\n\n" + "\n".join(lines) if text else "\n".join(lines)
    return text or None


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def read_description(text: str | None) -> Described:
    """The inverse of `describe`: the trailing block of known lines (after a blank line, or
    the whole text) becomes fields; a description written by another tool stays whole."""
    if not text or not text.strip():
        return Described(None)
    lines = text.strip().split("\n")
    for first in range(len(lines)):
        if first and lines[first - 1].strip():
            continue
        fields = _trailer(lines[first:])
        if fields is not None:
            description = "\n".join(lines[:first]).strip() or None
            return Described(description, **fields)
    return Described(text.strip())


def _trailer(lines: list[str]) -> dict | None:
    fields: dict = {}
    current: list | None = None
    if not lines or not _DESCRIPTION_LINE.fullmatch(lines[0].strip()):
        return None
    for raw in lines:
        line = raw.strip()
        heading = _DESCRIPTION_LINE.fullmatch(line)
        if heading:
            name, value = heading.group(1), (heading.group(2) or "").strip()
            if name in _LIST_HEADINGS:
                if value:
                    return None
                current = fields.setdefault(name.lower(), [])
            else:
                key = "label_en" if name == LABEL_EN else "path"
                if not value or key in fields:
                    return None
                fields[key] = value
                current = None
        elif line.startswith("- ") and current is not None:
            current.append(line[2:].strip())
        else:
            return None
    return {k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()}


# -- export ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Exported:
    content: bytes
    codes: int
    transcripts: int
    codings: int
    memos: int


class _Hide:
    """Pseudonymisation as every export does it (coder/pseudonym.py), or nothing."""

    def __init__(self, pseudonymiser=None):
        self.p = pseudonymiser

    def text(self, value):
        return self.p.replace_text(value) if self.p and value else value

    def value(self, value):
        return self.p.value(value) if self.p else value

    def transcript(self, name: str) -> str:
        return self.p.transcript_id(name) if self.p else name

    def source_text(self, text: str, offsets: Iterable[int]) -> tuple[str, dict[int, tuple[int, int]]]:
        """The text with names replaced, and where each offset went: (as a start, as an end).
        An offset inside a name moves to the start or the end of its alias, so a coding
        covers the whole alias."""
        wanted = sorted(set(offsets))
        if not self.p:
            return text, {o: (o, o) for o in wanted}
        spans = self.p.replacements(text)
        out, moved, done, shift, k = [], {}, 0, 0, 0
        for start, end, alias in spans:
            while k < len(wanted) and wanted[k] <= start:
                moved[wanted[k]] = (wanted[k] + shift,) * 2
                k += 1
            while k < len(wanted) and wanted[k] < end:
                moved[wanted[k]] = (start + shift, start + shift + len(alias))
                k += 1
            out += [text[done:start], alias]
            shift += len(alias) - (end - start)
            done = end
        while k < len(wanted):
            moved[wanted[k]] = (wanted[k] + shift,) * 2
            k += 1
        out.append(text[done:])
        return "".join(out), moved


def _element(parent, tag: str, ns: str, **attributes) -> ET.Element:
    attrs = {k.rstrip("_"): _xml_text(v) for k, v in attributes.items() if v is not None}
    return ET.SubElement(parent, f"{{{ns}}}{tag}", attrs) if parent is not None else ET.Element(f"{{{ns}}}{tag}", attrs)


def _text_element(parent, tag: str, ns: str, text: str | None) -> None:
    if text:
        ET.SubElement(parent, f"{{{ns}}}{tag}").text = _xml_text(text)


def _serialise(root: ET.Element, ns: str) -> bytes:
    ET.register_namespace("", ns)
    ET.indent(root, space="  ")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def _codebook_in_scope(store: Store, chosen: tuple[str, ...] = ()):
    """The codebook, or with `chosen` (code paths and dimension ids) the part that holds them:
    each chosen code with its sub-codes and the codes above it, each chosen dimension whole."""
    from coder import store as db

    name, dimensions, codes = db.exchange_codebook(store)
    if chosen:
        codes = [c for c in codes if any(c["path"] == code or c["path"].startswith(code + ".")
                                         or code.startswith(c["path"] + ".") or c["dimension"] == code
                                         for code in chosen)]
        keep = {c["dimension"] for c in codes} | (set(chosen) & {d["id"] for d in dimensions})
        dimensions = [d for d in dimensions if d["id"] in keep]
    return name, dimensions, codes


def _write_codes(parent, ns: str, dimensions, codes, hide: _Hide, notes_on: dict[str, list[str]]) -> int:
    """Dimensions as top-level codes (not codable), their codes nested below; returns how
    many codes were written."""
    elements: dict[str, ET.Element] = {}
    written = 0
    for d in dimensions:
        el = _element(parent, "Code", ns, guid=derived_guid("dimension", d["id"]), name=hide.text(d["label"]),
                      isCodable="false", color=d["color"])
        _text_element(el, "Description", ns, describe(Described(hide.text(d["description"]), hide.text(d["label_en"]),
                                                               path=hide.text(d["id"]))))
        elements[d["id"]] = el
        written += 1
    for c in codes:
        holder = elements.get(c["parent"]) if c["parent"] in elements else elements.get(c["dimension"])
        if holder is None:
            continue
        el = _element(holder, "Code", ns, guid=guid(c["uuid"]), name=hide.text(c["label"]), isCodable="true",
                      color=c["color"])
        lists = [tuple(hide.text(x) for x in json.loads(c[key] or "[]"))
                 for key in ("include", "exclude", "examples", "keywords")]
        _text_element(el, "Description", ns, describe(Described(hide.text(c["description"]), hide.text(c["label_en"]),
                                                               *lists, path=hide.text(c["path"]))))
        for note in notes_on.get(c["path"], ()):
            _element(el, "NoteRef", ns, targetGUID=note)
        elements[c["path"]] = el
        written += 1
    # schema order inside a Code: Description, NoteRef, then the sub-codes
    for el in elements.values():
        el[:] = sorted(el, key=lambda child: _CODE_CHILD_ORDER.get(child.tag.rsplit("}", 1)[-1], 2))
    return written


_CODE_CHILD_ORDER = {"Description": 0, "NoteRef": 1}


def export_codebook(store: Store, *, codes: tuple[str, ...] = (), pseudonymiser=None) -> Exported:
    """The codebook as a `.qdc` file (Codebook.xsd)."""
    hide = _Hide(pseudonymiser)
    _, dimensions, codes = _codebook_in_scope(store, codes)
    root = _element(None, "CodeBook", NS_CODEBOOK, origin=ORIGIN)
    holder = _element(root, "Codes", NS_CODEBOOK)
    written = _write_codes(holder, NS_CODEBOOK, dimensions, codes, hide, {})
    from coder.errors import InputError

    if not written:
        raise InputError("the project has no codebook", hint="load one with `coder codebook load FILE`")
    return Exported(_serialise(root, NS_CODEBOOK), written, 0, 0, 0)


def _value_type(values: list) -> str:
    if all(isinstance(v, bool) for v in values):
        return "Boolean"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "Integer"
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return "Float"
    if all(isinstance(v, str) and _is_date(v) for v in values):
        return "Date"
    return "Text"


def _is_date(value: str) -> bool:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return False
    try:
        _dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _value_element(parent, ns: str, kind: str, value) -> None:
    if kind == "Boolean":
        text = "true" if value else "false"
    elif kind == "Float":
        text = format(Decimal(repr(float(value))), "f")
    elif isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = str(value)
    tag = {"Boolean": "BooleanValue", "Integer": "IntegerValue", "Float": "FloatValue", "Date": "DateValue"}.get(
        kind, "TextValue")
    ET.SubElement(parent, f"{{{ns}}}{tag}").text = _xml_text(text)


# transcript fields that are columns in coder and Variables in REFI-QDA
TRANSCRIPT_FIELDS = ("informant", "role", "date")


def export_project(store: Store, scope: Selection = EVERYTHING, *, pseudonymiser=None) -> Exported:
    """The project as a `.qdpx` archive (Project.xsd): the part of it the filters select."""
    from coder import store as db
    from coder.reports import QuoteFilter, quotes

    ns = NS_PROJECT
    hide = _Hide(pseudonymiser)
    chosen = None if scope.is_empty else {q.id for q in quotes(store, QuoteFilter(selection=scope))}
    codebook_name, dimensions, codes = _codebook_in_scope(store, scope.codes)
    code_uuid = {c["path"]: c["uuid"] for c in codes}
    cases = {r["name"]: json.loads(r["attributes"] or "{}") for r in db.exchange_cases(store)}
    in_scope = transcript_ids(store, scope)  # None: every transcript
    transcripts = [t for t in db.exchange_transcripts(store) if in_scope is None or t["id"] in in_scope]
    by_id = {t["id"]: t for t in transcripts}
    codings = [c for c in db.exchange_codings(store) if c["transcript_id"] in by_id and c["code"] in code_uuid
               and (chosen is None or c["uuid"] in chosen)]
    in_cases = {t["case_name"] for t in transcripts}
    case_names = [name for name in cases if name in in_cases]
    targets = {("project", ""), *(("transcript", t["name"]) for t in transcripts), *(("code", p) for p in code_uuid),
               *(("coding", c["uuid"]) for c in codings)}
    memos = [m for m in db.exchange_memos(store) if (m["target_type"], m["target"]) in targets]

    users: dict[str, str] = {}  # coder name as written -> GUID

    def user(name: str) -> str:
        shown = hide.text(name) or "unknown"
        return users.setdefault(shown, derived_guid("user", shown))

    for c in codings:
        user(c["coder"])
    for m in memos:
        user(m["author"])

    notes_on: dict[tuple[str, str], list[str]] = {}
    for m in memos:
        notes_on.setdefault((m["target_type"], m["target"]), []).append(guid(m["uuid"]))

    created = db.project_created_at(store)
    root = _element(None, "Project", ns, name=hide.text(codebook_name) or "coder project", origin=ORIGIN,
                    creationDateTime=created)
    users_el = _element(root, "Users", ns)
    codebook_el = _element(root, "CodeBook", ns)
    codes_el = _element(codebook_el, "Codes", ns)
    written_codes = _write_codes(codes_el, ns, dimensions, codes, hide,
                                 {path: notes for (kind, path), notes in notes_on.items() if kind == "code"})
    if not written_codes:
        root.remove(codebook_el)

    # Variables: every case and transcript attribute, typed by the values it takes
    values: dict[str, list] = {}
    for name in case_names:
        for key, value in cases[name].items():
            values.setdefault(key, []).append(value)
    for t in transcripts:
        for key in TRANSCRIPT_FIELDS:
            if t[key] is not None:
                values.setdefault(key, []).append(t[key])
        for key, value in json.loads(t["attributes"] or "{}").items():
            values.setdefault(key, []).append(value)
    values = {k: [v for v in vs if v is not None] for k, vs in values.items()}
    values = {k: vs for k, vs in values.items() if vs}
    variables: dict[str, tuple[str, str]] = {}  # attribute -> (GUID, type)
    if values:
        variables_el = _element(root, "Variables", ns)
        for key, vs in values.items():
            shown = hide.text(key)
            kind = _value_type([hide.value(v) for v in vs])
            variables[key] = (derived_guid("variable", shown), kind)
            _element(variables_el, "Variable", ns, guid=variables[key][0], name=shown, typeOfVariable=kind)

    def variable_values(parent, attributes: dict) -> None:
        for key, value in attributes.items():
            if value is None or key not in variables:
                continue
            var_guid, kind = variables[key]
            el = _element(parent, "VariableValue", ns)
            _element(el, "VariableRef", ns, targetGUID=var_guid)
            _value_element(el, ns, kind, hide.value(value))

    if case_names:
        cases_el = _element(root, "Cases", ns)
        for name in case_names:
            shown = hide.text(name)
            case_el = _element(cases_el, "Case", ns, guid=derived_guid("case", shown), name=shown)
            variable_values(case_el, cases[name])
            for t in transcripts:
                if t["case_name"] == name:
                    _element(case_el, "SourceRef", ns, targetGUID=guid(t["uuid"]))

    members: list[tuple[str, bytes]] = []
    by_transcript: dict[int, list] = {}
    for c in codings:
        by_transcript.setdefault(c["transcript_id"], []).append(c)
    if transcripts:
        sources_el = _element(root, "Sources", ns)
    for t in transcripts:
        source_guid = guid(t["uuid"])
        mine = by_transcript.get(t["id"], [])
        text, moved = hide.source_text(t["text"], [o for c in mine for o in (c["start"], c["end"])])
        members.append((f"sources/{source_guid}.txt", text.encode("utf-8")))
        source_el = _element(sources_el, "TextSource", ns, guid=source_guid, name=hide.transcript(t["name"]),
                             plainTextPath=f"internal://{source_guid}.txt", creationDateTime=t["imported_at"])
        for c in mine:
            start, end = moved[c["start"]][0], moved[c["end"]][1]
            selection = _element(source_el, "PlainTextSelection", ns, guid=derived_guid("selection", c["uuid"]),
                                 name=_one_line(text[start:end])[:40], startPosition=str(start),
                                 endPosition=str(end), creatingUser=user(c["coder"]),
                                 creationDateTime=c["created_at"])
            _text_element(selection, "Description", ns, hide.text(c["memo"]))
            coding = _element(selection, "Coding", ns, guid=guid(c["uuid"]), creatingUser=user(c["coder"]),
                              creationDateTime=c["created_at"])
            _element(coding, "CodeRef", ns, targetGUID=guid(code_uuid[c["code"]]))
            for note in notes_on.get(("coding", c["uuid"]), ()):
                _element(selection, "NoteRef", ns, targetGUID=note)
        for note in notes_on.get(("transcript", t["name"]), ()):
            _element(source_el, "NoteRef", ns, targetGUID=note)
        fields = {key: t[key] for key in TRANSCRIPT_FIELDS}
        variable_values(source_el, {**fields, **json.loads(t["attributes"] or "{}")})

    if memos:
        notes_el = _element(root, "Notes", ns)
        for m in memos:
            note = _element(notes_el, "Note", ns, guid=guid(m["uuid"]), name=_note_name(hide.text(m["text"])),
                            creatingUser=user(m["author"]), creationDateTime=m["created_at"])
            _text_element(note, "PlainTextContent", ns, hide.text(m["text"]))
    for note in notes_on.get(("project", ""), ()):
        _element(root, "NoteRef", ns, targetGUID=note)
    for shown, user_guid in users.items():
        _element(users_el, "User", ns, guid=user_guid, name=shown)
    if not users:
        root.remove(users_el)

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in [("project.qde", _serialise(root, ns)), *members]:
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return Exported(buffer.getvalue(), written_codes, len(transcripts), len(codings), len(memos))


def _note_name(text: str | None) -> str | None:
    if not text:
        return None
    return text.strip().split("\n", 1)[0][:60]


