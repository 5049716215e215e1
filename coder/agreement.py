"""How far coders agree: percentage agreement, Cohen's kappa and Krippendorff's alpha.

The statistics are pure functions of a *reliability table*: how many units show each
pattern of values, a pattern being one value per coder (None where a coder gave none), e.g.
{(1, 1): 40, (1, 0): 3, (0, 1): 5, (0, 0): 952}. Nothing here walks units one by one: a
project's units collapse into a few patterns, so a million units cost what a handful do.

`agreement` gathers the units of a project (the store hands over counts per code and coder
pattern, or coded spans) and computes each code's figures and the pooled ones:

- Units. `segments`: every segment of the transcripts that every compared coder has coded
  at least once (with any code); a coder's value on a segment is 1 when they put the code,
  or one of its sub-codes, on it, else 0. `characters`: every character of those
  transcripts' segments (the turns: front matter is not coded, so it is no unit), valued the
  same way; the coded characters come from sweeping over the spans' edges, never from
  walking characters.
- Per code: the code with its sub-codes. Pooled (`"code": "*"`): every (unit, code) decision
  over the codes asked for, each code taken on its own (not with its sub-codes, which are
  decisions of their own), so no decision counts twice.
- Percentage agreement is the share of agreeing pairs of coders over all units (for two
  coders: of units on which they agree), in per cent. Cohen's kappa is for two coders only;
  Krippendorff's alpha (nominal) for two or more, missing values allowed. A statistic that is
  undefined (no units; every value the same, so that chance agreement is total) is None.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from coder.errors import InputError
from coder.reports import Quote
from coder.selection import EVERYTHING, Selection
from coder.store import Store
from coder.store import codings as coding_rows
from coder.store import transcripts as transcript_rows

UNITS = ("segments", "characters")
POOLED = "*"
MAX_CODERS = 62  # coders travel as bits of one SQLite integer

Table = Mapping[tuple, int]  # pattern (one value per coder, None = missing) -> units showing it


# -- the statistics -----------------------------------------------------------------------

def percent_agreement(table: Table) -> float | None:
    """Agreeing pairs of values within units over all pairs, in per cent (for two coders,
    the share of units on which both agree). Units with fewer than two values hold no pair."""
    agreeing = pairs = 0
    for pattern, n in table.items():
        counts = Counter(v for v in pattern if v is not None)
        m = sum(counts.values())
        pairs += n * m * (m - 1) // 2
        agreeing += n * sum(k * (k - 1) // 2 for k in counts.values())
    return 100.0 * agreeing / pairs if pairs else None


def cohen_kappa(table: Table) -> float | None:
    """Cohen's kappa for two coders over the units both gave a value; None for another
    number of coders, no such units, or chance agreement of 1 (both always gave one value)."""
    if not table or any(len(pattern) != 2 for pattern in table):
        return None
    n = agree = 0
    first: Counter = Counter()
    second: Counter = Counter()
    for (a, b), count in table.items():
        if a is None or b is None or not count:
            continue
        n += count
        agree += count if a == b else 0
        first[a] += count
        second[b] += count
    chance = sum(first[v] * second[v] for v in first)  # n² times the chance agreement
    if not n or chance == n * n:
        return None
    return (n * agree - chance) / (n * n - chance)  # (p_o - p_e) / (1 - p_e), in whole numbers


def krippendorff_alpha(table: Table) -> float | None:
    """Krippendorff's alpha for nominal values, any number of coders, missing values allowed
    (Krippendorff, "Computing Krippendorff's Alpha-Reliability", 2011): 1 - D_o / D_e from
    the coincidence matrix. None when fewer than two values are pairable or only one value
    occurs (no disagreement is expected, so none can be measured against it)."""
    coincidences: Counter = Counter()  # (value, value) -> o_ck
    for pattern, n in table.items():
        counts = Counter(v for v in pattern if v is not None)
        m = sum(counts.values())
        if m < 2 or not n:
            continue
        for c, n_c in counts.items():
            for k, n_k in counts.items():
                pairs = n_c * (n_k - 1) if c == k else n_c * n_k
                if pairs:
                    coincidences[c, k] += n * pairs / (m - 1)
    marginals: Counter = Counter()
    for (c, _), o in coincidences.items():
        marginals[c] += o
    total = sum(marginals.values())
    expected = total * total - sum(n_c * n_c for n_c in marginals.values())  # sum over c != k of n_c n_k
    if total < 2 or expected <= 1e-9 * total * total:
        return None
    observed = sum(o for (c, k), o in coincidences.items() if c != k)
    return 1.0 - (total - 1) * observed / expected


def binary_table(masks: Mapping[int, int], coders: int, units: int) -> dict[tuple, int]:
    """The reliability table of a yes/no question from {coder mask: units} (bit i set: coder i
    said yes) and the number of units in all; the units no mask names had a no from everyone."""
    table: dict[tuple, int] = {}
    for mask, n in masks.items():
        pattern = tuple(1 if mask >> i & 1 else 0 for i in range(coders))
        table[pattern] = table.get(pattern, 0) + n
    nobody = units - sum(n for mask, n in masks.items())
    if nobody:
        zero = (0,) * coders
        table[zero] = table.get(zero, 0) + nobody
    return table


# -- a project's agreement ----------------------------------------------------------------

@dataclass(frozen=True)
class Agreement:
    code: str  # a code path, or "*" for all codes pooled
    unit: str
    coders: tuple[str, ...]
    units: int
    percent_agreement: float | None
    cohen_kappa: float | None
    krippendorff_alpha: float | None
    transcript: str | None = None  # set for the figures of one transcript (--per-transcript)

    def as_json(self) -> dict:
        where = {} if self.transcript is None else {"transcript": self.transcript}
        return {"code": self.code, **where, "unit": self.unit, "coders": list(self.coders), "units": self.units,
                "percent_agreement": self.percent_agreement, "cohen_kappa": self.cohen_kappa,
                "krippendorff_alpha": self.krippendorff_alpha}


@dataclass(frozen=True)
class AgreementReport:
    unit: str
    coders: tuple[str, ...]
    transcripts: int  # coded by every one of the coders (within the filters)
    units: int
    rows: tuple[Agreement, ...]  # one per code, in codebook order, then the pooled one
    per_transcript: tuple[Agreement, ...] = ()  # when asked for: per transcript, each code someone used there


def figures(code: str, unit: str, coders: Sequence[str], table: Table, units: int,
            transcript: str | None = None) -> Agreement:
    """Every statistic of one reliability table."""
    return Agreement(code, unit, tuple(coders), units, percent_agreement(table),
                     cohen_kappa(table) if len(coders) == 2 else None, krippendorff_alpha(table), transcript)


def check_coders(coders: Sequence[str]) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(c.strip() for c in coders if c.strip()))
    if len(chosen) < 2:
        raise InputError("agreement compares two or more coders", hint="give --coder twice or more, "
                                                                        "e.g. --coder anna --coder bjorn")
    if len(chosen) > MAX_CODERS:
        raise InputError(f"at most {MAX_CODERS} coders can be compared at once")
    return chosen


def agreement(store: Store, coders: Sequence[str], *, unit: str = "segments",
              selection: Selection = EVERYTHING, per_transcript: bool = False) -> AgreementReport:
    """Each code's agreement and the pooled figures, in the transcripts that every coder has
    coded. The report filters narrow it as in every report: --code to those codes (each with
    its sub-codes), --case, --transcript and --where to those transcripts; --coder is the
    coders compared, not a filter. `per_transcript` adds each transcript's figures for each
    code someone used in it, as NVivo's coding comparison gives them per source."""
    from coder import selection as selections

    coders = check_coders(coders)
    if unit not in UNITS:
        raise InputError(f"unknown unit '{unit}' for agreement", hint=f"use one of {', '.join(UNITS)}")
    _check_known(store, coders)
    order = store.code_paths(include_retired=True)
    wanted = selections.selected_codes(store, selection)
    paths = [p for p in order if wanted is None or p in wanted]
    shared = coding_rows.transcripts_coded_by_all(store, coders, selections.transcript_ids(store, selection))
    extents = transcript_rows.segment_extents(store, shared)
    # (transcript, code) -> {coder mask: units}: the code with its sub-codes, and the code alone
    folded: dict[tuple[int, str], dict[int, int]] = {}
    exact: dict[tuple[int, str], dict[int, int]] = {}
    if unit == "segments":
        sizes = {tid: segments for tid, _, segments, _, _, _ in extents}
        for with_subcodes, tid, code, mask, n in coding_rows.segment_coder_patterns(store, coders, shared,
                                                                              per_transcript=per_transcript):
            (folded if with_subcodes else exact).setdefault((tid, code), {})[mask] = n
    else:
        sizes = {tid: characters for tid, _, _, characters, _, _ in extents}
        bounds = {tid: (first, last) for tid, _, _, _, first, last in extents}
        folded, exact = _character_masks(coding_rows.coder_spans(store, coders, shared), bounds, _ancestors(order),
                                         per_transcript=per_transcript)
    units = sum(sizes.values())
    total_folded, total_exact = _summed(folded), _summed(exact)
    retired = set(order) - set(store.code_paths())
    listed = [path for path in paths if path not in retired or path in total_folded]  # retired: only while used
    m = len(coders)
    rows = [figures(path, unit, coders, binary_table(total_folded.get(path, {}), m, units), units)
            for path in listed]
    pooled: dict[tuple, int] = {}
    for path in listed:
        for pattern, n in binary_table(total_exact.get(path, {}), m, units).items():
            pooled[pattern] = pooled.get(pattern, 0) + n
    rows.append(figures(POOLED, unit, coders, pooled, units * len(listed)))
    each = []
    if per_transcript:
        for tid, name, *_ in extents:
            each += [figures(path, unit, coders, binary_table(folded[tid, path], m, sizes[tid]), sizes[tid], name)
                     for path in listed if (tid, path) in folded]
    return AgreementReport(unit, coders, len(shared), units, tuple(rows), tuple(each))


