"""Merging another copy of the same study into this project (`coder merge OTHER.db`).

Two people code copies of one project on their own machines; a merge brings one copy's work
into the other without losing or doubling any of it:

- transcripts by name, compared by content hash. One only there is added with its segments.
  One whose text differs keeps this side's text, and the other side's codings on it are
  re-anchored onto that text as a re-import re-anchors (`anchor.reanchor`); those whose text
  is not found are kept orphaned, never dropped.
- codes by path, then by UUID (the same code under another path there is this one here);
  codes only there are added, with their dimension; a definition that differs is reported
  and this side's kept.
- codings by UUID, then through the coding writer (`coding._Coder.place`), which drops
  only what `code apply` would: the same transcript, span (or words), code and coder.
- memos by UUID, then by target, author and text; case attributes by case and key; names
  by name. A value that differs is reported and this side's kept.

The other file is opened read-only (one from an older coder is upgraded in a copy in
memory) and never written. The merge is planned first, reading only: a dry run stops there.
Otherwise, if anything is new, the project is backed up and everything is written in the
same transaction as the plan was read in, with audit rows naming the other file and what
was taken from it (the codings by the range of row ids they took). Merging the same file
again finds everything present and writes nothing.

Memory: their codings are read, and ours looked up, a transcript at a time; what is held
for the whole merge is the rows of transcripts, codes, cases, names and memos, never codings.
"""
from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from coder.errors import InputError
from coder.store import Store, memos, new_uuid, project_created_at
from coder.store import cases as case_rows, codebook as codebook_rows, codings as coding_rows
from coder.store import names as name_rows, transcripts as transcript_rows

KINDS = ("transcripts", "codes", "codings", "memos", "cases", "case_attributes", "names")
OUTCOMES = ("added", "already_present", "reanchored", "orphaned", "conflicting")
# What a code means, as opposed to where it sits (depth, position) or whether it is retired.
DEFINITION = ("id", "dimension", "label", "label_en", "description", "include", "exclude", "examples", "keywords",
              "color")
TRANSCRIPT_METADATA = ("case_name", "informant", "role", "date", "attributes")


@dataclass(frozen=True)
class Finding:
    """One thing a person should know about: a text or definition that differs, a renamed code."""
    kind: str
    name: str
    outcome: str
    detail: str

    def as_json(self) -> dict:
        return {"kind": self.kind, "name": self.name, "outcome": self.outcome, "detail": self.detail}


@dataclass(frozen=True)
class MergeReport:
    source: str
    dry_run: bool
    counts: dict[str, dict[str, int]]  # kind -> outcome -> rows of the other copy
    findings: tuple[Finding, ...]
    backup: str | None

    @property
    def changes(self) -> int:
        """Rows the merge adds (a transcript whose text differs adds none itself)."""
        return (sum(kind["added"] for kind in self.counts.values()) + self.counts["codings"]["reanchored"]
                + self.counts["codings"]["orphaned"])

    def added(self) -> dict[str, int]:
        """Rows added per kind: codings re-anchored or kept orphaned are added too."""
        added = {kind: counts["added"] for kind, counts in self.counts.items()}
        added["codings"] += self.counts["codings"]["reanchored"] + self.counts["codings"]["orphaned"]
        return added

    def as_json(self) -> dict:
        return {"source": self.source, "dry_run": self.dry_run, "backup": self.backup, "changes": self.changes,
                "counts": self.counts, "findings": [f.as_json() for f in self.findings]}


def merge(store: Store, other_path: Path, *, dry_run: bool = False) -> MergeReport:
    """Merge the project at `other_path` into `store` (see the module's docstring)."""
    _refuse_same_file(store.path, other_path)
    other = Store.open_other_copy(other_path)
    try:
        if dry_run:
            plan = _Merge(store, other, other_path)
            plan.read()
            return plan.report(dry_run=True, backup=None)
        with store.transaction():
            plan = _Merge(store, other, other_path)
            plan.read()
            backup = None
            if plan.has_changes():
                from coder.backup import backup_before

                made = backup_before(store, "merge")
                backup = str(made.path) if made else None
                plan.write()
            return plan.report(dry_run=False, backup=backup)
    finally:
        other.close()


