"""The history of a project, read from its audit trail (`coder log`): who did what, when, and
what it changed, one readable line per write.

Every write leaves one audit row (`Store.audit`): its time, its actor (the coder name of
whoever ran the command), an action name (`code.add`, `transcripts.rename`, ...) and the
details the command gave, as JSON. A batch (an import, `code apply`, a merge, a bulk code
operation) is one row: its line here summarises it (counts, the first few names), and
`expand` gives every detail. An action this module does not know (a newer coder's, another
helper's) is still shown, generically, from its details: nothing in the trail is hidden.
"""
from __future__ import annotations

import datetime as _dt
import json
import re
from dataclasses import dataclass
from typing import Callable, Iterable

from coder.errors import InputError
from coder.store import Store
from coder.store import audit as audit_rows
from coder.store.audit import AuditRow

# A list longer than this is summarised in the line ("12 transcripts: a, b, c, …").
SHOWN_ITEMS = 3


@dataclass(frozen=True)
class Entry:
    """One audit row as `coder log` shows it."""

    id: int
    at: str
    actor: str
    action: str
    summary: str
    details: dict
    batch: bool  # the line leaves details out: `coder log --expand ID` shows them

    def as_json(self) -> dict:
        return {"id": self.id, "at": self.at, "actor": self.actor, "action": self.action, "summary": self.summary,
                "details": self.details}


# -- filters ----------------------------------------------------------------------------------

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_AGO = re.compile(r"(\d+)\s*([dhw])")


def parse_since(raw: str, *, today: _dt.date | None = None) -> str:
    """A --since value as the ISO time it means (UTC, as the trail is stamped): a date
    (2026-12-01: from its start), a date and time (2026-12-01T14:00, 2026-12-01 14:00), or
    a time ago (3d, 12h, 2w)."""
    text = raw.strip()
    ago = _AGO.fullmatch(text.lower())
    if ago:
        amount, unit = int(ago.group(1)), ago.group(2)
        delta = {"d": _dt.timedelta(days=amount), "h": _dt.timedelta(hours=amount),
                 "w": _dt.timedelta(weeks=amount)}[unit]
        return (_dt.datetime.now(_dt.timezone.utc) - delta).isoformat(timespec="seconds")
    if text.lower() in ("today", "yesterday"):
        day = (today or _dt.datetime.now(_dt.timezone.utc).date())
        day -= _dt.timedelta(days=1 if text.lower() == "yesterday" else 0)
        return f"{day.isoformat()}T00:00:00+00:00"
    try:
        if _DATE.fullmatch(text):
            return f"{_dt.date.fromisoformat(text).isoformat()}T00:00:00+00:00"
        moment = _dt.datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None:
        raise InputError(f"--since '{raw}' is not a date", hint="write a date (2026-12-01), a date and time "
                                                                "(2026-12-01T14:00), or a time ago (3d, 12h, 2w)")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.timezone.utc)
    return moment.astimezone(_dt.timezone.utc).isoformat(timespec="seconds")


def _strings(value) -> Iterable[str]:
    """Every string in a details value, at any depth (keys of a mapping included)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)


def _mentions(details: dict, keys: tuple[str, ...], wanted: str, *, code: bool = False) -> bool:
    """Whether any of these keys' values (at any depth) names `wanted`; a code also by its
    last part or as an ancestor of a path."""
    for key in keys:
        for value in _strings(details.get(key)):
            if value == wanted or (code and (value.startswith(wanted + ".") or value.endswith("." + wanted))):
                return True
    return False


_TRANSCRIPT_KEYS = ("transcript", "transcripts", "old", "new", "from_transcript", "to_transcript",
                    "reanchored_onto", "placed", "left", "orphans")
_CODE_KEYS = ("code", "codes", "added", "retired", "from", "to", "into", "old", "new", "merged", "target", "renamed",
              "created", "deleted", "reassign", "parent", "under", "path", "paths")
_CODER_KEYS = ("coder", "coders", "from_coder", "into")


@dataclass(frozen=True)
class Filters:
    since: str | None = None  # ISO time, as parse_since gives it
    coder: str | None = None
    code: str | None = None
    transcript: str | None = None

    def admits(self, row: AuditRow, *, codes: frozenset[str] = frozenset(),
               transcripts: frozenset[str] = frozenset()) -> bool:
        """Whether the row passes; `codes` and `transcripts` are the names the wanted code
        and transcript had (before or after a rename)."""
        if self.coder is not None and row.actor != self.coder and not _mentions(row.details, _CODER_KEYS, self.coder):
            return False
        if self.code is not None and not any(_mentions(row.details, _CODE_KEYS, name, code=True)
                                             for name in codes or {self.code}):
            return False
        if self.transcript is not None and not any(_mentions(row.details, _TRANSCRIPT_KEYS, name)
                                                   for name in transcripts or {self.transcript}):
            return False
        return True


def _renames(rows: list[AuditRow]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(old, new) of every transcript renamed and every code renamed in the trail."""
    transcripts, codes = [], []
    for row in rows:
        if row.action == "transcripts.rename" and isinstance(row.details.get("old"), str):
            transcripts.append((row.details["old"], str(row.details.get("new"))))
        renamed = row.details.get("renamed")
        if row.action.startswith("codebook.") and isinstance(renamed, dict):
            codes += [(str(a), str(b)) for a, b in renamed.items()]
    return transcripts, codes