def _summed(masks: Mapping[tuple[int, str], Mapping[int, int]]) -> dict[str, dict[int, int]]:
    """{code: {coder mask: units}} over all transcripts, from the same per transcript."""
    total: dict[str, dict[int, int]] = {}
    for (_, code), counts in masks.items():
        into = total.setdefault(code, {})
        for mask, n in counts.items():
            into[mask] = into.get(mask, 0) + n
    return total


def _ancestors(paths: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """Each code path with the codes it counts for: itself and the codes above it (the code
    paths among its prefixes, as code_closure holds them)."""
    known = set(paths)
    return {path: tuple(prefix for cut in range(2, path.count(".") + 2)
                        if (prefix := ".".join(path.split(".")[:cut])) in known) for path in paths}


def _character_masks(spans: Iterable[tuple[int, str, int, int, int]], bounds: Mapping[int, tuple[int, int]],
                     ancestors: Mapping[str, tuple[str, ...]], *, per_transcript: bool = True) -> tuple[dict, dict]:
    """({(transcript, code): {coder mask: characters}} with sub-codes, the same for each code
    alone) from (transcript, code, coder bit, start, end) spans, a transcript's together: per
    transcript and code, a sweep over the spans' edges finds the stretches between them and
    which coders cover each (a coder's own overlapping spans count once). Spans are cut to the
    transcript's segments. One transcript's edges are held at a time; without
    `per_transcript`, the figures are summed per code as they come (keyed (None, code)), so
    a million codings' comparison holds a few numbers per code."""
    exact: dict[tuple, dict[int, int]] = {}
    folded: dict[tuple, dict[int, int]] = {}

    def swept(tid: int, edges: dict[str, list[tuple[int, int]]]) -> None:
        key = tid if per_transcript else None
        under: dict[str, list[tuple[int, int]]] = {}
        for code, group in edges.items():
            for above in ancestors.get(code, (code,)):
                under.setdefault(above, []).extend(group)
            _sweep(group, exact.setdefault((key, code), {}))
        for code, group in under.items():
            _sweep(group, folded.setdefault((key, code), {}))

    current, edges = None, {}  # (position, +bit at a start / -bit at an end) per code
    for tid, code, bit, start, end in spans:
        if tid != current:
            if edges:
                swept(current, edges)
            current, edges = tid, {}
        first, last = bounds.get(tid, (start, end))
        start, end = max(start, first), min(end, last)
        if bit and start < end:
            group = edges.get(code)
            if group is None:
                group = edges[code] = []
            group += ((start, bit), (end, -bit))
    if edges:
        swept(current, edges)
    return folded, exact


def _sweep(edges: list[tuple[int, int]], found: dict[int, int]) -> None:
    """Add to `found` how many positions each set of coders covers, from the edges of their
    spans: (position, +bit) where a span of the coder with that bit starts, (position, -bit)
    where it ends."""
    edges.sort()
    cover: dict[int, int] = {}
    mask = 0
    previous = edges[0][0]
    for position, change in edges:
        if position != previous:
            if mask:
                found[mask] = found.get(mask, 0) + position - previous
            previous = position
        if change > 0:
            cover[change] = cover.get(change, 0) + 1
            mask |= change
        else:
            depth = cover[-change] = cover[-change] - 1
            if not depth:
                mask &= ~-change


# -- who coded what -----------------------------------------------------------------------

@dataclass(frozen=True)
class CoderSummary:
    coder: str
    codings: int
    by_code: dict  # code path -> codings, in codebook order
    by_transcript: dict  # transcript -> codings, by name
    cells: tuple  # ((transcript, code), codings) for every pair with codings

    def as_json(self) -> dict:
        return {"coder": self.coder, "codings": self.codings, "transcripts": len(self.by_transcript),
                "codes": len(self.by_code), "by_code": self.by_code, "by_transcript": self.by_transcript}


def coder_summaries(store: Store) -> list[CoderSummary]:
    """Every coder with their codings (not orphaned ones), per code and per transcript."""
    order = {path: i for i, path in enumerate(store.code_paths(include_retired=True))}
    cells: dict[str, list] = {}
    for coder, transcript, code, n in coding_rows.counts_by_coder(store):
        cells.setdefault(coder, []).append(((transcript, code), n))
    summaries = []
    for coder in sorted(cells, key=str.casefold):
        by_code: Counter = Counter()
        by_transcript: Counter = Counter()
        for (transcript, code), n in cells[coder]:
            by_code[code] += n
            by_transcript[transcript] += n
        ordered_codes = dict(sorted(by_code.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])))
        summaries.append(CoderSummary(coder, sum(by_code.values()), ordered_codes, dict(sorted(by_transcript.items())),
                                      tuple(cells[coder])))
    return summaries


