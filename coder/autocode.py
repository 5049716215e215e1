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

Cost: the segments are read a batch at a time and the proposals yielded as they are found, and
applied through the coding-write path in batches within one transaction, so memory stays the
same whatever the corpus. A keyword can only match where the text, lower-cased, holds its first
word: one `in` per keyword and segment (C speed) spares the regular expressions, which look
behind at every character, for the segments that cannot match.
"""
from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Iterator, Sequence

from coder.errors import PartialFailure
from coder.store import Store
from coder.store import codings as coding_rows
from coder.store import codebook as codebook_store
from coder.store import transcripts as transcripts_store
from coder.text import WORD as _KEYWORD_WORD  # what a word is: one definition

AUTOCODER = "autocode"
DEFAULT_CONTEXT_WORDS = 8
BATCH_SEGMENTS = 1000  # segments read at once
WRITE_BATCH = 5000  # codings inserted at once (all in the one transaction of the apply)


@dataclass(frozen=True)
class KeywordRule:
    code: str  # code path
    keyword: str  # as written in the codebook
    pattern: re.Pattern
    # The first word lower-cased: wherever the pattern matches, text.lower() holds it (unless
    # the text has one of `unsafe`, letters the pattern takes for others that lower() does not
    # make equal: ſ for s, ı for i). "" when that cannot be said: the pattern is always tried.
    needle: str = ""
    unsafe: str = ""


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
                needle, unsafe = _needle(_KEYWORD_WORD.findall(unicodedata.normalize("NFC", keyword))[0])
                rules.append(KeywordRule(path, keyword, pattern, needle, unsafe))
    return rules


# Letters whose str.lower() is not the one-letter lower case the regular expression compares:
# İ (two code points) and Σ (ς or σ by its place in a word).
_LOWER_DIFFERS = "\u0130\u03a3"


def _needle(word: str) -> tuple[str, str]:
    """(first word lower-cased, the letters that break the lower-case comparison) for one keyword.
    re with IGNORECASE takes a letter for another when their one-letter lower cases are equal,
    or are one of its few extra pairs (s and ſ, i and ı, µ and μ ...): those are unsafe."""
    try:
        from re._casefix import _EXTRA_CASES  # what re's compiler reads (Python 3.11)
    except ImportError:
        return "", ""
    if any(c in _LOWER_DIFFERS for c in word) or len(word.lower()) != len(word):
        return "", ""
    unsafe = set(_LOWER_DIFFERS)
    for c in word.lower():
        for other in _EXTRA_CASES.get(ord(c), ()):
            unsafe |= _lowering_to(chr(other))
    return word.lower(), "".join(sorted(unsafe))


@lru_cache(maxsize=None)
def _lowering_to(letter: str) -> frozenset[str]:
    """Every character whose lower case is `letter` (the letter included)."""
    # (no character beyond the BMP lower-cases to a letter of the BMP)
    return frozenset({letter} | {chr(cp) for cp in range(0x10000) if chr(cp).lower() == letter})


def load_rules(store: Store, codes: Sequence[str] = ()) -> list[KeywordRule]:
    """Rules for the codebook's current codes; with `codes` (paths or dimension ids), only
    for those codes and their sub-codes."""
    rows = codebook_store.keywords(store)
    if codes:
        wanted = set()
        for ref in codes:
            wanted |= codebook_store.under(store, ref)
        rows = [r for r in rows if r["path"] in wanted]
    return rules_from_codes((r["path"], json.loads(r["keywords"] or "[]")) for r in rows)


def keyword_hits(text: str, rules: Sequence[KeywordRule]) -> list[KeywordHit]:
    """Every hit of every rule in text, in text order."""
    return _hits(text, rules, _unsafe_letters(tuple(rules)))


@lru_cache(maxsize=8)
def _unsafe_letters(rules: tuple[KeywordRule, ...]) -> re.Pattern:
    """Any letter for which text.lower() cannot tell whether one of the rules matches."""
    letters = "".join(sorted({c for rule in rules for c in rule.unsafe})) or _LOWER_DIFFERS
    return re.compile(f"[{re.escape(letters)}]")


def _hits(text: str, rules: Sequence[KeywordRule], unsafe: re.Pattern) -> list[KeywordHit]:
    lowered = None if unsafe.search(text) else text.lower()
    if lowered is None or len(lowered) != len(text):
        hits = [KeywordHit(rule, m.start(), m.end()) for rule in rules for m in rule.pattern.finditer(text)]
        return sorted(hits, key=lambda hit: (hit.start, hit.end))
    hits = []
    for rule in [rule for rule in rules if rule.needle in lowered]:  # "" is in every text
        needle = rule.needle
        if not needle:
            hits += [KeywordHit(rule, m.start(), m.end()) for m in rule.pattern.finditer(text)]
            continue
        # finditer, tried only where the first word is: the leftmost match from `at` on, then
        # on from its end
        at = lowered.find(needle)
        while at >= 0:
            m = rule.pattern.match(text, at)
            if m is None:
                at = lowered.find(needle, at + 1)
            else:
                hits.append(KeywordHit(rule, at, m.end()))
                at = lowered.find(needle, m.end())
    return sorted(hits, key=lambda hit: (hit.start, hit.end))


def context_of(text: str, start: int, end: int, words: int = DEFAULT_CONTEXT_WORDS) -> str:
    """text[start:end] in [brackets] with up to `words` words either side (text is one turn)."""
    from coder.text import context_around

    before, after = context_around(text, start, end, words)
    left = "…" if before.strip() and " ".join(text[:start].split()) != before.strip() else ""
    right = "…" if after.strip() and " ".join(text[end:].split()) != after.strip() else ""
    return f"{left}{before}[{text[start:end]}]{after}{right}"


def propose(store: Store, *, codes: Sequence[str] = (), skip_speakers: Sequence[str] = (),
            context: int | None = DEFAULT_CONTEXT_WORDS) -> Iterator[Proposal]:
    """Proposals for every transcript, in transcript and turn order: one per segment and code
    whose keywords occur in it (the first hit stands for the others). `codes` are resolved
    paths or dimension ids. With `context` None the proposals carry no context (cheaper)."""
    rules = load_rules(store, codes)
    if not rules:
        return iter(())
    return _proposals(store, rules, {s.casefold() for s in skip_speakers}, context)


def _proposals(store: Store, rules: list[KeywordRule], skipped: set[str], context: int | None) -> Iterator[Proposal]:
    unsafe = _unsafe_letters(tuple(rules))
    cursor = transcripts_store.all_segments(store)
    while rows := cursor.fetchmany(BATCH_SEGMENTS):
        for name, case, number, speaker, offset, text in rows:
            if speaker and speaker.casefold() in skipped:
                continue
            seen: set[str] = set()
            for hit in _hits(text, rules, unsafe):
                if hit.rule.code in seen:
                    continue
                seen.add(hit.rule.code)
                yield Proposal(transcript=name, case=case, segment=number, code=hit.rule.code,
                               keyword=hit.rule.keyword, start=offset + hit.start, end=offset + hit.end,
                               context="" if context is None else context_of(text, hit.start, hit.end, context))


def apply(store: Store, proposals: Iterable[Proposal], *, coder: str = AUTOCODER) -> ApplyResult:
    """Write the proposals as whole-segment codings by `coder`, in one transaction (inserted a
    batch at a time); a proposal already applied is skipped, so applying again adds nothing."""
    from coder.coding import _Coder  # the coding-write path of `code apply`
    from coder.ingest import CodingRequest

    worker = _Coder(store, coder, 100.0, source=AUTOCODER)
    added = existing = total = 0
    failed = []
    current = None
    with store.transaction():
        for total, p in enumerate(proposals, start=1):
            if p.transcript != current:  # proposals come a transcript at a time
                if current is not None:
                    worker.forget(current)
                current = p.transcript
            result = worker.resolve(CodingRequest(row=total, transcript=p.transcript, code=p.code,
                                                  segment=str(p.segment), coder=coder, memo=p.memo))
            if result.status == "coded":
                added += 1
            elif result.status == "duplicate":
                existing += 1
            elif len(failed) < 1:
                failed.append(result)
            if len(worker.pending) >= WRITE_BATCH:
                worker.flush()
        worker.write("autocode.apply")
    if failed:  # only when the codebook or a transcript changed since the proposals were made
        raise PartialFailure(f"{total - added - existing} of {total} proposals not applied ({failed[0].message}); "
                             f"{added} applied", hint="run `coder autocode --apply` again")
    return ApplyResult(added, existing)


def already_applied(store: Store, proposals: Iterable[Proposal], *,
                    coder: str = AUTOCODER) -> Iterator[tuple[Proposal, bool]]:
    """Each proposal, as they come, with whether it is a coding by `coder` already (the
    codings of one transcript read when its first proposal comes)."""
    current, have = None, set()
    for p in proposals:
        if p.transcript != current:
            current = p.transcript
            have = coding_rows.whole_segments_coded(store, current, coder)
        yield p, (p.segment, p.code) in have


def clear(store: Store, *, coder: str | None = None, codes: Sequence[str] = ()) -> int:
    """Remove the codings `apply` wrote (with `coder`: as that coder; with `codes`: only of
    those codes and their sub-codes, or of those dimensions) in one transaction; returns how
    many. Codings anyone applied otherwise stay, whoever their coder is."""
    with store.transaction():
        if coder not in (None, AUTOCODER):  # written under a person's name: keep a copy
            from coder.backup import backup_before

            backup_before(store, "autocode clear",
                          when=coding_rows.count(store, source=AUTOCODER, coder=coder, codes=codes))
        removed = coding_rows.remove(store, source=AUTOCODER, coder=coder, codes=codes)
        coding_rows.audit(store, "autocode.clear", removed=removed, coder=coder, codes=list(codes))
    return removed
