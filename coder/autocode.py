"""Keyword autocoding: codings proposed from the codebook's keywords.

A keyword matches whole words, ignoring case, with Norwegian inflections matched by prefix:
"partnerskap" finds "partnerskapet" and "partnerskapsmøtet" but not "samarbeidspartnerskap".
A keyword of several words matches them as a phrase, each word by prefix, with any spaces or
punctuation between them ("to sjef" finds "to sjefer" and "to  sjefer,"). A proposal codes the
whole segment (speaker turn) holding the hit, one proposal per segment and code.

Applied proposals are codings like any other, by the coder `autocode` (or `--coder`), so they
can be counted, listed and reviewed separately, and removed with one `clear`. `clear` removes
only what `apply` wrote (codings.source = 'autocode'): proposals reviewed in a spreadsheet and
applied with `code apply` belong to the reviewer, and stay.
"""
from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Iterable, Sequence

from coder.errors import PartialFailure
from coder.store import Store
from coder.text import WORD as _KEYWORD_WORD  # what a word is: one definition

AUTOCODER = "autocode"
DEFAULT_CONTEXT_WORDS = 8


@dataclass(frozen=True)
class KeywordRule:
    code: str  # code path
    keyword: str  # as written in the codebook
    pattern: re.Pattern


@dataclass(frozen=True)
class KeywordHit:
    rule: KeywordRule
    start: int  # offsets into the text searched, end exclusive
    end: int


@dataclass(frozen=True)
class Proposal:
    transcript: str
    case: str | None
    segment: int
    code: str
    keyword: str
    start: int  # the keyword hit, code points into the transcript's text
    end: int
    context: str  # the hit in [brackets] with words around it, within its turn

    def as_json(self) -> dict:
        return {"transcript": self.transcript, "case": self.case, "segment": self.segment, "code": self.code,
                "keyword": self.keyword, "start": self.start, "end": self.end, "context": self.context}

    @property
    def memo(self) -> str:
        return f'autocode keyword "{self.keyword}"'


@dataclass(frozen=True)
class ApplyResult:
    added: int
    existing: int


def keyword_pattern(keyword: str) -> re.Pattern | None:
    """The regular expression for one keyword; None for a keyword without letters or digits."""
    words = _KEYWORD_WORD.findall(unicodedata.normalize("NFC", keyword))
    if not words:
        return None
    phrase = r"[\W_]+".join(re.escape(word) + r"\w*" for word in words)
    return re.compile(rf"(?<!\w){phrase}", re.IGNORECASE)


def rules_from_codes(codes: Iterable[tuple[str, Sequence[str]]]) -> list[KeywordRule]:
    """Rules from (code path, keywords) pairs, in the order given."""
    rules = []
    for path, keywords in codes:
        for keyword in keywords:
            pattern = keyword_pattern(keyword)
            if pattern is not None:
                rules.append(KeywordRule(path, keyword, pattern))
    return rules


def load_rules(store: Store, codes: Sequence[str] = ()) -> list[KeywordRule]:
    """Rules for the codebook's current codes; with `codes` (paths or dimension ids), only
    for those codes and their sub-codes."""
    rows = store.query("SELECT path, dimension, keywords FROM codes WHERE retired = 0 ORDER BY position")
    if codes:
        wanted = set()
        for ref in codes:
            wanted |= {r[0] for r in store.conn.execute(
                "SELECT path FROM codes WHERE dimension = ? UNION SELECT descendant FROM code_closure "
                "WHERE ancestor = ?", (ref, ref))}
        rows = [r for r in rows if r["path"] in wanted]
    return rules_from_codes((r["path"], json.loads(r["keywords"] or "[]")) for r in rows)


def keyword_hits(text: str, rules: Sequence[KeywordRule]) -> list[KeywordHit]:
    """Every hit of every rule in text, in text order."""
    hits = [KeywordHit(rule, m.start(), m.end()) for rule in rules for m in rule.pattern.finditer(text)]
    return sorted(hits, key=lambda hit: (hit.start, hit.end))


def context_of(text: str, start: int, end: int, words: int = DEFAULT_CONTEXT_WORDS) -> str:
    """text[start:end] in [brackets] with up to `words` words either side (text is one turn)."""
    from coder.text import context_around

    before, after = context_around(text, start, end, words)
    left = "…" if before.strip() and " ".join(text[:start].split()) != before.strip() else ""
    right = "…" if after.strip() and " ".join(text[end:].split()) != after.strip() else ""
    return f"{left}{before}[{text[start:end]}]{after}{right}"


