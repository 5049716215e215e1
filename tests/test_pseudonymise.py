"""Pseudonymised exports (issue 11) tested as an adversary would: listed names and
informants in every form (multi-word, hyphenated, with endings, in capitals, decomposed
Unicode, broken across a line, inside compounds and e-mail addresses), placed in quote text,
memos, attributes, informant fields, transcript file names and case names; then every
pseudonymised output, file names and document properties included, must hold none of them."""
from __future__ import annotations

import csv
import html
import io
import json
import re
import unicodedata
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import Project

CODEBOOK = """\
name: Pseudonym test
dimensions:
  - id: vertical
    label: Vertikal
    codes:
      - id: bosses
        label: Sjefer
  - id: horizontal
    label: Horisontal
    codes:
      - id: relations
        label: Relasjoner
"""

_LETTER = r"[^\W\d_]"
_ENDING = "(?:enes|ens|ene|ets|ers|en|et|es|as|er|s|e|a|['’]s?)?"


def normalised(text: str) -> str:
    return unicodedata.normalize("NFC", html.unescape(text)).casefold()


def ascii_folded(name: str) -> str:
    name = name.casefold().replace("ø", "o").replace("æ", "ae").replace("å", "a")
    return "".join(c for c in unicodedata.normalize("NFD", name) if not unicodedata.combining(c))


def leaks(text: str, people: list[str], places: list[str]) -> list[str]:
    """Every form of a listed name found in `text` (normalised: NFC, case-folded; also with
    whitespace, hyphens, dots and underscores taken out)."""
    text = normalised(text)
    collapsed = re.sub(r"[\s\-‐‑–_.]+", "", text)
    found = []
    for name in people + places:
        name = unicodedata.normalize("NFC", name).casefold()
        parts = [p for p in re.split(r"[\s\-]+", name) if p]
        forms = {name, ascii_folded(name)}
        if name in people_folded(people):
            forms |= {p for p in parts if len(p) >= 3} | {ascii_folded(p) for p in parts if len(p) >= 3}
        for form in forms:
            # a name where no letter comes before it (so "tor" in "kontor" is no leak); a
            # person's followed by no letter but an ending, a place's followed by anything
            after = "" if name not in people_folded(people) else f"{_ENDING}(?!{_LETTER})"
            if re.search(rf"(?<!{_LETTER}){re.escape(form)}{after}", text):
                found.append(form)
        if len(parts) > 1 and "".join(parts) in collapsed:
            found.append("".join(parts))
    return found


def people_folded(people: list[str]) -> set[str]:
    return {unicodedata.normalize("NFC", p).casefold() for p in people}


def zip_text(path: Path) -> str:
    """Every XML part of a DOCX or XLSX (properties, styles, sheets, shared strings...)."""
    with zipfile.ZipFile(path) as archive:
        return "\n".join(archive.read(n).decode("utf-8") for n in archive.namelist()
                         if n.endswith((".xml", ".rels")))


def run_ok(project: Project, *args: str) -> str:
    result = project.run(*args)
    assert result.exit_code == 0, (args, result.stderr)
    return result.stdout