def _names_of(name: str | None, renames: list[tuple[str, str]]) -> frozenset[str]:
    """The name and every name it had or was given, through renames either way."""
    if name is None:
        return frozenset()
    names = {name}
    grown = True
    while grown:
        grown = False
        for old, new in renames:
            if (old in names) != (new in names):
                names |= {old, new}
                grown = True
    return frozenset(names)


def entries(store: Store, filters: Filters = Filters(), *, limit: int | None = None) -> list[Entry]:
    """The trail, oldest first, filtered (a transcript or code also under the names it had
    before a rename, or got after); with `limit`, the latest that many."""
    every = audit_rows.entries(store)
    transcript_renames, code_renames = _renames(every)
    transcripts = _names_of(filters.transcript, transcript_renames)
    code = filters.code
    if code is not None and "." not in code:  # a code by its last part, as it was called before a rename
        code = next((old for old, _ in code_renames if old.endswith("." + code)), code)
    codes = _names_of(code, code_renames) | ({filters.code} if filters.code else set())
    rows = [row for row in every if (filters.since is None or row.at >= filters.since)
            and filters.admits(row, codes=codes, transcripts=transcripts)]
    if limit is not None:
        rows = rows[-limit:] if limit > 0 else []
    return [describe(row) for row in rows]


def expanded(store: Store, entry_id: int) -> Entry:
    rows = audit_rows.entries(store, ids=(entry_id,))
    if not rows:
        raise InputError(f"no entry {entry_id} in the history", hint="see `coder log` for the numbers")
    return describe(rows[0])


# -- one line per action ------------------------------------------------------------------------

def _n(count, noun: str, plural: str | None = None) -> str:
    count = count or 0
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


def _names(values, noun: str, plural: str | None = None) -> str:
    """'hamar_1', or '3 transcripts: a, b, c', or '12 transcripts: a, b, c, …'."""
    values = list(values or [])
    if len(values) == 1:
        return f"{noun} {values[0]}"
    shown = ", ".join(str(v) for v in values[:SHOWN_ITEMS]) + (", …" if len(values) > SHOWN_ITEMS else "")
    return f"{_n(len(values), noun, plural)}: {shown}" if values else _n(0, noun, plural)


def _span(d: dict) -> str:
    where = d.get("transcript") or "?"
    if d.get("segment") is not None:
        where += f" §{d['segment']}"
    if d.get("start") is not None and d.get("end") is not None:
        where += f" [{d['start']}:{d['end']}]"
    return where


def _clip(text, width: int = 40) -> str:
    text = " ".join(str(text or "").split())
    return "«" + (text if len(text) <= width else text[:width - 1] + "…") + "»"


def _coded(d: dict, verb: str, one: str | None = None) -> str:
    """A batch of codings added: how many, where, with which codes; a single one by its place
    (`one` is the verb for it, e.g. 'coded a quote as')."""
    count = d.get("codings", 0)
    if count == 1 and len(d.get("transcripts") or []) == 1 and len(d.get("codes") or []) == 1:
        return f"{one or verb} {d['codes'][0]} on {_span({**d, 'transcript': d['transcripts'][0]})}"
    where = []
    if d.get("transcripts"):
        where.append("in " + _names(d["transcripts"], "transcript"))
    if d.get("codes"):
        where.append("with " + _names(d["codes"], "code"))
    if d.get("source"):
        where.append(f"from {d['source']}")
    if d.get("from_coder"):
        where.append(f"from {d['from_coder']}")
    return f"{verb} {_n(count, 'coding')}" + (" " + " ".join(where) if where else "")


def _removed_one(d: dict, what: str = "removed") -> str:
    return f"{what} {d.get('code', '?')} on {_span(d)} by {d.get('coder', '?')}" + (
        f": {_clip(d['text'])}" if d.get("text") else "")


def _selected(d: dict) -> str:
    """What a bulk command's filters chose: ' of vertical.x by anna in hamar_1 with "sjef"'."""
    parts = []
    for key, word in (("codes", "of"), ("coders", "by"), ("transcripts", "in"), ("cases", "in case")):
        values = d.get(key) or []
        if values:
            shown = ", ".join(str(v) for v in values[:SHOWN_ITEMS]) + (", …" if len(values) > SHOWN_ITEMS else "")
            parts.append(f"{word} {shown}")
    if d.get("keyword"):
        parts.append(f"with {d['keyword']!r}")
    return (" " + " ".join(parts)) if parts else ""


