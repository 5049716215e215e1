"""`coder autocode` at scale: segments read a batch at a time, proposals written as found and
applied a batch at a time in one transaction, keywords tried only where their first word is.
What it proposes is compared with trying every keyword's expression on every turn (the oracle
below, as it was), on generated turns and keywords, odd letters included (ſ matches s)."""
from __future__ import annotations

import json
import random
import sqlite3
import tracemalloc

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coder import autocode
from conftest import Project, db_rows


def oracle_hits(text, rules):
    hits = [(rule.code, rule.keyword, m.start(), m.end()) for rule in rules for m in rule.pattern.finditer(text)]
    return sorted(hits, key=lambda hit: (hit[2], hit[3]))


def oracle_proposals(text, rules):
    """(code, keyword, start, end) of the first hit of each code, in text order."""
    seen, out = set(), []
    for code, keyword, start, end in oracle_hits(text, rules):
        if code not in seen:
            seen.add(code)
            out.append((code, keyword, start, end))
    return out


LETTERS = list("aesijkoøåæ ,.-") + ["ſ", "ı", "İ", "Σ", "σ", "ς", "K", "µ", "μ", "ẞ", "ß", "S", "I", "Å",
                                    "Ø"]
KEYWORDS = ["sjef", "to sjefer", "møte", "ærlig", "kis", "ıs", "ſjef", "µs", "σας", "Kos", "İsak", "ß", "aa"]
word = st.text(alphabet=st.sampled_from(LETTERS), min_size=1, max_size=6)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(KEYWORDS), word), min_size=1, max_size=5),
       st.lists(st.one_of(st.sampled_from(KEYWORDS), word), max_size=12))
def test_keyword_hits_are_those_of_trying_every_keyword_everywhere(keywords, words):
    rules = autocode.rules_from_codes([(f"c{i % 2}", [k]) for i, k in enumerate(keywords)])
    text = " ".join(w.upper() if i % 3 == 0 else w for i, w in enumerate(words))
    found = [(h.rule.code, h.rule.keyword, h.start, h.end) for h in autocode.keyword_hits(text, rules)]
    assert found == oracle_hits(text, rules)


CODEBOOK = """\
name: Keywords
dimensions:
  - id: d
    label: D
    codes:
      - id: bosses
        label: Bosses
        keywords: [to sjefer, sjef, ſtyring]
      - id: meeting
        label: Meeting
        keywords: [møte, partnerskap]
      - id: trust
        label: Trust
        keywords: [tillit, ærlig talt, Σύνοδος]
"""
TURN_WORDS = ["to", "sjefer", "Sjefen", "møtet", "MØTENE", "partnerskapet", "samarbeidspartnerskap",
              "tillit", "ærlig", "talt", "og", "det", "ſtyringen", "STYRING", "ΣΎΝΟΔΟΣ", "σύνοδος", "İ", "vi",
              "hadde"]


@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.integers(0, 2**32))
def test_autocode_through_the_cli_proposes_what_trying_every_keyword_proposes(project, seed):
    rng = random.Random(seed)
    study = Project(project.root, project.root / f"study{seed}.db")
    project.write("keywords.yaml", CODEBOOK)
    assert study.run("init", "--codebook", "keywords.yaml").exit_code == 0
    for n in range(3):
        turns = [f"{rng.choice(('Leder', 'Intervjuer'))}: " + " ".join(rng.choice(TURN_WORDS)
                                                                     for _ in range(rng.randint(1, 15)))
                 for _ in range(rng.randint(1, 8))]
        project.write(f"t{seed}/t{n}.txt", "---\ncase: Hamar\n---\n" + "\n\n".join(turns) + "\n")
    assert study.run("import", project.root / f"t{seed}").exit_code == 0
    result = study.run("autocode", "--json", "--skip-speaker", "intervjuer")
    assert result.exit_code == 0, result.stderr
    rules = autocode.rules_from_codes([("d.bosses", ["to sjefer", "sjef", "ſtyring"]),
                                       ("d.meeting", ["møte", "partnerskap"]),
                                       ("d.trust", ["tillit", "ærlig talt", "Σύνοδος"])])
    conn = sqlite3.connect(study.db)
    rows = conn.execute("SELECT t.name, s.number, s.start, s.text FROM segments s JOIN transcripts t ON "
                        "t.id = s.transcript_id WHERE s.speaker <> 'Intervjuer' ORDER BY t.name, s.number").fetchall()
    conn.close()
    expected = [(name, number, code, keyword, offset + start, offset + end) for name, number, offset, text in rows
                for code, keyword, start, end in oracle_proposals(text, rules)]
    assert [(p["transcript"], p["segment"], p["code"], p["keyword"], p["start"], p["end"])
            for p in result.json()] == expected
    turns = len({(name, number) for name, number, *_ in expected})
    assert f"{len(expected)} proposal(s) in {turns} turn(s)" in result.stderr


def test_autocode_apply_holds_one_batch_and_writes_once(project):
    """4.5 MB of turns, 12,000 proposals: --apply allocates less than half the corpus (it reads
    1,000 turns and writes 5,000 codings at a time) and writes them all in one transaction
    with one audit row."""
    rng = random.Random(3)
    words = ["partnerskapet", "og", "det", "rådmannen", "fylkesdirektøren", "hadde", "vi", "kommunen", "møte",
             "samarbeidet", "budsjett", "tillit", "ærlig", "talt", "sjefer", "to"]
    for n in range(100):
        turns = [f"Leder: {' '.join(rng.choice(words) for _ in range(30))}" for _ in range(200)]
        project.write(f"big/t{n:02d}.txt", "---\ncase: Hamar\n---\n" + "\n\n".join(turns) + "\n")
    project.write("keywords.yaml", CODEBOOK)
    assert project.run("init", "--codebook", "keywords.yaml").exit_code == 0
    assert project.run("import", "big").exit_code == 0
    corpus = db_rows(project.db, "SELECT SUM(LENGTH(text)) FROM segments")[0][0]
    assert corpus > 4_000_000
    assert project.run("autocode", "--code", "d.bosses", "--csv").exit_code == 0  # imports warmed up
    tracemalloc.start()
    try:
        result = project.run("autocode", "--apply")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.exit_code == 0, result.stderr
    applied = db_rows(project.db, "SELECT COUNT(*) FROM codings WHERE coder = 'autocode'")[0][0]
    assert applied > 12_000 and f"{applied} new coding(s)" in result.stderr
    audit = db_rows(project.db, "SELECT details FROM audit WHERE action = 'autocode.apply'")
    assert [json.loads(details)["codings"] for details, in audit] == [applied]
    assert peak < corpus / 2, (peak, corpus)
    again = project.run("autocode", "--apply")
    assert f"0 new coding(s) by autocode, {applied} already there" in again.stderr
    listed = project.run("autocode", "--csv")
    assert len(listed.stdout.splitlines()) == applied + 1
    assert f"{applied} already applied" in listed.stderr