def every_output(project: Project, *, case: str | None, thorough: bool = True) -> dict[str, str]:
    """Every pseudonymised output, by what produced it: stdout, files written and their names
    (`thorough=False`: each output once, not each matrix layout and format)."""
    exports = project.root / "exports"
    outputs: dict[str, str] = {}
    case_filter = ("--case", case) if case else ()
    for flag in ("--md", "--csv", "--json"):
        outputs[f"quotes {flag}"] = run_ok(project, "report", "quotes", flag, "--pseudonymise", "--context", "8")
        outputs[f"quotes {flag} --case"] = run_ok(project, "report", "quotes", flag, "--pseudonymise", *case_filter)
    for flag in ("--html", "--docx", "--xlsx"):
        for filters in ((), case_filter):
            before = set(exports.glob("*")) if exports.exists() else set()
            result = project.run("report", "quotes", flag, "--pseudonymise", "--context", "8", *filters, "--force")
            assert result.exit_code == 0, result.stderr
            outputs[f"quotes {flag} {filters} message"] = result.stderr
            written = sorted(set(exports.glob("*")) - before) or sorted(exports.glob(f"*{flag[2:]}"))
            for path in written:
                if flag == "--html":
                    outputs[f"{path.name}"] = path.read_text(encoding="utf-8")
                else:
                    outputs[f"{path.name}"] = zip_text(path)
    outputs["segments --csv"] = run_ok(project, "export", "segments", "--csv", "--pseudonymise")
    run_ok(project, "export", "segments", "--xlsx", "--pseudonymise", "--force")
    outputs["segments.xlsx"] = zip_text(exports / "segments.xlsx")
    for rows in ("cases", "transcript", "informant") if thorough else ("transcript",):
        for flag in ("--json", "--csv", "--md") if thorough else ("--json",):
            outputs[f"matrix {rows} {flag}"] = run_ok(project, "report", "matrix", "--rows", rows, "--quotes",
                                                      "--pseudonymise", flag)
        outputs[f"matrix {rows} table"] = run_ok(project, "report", "matrix", "--rows", rows, "--quotes",
                                                 "--pseudonymise")
    run_ok(project, "report", "matrix", "--quotes", "--pseudonymise", "--html", "--force")
    run_ok(project, "report", "matrix", "--rows", "transcript", "--quotes", "--pseudonymise", "--html", "--force")
    for flag in ("--json", "--csv", "--md"):
        outputs[f"memos {flag}"] = run_ok(project, "report", "memos", "--pseudonymise", flag)
    outputs["memos table"] = run_ok(project, "report", "memos", "--pseudonymise")
    for path in exports.glob("*.html"):
        outputs[path.name] = path.read_text(encoding="utf-8")
    outputs["file names"] = "\n".join(p.name for p in exports.iterdir())
    return outputs


def code_everything(project: Project) -> None:
    """Code every segment of every transcript twice, by two coders."""
    for transcript in project_transcripts(project):
        for segment in json.loads(run_ok(project, "segments", transcript, "--json")):
            run_ok(project, "code", "add", transcript, str(segment["segment"]), "bosses")
            run_ok(project, "code", "add", transcript, str(segment["segment"]), "relations", "--coder", "bjorn")


def project_transcripts(project: Project) -> list[str]:
    import sqlite3

    conn = sqlite3.connect(project.db)
    try:
        return [name for (name,) in conn.execute("SELECT name FROM transcripts ORDER BY id")]
    finally:
        conn.close()


# -- the fixed project: realistic names, every place they hide ------------------------------

KARI = """\
---
case: Hamar
informant: Kari Nordmann
role: NAV-leder på Hamar-kontoret
kontakt: kari.nordmann@nav.no
---
Intervjuer: Hvem er sjefen din?

Leder: KARI NORDMANN heter jeg, og Karis kontor er Hamarkontoret. Skriv til kari@hamar.kommune.no
eller til Kari
Nordmann på HAMAR. Hamars rådmann og Inger Marie samarbeider godt.

Leder: Tor Inge i Lierkontoret og Inger-Marie i Tjømekontoret sier det samme, og Trøgstads leder òg.
Se hamar_1 og trogstad_a, eller post@trogstad.kommune.no.
"""

INGER = """\
---
case: Trøgstad
informant: Inger Marie Dahl
role: avdelingsleder
---
Intervjuer: Hvordan går det?

Leder: Inger Marie Dahl her. Tor Inge Vik ringte fra Lier i går, og TRØGSTAD-kontoret svarte.
"""

TOR = """\
---
case: Lier
informant: Tor Inge Vik
role: NAV-leder
---
Intervjuer: Og partnerskapet?

Leder: Tor Inge sier at Tor-Inges kontor i Lier samarbeider med Hamar og Tjøme.
"""

PEOPLE = ["Kari Nordmann", "Inger Marie Dahl", "Tor Inge Vik"]
PLACES = ["Hamar", "Trøgstad", "Tjøme", "Lier"]