# -- disagreements ------------------------------------------------------------------------

@dataclass(frozen=True)
class Disagreement:
    """A segment that some of the coders put a code on and others did not."""
    quote: Quote  # the whole segment, as a quote of the code: text, place, attribution
    coded_by: tuple[str, ...]
    not_coded_by: tuple[str, ...]
    passages: tuple[tuple[str, str], ...]  # (coder, the words) where a coder coded less than the segment
    memos: tuple[tuple[str, str], ...]  # (coder, memo) of the codings there
    instead: tuple[tuple[str, tuple[str, ...]], ...]  # (coder who did not, the codes they put there)

    def as_json(self) -> dict:
        q = self.quote
        return {"case": q.case, "transcript": q.transcript, "segment": q.segment, "start": q.start, "end": q.end,
                "code": q.code, "text": q.text, "coded_by": list(self.coded_by),
                "not_coded_by": list(self.not_coded_by),
                "passages": [{"coder": coder, "text": words} for coder, words in self.passages],
                "memos": [{"coder": coder, "memo": memo} for coder, memo in self.memos],
                "instead": [{"coder": coder, "codes": list(codes)} for coder, codes in self.instead]}


def disagreements(store: Store, coders: Sequence[str], selection: Selection = EVERYTHING) -> list[Disagreement]:
    """Each segment and code, in the transcripts every coder has coded, that some of the
    coders put there and the others did not (each code on its own, as in the pooled
    agreement), in quote-sheet order: case, dimension, code, transcript, segment."""
    from dataclasses import replace

    from coder import selection as selections
    from coder.reports import QuoteFilter, quotes

    coders = check_coders(coders)
    _check_known(store, coders)
    shared = coding_rows.transcripts_coded_by_all(store, coders, selections.transcript_ids(store, selection))
    names = {name for _, name, *_ in transcript_rows.segment_extents(store, shared)}
    rows = quotes(store, QuoteFilter(selection=replace(selection, coders=coders,
                                                       transcripts=tuple(sorted(names)) or ("",))))
    on_segment: dict[tuple[str, int], dict[str, list[str]]] = {}  # (transcript, segment) -> coder -> codes
    for name, number, coder, code in coding_rows.segment_codes_by_coder(store, coders, shared):
        on_segment.setdefault((name, number), {}).setdefault(coder, []).append(code)
    groups: dict[tuple[str, int, str], list[Quote]] = {}
    for q in rows:
        if q.segment is not None:
            groups.setdefault((q.transcript, q.segment, q.code), []).append(q)
    transcripts: dict[str, tuple] = {}  # name -> (text, {segment: (start, end)})
    found = []
    everyone = len(coders)
    for (name, number, code), group in groups.items():
        who = {q.coder for q in group}
        if len(who) == everyone:
            continue
        if name not in transcripts:
            row = store.transcript(name)
            transcripts[name] = (row.text, {n: (start, end) for n, start, end in store.segment_bounds(row.id)})
        text, bounds = transcripts[name]
        start, end = bounds.get(number, (group[0].start, group[0].end))
        coded_by = tuple(c for c in coders if c in who)
        not_by = tuple(c for c in coders if c not in who)
        there = on_segment.get((name, number), {})
        instead = tuple((c, tuple(there[c])) for c in not_by if there.get(c))
        passages = tuple((q.coder, q.text) for q in group if (q.start, q.end) != (start, end))
        memos = tuple((q.coder, q.memo) for q in group if q.memo)
        quote = replace(group[0], text=text[start:end], start=start, end=end, before="", after="",
                        coder=_caption(coded_by, not_by, instead), memo=_notes(memos, passages))
        found.append(Disagreement(quote, coded_by, not_by, passages, memos, instead))
    return found


