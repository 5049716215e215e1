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

import dataclasses
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

from coder.refi_kind import NS_CODEBOOK, NS_PROJECT, sniff  # noqa: F401 (sniff: which file is REFI-QDA)
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


class ProjectExport:
    """A .qdpx to be written: `content(stream)` writes it into a binary stream, a transcript at
    a time (its text, its codings), so a project of any size is never held whole; the counts
    are complete once it has been written."""

    def __init__(self, write, *, codes: int, transcripts: int, memos: int) -> None:
        self._write = write
        self.codes, self.transcripts, self.memos = codes, transcripts, memos
        self.codings = 0

    def content(self, stream) -> None:
        self.codings = self._write(stream)

    content.binary = True  # bytes, written by a function (commands/base._emit, output_files)


def export_project(store: Store, scope: Selection = EVERYTHING, *, pseudonymiser=None) -> ProjectExport:
    """The project as a `.qdpx` archive (Project.xsd): the part of it the filters select.

    It is written as one document would be serialised whole (ElementTree, indented), but a
    part at a time: what comes before the sources (users, codebook, variables, cases) and
    the notes after them are small and built whole; each transcript's TextSource is built,
    serialised and let go in turn. Users come first in the file, in the order they first
    code, so their order is read from the codings beforehand (one pass, no rows kept)."""
    from coder import store as db
    from coder.selection import coding_filter
    from coder.store import codings as coding_rows, transcripts as transcript_rows

    ns = NS_PROJECT
    hide = _Hide(pseudonymiser)
    chosen = coding_filter(store, scope)
    codebook_name, dimensions, codes = _codebook_in_scope(store, scope.codes)
    code_uuid = {c["path"]: c["uuid"] for c in codes}
    code_paths = list(code_uuid)
    cases = {r["name"]: json.loads(r["attributes"] or "{}") for r in db.exchange_cases(store)}
    in_scope = transcript_ids(store, scope)  # None: every transcript
    transcripts = [t for t in db.exchange_transcripts(store) if in_scope is None or t["id"] in in_scope]
    in_cases = {t["case_name"] for t in transcripts}
    case_names = [name for name in cases if name in in_cases]
    every_memo = db.exchange_memos(store)
    on_codings = coding_rows.exchange_present(
        store, [m["target"] for m in every_memo if m["target_type"] == "coding"], code_paths, chosen) \
        if transcripts else set()
    targets = {("project", ""), *(("transcript", t["name"]) for t in transcripts), *(("code", p) for p in code_uuid),
               *(("coding", uuid) for uuid in on_codings)}
    memos = [m for m in every_memo if (m["target_type"], m["target"]) in targets]

    users: dict[str, str] = {}  # coder name as written -> GUID

    def user(name: str) -> str:
        shown = hide.text(name) or "unknown"
        return users.setdefault(shown, derived_guid("user", shown))

    for coder in (coding_rows.exchange_coders(store, code_paths, chosen) if transcripts else ()):
        user(coder)
    for m in memos:
        user(m["author"])

    notes_on: dict[tuple[str, str], list[str]] = {}
    for m in memos:
        notes_on.setdefault((m["target_type"], m["target"]), []).append(guid(m["uuid"]))

    created = db.project_created_at(store)
    root = _element(None, "Project", ns, name=hide.text(codebook_name) or "coder project", origin=ORIGIN,
                    creationDateTime=created)
    before: list[ET.Element] = []  # the root's children before Sources, then after it
    if users:
        users_el = _element(None, "Users", ns)
        for shown, user_guid in users.items():
            _element(users_el, "User", ns, guid=user_guid, name=shown)
        before.append(users_el)
    codebook_el = _element(None, "CodeBook", ns)
    codes_el = _element(codebook_el, "Codes", ns)
    written_codes = _write_codes(codes_el, ns, dimensions, codes, hide,
                                 {path: notes for (kind, path), notes in notes_on.items() if kind == "code"})
    if written_codes:
        before.append(codebook_el)

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
        variables_el = _element(None, "Variables", ns)
        for key, vs in values.items():
            shown = hide.text(key)
            kind = _value_type([hide.value(v) for v in vs])
            variables[key] = (derived_guid("variable", shown), kind)
            _element(variables_el, "Variable", ns, guid=variables[key][0], name=shown, typeOfVariable=kind)
        before.append(variables_el)
    del values

    def variable_values(parent, attributes: dict) -> None:
        for key, value in attributes.items():
            if value is None or key not in variables:
                continue
            var_guid, kind = variables[key]
            el = _element(parent, "VariableValue", ns)
            _element(el, "VariableRef", ns, targetGUID=var_guid)
            _value_element(el, ns, kind, hide.value(value))

    if case_names:
        cases_el = _element(None, "Cases", ns)
        of_case: dict[str, list] = {}
        for t in transcripts:
            of_case.setdefault(t["case_name"], []).append(t)
        for name in case_names:
            shown = hide.text(name)
            case_el = _element(cases_el, "Case", ns, guid=derived_guid("case", shown), name=shown)
            variable_values(case_el, cases[name])
            for t in of_case.get(name, ()):
                _element(case_el, "SourceRef", ns, targetGUID=guid(t["uuid"]))
        before.append(cases_el)

    after: list[ET.Element] = []
    if memos:
        notes_el = _element(None, "Notes", ns)
        for m in memos:
            note = _element(notes_el, "Note", ns, guid=guid(m["uuid"]), name=_note_name(hide.text(m["text"])),
                            creatingUser=user(m["author"]), creationDateTime=m["created_at"])
            _text_element(note, "PlainTextContent", ns, hide.text(m["text"]))
        after.append(notes_el)
    for note in notes_on.get(("project", ""), ()):
        after.append(_element(None, "NoteRef", ns, targetGUID=note))

    def source(t, text: str, mine: list) -> ET.Element:
        """A transcript's TextSource, with its selections; `text` has its names hidden."""
        source_guid = guid(t["uuid"])
        source_el = _element(None, "TextSource", ns, guid=source_guid, name=hide.transcript(t["name"]),
                             plainTextPath=f"internal://{source_guid}.txt", creationDateTime=t["imported_at"])
        for uuid, start, end, code, coder, memo, created_at in mine:
            selection = _element(source_el, "PlainTextSelection", ns, guid=derived_guid("selection", uuid),
                                 name=_one_line(text[start:end])[:40], startPosition=str(start),
                                 endPosition=str(end), creatingUser=user(coder), creationDateTime=created_at)
            _text_element(selection, "Description", ns, hide.text(memo))
            coding = _element(selection, "Coding", ns, guid=guid(uuid), creatingUser=user(coder),
                              creationDateTime=created_at)
            _element(coding, "CodeRef", ns, targetGUID=guid(code_uuid[code]))
            for note in notes_on.get(("coding", uuid), ()):
                _element(selection, "NoteRef", ns, targetGUID=note)
        for note in notes_on.get(("transcript", t["name"]), ()):
            _element(source_el, "NoteRef", ns, targetGUID=note)
        fields = {key: t[key] for key in TRANSCRIPT_FIELDS}
        variable_values(source_el, {**fields, **json.loads(t["attributes"] or "{}")})
        return source_el

    # a transcript's codings are read by its id: the filter's list of transcripts is not needed
    # again (read for each transcript, it made the export's work grow with their square)
    of_transcript = dataclasses.replace(chosen, transcript_ids=None)

    def sources(document, texts) -> int:
        """Writes <Sources>, a transcript at a time, and each text as the archive holds it into
        `texts` (they follow project.qde there); returns how many codings it holds."""
        written = 0
        document.write(b"<Sources>")
        for t in transcripts:
            mine = coding_rows.exchange_of_transcript(store, t["id"], code_paths, of_transcript)
            written += len(mine)
            text, moved = hide.source_text(transcript_rows.text(store, t["id"]), [o for c in mine for o in c[1:3]])
            data = text.encode("utf-8")
            texts.write(data)
            t_sizes.append(len(data))
            mine = [(c[0], moved[c[1]][0], moved[c[2]][1], *c[3:]) for c in mine]
            document.write(b"\n    " + _serialise_part(source(t, text, mine), ns, 2))
        document.write(b"\n  </Sources>")
        return written

    t_sizes: list[int] = []

    def write(stream) -> int:
        import shutil
        import tempfile

        with zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as archive, \
                tempfile.TemporaryFile() as document, tempfile.TemporaryFile() as texts:
            written = _serialise_streamed(document, root, ns, before,
                                          (lambda d: sources(d, texts)) if transcripts else None, after)
            # as ZipFile.writestr writes it (its size known first, so the same bytes), from the file
            info = _member("project.qde")
            info.file_size = document.tell()
            document.seek(0)
            with archive.open(info, mode="w") as member:
                shutil.copyfileobj(document, member, 1 << 20)
            texts.seek(0)
            for t, size in zip(transcripts, t_sizes):
                archive.writestr(_member(f"sources/{guid(t['uuid'])}.txt"), texts.read(size))
        return written

    return ProjectExport(write, codes=written_codes, transcripts=len(transcripts), memos=len(memos))