@pytest.fixture(scope="module")
def named(tmp_path_factory) -> Project:
    root = tmp_path_factory.mktemp("named")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        patch.setenv("CODER_NAME", "tester")
        patch.setenv("CODER_DEBUG", "1")
        patch.delenv("CODER_DB", raising=False)
        project = Project(root, root / "coder.db")
        project.write("codebook.yaml", CODEBOOK)
        project.start("codebook.yaml", {"kari_nordmann_intervju.txt": KARI, "trogstad_a.txt": INGER,
                                        "hamar_1.txt": TOR})
        for place, alias in zip(PLACES, ("Kontor 1", "Kontor 2", "Kontor 3", "Kontor 4")):
            # Trøgstad as a macOS file name gives it: decomposed (o + combining stroke is not
            # one, so use å/ø-free NFD forms where Unicode has them)
            run_ok(project, "names", "add", unicodedata.normalize("NFD", place), "--as", alias, "--kind", "place")
        run_ok(project, "names", "add", unicodedata.normalize("NFD", "Tor Inge Vik"), "--as", "Leder F")
        run_ok(project, "cases", "set", "Hamar", "kontaktperson=Kari Nordmann (kari@hamar.kommune.no)")
        code_everything(project)
        run_ok(project, "memo", "add", "Kari Nordmanns svar ligner Tor Inges (Lierkontoret)")
        run_ok(project, "memo", "add", "Inger\nMarie var åpen om TRØGSTAD", "--transcript", "trogstad_a")
        run_ok(project, "memo", "add", "Se kari_nordmann_intervju", "--transcript", "kari_nordmann_intervju")
        run_ok(project, "memo", "add", "Hamar-kontorets ord", "--code", "bosses")
        run_ok(project, "code", "add", "hamar_1", "2", "bosses", "--coder", "anna",
               "--memo", "Tor-Inge om Tjømes leder")
        yield project


def test_every_pseudonymised_output_hides_every_listed_name(named):
    outputs = every_output(named, case="Hamar")
    found = {what: leaks(text, PEOPLE, PLACES) for what, text in outputs.items()}
    assert {what: forms for what, forms in found.items() if forms} == {}
    # and the exports still say something: aliases where the names were
    assert "Informant B" in outputs["quotes --md"] and "Kontor 1" in outputs["quotes --md"]


def test_multi_word_given_names_become_one_alias(named):
    text = run_ok(named, "report", "quotes", "--json", "--pseudonymise", "--code", "bosses")
    quotes = json.loads(text)
    joined = "\n".join(q["text"] for q in quotes)
    # Kari Nordmann is Informant B, Inger Marie Dahl Informant C, Tor Inge Vik listed as Leder F
    assert "Informant C" in joined and "Leder F" in joined
    for alias in ("Informant B", "Informant C", "Leder F"):
        assert f"{alias} {alias}" not in joined and f"{alias}-{alias}" not in joined
    # Inger Marie -> one alias; the genitive and compounds stay readable
    assert "Informant B heter jeg, og Informant Bs kontor er Kontor 1-kontoret" in joined
    assert "Kontor 1s rådmann og Informant C samarbeider" in joined
    assert "Leder F i Kontor 4-kontoret og Informant C i Kontor 3-kontoret" in joined
    assert "Leder Fs kontor" in joined
    assert "Informant B@Kontor 1.kommune.no" in joined and "post@Kontor 2.kommune.no" in joined


def test_transcript_ids_become_neutral_ids_stable_in_one_export(named):
    quotes = json.loads(run_ok(named, "report", "quotes", "--json", "--pseudonymise"))
    # in import order: hamar_1, kari_nordmann_intervju, trogstad_a
    assert {q["transcript"] for q in quotes} == {"T01", "T02", "T03"}
    kari = [q for q in quotes if q["transcript"] == "T02"]
    assert kari and all(q["informant"] == "Informant B" for q in kari)
    assert any("Se T01 og T03" in q["text"] for q in kari)
    md = run_ok(named, "report", "quotes", "--md", "--pseudonymise")
    assert "T02 §2" in md and "kari_nordmann" not in md
    segments = csv.DictReader(io.StringIO(run_ok(named, "export", "segments", "--csv", "--pseudonymise")))
    assert {row["transcript"] for row in segments} == {"T01", "T02", "T03"}
    memos = json.loads(run_ok(named, "report", "memos", "--json", "--pseudonymise"))
    assert {m["target"] for m in memos if m["type"] == "transcript"} == {"T02", "T03"}
    assert "Se T02" in {m["text"] for m in memos}
    assert all(m["target"].startswith(("T01: ", "T02: ", "T03: ")) for m in memos if m["type"] == "coding")
    # without --pseudonymise, nothing changes
    plain = json.loads(run_ok(named, "report", "quotes", "--json"))
    assert {q["transcript"] for q in plain} == {"kari_nordmann_intervju", "trogstad_a", "hamar_1"}