def _caption(coded_by, not_by, instead) -> str:
    """Who coded what, for the line under the text: "anna, not by bjorn (there instead:
    bjorn: horizontal.relations.equality)"."""
    text = f"{', '.join(coded_by)}, not by {', '.join(not_by)}"
    others = [f"{coder}: {', '.join(codes)}" for coder, codes in instead]
    return text + (f" (there instead: {'; '.join(others)})" if others else "")


def _notes(memos, passages) -> str | None:
    parts = [f"{coder}: {memo}" for coder, memo in memos]
    parts += [f"{coder} coded only «{words}»" for coder, words in passages]
    return " · ".join(parts) or None


def _check_known(store: Store, coders: Sequence[str]) -> None:
    known = coding_rows.coder_names(store)
    missing = [c for c in coders if c not in known]
    if missing:
        raise InputError(f"no codings by {', '.join(repr(c) for c in missing)}",
                         hint=f"the coders in this project: {', '.join(sorted(known, key=str.casefold)) or 'none'}")


# -- consensus ----------------------------------------------------------------------------

CONSENSUS = "consensus"


@dataclass(frozen=True)
class Accepted:
    from_coder: str
    into: str
    results: tuple  # coding.CodingResult of each coding copied: coded, or duplicate (already there)

    @property
    def coded(self) -> int:
        return sum(1 for r in self.results if r.status == "coded")

    @property
    def duplicates(self) -> int:
        return sum(1 for r in self.results if r.status == "duplicate")