def _member(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def _serialise_part(element: ET.Element, ns: str, level: int) -> bytes:
    """One element as `_serialise` writes it inside the whole document at this depth: indented
    alike, and in the document's default namespace (not declared again on it)."""
    ET.register_namespace("", ns)
    ET.indent(element, space="  ", level=level)
    text = ET.tostring(element, encoding="unicode")
    tag = element.tag.rsplit("}", 1)[-1]
    declared = f'<{tag} xmlns="{ns}"'
    assert text.startswith(declared), text[:80]
    return (f"<{tag}" + text[len(declared):]).encode("utf-8")


def _serialise_streamed(document, root: ET.Element, ns: str, before: list, sources, after: list) -> int:
    """`_serialise(root)` of a root whose children are `before`, then the Sources `sources`
    writes (when given), then `after`, written into `document` part by part. Returns what
    `sources` returns (0 without)."""
    children = len(before) + (sources is not None) + len(after)
    marker = b"\x00body\x00"  # never in XML text: where the root's children go
    if children:
        root.text = marker.decode()
    ET.register_namespace("", ns)
    whole = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    if not children:
        document.write(whole + b"\n")
        return 0
    head, tail = whole.rsplit(marker, 1)
    document.write(head)
    written = 0
    for element in before:
        document.write(b"\n  " + _serialise_part(element, ns, 1))
    if sources is not None:
        document.write(b"\n  ")
        written = sources(document)
    for element in after:
        document.write(b"\n  " + _serialise_part(element, ns, 1))
    document.write(b"\n" + tail + b"\n")
    return written


def _note_name(text: str | None) -> str | None:
    if not text:
        return None
    return text.strip().split("\n", 1)[0][:60]


# -- import: reading archives and XML that may be hostile -------------------------------------
#
# Everything is read and checked before anything is written: a file is refused whole (one
# line naming it and the problem), and the project is then as it was.

# A member larger than a transcript may be, or an archive that inflates to more than this, is
# refused from its declared size, before anything is inflated; the bytes actually inflated are
# counted too, as the sizes in a zip's headers are written by whoever made it.
MAX_MEMBERS = 100_000
MAX_RATIO = 200  # inflated / compressed: text and XML compress 3-20x; a zip bomb 1000x and more
_RATIO_FROM = 1 << 20  # small members may compress better (a run of spaces); their size is harmless
_CHUNK = 1 << 16


def _max_member_bytes() -> int:
    from coder.ingest import max_bytes

    return max_bytes()


def _refuse(path, message: str, hint: str | None = None):
    from coder.errors import InputError

    return InputError(f"{message}; nothing was imported", path=str(path), hint=hint)


class _Archive:
    """A zip archive whose member names and sizes were checked when it was opened."""

    def __init__(self, path):
        import os
        import stat as _stat

        from coder.text import file_kind

        self.path = path
        try:
            mode = os.stat(path).st_mode
        except FileNotFoundError:
            raise _refuse(path, "no such file") from None
        if not _stat.S_ISREG(mode):
            raise _refuse(path, f"is {file_kind(mode)}, not a regular file")
        try:
            self.zip = zipfile.ZipFile(path)
        except zipfile.BadZipFile:
            raise _refuse(path, "not a zip archive (a .qdpx file is a zip of project.qde and sources/)") from None
        except OSError as exc:
            raise _refuse(path, f"cannot read it ({exc.strerror or exc})") from None
        infos = self.zip.infolist()
        if len(infos) > MAX_MEMBERS:
            raise _refuse(path, f"the archive has {len(infos)} members (at most {MAX_MEMBERS} are read)")
        limit, total = _max_member_bytes(), 0
        self.members: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            name = info.filename
            problem = _unsafe_member_name(name)
            if problem:
                raise _refuse(path, f"member {name!r} {problem}", hint="an archive made to write outside its folder "
                                                                       "(zip slip) is never read")
            if info.file_size > limit:
                raise _refuse(path, f"member {name!r} declares {info.file_size:,} bytes inflated, more than the "
                                    f"{limit:,} coder reads (CODER_MAX_BYTES)")
            if info.file_size > _RATIO_FROM and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                raise _refuse(path, f"member {name!r} inflates {info.file_size // max(info.compress_size, 1):,} "
                                    f"times (a zip bomb?)")
            total += info.file_size
            if not name.endswith("/"):
                self.members.setdefault(name.casefold(), info)
        if total > 4 * limit:
            raise _refuse(path, f"the archive declares {total:,} bytes inflated, more than the {4 * limit:,} coder "
                                "reads (4 x CODER_MAX_BYTES)")

    def has(self, name: str) -> bool:
        return name.casefold() in self.members

    def read(self, name: str) -> bytes:
        """A member's bytes, never more than its header declared (zipfile stops there and checks
        the CRC, so a stream that inflates further is reported as damaged)."""
        import lzma
        import zlib

        info = self.members[name.casefold()]
        chunks, size = [], 0
        try:
            with self.zip.open(info) as stream:
                while True:
                    chunk = stream.read(_CHUNK)
                    if not chunk:
                        break
                    size += len(chunk)
                    if size > info.file_size or size > _max_member_bytes():
                        raise _refuse(self.path, f"member {name!r} inflates to more than it declares (a zip bomb?)")
                    chunks.append(chunk)
        except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError, zlib.error,
                lzma.LZMAError) as exc:
            raise _refuse(self.path, f"member {name!r} is damaged ({exc})") from None
        return b"".join(chunks)

    def close(self) -> None:
        self.zip.close()