def test_hidden_place_leaves_title_properties_and_file_name(named):
    from docx import Document
    from openpyxl import load_workbook

    exports = named.root / "exports"
    result = named.run("report", "quotes", "--case", "hamar", "--docx", "--pseudonymise", "--force")
    assert result.exit_code == 0, result.stderr
    path = exports / "quotes_kontor-1_pseudonymised.docx"
    assert f"to {Path('exports') / path.name}" in result.stderr
    document = Document(str(path))
    properties = document.core_properties
    assert properties.title == "Quotes — Kontor 1"
    assert properties.author == "coder" and not properties.comments and not properties.subject
    assert document.paragraphs[0].text == "Quotes — Kontor 1"
    assert named.run("report", "quotes", "--case", "Hamar", "--xlsx", "--pseudonymise", "--force").exit_code == 0
    workbook = load_workbook(exports / "quotes_kontor-1_pseudonymised.xlsx")
    assert workbook.properties.title == "Quotes — Kontor 1" and workbook.properties.creator == "coder"
    assert workbook.sheetnames == ["Quotes"]
    assert named.run("report", "quotes", "--case", "Hamar", "--html", "--pseudonymise", "--force").exit_code == 0
    page = (exports / "quotes_kontor-1_pseudonymised.html").read_text(encoding="utf-8")
    assert "<title>Quotes — Kontor 1</title>" in page


def test_markdown_sheet_says_names_are_pseudonymised(named):
    assert "_Names are pseudonymised._" in run_ok(named, "report", "quotes", "--md", "--pseudonymise")
    assert "pseudonymised" not in run_ok(named, "report", "quotes", "--md")



def test_a_part_of_a_name_in_lower_case_in_a_sentence_is_an_ordinary_word(project):
    """"per" (per month), "vik" (a bay) and "lier" (hillsides) are words; "Per", "VIK" and
    "per.vik@nav.no" are Per Vik. Full names are still found in any case."""
    project.start("codebook.yaml", {"vik_intervju.txt": (
        "---\ncase: Asker\ninformant: Per Vik\n---\nIntervjuer: Og dere?\n\n"
        "Leder: Vi møtes to ganger per måned i en vik under lier og åser. Per sier det, VIK også, "
        "og per vik skrev det fra per.vik@nav.no og per@asker.kommune.no; se per_notat.txt. "
        "Hans Lier og HANS LIER, hans lier og lier.\n")})
    run_ok(project, "names", "add", "Hans Lier", "--as", "Leder X")
    run_ok(project, "code", "add", "vik_intervju", "2", "two_bosses")
    [quote] = json.loads(run_ok(project, "report", "quotes", "--json", "--pseudonymise"))
    assert quote["text"] == (
        "Vi møtes to ganger per måned i en vik under lier og åser. Informant A sier det, Informant A også, "
        "og Informant A skrev det fra Informant A@nav.no og Informant A@asker.kommune.no; se Informant A_notat.txt. "
        "Leder X og Leder X, Leder X og lier.")


def test_pseudonymised_memos_are_listed_in_the_order_of_their_neutral_ids(project):
    """Listed in the order of the real names, T02 before T01 told that zeta_1 sorts after alfa_1."""
    run_ok(project, "init", "--codebook", "codebook.yaml")
    for name in ("zeta_1", "alfa_1"):  # imported in this order: zeta_1 is T01
        project.write(f"t/{name}.txt", "Leder: Vi har to sjefer.\n")
        run_ok(project, "import", f"t/{name}.txt")
        run_ok(project, "memo", "add", f"om {name}", "--transcript", name)
        run_ok(project, "code", "add", name, "1", "two_bosses", "--memo", "koding")
    memos = json.loads(run_ok(project, "report", "memos", "--json", "--pseudonymise"))
    assert [(m["type"], m["target"][:3]) for m in memos] == [
        ("transcript", "T01"), ("transcript", "T02"), ("coding", "T01"), ("coding", "T02")]
    for flag in ("--csv", "--md"):
        text = run_ok(project, "report", "memos", flag, "--pseudonymise")
        assert text.index("T01") < text.index("T02")

# -- generated names: every shape, every place ---------------------------------------------

# Each part of a generated name has an æ, ø or å, five letters: it cannot be an accident of
# the XML around it or of the few words around it here, so what the check finds is a leak.
_PART = st.builds(lambda c1, v1, c2, v2, c3: (c1 + v1 + c2 + v2 + c3).capitalize(),
                  *(st.sampled_from("bdfgklmnprstv"), st.sampled_from("æøå"), st.sampled_from("bdfgklmnprstv"),
                    st.sampled_from("aeiouæøå"), st.sampled_from("bdfgklmnprstv")))
