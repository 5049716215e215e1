"""`coder search` at scale: segments read a batch at a time and hits written as found, and
fuzzy search narrowed by a cheap prefilter. What it finds is compared with the letter-by-letter
comparison it replaced (the oracle below, as it was), on generated transcripts."""
from __future__ import annotations

import io
import json
import random
import re
import sqlite3
import tracemalloc

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coder import search as search_module
from conftest import Project
from coder.render import dumps_json, write_json

# -- the oracle: fuzzy search as it was, every word of every segment compared ----------------

_FOLDED_WORD = re.compile(r"[^ ]+")


def oracle_spans(pattern: str, text: str) -> list[tuple[int, int]]:
    from rapidfuzz.distance import Levenshtein

    p = search_module.fold(pattern).text.strip()
    k = search_module.allowed_edits(p)
    folded = search_module.fold(text)
    haystack = folded.text
    candidates = []
    at = haystack.find(p)
    while at >= 0:
        candidates.append((at, 0, at + len(p)))
        at = haystack.find(p, at + 1)
    if k:
        for word in _FOLDED_WORD.finditer(haystack):
            i, best = word.start(), None
            for length in range(max(1, len(p) - k), len(p) + k + 1):
                if i + length > len(haystack):
                    break
                if haystack[i + length - 1] == " ":
                    continue
                distance = Levenshtein.distance(p, haystack[i:i + length], score_cutoff=k)
                if distance <= k and (best is None or (distance, abs(length - len(p))) < best[:2]):
                    best = (distance, abs(length - len(p)), length)
            if best is not None and best[0] > 0:
                end = haystack.find(" ", i + best[2])
                candidates.append((i, best[0], len(haystack) if end < 0 else end))
    spans = []
    for start, _, end in sorted(candidates, key=lambda c: (c[1], c[0])):
        original = (folded.starts[start], folded.ends[end - 1])
        if all(original[1] <= s or original[0] >= e for s, e in spans):
            spans.append(original)
    return sorted(spans)


# -- generated text: the misspellings fuzzy search is for, and characters that fold oddly -----

STEMS = ["rådmannen", "fylkesdirektøren", "partnerskapsmøtet", "kommunikasjonen", "ærlig", "sjefer", "tillit",
         "samarbeidet", "to sjefer", "mål 2007", "Ærlighet", "straße"]
ODD = ["æ", "Æ", "ß", "µ", "μ", "ǽ", "İ", "ő", "ﬁ", "½", "²", "👍", "\u0301", "'", "-", "  ", "\n", "Ø",
       "é"]


def misspell(rng: random.Random, word: str) -> str:
    chars = list(word)
    for _ in range(rng.choice((0, 0, 1, 2, 3))):
        i = rng.randrange(len(chars))
        kind = rng.random()
        if kind < 0.25:
            chars[i] = chars[i] * 2  # doubled
        elif kind < 0.45 and len(chars) > 1:
            del chars[i]  # dropped
        elif kind < 0.6:
            chars[i] = rng.choice("abcdeøoa")  # wrong
        elif kind < 0.8:
            chars[i] = rng.choice(ODD)
        else:
            chars[i] = chars[i].upper()
    text = "".join(chars)
    return text.replace("ø", "o").replace("å", "a") if rng.random() < 0.2 else text


def segment(rng: random.Random) -> str:
    words = []
    for _ in range(rng.randint(0, 12)):
        words.append(misspell(rng, rng.choice(STEMS)) if rng.random() < 0.4 else
                     rng.choice(("og", "det", "er", "vi", "hadde", "møte", "og,", "i.", "samarbeid")))
    return " ".join(words)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2**32), st.lists(st.integers(0, 2**32), min_size=1, max_size=3))
def test_fuzzy_prefilter_keeps_every_segment_with_a_hit(pattern_seed, seeds):
    """Batches of segments (empty ones, a NUL inside one, odd characters): the same spans as
    comparing every word."""
    rng = random.Random(pattern_seed)
    pattern = misspell(rng, rng.choice(STEMS))
    if not search_module.fold(pattern).text.strip():
        return
    finder = search_module._finder(pattern, regex=False, fuzzy=True)
    texts = [segment(random.Random(seed)) for seed in seeds for _ in range(8)]
    texts += ["", "rådmannen\x00rådmannen", "μμ rådmanen ǽrlig"]
    expected = {i: oracle_spans(pattern, t) for i, t in enumerate(texts)}
    assert dict(finder.spans_in(texts)) == {i: s for i, s in expected.items() if s}
    assert all(finder.spans(t) == s for t, s in zip(texts, expected.values()))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("aAeEoøØåÅæÆßµ²1 .-\n\x01\x00") + [c for c in ODD if len(c) == 1]
                                     + ["ǅ", "Σ", "ﬀ", "Ĳ"])))