def _unsafe_member_name(name: str) -> str | None:
    if "\\" in name:
        return "contains a backslash (on Windows it would leave the folder)"
    if name.startswith("/") or re.match(r"[A-Za-z]:", name):
        return "is an absolute path"
    if any(part == ".." for part in name.split("/")):
        return "escapes the folder ('..')"
    if "\x00" in name:
        return "contains a NUL character"
    return None


def parse_xml(data: bytes, *, path, member: str | None = None) -> ET.Element:
    """XML parsed by defusedxml: a DTD (and so any entity, external or expanding) is refused
    before anything is resolved."""
    import defusedxml
    from defusedxml.ElementTree import fromstring

    where = f"{member}: " if member else ""
    try:
        return fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DTDForbidden:
        raise _refuse(path, f"{where}declares a DTD (external entities and entity expansion are attacks; "
                            "REFI-QDA files need none)") from None
    except (defusedxml.EntitiesForbidden, defusedxml.ExternalReferenceForbidden):
        raise _refuse(path, f"{where}declares entities (refused: external entities and entity expansion are "
                            "attacks)") from None
    except ET.ParseError as exc:
        line, column = getattr(exc, "position", (None, None))
        at = f" at line {line}, column {column + 1}" if line is not None else ""
        raise _refuse(path, f"{where}not well-formed XML{at} ({str(exc).split(':')[0]})") from None


# -- import: what a REFI-QDA file holds -----------------------------------------------------------