_PERSON = st.tuples(st.lists(_PART, min_size=1, max_size=3), st.booleans()).map(
    lambda p: ("-".join(p[0][:2]) + " " + " ".join(p[0][2:]) if p[1] and len(p[0]) > 1 else " ".join(p[0])).strip())
_PLACE = st.one_of(_PART, st.tuples(st.sampled_from(["Nord", "Sør", "Øvre"]), _PART).map("-".join))


def person_forms(name: str) -> list[str]:
    parts = re.split(r"[\s\-]+", name)
    given = " ".join(parts[:-1]) or parts[0]
    return [name, name.upper(), name.lower(), unicodedata.normalize("NFD", name), f"{name}s kontor",
            f"{given} sa", "-".join(parts), "\n".join(parts), f"{parts[-1]}s", f"{parts[-1].upper()}EN",
            ".".join(parts).lower() + "@nav.no", ascii_folded(".".join(parts)) + "@nav.no"]


def place_forms(name: str) -> list[str]:
    return [name, name.upper(), unicodedata.normalize("NFD", name), f"{name}s", f"{name}kontoret",
            f"{name.upper()}-KONTORET", f"{name.lower()}en", f"post@{name.lower()}.kommune.no",
            f"post@{ascii_folded(name)}.kommune.no", unicodedata.normalize("NFD", f"{name}kontoret")]


def _yaml(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                HealthCheck.too_slow])
@given(names=st.lists(st.one_of(_PERSON.map(lambda n: ("person", n)), _PLACE.map(lambda n: ("place", n))),
                      min_size=3, max_size=5, unique_by=lambda kn: kn[1].casefold()),
       nfd=st.booleans())
def test_generated_names_leave_no_trace_in_any_output(tmp_path_factory, names, nfd):
    people = [n for kind, n in names if kind == "person"] or ["Bøtak Kålev"]
    places = [n for kind, n in names if kind == "place"] or ["Gåvel"]
    informant, third = people[0], people[-1]  # the one interviewed, and one only talked about
    place, other = places[0], places[-1]
    root = tmp_path_factory.mktemp("generated")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        patch.setenv("CODER_NAME", "tester")
        patch.setenv("CODER_DEBUG", "1")
        patch.delenv("CODER_DB", raising=False)
        project = Project(root, root / "coder.db")
        project.write("codebook.yaml", CODEBOOK)
        forms = [*(f for p in people for f in person_forms(p)), *(f for p in places for f in place_forms(p))]
        turns = "\n\n".join(f"Leder: Det var {', '.join(group)} som sa det."
                             for group in (forms[:len(forms) // 2], forms[len(forms) // 2:]))
        header = (f"---\ncase: {_yaml(place)}\ninformant: {_yaml(informant)}\nrole: {_yaml('leder i ' + other)}\n"
                  f"kontakt: {_yaml(person_forms(third)[-2])}\nkontor: {_yaml(other + 'kontoret')}\n---\n")
        slug = lambda name: re.sub(r"[\s\-]+", "_", name.lower())  # noqa: E731
        file_name = unicodedata.normalize("NFD" if nfd else "NFC", f"{slug(informant)}_intervju.txt")
        project.start("codebook.yaml", {file_name: header + "Intervjuer: Hva skjer?\n\n" + turns + "\n",
                                        f"{slug(other)}_1.txt": f"---\ncase: {_yaml(other)}\n---\n{turns}\n"})
        for kind, name in [*(("person", p) for p in people), *(("place", p) for p in places)]:
            listed = unicodedata.normalize("NFD", name) if nfd else name
            run_ok(project, "names", "add", listed, "--as", f"Alias {len(name)}", "--kind", kind)
        run_ok(project, "cases", "set", place, f"kontakt={person_forms(informant)[1]}")
        code_everything(project)
        memo = " / ".join(forms[::2])
        run_ok(project, "memo", "add", unicodedata.normalize("NFD", memo))
        run_ok(project, "memo", "add", memo, "--transcript", project_transcripts(project)[0])
        run_ok(project, "code", "add", project_transcripts(project)[1], "1", "bosses", "--coder", "anna",
               "--memo", " / ".join(forms[1::2]))
        outputs = every_output(project, case=place, thorough=False)
    found = {what: leaks(text, people, places) for what, text in outputs.items()}
    assert {what: forms for what, forms in found.items() if forms} == {}