def test_the_fold_at_c_speed_is_the_precise_fold(text):
    fast = search_module._latin_fold(text.replace("\x00", " "))
    precise = search_module.fold(text).text
    if b"\x01" in fast:  # a fold beyond Latin-1: that segment is folded the precise way
        assert any(ord(c) > 255 or c == "æ" for c in precise)
    else:
        assert search_module._RUN.sub(rb"\1", fast).decode("latin-1") == precise


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.integers(0, 2**32))
def test_fuzzy_search_through_the_cli_finds_what_comparing_every_word_finds(project, seed):
    rng = random.Random(seed)
    study = Project(project.root, project.root / f"study{seed}.db")
    if not study.db.exists():
        assert study.run("init", "--codebook", "codebook.yaml").exit_code == 0
        folder = project.root / f"t{seed}"
        for n in range(3):
            turns = [f"Leder: {segment(rng)} slutt" for _ in range(rng.randint(1, 6))]
            project.write(f"t{seed}/{rng.choice(('hamar', 'lier'))}_{n}.txt",
                          f"---\ncase: {rng.choice(('Hamar', 'Lier'))}\n---\n" + "\n\n".join(turns) + "\n")
        assert study.run("import", folder).exit_code == 0
    pattern = misspell(rng, rng.choice(STEMS))
    result = study.run("search", pattern, "--fuzzy", "--json", "--context", "2")
    if not search_module.fold(pattern).text.strip():
        assert result.exit_code == 2
        return
    assert result.exit_code == 0, result.stderr
    conn = sqlite3.connect(study.db)
    rows = conn.execute("SELECT t.name, s.number, s.start, s.text FROM segments s JOIN transcripts t "
                        "ON t.id = s.transcript_id ORDER BY t.name, s.number").fetchall()
    conn.close()
    expected = [(name, number, start + a, start + b, text[a:b]) for name, number, start, text in rows
                for a, b in oracle_spans(pattern, text)]
    assert [(h["transcript"], h["segment"], h["start"], h["end"], h["match"]) for h in result.json()] == expected
    count = f"{len(expected)} hit(s)" if expected else "no hits"
    assert count in result.stderr


# -- streaming ---------------------------------------------------------------------------------

@given(st.lists(st.dictionaries(st.text(max_size=5), st.one_of(st.none(), st.integers(), st.text(max_size=8),
                                                                st.lists(st.integers(), max_size=2)), max_size=3),
                max_size=4))
def test_json_written_record_by_record_is_the_same_text(records):
    stream = io.StringIO()
    write_json(stream, records)
    assert stream.getvalue() == dumps_json(records)


def test_search_holds_one_batch_of_segments_not_the_corpus(project):
    """4.5 MB of turns: a search (plain, regex and fuzzy) allocates less than half of that (it
    reads 1,000 turns at a time)."""
    rng = random.Random(7)
    words = ["partnerskapet", "og", "det", "rådmannen", "fylkesdirektøren", "hadde", "vi", "kommunen", "møte",
             "samarbeidet", "budsjett", "tillit", "ærlig", "talt"]
    for n in range(100):
        turns = [f"Leder: {' '.join(rng.choice(words) for _ in range(30))}" for _ in range(200)]
        project.write(f"big/t{n:02d}.txt", "---\ncase: Hamar\n---\n" + "\n\n".join(turns) + "\n")
    assert project.run("init", "--codebook", "codebook.yaml").exit_code == 0
    assert project.run("import", "big").exit_code == 0
    corpus = db_text_bytes(project.db)
    assert corpus > 4_000_000
    for args in (["kontoret"], ["kontor(et)?", "--regex"], ["kontoret", "--fuzzy"]):
        assert "no hits" in project.run("search", *args).stderr  # imports and caches warmed up
        tracemalloc.start()
        try:
            result = project.run("search", *args, "--json")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert result.exit_code == 0 and json.loads(result.stdout) == []
        assert peak < corpus / 2, (args, peak, corpus)


def db_text_bytes(db) -> int:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT SUM(LENGTH(text)) FROM segments").fetchone()[0]
    finally:
        conn.close()