@dataclass(frozen=True)
class ForeignCode:
    guid: str  # lower case, as coder stores uuids
    name: str
    codable: bool
    color: str | None
    description: str | None
    children: tuple["ForeignCode", ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ForeignCoding:
    guid: str
    code: str  # the code's GUID
    user: str | None


@dataclass(frozen=True)
class ForeignSelection:
    guid: str
    name: str
    start: int  # in the normalised text, mapped from the file's positions
    end: int
    description: str | None
    codings: tuple[ForeignCoding, ...]
    notes: tuple[str, ...]


@dataclass(frozen=True)
class ForeignSource:
    guid: str
    name: str
    text: str  # normalised (BOM decoded, CRLF -> LF, NFC)
    selections: tuple[ForeignSelection, ...]
    notes: tuple[str, ...]
    values: tuple[tuple[str, object], ...]  # (variable GUID, value)
    description: str | None


@dataclass(frozen=True)
class ForeignCase:
    guid: str
    name: str
    description: str | None
    values: tuple[tuple[str, object], ...]
    sources: tuple[str, ...]


@dataclass(frozen=True)
class ForeignNote:
    guid: str
    name: str | None
    text: str
    user: str | None


@dataclass(frozen=True)
class ForeignProject:
    name: str | None
    origin: str | None
    users: dict  # GUID -> name
    codes: tuple[ForeignCode, ...]
    variables: dict  # GUID -> name
    cases: tuple[ForeignCase, ...]
    sources: tuple[ForeignSource, ...]
    notes: tuple[ForeignNote, ...]
    project_notes: tuple[str, ...]
    description: str | None
    warnings: tuple[str, ...]


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(el, name: str) -> list:
    return [c for c in el if _local(c.tag) == name]


def _child(el, name: str):
    found = _children(el, name)
    return found[0] if found else None


def _text_of(el, name: str) -> str | None:
    child = _child(el, name)
    return child.text if child is not None and child.text and child.text.strip() else None


def _guid(value: str | None, path, what: str) -> str:
    text = (value or "").strip().strip("{}").lower()
    try:
        return str(_uuid.UUID(text))
    except ValueError:
        raise _refuse(path, f"{what} has no valid GUID ({value!r})") from None


def _codes(parent, path, seen: set[str]) -> tuple[ForeignCode, ...]:
    codes = []
    for el in _children(parent, "Code"):
        name = (el.get("name") or "").strip()
        code_guid = _guid(el.get("guid"), path, f"code {name!r}")
        if code_guid in seen:
            raise _refuse(path, f"two codes have the GUID {code_guid.upper()}")
        seen.add(code_guid)
        color = (el.get("color") or "").strip()
        if re.fullmatch(r"#[0-9A-Fa-f]{3}", color):
            color = "#" + "".join(c * 2 for c in color[1:])
        codes.append(ForeignCode(code_guid, name or code_guid, (el.get("isCodable") or "true").strip() in ("true", "1"),
                                 color.lower() if re.fullmatch(r"#[0-9A-Fa-f]{6}", color) else None,
                                 _text_of(el, "Description"), _codes(el, path, seen),
                                 tuple(_guid(r.get("targetGUID"), path, "a NoteRef") for r in _children(el, "NoteRef"))))
    return tuple(codes)


def read_codebook_file(path) -> tuple[str | None, tuple[ForeignCode, ...], tuple[str, ...]]:
    """(origin, codes, warnings) of a `.qdc` file."""
    from coder.text import read_regular_file

    data = read_regular_file(path, max_bytes=_max_member_bytes())
    root = parse_xml(data, path=path)
    if root.tag != f"{{{NS_CODEBOOK}}}CodeBook":
        if root.tag == f"{{{NS_PROJECT}}}Project":
            raise _refuse(path, "a REFI-QDA project, not a codebook", hint="import it with `coder import`")
        raise _refuse(path, f"not a REFI-QDA codebook (its root is <{_local(root.tag)}>, not <CodeBook> in "
                            f"{NS_CODEBOOK})")
    holder = _child(root, "Codes")
    codes = _codes(holder, path, set()) if holder is not None else ()
    warnings = []
    sets = _child(root, "Sets")
    if sets is not None and len(_children(sets, "Set")):
        warnings.append(f"{len(_children(sets, 'Set'))} set(s) of codes not imported: coder has no sets")
    return root.get("origin"), codes, tuple(warnings)


def _source_member(plain_text_path: str, path) -> str:
    """The archive member a TextSource's plainTextPath names: only `internal://NAME` (a file in
    sources/) is read; anything else would reach outside the archive."""
    if not plain_text_path.startswith("internal://"):
        raise _refuse(path, f"a source's text is at {plain_text_path!r}, outside the archive; coder reads sources "
                            "only from inside it (internal://...)")
    name = plain_text_path[len("internal://"):]
    if not name or "/" in name or "\\" in name or name in (".", "..") or "\x00" in name:
        raise _refuse(path, f"a source's plainTextPath {plain_text_path!r} is not a file name in sources/ "
                            "(refused: it would reach outside the archive)")
    return f"sources/{name}"


def decode_source(data: bytes, *, path, member: str) -> str:
    """A source's text decoded by the offset contract: by its BOM (UTF-8, UTF-16 LE/BE), else
    UTF-8; the BOM is not part of the text."""
    import codecs

    try:
        if data.startswith(codecs.BOM_UTF8):
            return data[3:].decode("utf-8")
        if data.startswith(codecs.BOM_UTF16_LE):
            return data[2:].decode("utf-16-le")
        if data.startswith(codecs.BOM_UTF16_BE):
            return data[2:].decode("utf-16-be")
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _refuse(path, f"{member} is not valid UTF-8 or UTF-16 (byte {exc.start})") from None


class OffsetMap:
    """Positions in a decoded source text -> positions in coder's normalised text of it (CRLF
    and lone CR -> LF, then NFC), as text.normalise makes it. A position inside a CRLF pair or
    inside a character and its combining marks moves outwards: a start to before it, an end to
    after it, so the selection keeps what it covered."""

    def __init__(self, raw: str):
        import bisect
        import unicodedata

        from coder.text import normalise

        self._bisect = bisect
        self.raw_length = len(raw)
        self.text = normalise(raw)
        self.removed = [m.start() for m in re.finditer("\r\n", raw)]  # each CR of a CRLF pair goes
        lf = re.sub("\r\n?", "\n", raw)
        self.identity = lf == self.text
        if not self.identity:
            # clusters: a character with the combining marks after it, normalised one by one
            starts = [m.start() for m in re.finditer(r"(?s).[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff"
                                                     r"\ufe20-\ufe2f]*", lf)]
            pieces, positions, length = [], [], 0
            for i, begin in enumerate(starts):
                finish = starts[i + 1] if i + 1 < len(starts) else len(lf)
                piece = unicodedata.normalize("NFC", lf[begin:finish])
                positions.append(length)
                pieces.append(piece)
                length += len(piece)
            if "".join(pieces) != self.text:
                raise ValueError("Unicode normalisation joins characters across clusters")
            self.starts, self.positions = starts + [len(lf)], positions + [length]  # the end is a boundary too

    def _lf(self, offset: int, *, end: bool) -> int:
        k = self._bisect.bisect_left(self.removed, offset)
        inside = k > 0 and self.removed[k - 1] == offset - 1  # between the CR and the LF of a pair
        return offset - k + (1 if inside and end else 0)

    def map(self, offset: int, *, end: bool) -> int:
        position = self._lf(offset, end=end)
        if self.identity:
            return position
        i = self._bisect.bisect_right(self.starts, position) - 1
        if i < 0:
            return 0
        if self.starts[i] == position or not end:
            return self.positions[i]
        return self.positions[i + 1]


def _value(el, path) -> object:
    for child in el:
        kind = _local(child.tag)
        if kind == "VariableRef":
            continue
        text = (child.text or "").strip()
        if kind == "BooleanValue":
            return text in ("true", "1")
        if kind == "IntegerValue":
            try:
                return int(text)
            except ValueError:
                return text
        if kind == "FloatValue":
            try:
                number = float(Decimal(text))
            except ArithmeticError:
                return text
            from coder.ingest import finite_or_text

            return finite_or_text(number)
        return text
    return None


def _values(el, path) -> tuple[tuple[str, object], ...]:
    found = []
    for value in _children(el, "VariableValue"):
        ref = _child(value, "VariableRef")
        if ref is None:
            continue
        found.append((_guid(ref.get("targetGUID"), path, "a VariableRef"), _value(value, path)))
    return tuple(found)


def _position(el, attribute: str, path, where: str) -> int:
    raw = (el.get(attribute) or "").strip()
    if not re.fullmatch(r"[+-]?\d+", raw):
        raise _refuse(path, f"{where} has {attribute}={raw!r}, not a whole number")
    return int(raw)


def read_project_file(path) -> ForeignProject:
    """Everything a `.qdpx` holds that coder keeps, checked: member names, sizes, XML, that
    every source is inside the archive and every selection inside its source's text."""
    archive = _Archive(path)
    try:
        if not archive.has("project.qde"):
            raise _refuse(path, "no project.qde in the archive (a .qdpx file is a zip of project.qde and "
                                "sources/)")
        root = parse_xml(archive.read("project.qde"), path=path, member="project.qde")
        if root.tag != f"{{{NS_PROJECT}}}Project":
            raise _refuse(path, f"project.qde is not a REFI-QDA project (its root is <{_local(root.tag)}>)")
        return _read_project(root, archive, path)
    finally:
        archive.close()


def _read_project(root, archive: _Archive, path) -> ForeignProject:
    warnings: list[str] = []
    users = {}
    for el in _children(_child(root, "Users") if _child(root, "Users") is not None else root, "User"):
        users[_guid(el.get("guid"), path, "a user")] = (el.get("name") or el.get("id") or "").strip() or None
    codebook = _child(root, "CodeBook")
    codes_el = _child(codebook, "Codes") if codebook is not None else None
    codes = _codes(codes_el, path, set()) if codes_el is not None else ()
    variables = {}
    if _child(root, "Variables") is not None:
        for el in _children(_child(root, "Variables"), "Variable"):
            variables[_guid(el.get("guid"), path, "a variable")] = (el.get("name") or "").strip()
    cases = []
    if _child(root, "Cases") is not None:
        for el in _children(_child(root, "Cases"), "Case"):
            case_guid = _guid(el.get("guid"), path, "a case")
            cases.append(ForeignCase(case_guid, (el.get("name") or "").strip() or case_guid,
                                     _text_of(el, "Description"), _values(el, path),
                                     tuple(_guid(r.get("targetGUID"), path, "a SourceRef")
                                           for r in _children(el, "SourceRef"))))
    sources, skipped = [], 0
    sources_el = _child(root, "Sources")
    for el in (list(sources_el) if sources_el is not None else []):
        if _local(el.tag) != "TextSource":
            skipped += 1
            continue
        sources.append(_read_source(el, archive, path))
    if skipped:
        warnings.append(f"{skipped} source(s) that are not text (pictures, PDFs, audio, video) not imported")
    notes = []
    if _child(root, "Notes") is not None:
        for el in _children(_child(root, "Notes"), "Note"):
            content = _text_of(el, "PlainTextContent")
            name = (el.get("name") or "").strip() or None
            if content is None and el.get("plainTextPath"):
                member = _source_member(el.get("plainTextPath"), path)
                if not archive.has(member):
                    raise _refuse(path, f"project.qde refers to {member}, which is not in the archive")
                content = decode_source(archive.read(member), path=path, member=member)
            text = content or name or ""
            if name and content and not content.strip().startswith(name):
                text = f"{name}\n{content}"
            notes.append(ForeignNote(_guid(el.get("guid"), path, "a note"), name, text.strip(),
                                     _guid(el.get("creatingUser"), path, "a note's user")
                                     if el.get("creatingUser") else None))
    sets = _child(root, "Sets")
    if sets is not None and _children(sets, "Set"):
        warnings.append(f"{len(_children(sets, 'Set'))} set(s) not imported: coder has no sets")
    for extra in ("Links", "Graphs"):
        if _child(root, extra) is not None and len(_child(root, extra)):
            warnings.append(f"{extra.lower()} not imported: coder has none")
    return ForeignProject(root.get("name"), root.get("origin"), users, codes, variables, tuple(cases),
                          tuple(sources), tuple(notes),
                          tuple(_guid(r.get("targetGUID"), path, "a NoteRef") for r in _children(root, "NoteRef")),
                          _text_of(root, "Description"), tuple(warnings))


def _read_source(el, archive: _Archive, path) -> ForeignSource:
    source_guid = _guid(el.get("guid"), path, "a source")
    name = (el.get("name") or "").strip() or source_guid
    where = f"source {name!r}"
    if el.get("plainTextPath"):
        member = _source_member(el.get("plainTextPath").strip(), path)
        if not archive.has(member):
            raise _refuse(path, f"project.qde refers to {member} (the text of {where}), which is not in the archive")
        raw = decode_source(archive.read(member), path=path, member=member)
    elif _text_of(el, "PlainTextContent") is not None:
        raw = _child(el, "PlainTextContent").text
    else:
        raise _refuse(path, f"{where} has no text (no plainTextPath and no PlainTextContent)")
    try:
        offsets = OffsetMap(raw)
    except ValueError:
        raise _refuse(path, f"{where}: its text cannot be normalised without moving the selections") from None
    selections = []
    for sel in _children(el, "PlainTextSelection"):
        sel_guid = _guid(sel.get("guid"), path, f"a selection in {where}")
        label = f"selection {sel.get('name') or sel_guid.upper()!r} in {where}"
        start = _position(sel, "startPosition", path, label)
        end = _position(sel, "endPosition", path, label)
        if start > end:
            raise _refuse(path, f"{label} starts at {start}, after its end at {end}")
        if start < 0 or end > offsets.raw_length:
            raise _refuse(path, f"{label} runs {start}-{end}, outside its text of {offsets.raw_length} characters "
                                "(code points)", hint="offsets outside the text are refused, never clamped")
        codings = tuple(ForeignCoding(_guid(c.get("guid"), path, f"a coding of {label}"),
                                      _guid(_child(c, "CodeRef").get("targetGUID"), path, f"a coding of {label}")
                                      if _child(c, "CodeRef") is not None else "",
                                      _guid(c.get("creatingUser") or sel.get("creatingUser"), path, "a user")
                                      if (c.get("creatingUser") or sel.get("creatingUser")) else None)
                        for c in _children(sel, "Coding"))
        selections.append(ForeignSelection(sel_guid, sel.get("name") or "", offsets.map(start, end=False),
                                           offsets.map(end, end=True), _text_of(sel, "Description"), codings,
                                           tuple(_guid(r.get("targetGUID"), path, "a NoteRef")
                                                 for r in _children(sel, "NoteRef"))))
    return ForeignSource(source_guid, name, offsets.text, tuple(selections),
                         tuple(_guid(r.get("targetGUID"), path, "a NoteRef") for r in _children(el, "NoteRef")),
                         _values(el, path), _text_of(el, "Description"))


# -- import: into the project ---------------------------------------------------------------------

CODES_DIMENSION = "codes"  # where top-level codes without sub-codes go (a dimension holds codes)


@dataclass(frozen=True)
class CodebookPlan:
    codebook: object  # coder.codebook.Codebook: the project's codes and the file's, merged
    paths: dict  # a code's GUID in the file -> its path in coder
    new: int
    updated: int
    renames: tuple[str, ...]  # one line per name that had to change to be unique


def plan_codebook(store: Store | None, codes: tuple[ForeignCode, ...], *, name: str | None, source: str,
                  coded: set[str] = frozenset()) -> CodebookPlan:
    """The project's codebook with the file's codes merged in. A code is the project's code
    with its GUID, else the one at the path coder wrote in its description, else a new code
    whose path comes from its name (made unique among its siblings). A top-level code
    becomes a dimension (one with codings also gets a code of its own name below it); top-level
    codes without sub-codes go into the dimension `codes`."""
    from coder.codebook import ID_PATTERN, Code, Codebook, Dimension, _suggest_id
    from coder.text import sha256_text

    if store is not None:
        from coder import store as db

        existing_name, dim_rows, code_rows = db.exchange_codebook(store)
    else:
        existing_name, dim_rows, code_rows = None, [], []
    code_rows = [r for r in code_rows if not r["retired"]]
    dims: dict[str, dict] = {d["id"]: {"label": d["label"], "label_en": d["label_en"], "description": d["description"],
                                       "color": d["color"]} for d in dim_rows}
    nodes: dict[str, dict] = {}  # path -> fields of the coder Code
    for r in code_rows:
        nodes[r["path"]] = {"id": r["id"], "dimension": r["dimension"], "parent": r["parent"], "label": r["label"],
                            "label_en": r["label_en"], "description": r["description"],
                            **{k: tuple(json.loads(r[k] or "[]")) for k in ("include", "exclude", "examples",
                                                                           "keywords")},
                            "color": r["color"], "uuid": r["uuid"]}
    by_uuid = {fields["uuid"]: path for path, fields in nodes.items()}
    paths: dict[str, str] = {}
    renames: list[str] = []
    counts = {"new": 0, "updated": 0}

    def children_ids(parent: str) -> set[str]:
        return {f["id"] for f in nodes.values() if f["parent"] == parent}

    def unique(base: str, taken: set[str]) -> str:
        if base not in taken:
            return base
        n = 2
        while f"{base}_{n}" in taken:
            n += 1
        return f"{base}_{n}"

    def fields_of(fc: ForeignCode, described: Described) -> dict:
        return {"label": fc.name, "label_en": described.label_en, "description": described.description,
                "include": described.include, "exclude": described.exclude, "examples": described.examples,
                "keywords": described.keywords, "color": fc.color}

    def place(fc: ForeignCode, parent: str, dimension: str, parent_label: str) -> None:
        described = read_description(fc.description)
        path = by_uuid.get(fc.guid)
        if path is None and described.path and described.path in nodes and described.path.rsplit(".", 1)[0] == parent:
            path = described.path
        if path is not None:
            nodes[path].update(fields_of(fc, described))
            counts["updated"] += 1
        else:
            wanted = described.path.rsplit(".", 1)[-1] if described.path and ID_PATTERN.fullmatch(
                described.path.rsplit(".", 1)[-1]) else _suggest_id(fc.name)
            code_id = unique(wanted, children_ids(parent))
            if code_id != wanted:
                renames.append(f"code {fc.name!r} under {parent_label!r}: path {parent}.{code_id} "
                               f"({parent}.{wanted} is taken)")
            path = f"{parent}.{code_id}"
            nodes[path] = {"id": code_id, "dimension": dimension, "parent": parent, **fields_of(fc, described),
                           "uuid": fc.guid}
            by_uuid[fc.guid] = path
            counts["new"] += 1
        paths[fc.guid] = path
        for child in fc.children:
            place(child, path, dimension, fc.name)

    for fc in codes:
        if not fc.children:
            if CODES_DIMENSION not in dims:
                dims[CODES_DIMENSION] = {"label": "Codes", "label_en": None, "description": None, "color": None}
            place(fc, CODES_DIMENSION, CODES_DIMENSION, "Codes")
            continue
        described = read_description(fc.description)
        dim_id = None
        if described.path and ID_PATTERN.fullmatch(described.path):
            dim_id = described.path
        elif fc.guid in {derived_guid("dimension", d).lower() for d in dims}:
            dim_id = next(d for d in dims if derived_guid("dimension", d).lower() == fc.guid)
        else:
            wanted = _suggest_id(fc.name)
            dim_id = wanted if wanted not in dims or dims[wanted]["label"] == fc.name else unique(wanted, set(dims))
            if dim_id != wanted:
                renames.append(f"dimension {fc.name!r}: {dim_id} ({wanted} is taken)")
        if dim_id in dims:
            counts["updated"] += 1
        else:
            counts["new"] += 1
        dims[dim_id] = {"label": fc.name, "label_en": described.label_en, "description": described.description,
                        "color": fc.color}
        paths[fc.guid] = dim_id
        if fc.guid in coded:  # coded directly: a code of its own name holds those codings
            own = ForeignCode(fc.guid, fc.name, True, fc.color, None, ())
            place(own, dim_id, dim_id, fc.name)
            renames.append(f"dimension {fc.name!r} has codings of its own: they are on its code {paths[fc.guid]}")
        for child in fc.children:
            place(child, dim_id, dim_id, fc.name)

    def build(parent: str, depth: int) -> tuple:
        return tuple(Code(path=path, id=f["id"], dimension=f["dimension"], parent=f["parent"], label=f["label"] or f["id"],
                          label_en=f["label_en"], description=f["description"], include=f["include"],
                          exclude=f["exclude"], examples=f["examples"], keywords=f["keywords"], color=f["color"],
                          depth=depth, children=build(path, depth + 1), uuid=f["uuid"])
                     for path, f in nodes.items() if f["parent"] == parent)

    dimensions = tuple(Dimension(d, f["label"], f["label_en"], f["description"], f["color"], build(d, 1))
                       for d, f in dims.items())
    dimensions = tuple(d for d in dimensions if d.codes)
    text = json.dumps({"name": existing_name or name or "REFI-QDA codebook",
                       "dimensions": [_dimension_json(d) for d in dimensions]}, ensure_ascii=False, indent=1)
    codebook = Codebook(name=existing_name or name or "REFI-QDA codebook", version=None, language=None,
                        description=None, dimensions=dimensions, source=source, sha256=sha256_text(text),
                        yaml_text=text)
    return CodebookPlan(codebook, paths, counts["new"], counts["updated"], tuple(renames))


def _dimension_json(d) -> dict:
    """A dimension as coder's codebook YAML writes it (JSON is YAML): what codebook_versions keeps."""
    def code(c) -> dict:
        out = {"id": c.id, "label": {"nb": c.label, "en": c.label_en} if c.label_en else c.label}
        for key in ("description", "color"):
            if getattr(c, key):
                out[key] = getattr(c, key)
        for key in ("include", "exclude", "examples", "keywords"):
            if getattr(c, key):
                out[key] = list(getattr(c, key))
        if c.children:
            out["codes"] = [code(child) for child in c.children]
        return out
    out = {"id": d.id, "label": {"nb": d.label, "en": d.label_en} if d.label_en else d.label}
    if d.description:
        out["description"] = d.description
    if d.color:
        out["color"] = d.color
    out["codes"] = [code(c) for c in d.codes]
    return out


@dataclass(frozen=True)
class CodebookImport:
    status: str
    codes: int
    new: int
    updated: int
    renames: tuple[str, ...]
    warnings: tuple[str, ...]


def read_codebook(path) -> tuple[tuple[ForeignCode, ...], tuple[str, ...], str]:
    """A `.qdc` read and checked, before any project is touched: (codes, warnings, origin)."""
    origin, codes, warnings = read_codebook_file(path)
    if not codes:
        raise _refuse(path, "the codebook has no codes")
    return codes, warnings, origin or ""


def load_codebook_file(store: Store, path, read=None) -> CodebookImport:
    """`coder codebook load FILE.qdc`: the file's codes merged into the project's codebook."""
    from pathlib import Path

    from coder import codebook_load

    codes, warnings, origin = read or read_codebook(path)
    with store.transaction():
        plan = plan_codebook(store, codes, name=Path(path).stem.replace("_", " "), source=str(path))
        result = codebook_load.load_codebook(store, plan.codebook)
    return CodebookImport(result.status, result.codes, plan.new, plan.updated, plan.renames, warnings)


@dataclass(frozen=True)
class ProjectImport:
    transcripts: tuple  # importing.ImportResult of each source
    codes_new: int
    codes_updated: int
    codings_new: int
    codings_same: int
    codings_replaced: int
    cases: int
    memos: int
    renames: tuple[str, ...]
    warnings: tuple[str, ...]

    def as_json(self) -> dict:
        return {"transcripts": [t.as_json() for t in self.transcripts], "codes_new": self.codes_new,
                "codes_updated": self.codes_updated, "codings_new": self.codings_new,
                "codings_unchanged": self.codings_same, "codings_replaced": self.codings_replaced,
                "cases": self.cases, "memos": self.memos, "renamed": list(self.renames),
                "warnings": list(self.warnings)}


RESERVED_ATTRIBUTES = ("case", "transcripts", "segments")


def import_project(store: Store, path, *, default_coder: str, foreign: ForeignProject | None = None) -> ProjectImport:
    """`coder import PROJECT.qdpx`: read and check the whole file (unless `foreign` is it,
    read already), then write its codebook, cases, transcripts, codings and notes in one
    transaction."""
    from dataclasses import replace

    from coder import codebook_load
    from coder import store as db
    from coder.cases import set_case_attributes
    from coder.coding import add_codings
    from coder.importing import import_transcript_text
    from coder.ingest import CodingRequest, parse_transcript
    from coder.notes import add_memo

    foreign = foreign or read_project_file(path)
    warnings = list(foreign.warnings)
    renames: list[str] = []
    coded = {c.code for s in foreign.sources for sel in s.selections for c in sel.codings}

    def user(guid_: str | None) -> str:
        return foreign.users.get(guid_) or default_coder if guid_ else default_coder

    with store.transaction():
        plan = plan_codebook(store, foreign.codes, name=foreign.name, source=str(path), coded=coded)
        renames += plan.renames
        if plan.codebook.dimensions:
            codebook_load.load_codebook(store, plan.codebook)
        # cases, with their variables as attributes
        case_of: dict[str, str] = {}
        dropped_keys: set[str] = set()
        for case in foreign.cases:
            attributes = {}
            for var, value in case.values:
                key = foreign.variables.get(var)
                if not key or key in RESERVED_ATTRIBUTES:
                    dropped_keys.add(key or var)
                    continue
                if value is not None:
                    attributes[key] = value
            if case.description and "description" not in attributes:
                attributes["description"] = case.description
            if attributes:
                set_case_attributes(store, case.name, attributes)
            else:
                store.ensure_case(case.name)
            for source in case.sources:
                if source in case_of and case_of[source] != case.name:
                    warnings.append("a source in several cases is kept in the first (coder gives a transcript "
                                    "one case)")
                case_of.setdefault(source, case.name)
        # transcripts, through the import's own path (re-anchoring codings of a changed text)
        names = db.transcript_uuids(store)
        taken = {name for name, uuid in names.items()}
        results, name_of = [], {}
        for source in foreign.sources:
            mine = next((n for n, u in names.items() if u == source.guid), None)
            name = mine or source.name
            if mine is None and name in taken:
                n = 2
                while f"{source.name} ({n})" in taken:
                    n += 1
                name = f"{source.name} ({n})"
                renames.append(f"transcript {source.name!r}: {name!r} (the project has another of that name)")
            taken.add(name)
            name_of[source.guid] = name
            try:
                transcript = parse_transcript(source.text, path=f"{path}: source {source.name!r}", name=name,
                                              case=case_of.get(source.guid))
            except Exception as exc:
                from coder.errors import CoderError

                if isinstance(exc, CoderError):
                    raise _refuse(path, f"source {source.name!r}: {exc.detail}") from None
                raise
            fields, attributes = {}, dict(transcript.attributes)
            for var, value in source.values:
                key = foreign.variables.get(var)
                if not key or key in RESERVED_ATTRIBUTES:
                    dropped_keys.add(key or var)
                elif key in TRANSCRIPT_FIELDS:
                    fields[key] = None if value is None else str(value)
                elif value is not None:
                    attributes[key] = value
            if source.description and "description" not in attributes:
                attributes["description"] = source.description
            transcript = replace(transcript, attributes=attributes, **fields)
            results.append(import_transcript_text(store, transcript, uuid=source.guid,
                                                  source=f"{path}:{source.name}"))
        if dropped_keys:
            warnings.append(f"variable(s) {', '.join(sorted(map(repr, dropped_keys)))} not imported: coder "
                            "uses those names itself, or they are not declared")
        # codings, through the writer `code apply` uses
        requests, unknown, empty = [], 0, 0
        for source in foreign.sources:
            for sel in source.selections:
                for coding in sel.codings:
                    code_path = plan.paths.get(coding.code)
                    if code_path is None or "." not in code_path:
                        unknown += 1
                        continue
                    if sel.start == sel.end:
                        empty += 1
                        continue
                    requests.append(CodingRequest(
                        row=len(requests) + 1, transcript=name_of[source.guid], code=code_path, start=str(sel.start),
                        end=str(sel.end), coder=user(coding.user), memo=sel.description or "", uuid=coding.guid))
        if unknown:
            warnings.append(f"{unknown} coding(s) of codes the file does not define not imported")
        if empty:
            warnings.append(f"{empty} coding(s) of empty selections (start = end) not imported")
        there = db.codings_by_uuid(store, [r.uuid for r in requests])
        moved = [r.uuid for r in requests if r.uuid in there
                 and there[r.uuid] != (r.transcript, int(r.start), int(r.end), r.code, r.coder)]
        if moved:
            from coder.store import codings as coding_rows  # the one writer of codings

            coding_rows.remove(store, uuids=moved)  # a re-import replaces those another tool moved or recoded
        coded_results = add_codings(store, requests, coder=default_coder, threshold=100,
                                    action="import.refi") if requests else []
        failed = [r for r in coded_results if r.status not in ("coded", "duplicate")]
        if failed:
            raise _refuse(path, f"a coding could not be placed: {failed[0].message}")
        # notes, as memos on what refers to them
        targets: dict[str, dict] = {}
        for note in foreign.project_notes:
            targets.setdefault(note, {})
        for source in foreign.sources:
            for note in source.notes:
                targets.setdefault(note, {"transcript": name_of[source.guid]})
            for sel in source.selections:
                first = next((c.guid for c in sel.codings if plan.paths.get(c.code, "").count(".")), None)
                for note in sel.notes:
                    targets.setdefault(note, {"coding": first} if first else {"transcript": name_of[source.guid]})
        stack = list(foreign.codes)
        while stack:
            fc = stack.pop()
            stack += fc.children
            for note in fc.notes:
                path_ = plan.paths.get(fc.guid)
                if path_ and "." in path_:
                    targets.setdefault(note, {"code": path_})
        memos = 0
        for note in foreign.notes:
            if not note.text:
                continue
            add_memo(store, note.text, author=user(note.user), uuid=note.guid, **targets.get(note.guid, {}))
            memos += 1
        if foreign.description:
            add_memo(store, foreign.description, author=default_coder,
                     uuid=derived_guid("description", foreign.description).lower())
            memos += 1
        store.audit("import.refi", source=str(path), transcripts=len(results), codings=len(requests))
    return ProjectImport(tuple(results), plan.new, plan.updated,
                         sum(1 for r in coded_results if r.status == "coded") - len(moved),
                         sum(1 for r in coded_results if r.status == "duplicate"), len(moved),
                         len(foreign.cases), memos, tuple(renames), tuple(dict.fromkeys(warnings)))