def _removed_many(d: dict) -> str:
    return f"removed {_n(d.get('removed'), 'coding')}{_selected(d)}"


def _codebook_change(d: dict) -> str:
    """A change to the codebook by command (rename, merge, move, split, delete)."""
    command = str(d.get("command") or "").removeprefix("coder ")
    parts = [f"{_n(d.get('recoded'), 'coding')} recoded"]
    if d.get("removed"):
        parts.append(f"{_n(d.get('removed'), 'coding')} removed")
    renamed = d.get("renamed") or {}
    if len(renamed) > 1:  # a code's sub-codes go with it
        parts.append("renamed " + _names([f"{a} → {b}" for a, b in renamed.items()], "code"))
    for key in ("created", "deleted"):
        if d.get(key):
            parts.append(f"{key} " + _names(d[key], "code"))
    if d.get("version") is not None:
        parts.append(f"codebook version {d['version']}")
    return f"{command}: " + "; ".join(parts) if command else "; ".join(parts)


def _change(d: dict, old: str = "old", new: str = "new") -> str:
    return f"{d.get(old)!s} → {d.get(new)!s}"


_DESCRIBE: dict[str, Callable[[dict], str]] = {
    "migrate": lambda d: f"upgraded the project from schema {d.get('from_schema')} to {d.get('to_schema')}",
    "restore": lambda d: f"restored the project from {d.get('source')}"
                         + (f" (the state before kept in {d['previous']})" if d.get("previous") else ""),
    "codebook.load": lambda d: f"loaded the codebook {d.get('source') or ''} (version {d.get('version')})".replace(
        "  ", " ") + "".join(f"; {label} " + _names(d[key], "code") for key, label in
                             (("added", "added"), ("retired", "retired")) if d.get(key)),
    "import": lambda d: f"imported {_n(d.get('files'), 'file')}: " + ", ".join(
        f"{d.get(k, 0)} {k}" for k in ("imported", "updated", "unchanged", "error") if d.get(k)),
    "import.refi": lambda d: f"imported {d.get('source')}: {_n(d.get('transcripts'), 'transcript')}, "
                             f"{_n(d.get('codings'), 'coding')}",
    "transcript.reanchor": lambda d: f"re-anchored the codings of {d.get('transcript')} after its text changed: "
                                     f"{d.get('moved', 0)} moved, {d.get('orphaned', 0)} orphaned",
    "cases.set": lambda d: f"set {', '.join(f'{k}={v}' for k, v in (d.get('values') or {}).items())} "
                           f"on case {d.get('case')}",
    "cases.import": lambda d: f"imported cases from {d.get('source')}: {d.get('new', 0)} new, "
                              f"{d.get('updated', 0)} updated",
    "code.add": lambda d: _coded(d, "added", "coded"),
    "code.quote": lambda d: _coded(d, "coded quotes:", "coded a quote as"),
    "code.apply": lambda d: _coded(d, "applied"),
    "code.accept": lambda d: _coded(d, "accepted"),
    "autocode.apply": lambda d: _coded(d, "autocoded"),
    "merge.codings": lambda d: _coded(d, "merged"),
    "code.remove": lambda d: _removed_many(d) if "uuids" in d else _removed_one(d),
    "code.move": lambda d: f"moved {_n(d.get('recoded'), 'coding')}{_selected(d)} to {d.get('target')}" + (
        f"; {_n(d.get('removed'), 'duplicate')} removed" if d.get("removed") else ""),
    "session.remove": lambda d: _removed_one(d, "removed (in a session)"),
    "autocode.clear": lambda d: f"removed {_n(d.get('removed'), 'coding')} autocode wrote"
                                + (f" ({', '.join(d['codes'])})" if d.get("codes") else ""),
    "session.memo": lambda d: f"set the memo of coding {str(d.get('id', ''))[:8]} in {d.get('transcript')}: "
                              f"{_clip(d.get('previous')) if d.get('previous') else '(none)'} → "
                              f"{_clip(d.get('memo')) if d.get('memo') else '(none)'}",
    "session.transcript_memo": lambda d: f"wrote a memo on {d.get('transcript')}",
    "session.undo": lambda d: f"undid a {d.get('undid')} in {d.get('transcript')} (turn {d.get('segment')})",
    "names.add": lambda d: f"listed the {d.get('kind', 'person')} name {d.get('name')} for pseudonymising",
    "names.remove": lambda d: f"took the {d.get('kind', 'person')} name {d.get('name')} off the list "
                              f"(was shown as {d.get('alias')})",
    "memo.add": lambda d: f"wrote a memo on {(str(d.get('target_type', '')) + ' ' + str(d.get('target', ''))).strip()}",
    "memo.edit": lambda d: f"edited memo {str(d.get('id', ''))[:8]}: {_clip(d.get('before'))} → {_clip(d.get('after'))}",
    "memo.remove": lambda d: f"removed memo {str(d.get('id', ''))[:8]} on "
                             f"{(str(d.get('target_type', '')) + ' ' + str(d.get('target', ''))).strip()}: "
                             f"{_clip(d.get('text'))}",
    "merge": lambda d: f"merged {d.get('source')}: {_n(d.get('codings'), 'coding')}, "
                       f"{_n(len(d.get('transcripts') or []), 'new transcript')}, "
                       f"{_n(len(d.get('codes') or []), 'new code')}, {_n(len(d.get('memos') or []), 'memo')}",
    "transcripts.remove": lambda d: f"removed transcript {d.get('transcript')} (case {d.get('case')}) with "
                                    f"{_n(d.get('removed'), 'coding')} and {_n(d.get('memos'), 'memo')}" + (
                                        f"; kept in the backup {d['backup']}" if d.get("backup") else ""),
    "transcripts.rename": lambda d: f"renamed transcript {_change(d)}",
    "cases.rename": lambda d: f"renamed case {_change(d)} ({_n(d.get('transcripts'), 'transcript')})",
    "cases.remove": lambda d: f"removed case {d.get('case')}" + (
        f"; its {_names(d['transcripts'], 'transcript')} now without a case" if d.get("transcripts") else ""),
    "code.place": lambda d: f"placed orphaned coding {str(d.get('id', ''))[:8]} ({d.get('code')}) on {_span(d)}: "
                            f"{_clip(d.get('text'))}",
    "code.orphans.auto": lambda d: f"placed {_n(len(d.get('placed') or []), 'orphaned coding')} again "
                                   f"(score ≥ {d.get('threshold'):g}); {len(d.get('left') or [])} left orphaned",
}


