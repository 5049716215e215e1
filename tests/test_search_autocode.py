"""`coder search` (keyword in context) and `coder autocode` (codings proposed from the
codebook's keywords), driven through the CLI against a project in tmp_path."""
from __future__ import annotations

import csv
import io
import json

import pytest

from conftest import db_rows

HIT_FIELDS = ["transcript", "case", "segment", "start", "end", "match", "before", "after"]
PROPOSAL_FIELDS = ["transcript", "case", "segment", "code", "keyword", "start", "end", "context"]

KEYWORD_CODEBOOK = """\
name: Keyword codebook
dimensions:
  - id: vertical
    label: Vertikal dimensjon
    codes:
      - id: two_bosses
        label: Med to sjefer
        keywords: [to sjefer, overordn]
      - id: partnership_meeting
        label: Partnerskapsmøtet
        keywords: [partnerskap]
  - id: horizontal
    label: Horisontal dimensjon
    codes:
      - id: relations
        label: Relasjoner
        keywords: [tillit]
        codes:
          - id: communication
            label: Kommunikasjon
            keywords: [kommunik, snakke]
"""

OSLO_1 = """\
---
case: Oslo
informant: Ola Berg
role: NAV-leder
---
Intervjuer: Hva med partnerskapet og tilliten?

Leder: Partnerskapet er godt. Vi har to gode sjefer, og samarbeidspartnerskap med fylket.
Vi snakker sammen hver uke.

Intervjuer: Er det to sjefer?

Leder: Ja, to  sjefer. Den overordnede er rådmannen.
"""

OCR_1 = """\
---
case: Oslo
---
Leder: Fylkesdirektoren ringte, og radmannen var enig med fylkesdirektøren.

Leder: Komunikasjonen er bedre, og kommunikasjonen med rådmanen er aerlig talt god.

Leder: Vi har partnerskapsmoetet hver uke, og noen kaller det partnerskapsmøttet.
"""


def transcript_text(project, name):
    return db_rows(project.db, "SELECT text FROM transcripts WHERE name = ?", (name,))[0][0]


@pytest.fixture
def keyworded(project):
    project.write("kw.yaml", KEYWORD_CODEBOOK)
    return project.start("kw.yaml", {"oslo_1.txt": OSLO_1, "ocr_1.txt": OCR_1})


# -- search ----------------------------------------------------------------------------------

def test_search_lists_each_hit_with_its_place_offsets_and_context(loaded):
    result = loaded.run("search", "TO SJEFER", "--json")
    assert result.exit_code == 0, result.stderr
    hits = result.json()
    assert [(h["transcript"], h["case"], h["segment"]) for h in hits] == [
        ("hamar_1", "Hamar", 1), ("hamar_1", "Hamar", 2), ("lier_1", "Lier", 3), ("lier_1", "Lier", 4)]
    assert all(list(h) == HIT_FIELDS for h in hits)
    for hit in hits:
        text = transcript_text(loaded, hit["transcript"])
        assert text[hit["start"]:hit["end"]] == hit["match"] and hit["match"].lower() == "to sjefer"
    second = hits[1]
    assert second["before"] == "Det er krevende. Jeg har "
    assert second["after"] == ", rådmannen og fylkesdirektøren. Klokka 10:30 hver mandag har"  # 8 words, in its turn
    assert "4 hit(s) in 2 transcript(s)" in result.stderr

    plain = loaded.run("search", "to sjefer", "--context", "2")
    lines = plain.stdout.splitlines()
    assert lines[1] == "hamar_1 §2 (Hamar): Jeg har [to sjefer], rådmannen og"
    assert len(lines) == 4


def test_search_filters_by_case_office_and_by_code_with_its_sub_codes(loaded):
    lier = loaded.run("search", "sjefer", "--case", "lier", "--json").json()
    assert {h["transcript"] for h in lier} == {"lier_1"} and len(lier) == 2
    unknown = loaded.run("search", "sjefer", "--case", "Bergen")
    assert unknown.exit_code == 2 and "unknown case 'Bergen'" in unknown.stderr

    assert loaded.run("code", "add", "hamar_1", "2", "two_bosses").exit_code == 0
    assert loaded.run("code", "add", "lier_1", "2", "equality").exit_code == 0
    coded = loaded.run("search", "sjef", "--code", "two_bosses", "--json").json()
    assert [(h["transcript"], h["segment"]) for h in coded] == [("hamar_1", 2)]
    # a parent code takes in its sub-codes' turns; a dimension takes all its codes' turns
    relations = loaded.run("search", "er", "--code", "horizontal.relations", "--json").json()
    assert {(h["transcript"], h["segment"]) for h in relations} == {("lier_1", 2)}
    vertical = loaded.run("search", "det", "--code", "vertical", "--json").json()
    assert {(h["transcript"], h["segment"]) for h in vertical} == {("hamar_1", 2)}
    wrong = loaded.run("search", "sjef", "--code", "two_boses")
    assert wrong.exit_code == 2 and "did you mean" in wrong.stderr