def propose(store: Store, *, codes: Sequence[str] = (), skip_speakers: Sequence[str] = (),
            context: int = DEFAULT_CONTEXT_WORDS) -> list[Proposal]:
    """Proposals for every transcript: one per segment and code whose keywords occur in it
    (the first hit stands for the others). `codes` are resolved paths or dimension ids."""
    rules = load_rules(store, codes)
    if not rules:
        return []
    skipped = {s.casefold() for s in skip_speakers}
    rows = store.query('SELECT t.name, t.case_name, s.number, s.speaker, s.start, s.text FROM segments s '
                       'JOIN transcripts t ON t.id = s.transcript_id ORDER BY t.name, s.number')
    proposals = []
    for row in rows:
        if row["speaker"] and row["speaker"].casefold() in skipped:
            continue
        seen: set[str] = set()
        for hit in keyword_hits(row["text"], rules):
            if hit.rule.code in seen:
                continue
            seen.add(hit.rule.code)
            proposals.append(Proposal(
                transcript=row["name"], case=row["case_name"], segment=row["number"], code=hit.rule.code,
                keyword=hit.rule.keyword, start=row["start"] + hit.start, end=row["start"] + hit.end,
                context=context_of(row["text"], hit.start, hit.end, context)))
    return proposals


def apply(store: Store, proposals: Sequence[Proposal], *, coder: str = AUTOCODER) -> ApplyResult:
    """Write the proposals as whole-segment codings by `coder`, in one transaction; a proposal
    already applied is skipped, so applying again adds nothing."""
    from coder.project import CodingRequest, add_codings

    requests = [CodingRequest(row=i, transcript=p.transcript, code=p.code, segment=str(p.segment), coder=coder,
                              memo=p.memo) for i, p in enumerate(proposals, start=1)]
    results = add_codings(store, requests, coder=coder, threshold=100.0, action="autocode.apply", source=AUTOCODER)
    added = sum(1 for r in results if r.status == "coded")
    existing = sum(1 for r in results if r.status == "duplicate")
    failed = [r for r in results if r.status not in ("coded", "duplicate")]
    if failed:  # only when the codebook or a transcript changed since the proposals were made
        raise PartialFailure(f"{len(failed)} of {len(results)} proposals not applied ({failed[0].message}); "
                             f"{added} applied", hint="run `coder autocode --apply` again")
    return ApplyResult(added, existing)


def already_applied(store: Store, proposals: Sequence[Proposal], *, coder: str = AUTOCODER) -> int:
    """How many of the proposals are codings by `coder` already."""
    have = {(r[0], r[1], r[2]) for r in store.conn.execute(
        "SELECT t.name, c.segment, c.code FROM codings c JOIN transcripts t ON t.id = c.transcript_id "
        "JOIN segments s ON s.transcript_id = c.transcript_id AND s.number = c.segment "
        'WHERE c.coder = ? AND c.start = s.start AND c."end" = s."end"', (coder,))}
    return sum(1 for p in proposals if (p.transcript, p.segment, p.code) in have)


def clear(store: Store, *, coder: str | None = None, codes: Sequence[str] = ()) -> int:
    """Remove the codings `apply` wrote (with `coder`: as that coder; with `codes`: only of
    those codes and their sub-codes, or of those dimensions) in one transaction; returns how
    many. Codings anyone applied otherwise stay, whoever their coder is."""
    where, params = ["source = ?"], [AUTOCODER]
    if coder is not None:
        where.append("coder = ?")
        params.append(coder)
    if codes:
        marks = ", ".join("?" for _ in codes)
        where.append(f"(code IN (SELECT descendant FROM code_closure WHERE ancestor IN ({marks})) "
                     f"OR code IN (SELECT path FROM codes WHERE dimension IN ({marks})))")
        params += [*codes, *codes]
    with store.transaction():
        if coder not in (None, AUTOCODER):  # written under a person's name: keep a copy
            from coder.safety import backup_before

            backup_before(store, "autocode clear", when=store.scalar(
                f"SELECT COUNT(*) FROM codings WHERE {' AND '.join(where)}", params))
        removed = store.conn.execute(f"DELETE FROM codings WHERE {' AND '.join(where)}", params).rowcount
        store.audit("autocode.clear", coder=coder, codes=list(codes), removed=removed)
    return removed