def describe(row: AuditRow) -> Entry:
    """The row's line: the action's own words when it is known, else its details one by one."""
    details = row.details
    known = _DESCRIBE.get(row.action)
    if known is None and row.action.startswith("codebook.") and "command" in details:
        known = _codebook_change
    summary = None
    if known is not None:
        try:
            summary = known(details)
        except (AttributeError, KeyError, TypeError, ValueError):  # details another version wrote otherwise
            summary = None
    if summary is None:
        summary = generic(details)
    batch = any(isinstance(v, (list, dict)) and len(v) > SHOWN_ITEMS for v in details.values()) or \
        any(isinstance(v, str) and len(v) > 60 for v in details.values())
    return Entry(row.id, row.at, row.actor, row.action, summary, details, batch)


def generic(details: dict) -> str:
    """Any action's details as `key value` pairs: a list by its length and first items, a
    mapping by its keys; a change given as before/after (or old/new, from/to) as before → after."""
    parts = []
    shown = set()
    for old, new in (("before", "after"), ("old", "new"), ("from", "to")):
        if old in details and new in details:
            parts.append(f"{_short(details[old])} → {_short(details[new])}")
            shown |= {old, new}
    for key, value in details.items():
        if key in shown:
            continue
        parts.append(f"{key} {_short(value)}")
    return "; ".join(parts) if parts else "(no details)"


def _short(value) -> str:
    if isinstance(value, list):
        if len(value) <= SHOWN_ITEMS:
            return "[" + ", ".join(_short(v) for v in value) + "]"
        return f"{len(value)} items: " + ", ".join(_short(v) for v in value[:SHOWN_ITEMS]) + ", …"
    if isinstance(value, dict):
        if len(value) <= SHOWN_ITEMS:
            return "{" + ", ".join(f"{k}: {_short(v)}" for k, v in value.items()) + "}"
        return "{" + ", ".join(str(k) for k in list(value)[:SHOWN_ITEMS]) + ", …}"
    if isinstance(value, str):
        return _clip(value, 60) if len(value) > 60 or "\n" in value else value
    return json.dumps(value, ensure_ascii=False)


def detail_lines(details: dict) -> list[str]:
    """Every detail of an entry, one `key: value` line each, a list one item a line."""
    lines = []
    for key, value in details.items():
        if isinstance(value, list) and value:
            lines.append(f"{key}:")
            lines += [f"  - {json.dumps(v, ensure_ascii=False) if not isinstance(v, str) else v}" for v in value]
        elif isinstance(value, dict) and value:
            lines.append(f"{key}:")
            lines += [f"  {k}: {json.dumps(v, ensure_ascii=False) if not isinstance(v, str) else v}"
                      for k, v in value.items()]
        else:
            lines.append(f"{key}: {json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value}")
    return lines