def test_fuzzy_search_tolerates_ocr_swaps_and_dropped_or_doubled_letters(keyworded):
    exact = keyworded.run("search", "fylkesdirektøren", "--json").json()
    assert [h["match"] for h in exact] == ["fylkesdirektøren"]
    fuzzy = keyworded.run("search", "fylkesdirektøren", "--fuzzy", "--json").json()
    assert [h["match"] for h in fuzzy] == ["Fylkesdirektoren", "fylkesdirektøren"]
    assert [h["match"] for h in keyworded.run("search", "rådmannen", "--fuzzy", "--json").json()] == [
        "radmannen", "rådmanen", "rådmannen"]
    kommunikasjon = keyworded.run("search", "kommunikasjonen", "--fuzzy", "--json").json()
    assert [h["match"] for h in kommunikasjon] == ["Komunikasjonen", "kommunikasjonen"]
    assert [h["match"] for h in keyworded.run("search", "ærlig", "--fuzzy", "--json").json()] == ["aerlig"]
    møtet = keyworded.run("search", "partnerskapsmøtet", "--fuzzy", "--json").json()
    assert [h["match"] for h in møtet] == ["partnerskapsmoetet", "partnerskapsmøttet"]
    for hit in fuzzy + møtet:
        assert transcript_text(keyworded, hit["transcript"])[hit["start"]:hit["end"]] == hit["match"]
    # short words must match exactly: one letter off in four is another word
    assert keyworded.run("search", "god", "--fuzzy", "--json").json()[0]["match"] == "god"
    assert [h["match"] for h in keyworded.run("search", "uka", "--fuzzy", "--json").json()] == []


def test_regex_search_and_bad_patterns(loaded):
    hits = loaded.run("search", r"sjef(er|en)\b", "--regex", "--csv")
    rows = list(csv.DictReader(io.StringIO(hits.stdout)))
    assert list(rows[0]) == HIT_FIELDS
    assert {r["match"] for r in rows} == {"sjefer"} and len(rows) == 4
    bad = loaded.run("search", "sjef(", "--regex")
    assert bad.exit_code == 2 and "invalid regular expression 'sjef('" in bad.stderr and "Traceback" not in bad.stderr
    both = loaded.run("search", "sjef", "--regex", "--fuzzy")
    assert both.exit_code == 2 and "--regex or --fuzzy" in both.stderr
    none = loaded.run("search", "ingenting her", "--json")
    assert none.exit_code == 0 and none.json() == [] and "no hits" in none.stderr


# -- autocode ----------------------------------------------------------------------------------

def test_autocode_proposes_whole_turns_from_keywords_by_word_prefix(keyworded):
    result = keyworded.run("autocode", "--json")
    assert result.exit_code == 0, result.stderr
    proposals = result.json()
    assert all(list(p) == PROPOSAL_FIELDS for p in proposals)
    oslo = [(p["segment"], p["code"], p["keyword"]) for p in proposals if p["transcript"] == "oslo_1"]
    assert oslo == [
        (1, "vertical.partnership_meeting", "partnerskap"),  # "partnerskapet": an inflection
        (1, "horizontal.relations", "tillit"),  # "tilliten"
        (2, "vertical.partnership_meeting", "partnerskap"),  # once per turn and code
        (2, "horizontal.relations.communication", "snakke"),  # "snakker"
        (3, "vertical.two_bosses", "to sjefer"),  # a phrase
        (4, "vertical.two_bosses", "to sjefer"),  # "to  sjefer": any space between
    ]
    # "to gode sjefer" is not the phrase, and "samarbeidspartnerskap" is not a word starting with it
    text = transcript_text(keyworded, "oslo_1")
    first = next(p for p in proposals if p["transcript"] == "oslo_1" and p["segment"] == 2)
    assert text[first["start"]:first["end"]] == "Partnerskapet"
    assert first["context"] == "[Partnerskapet] er godt. Vi har to gode sjefer, og…"
    assert "nothing written" in result.stderr
    assert db_rows(keyworded.db, "SELECT COUNT(*) FROM codings") == [(0,)]

    table = keyworded.run("autocode", "--code", "two_bosses")
    assert "[to sjefer]" in table.stdout and "partnerskap" not in table.stdout
    skipped = keyworded.run("autocode", "--skip-speaker", "intervjuer", "--json").json()
    assert {p["segment"] for p in skipped if p["transcript"] == "oslo_1"} == {2, 4}  # the Leder's turns