def _refuse_same_file(db: Path, other: Path) -> None:
    if not other.exists():
        raise InputError("no such file", path=str(other), hint="give the other copy's .db file")
    if not other.is_file():
        raise InputError("not a file", path=str(other), hint="give the other copy's .db file")
    try:
        same = db.exists() and os.path.samefile(db, other)
    except OSError:
        same = False
    if same:
        raise InputError("this is the project itself; there is nothing to merge", path=str(other),
                         hint="give another copy of the project")


def _same_json(a, b) -> bool:
    """Two stored values alike, JSON text compared as the values it holds."""
    if a == b:
        return True
    try:
        return json.loads(a) == json.loads(b)
    except (TypeError, ValueError):
        return False


@dataclass
class _Merge:
    store: Store
    other: Store
    other_path: Path
    counts: dict[str, dict[str, int]] = field(default_factory=lambda: {k: dict.fromkeys(OUTCOMES, 0) for k in KINDS})
    findings: list[Finding] = field(default_factory=list)

    def count(self, kind: str, outcome: str, name: str | None = None, detail: str | None = None) -> None:
        self.counts[kind][outcome] += 1
        if detail is not None:
            self.findings.append(Finding(kind, name or "", outcome, detail))

    # -- planning: reads only ------------------------------------------------------------
    def read(self) -> None:
        self.theirs = self._theirs(_Side.read, self.other)
        self.ours = _Side.read(self.store)
        self._plan_codes()
        self._plan_cases()
        self._plan_names()
        self._plan_transcripts()
        self._plan_codings()
        self._plan_memos()

    def _theirs(self, read, *args, **kwargs):
        """What `read` reads from the other copy. Damage met there (a large file gets only the
        cheap check before it is read) is the other file's, said as such: without this the
        error would name this project, whose transaction then rolls back untouched."""
        try:
            return read(*args, **kwargs)
        except sqlite3.DatabaseError as exc:
            from coder import sqlite_guard

            raise (sqlite_guard.explain(exc, self.other_path)
                   or sqlite_guard.damaged_error(str(exc), self.other_path)) from None

    def _plan_codes(self) -> None:
        ours = {c["path"]: c for c in self.ours.codes}
        by_uuid = {c["uuid"]: c["path"] for c in self.ours.codes}
        dimensions = {d["id"] for d in self.ours.dimensions}
        their_dimensions = {d["id"]: d for d in self.theirs.dimensions}
        self.code_map: dict[str, str] = {}
        self.new_codes: list[dict] = []
        self.new_dimensions: list[dict] = []
        for code in self.theirs.codes:
            path = code["path"]
            if path in ours:
                self.code_map[path] = path
                differs = [f for f in DEFINITION if not _same_json(code.get(f), ours[path].get(f))]
                if differs:
                    self.count("codes", "conflicting", path, f"its definition differs ({', '.join(differs)}); "
                                                             "this side's is kept")
                else:
                    self.count("codes", "already_present")
            elif code["uuid"] in by_uuid:
                here = by_uuid[code["uuid"]]
                self.code_map[path] = here
                self.count("codes", "already_present", path, f"is {here} here (the same code, renamed); "
                                                            f"its codings are merged as {here}")
            else:
                self.code_map[path] = path
                self.new_codes.append(code)
                if code["dimension"] not in dimensions:
                    dimensions.add(code["dimension"])
                    self.new_dimensions.append(their_dimensions[code["dimension"]])
                self.count("codes", "added")

    def _plan_cases(self) -> None:
        ours = {c["name"]: json.loads(c["attributes"] or "{}") for c in self.ours.cases}
        self.new_cases: list[dict] = []
        self.case_updates: dict[str, dict] = {}
        self.attributes_added: list[str] = []
        for case in self.theirs.cases:
            name, values = case["name"], json.loads(case["attributes"] or "{}")
            if name not in ours:
                self.new_cases.append(case)
                self.count("cases", "added")
                for key in values:
                    self.count("case_attributes", "added")
                    self.attributes_added.append(f"{name}.{key}")
                continue
            self.count("cases", "already_present")
            merged = dict(ours[name])
            for key, value in values.items():
                if key not in merged:
                    merged[key] = value
                    self.count("case_attributes", "added")
                    self.attributes_added.append(f"{name}.{key}")
                elif merged[key] == value:
                    self.count("case_attributes", "already_present")
                else:
                    self.count("case_attributes", "conflicting", f"{name}.{key}",
                               f"is {merged[key]!r} here, {value!r} there; this side's is kept")
            if merged != ours[name]:
                self.case_updates[name] = merged

    def _plan_names(self) -> None:
        ours = {n["name"]: n for n in self.ours.names}
        self.new_names: list[dict] = []
        for row in self.theirs.names:
            here = ours.get(row["name"])
            if here is None:
                self.new_names.append(row)
                self.count("names", "added")
            elif (here["alias"], here["kind"]) == (row["alias"], row["kind"]):
                self.count("names", "already_present")
            else:
                self.count("names", "conflicting", row["name"],
                           f"is hidden as {here['alias']!r} here, as {row['alias']!r} there; this side's is kept")

    def _plan_transcripts(self) -> None:
        ours = {t["name"]: t for t in self.ours.transcripts}
        self.new_transcripts: list[dict] = []
        self.edited: dict[str, tuple[dict, dict]] = {}  # name -> (ours, theirs): the text differs
        for t in self.theirs.transcripts:
            here = ours.get(t["name"])
            if here is None:
                self.new_transcripts.append(t)
                self.count("transcripts", "added")
            elif here["sha256"] != t["sha256"]:
                self.edited[t["name"]] = (here, t)
                self.count("transcripts", "reanchored", t["name"],
                           "its text differs; this side's text is kept, and the other side's codings on it are "
                           "re-anchored onto it (those whose text is gone are kept orphaned)")
            else:
                differs = [f for f in TRANSCRIPT_METADATA if not _same_json(here[f], t[f])]
                if differs:
                    self.count("transcripts", "conflicting", t["name"],
                               f"the same text, but its {', '.join(differs)} differ; this side's are kept")
                else:
                    self.count("transcripts", "already_present")

    def _plan_codings(self) -> None:
        """Each of their codings: present by UUID, else placed with the coding writer (which
        judges duplicates) on a transcript here, re-anchored where the text differs. Those on
        a transcript that is new here are only counted: `write` places them once it is in.
        Their codings are read a transcript at a time, and ours are looked up a transcript at a
        time (by id in the uuid index, by place among that transcript's), so neither project is
        ever held whole: the work and the memory grow with a transcript, not with the project."""
        from coder.coding import _Coder

        # their uuid -> the uuid of the same coding here, where they differ: kept only for the
        # codings their memos are on (all a memo needs), not for every coding
        self.coding_map: dict[str, str] = {}
        self.memo_targets = {m["target"] for m in self.theirs.memos if m["target_type"] == "coding"}
        self.writer = _Coder(self.store, self.store.actor, 0.0)
        ours = {t["name"]: t for t in self.ours.transcripts}
        new_names = {t["name"] for t in self.new_transcripts}
        for t in self.theirs.transcripts:
            if t["name"] in new_names:
                rows = self._theirs(coding_rows.keys_of_transcript, self.other, t["id"])
                here = coding_rows.identities_by_uuid(self.store, [row[0] for row in rows])
                for uuid, code, coder, memo, status in rows:
                    if self._known(uuid, code, coder, memo, t["name"], here):
                        continue
                    self.count("codings", "orphaned" if status == "orphaned" else "added")
            else:
                self._place_codings(t, ours[t["name"]]["id"])

    def _known(self, uuid: str, code: str, coder: str, memo: str | None, transcript: str,
               here_by_uuid: dict[str, tuple]) -> bool:
        """Counts a coding of theirs that needs no writing: one naming no code (their copy is
        damaged), or one here already by its id (`here_by_uuid`: ours among their ids)."""
        if self.code_map.get(code) is None:
            self.count("codings", "conflicting", uuid, f"names code {code!r}, which the other copy does not have; "
                                                       "not merged (run `coder check` on it)")
            return True
        here = here_by_uuid.get(uuid)
        if here is not None:
            self._present(dict(uuid=uuid, coder=coder, memo=memo, transcript=transcript), self.code_map[code], here,
                          by="id")
            return True
        return False

    def _place_codings(self, theirs: dict, transcript_id: int) -> None:
        """Their codings of a transcript this project has, placed (in memory) by the writer."""
        edited = theirs["name"] in self.edited
        if edited:
            from coder.anchor import Anchorer, reanchor

            text = transcript_rows.text(self.store, transcript_id)
            # their codings' texts are looked for in our turns' words only, as a re-import looks
            turns = transcript_rows.segments(self.store, transcript_id)
            anchorer = Anchorer(text, turns=[(start, end) for _, _, start, end, _ in turns],
                                speakers={speaker for _, speaker, *_ in turns if speaker})
        rows = self._theirs(coding_rows.of_transcript_in_full, self.other, theirs["id"])
        here_by_uuid = coding_rows.identities_by_uuid(self.store, [c["uuid"] for c in rows])
        # ours on this transcript by (transcript id, start, end, code, coder), and theirs as placed
        by_key = {row[1:6]: row for row in coding_rows.identities_of_transcript(self.store, transcript_id)}
        for c in rows:
            c["transcript"] = name = theirs["name"]
            if self._known(c["uuid"], c["code"], c["coder"], c["memo"], name, here_by_uuid):
                continue
            code = self.code_map[c["code"]]
            outcome = "orphaned" if c["status"] == "orphaned" else "added"
            start, end, orphaned_text = c["start"], c["end"], c["text"] if c["status"] == "orphaned" else None
            if edited:
                match = reanchor(text, c["text"], c["start"], theirs["length"], anchorer=anchorer)
                if match is None:
                    outcome, orphaned_text = "orphaned", c["text"]
                else:
                    outcome, start, end, orphaned_text = "reanchored", match.start, match.end, None
            status, start, end = self.writer.place(name, start, end, code, c["coder"], c["memo"],
                                                   coding_id=c["uuid"], source=c.get("source"),
                                                   orphaned_text=orphaned_text)
            key = (transcript_id, start, end, code, c["coder"])
            if status == "duplicate":
                same = by_key[key]
                if c["uuid"] in self.memo_targets:
                    self.coding_map[c["uuid"]] = same[0]
                self._present(c, code, same, by="span")
            else:
                by_key[key] = (c["uuid"], *key, c["memo"])
                self.count("codings", outcome)

    def _present(self, c: dict, code: str, here: tuple, *, by: str) -> None:
        """Their coding is one here already (the same id, or the same passage, code and coder)."""
        _, _, _, _, code_here, coder_here, memo_here = here
        if by == "id" and (code_here, coder_here) != (code, c["coder"]):
            self.count("codings", "conflicting", c["uuid"], f"is {code_here} by {coder_here} here, {code} by "
                                                            f"{c['coder']} there; this side's is kept")
        elif c["memo"] and c["memo"] != memo_here:
            self.count("codings", "conflicting", c["uuid"], f"in {c['transcript']}, its memo differs "
                                                            f"({memo_here!r} here, {c['memo']!r} there); this "
                                                            "side's is kept")
        else:
            self.count("codings", "already_present")

    def _plan_memos(self) -> None:
        ours_by_uuid = {m["uuid"]: m for m in self.ours.memos}
        keys = {(m["target_type"], m["target"], m["author"], m["text"]) for m in self.ours.memos}
        self.new_memos: list[tuple[dict, str]] = []
        for memo in self.theirs.memos:
            target = memo["target"]
            if memo["target_type"] == "code":
                target = self.code_map.get(target, target)
            elif memo["target_type"] == "coding":
                target = self.coding_map.get(target, target)
            here = ours_by_uuid.get(memo["uuid"])
            if here is not None:
                if here["text"] != memo["text"]:
                    self.count("memos", "conflicting", memo["uuid"],
                               f"on {memo['target_type']} {target}: its text differs; this side's is kept")
                else:
                    self.count("memos", "already_present")
                continue
            key = (memo["target_type"], target, memo["author"], memo["text"])
            if key in keys:
                self.count("memos", "already_present")
                continue
            keys.add(key)
            self.new_memos.append((memo, target))
            self.count("memos", "added")

    def has_changes(self) -> bool:
        return bool(self.new_codes or self.new_cases or self.case_updates or self.new_names or self.new_transcripts
                    or self.writer.pending or self.new_memos)

    # -- writing: in the plan's transaction, after the backup ------------------------------
    def write(self) -> None:
        store, source = self.store, str(self.other_path)
        if self.new_dimensions:
            position = codebook_rows.max_position(store, "dimensions")
            for index, dimension in enumerate(self.new_dimensions, start=1):
                codebook_rows.add_dimension_copy(store, dimension, position + index)
        if self.new_codes:
            from coder.store.codebook import rebuild_closure

            position = codebook_rows.max_position(store, "codes")
            for index, code in enumerate(self.new_codes, start=1):
                codebook_rows.add_code_copy(store, code, position + index)
            rebuild_closure(store)
        for case in self.new_cases:
            case_rows.add_copy(store, case["name"], case["attributes"], case["created_at"])
        for name, values in self.case_updates.items():
            case_rows.set_attributes_json(store, name, json.dumps(values, ensure_ascii=False, sort_keys=True))
        for row in self.new_names:
            name_rows.add_row(store, row["name"], row["alias"], row["kind"])
        uuids_here = {t["uuid"] for t in self.ours.transcripts}
        first_id = coding_rows.last_id(store) + 1
        for t in self.new_transcripts:
            if t["case_name"] is not None:
                store.ensure_case(t["case_name"])
            row, segments, speakers = self._theirs(transcript_rows.for_copy, self.other, t["id"])
            if row["uuid"] in uuids_here:
                row["uuid"] = new_uuid()
            transcript_rows.add_copy(store, row, segments, speakers)
            self._place_new(t)
            self.writer.forget(t["name"])  # writes its codings, and lets its text go
        self.writer.flush()
        self.writer.write("merge.codings", source=source, **self._written_ids(first_id))
        for memo, target in self.new_memos:
            memos.add_copy(store, memo, self.coding_map.get(target, target) if memo["target_type"] == "coding"
                           else target)
        store.audit("merge", source=source, source_created=self.theirs.created_at,
                    transcripts=[t["name"] for t in self.new_transcripts],
                    reanchored_onto=sorted(self.edited), codes=[c["path"] for c in self.new_codes],
                    dimensions=[d["id"] for d in self.new_dimensions], cases=[c["name"] for c in self.new_cases],
                    case_attributes=self.attributes_added, names=[n["name"] for n in self.new_names],
                    memos=[m["uuid"] for m, _ in self.new_memos], codings=self.writer.written,
                    counts=self.counts)

    def _written_ids(self, first_id: int) -> dict:
        """Which codings the merge wrote, for its audit row, in a size that does not grow with
        them: the rows of `codings` they became, ids `first_row_id` to `last_row_id` (one
        transaction wrote them and nothing else, each taking the next id). A list of their
        UUIDs made a million-coding merge's row 40 MB, held in memory and read by `coder log`."""
        last = coding_rows.last_id(self.store)
        return {"first_row_id": first_id, "last_row_id": last} if last >= first_id else {}

    def _place_new(self, theirs: dict) -> None:
        """Their codings of a transcript just added, kept where they are; counted by the plan."""
        rows = self._theirs(coding_rows.of_transcript_in_full, self.other, theirs["id"])
        # ours among their ids, as the plan found them (this merge wrote none of their ids yet)
        here_by_uuid = coding_rows.identities_by_uuid(self.store, [c["uuid"] for c in rows])
        for c in rows:
            if c["uuid"] in here_by_uuid or c["code"] not in self.code_map:
                continue  # counted as present or conflicting
            status, _, _ = self.writer.place(
                theirs["name"], c["start"], c["end"], self.code_map[c["code"]], c["coder"], c["memo"],
                coding_id=c["uuid"], source=c.get("source"),
                orphaned_text=c["text"] if c["status"] == "orphaned" else None)
            if status == "duplicate":  # twice in their copy, as far as the writer judges: once here
                self.counts["codings"]["orphaned" if c["status"] == "orphaned" else "added"] -= 1
                self.counts["codings"]["already_present"] += 1

    def report(self, *, dry_run: bool, backup: str | None) -> MergeReport:
        return MergeReport(str(self.other_path), dry_run, self.counts, tuple(self.findings), backup)


@dataclass
class _Side:
    """One copy of the project, read whole for a merge."""
    dimensions: list[dict]
    codes: list[dict]
    cases: list[dict]
    names: list[dict]
    memos: list[dict]
    transcripts: list[dict]
    created_at: str | None

    @classmethod
    def read(cls, store: Store) -> "_Side":
        """A side's rows but texts and codings (read a transcript at a time where needed)."""
        return cls(dimensions=codebook_rows.dimensions_in_full(store), codes=codebook_rows.codes_in_full(store),
                   cases=case_rows.in_full(store), names=name_rows.in_full(store), memos=memos.in_full(store),
                   transcripts=transcript_rows.for_merge(store),
                   created_at=project_created_at(store))