def accept(store: Store, from_coder: str, *, into: str = CONSENSUS, selection: Selection = EVERYTHING) -> Accepted:
    """Copy one coder's codings (of the selection's codes, each with its sub-codes, in its
    transcripts) to another coder, the team's consensus: the same spans, codes and memos,
    through the writer `code apply` uses, in one transaction with one audit row. A coding the
    consensus already has is not added again, so accepting twice changes nothing."""
    from dataclasses import replace

    from coder.coding import add_codings
    from coder.ingest import CodingRequest
    from coder.reports import QuoteFilter, quotes

    from_coder, into = from_coder.strip(), into.strip()
    if not from_coder or not into:
        raise InputError("name the coder to accept from (--from) and the one to copy into (--into)")
    if from_coder == into:
        raise InputError(f"--from and --into are both '{into}'", hint="accept from another coder's codings")
    _check_known(store, [from_coder])
    theirs = quotes(store, QuoteFilter(selection=replace(selection, coders=(from_coder,))))
    requests = [CodingRequest(row=i, transcript=q.transcript, code=q.code, coder=into, memo=q.memo or "",
                              start=str(q.start), end=str(q.end), text=q.text)
                for i, q in enumerate(theirs, start=1)]
    if not requests:
        return Accepted(from_coder, into, ())
    results = add_codings(store, requests, coder=into, threshold=100, action="code.accept",
                          from_coder=from_coder, codes=list(selection.codes),
                          transcripts=list(selection.transcripts), cases=list(selection.cases))
    return Accepted(from_coder, into, tuple(results))