def test_autocode_apply_is_idempotent_countable_and_cleared_in_one_step(keyworded):
    assert keyworded.run("code", "add", "oslo_1", "2", "two_bosses", "--coder", "anna").exit_code == 0
    proposals = keyworded.run("autocode", "--json").json()
    applied = keyworded.run("autocode", "--apply")
    assert applied.exit_code == 0, applied.stderr
    assert f"{len(proposals)} new coding(s) by autocode" in applied.stderr
    rows = db_rows(keyworded.db, 'SELECT t.name, c.segment, c.code, c.start = s.start AND c."end" = s."end", c.memo '
                                 "FROM codings c JOIN transcripts t ON t.id = c.transcript_id JOIN segments s "
                                 "ON s.transcript_id = c.transcript_id AND s.number = c.segment "
                                 "WHERE c.coder = 'autocode' ORDER BY t.name, c.segment, c.code")
    assert len(rows) == len(proposals) and all(whole for _, _, _, whole, _ in rows)  # whole turns
    assert ("oslo_1", 4, "vertical.two_bosses", 1, 'autocode keyword "to sjefer"') in rows

    again = keyworded.run("autocode", "--apply")
    assert f"0 new coding(s) by autocode, {len(proposals)} already there" in again.stderr
    assert db_rows(keyworded.db, "SELECT COUNT(*) FROM codings WHERE coder = 'autocode'") == [(len(proposals),)]
    assert f"{len(proposals)} already applied" in keyworded.run("autocode").stderr

    listed = keyworded.run("code", "list", "--coder", "autocode", "--json").json()
    assert len(listed) == len(proposals) and {c["coder"] for c in listed} == {"autocode"}
    freq = {(c["code"], c["group"]): c["count"] for c in keyworded.run("report", "freq", "--json").json()}
    assert freq[("vertical.two_bosses", "Oslo")] == 3  # anna's turn 2, autocode's turns 3 and 4

    cleared = keyworded.run("autocode", "--clear")
    assert cleared.exit_code == 0 and f"removed {len(proposals)} coding(s) by autocode" in cleared.stderr
    assert db_rows(keyworded.db, "SELECT coder, COUNT(*) FROM codings GROUP BY coder") == [("anna", 1)]
    audit = db_rows(keyworded.db, "SELECT action, details FROM audit WHERE action LIKE 'autocode.%' ORDER BY id")
    assert [a for a, _ in audit] == ["autocode.apply", "autocode.clear"]
    assert json.loads(audit[1][1])["removed"] == len(proposals)


def test_autocode_csv_closes_the_loop_through_code_apply(keyworded):
    exported = keyworded.run("autocode", "--csv", "--code", "vertical")
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert list(rows[0]) == ["transcript", "code", "segment", "quote", "coder", "memo"]
    assert {r["code"] for r in rows} == {"vertical.two_bosses", "vertical.partnership_meeting"}
    # the coder is left to whoever applies the reviewed file
    assert {r["coder"] for r in rows} == {""} and {r["quote"] for r in rows} == {""}
    keyworded.write("proposals.csv", exported.stdout)
    applied = keyworded.run("code", "apply", "proposals.csv")
    assert applied.exit_code == 0, applied.stderr
    assert f"{len(rows)} coded" in applied.stderr
    assert db_rows(keyworded.db, "SELECT DISTINCT coder, source FROM codings") == [("tester", None)]
    # the reviewer's codings are theirs: --clear removes only what --apply wrote
    again = keyworded.run("autocode", "--apply", "--code", "vertical")
    assert f"{len(rows)} new coding(s) by autocode" in again.stderr
    assert keyworded.run("autocode", "--clear", "--code", "horizontal").stderr.startswith("removed 0 coding(s)")
    assert keyworded.run("autocode", "--clear").stderr.startswith(f"removed {len(rows)} coding(s)")
    assert db_rows(keyworded.db, "SELECT COUNT(*), coder FROM codings") == [(len(rows), "tester")]


def test_autocode_refuses_conflicting_modes(keyworded):
    for args in (["--apply", "--clear"], ["--dry-run", "--apply"]):
        result = keyworded.run("autocode", *args)
        assert result.exit_code == 2 and "choose one of --dry-run, --apply and --clear" in result.stderr
    assert keyworded.run("autocode", "--code", "nonsense").exit_code == 2
    assert db_rows(keyworded.db, "SELECT COUNT(*) FROM codings") == [(0,)]


def test_search_and_autocode_on_the_demo_corpus(project):
    built = project.run("demo", str(project.root / "demo"))
    assert built.exit_code == 0, built.stderr
    proposals = project.run("autocode", "--skip-speaker", "Intervjuer", "--json").json()
    assert len({p["transcript"] for p in proposals}) == 12
    assert {p["code"].split(".")[0] for p in proposals} == {"vertical", "horizontal", "leadership", "coordination"}
    applied = project.run("autocode", "--apply", "--skip-speaker", "Intervjuer")
    assert f"{len(proposals)} new coding(s)" in applied.stderr
    assert project.run("autocode", "--clear").exit_code == 0
    hits = project.run("search", "partnerskapsmøtet", "--fuzzy", "--case", "Hamar", "--json").json()
    assert hits and {h["case"] for h in hits} == {"Hamar"}
    assert all(h["match"].lower().startswith("partnerskapsm") for h in hits)
    coded = project.run("search", "sjef", "--code", "two_bosses", "--json").json()
    assert coded and all(h["match"].lower() == "sjef" for h in coded)
