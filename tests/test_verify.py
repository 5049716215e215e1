"""`coder verify MANUSCRIPT`: a thesis chapter's quotes checked against the demo transcripts.

The manuscript below was written for the demo corpus (`coder demo`), with one quote of each
kind planted: exact, retyped, OCR-damaged, trimmed with an ellipsis, with a bracketed
insertion, spliced, misattributed and invented; in Markdown and, the same text, in DOCX.
"""
from __future__ import annotations

import json

from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from conftest import db_rows

CHAPTER = """\
# Kapittel 5: To sjefer

Lederen på Hamar er tydelig: «Men i praksis har jeg to sjefer, det kommer man ikke bort fra.» (NAV-leder, Hamar)
Rådmannen på Tjøme ser partnerskapet annerledes: "for meg er det noe mer enn samarbeid – samarbeid kan man ha med
hvem som helst", sa rådmannen på Tjøme.

I Trøgstad lyder det slik: «For meg er radmannen og fylkesdirektoren like rnye sjef begge to.» (Informant K)

Lederen i Asker forteller: «Jeg hadde ingen bindinger til noen av de gamle etatene [...] Men jeg måtte også sette meg inn i mye på kort tid.»

Delt ledelse gir klare skiller: «Så hvis noe gjelder sosialtjenesten, er det [den kommunale lederen] som bestemmer.» (NAV-leder, Lier)

Om møtene: «Partnerskapsmøtet er ikke et sted der det settes krav til meg. Det har vært lite strategi, rett og slett fordi det å starte opp et nytt kontor tar all energien.» (NAV-leder, Hamar)

«Jeg har vært i trygdeetaten hele mitt yrkesliv, nesten tretti år» (rådmann, Lier).

Én informant mente at «partnerskapet er først og fremst en arena for å dele gode historier om brukerne» (NAV-leder, Asker).

> Kontoret er en egen resultatenhet rett under rådmannen, og jeg har fått ganske
> omfattende fullmakter fra både kommunen og staten.
>
> — NAV-leder, Asker

Om ansettelsene: „Vi beholdt begge de ansettelsesforholdene vi hadde fra før." (Informant F) Begrepet «to sjefer» går igjen.
"""

# (line, verdict, transcript, segment, attribution, claimed) of each quote, in manuscript order
EXPECTED = [
    (3, "exact", "hamar_1", 4, "ok", "NAV-leder, Hamar"),
    (4, "normalised", "tjome_2", 4, "ok", "sa rådmannen på Tjøme"),  # retyped: case and a dash
    (7, "close", "trogstad_1", 4, "ok", "Informant K"),  # OCR: ø -> o, å -> a, m -> rn
    (9, "exact", "asker_1", 2, "ok", "Lederen i Asker forteller"),  # trimmed, [...] marked
    (11, "exact", "lier_1", 2, "ok", "NAV-leder, Lier"),  # [den kommunale lederen] for "Marit"
    (13, "spliced", "hamar_1", 8, "ok", "NAV-leder, Hamar"),  # two turns, no omission marked
    (15, "exact", "trogstad_1", 2, "wrong", "rådmann, Lier"),  # misattributed
    (17, "not_found", None, None, None, "NAV-leder, Asker"),  # invented
    (19, "exact", "asker_1", 4, "ok", "NAV-leder, Asker"),  # a block quote, wrapped
    (24, "exact", "lier_1", 2, "ok", "Informant F"),  # „…" quotes; «to sjefer» is too short
]


@pytest.fixture
def demo(project):
    result = project.run("demo", project.root)
    assert result.exit_code == 0, result.stderr
    return project


def check_against_expected(records, expected=EXPECTED):
    assert [(r["line"], r["verdict"], r["transcript"], r["segment"], r["attribution"], r["claimed"])
            for r in records] == expected


@pytest.fixture(params=["whole", "by-words"])
def search(request, monkeypatch):
    """Each small project searched whole, and as a large one is: only the transcripts that
    hold a quote's words (coder/verify.py's Corpus.candidates)."""
    if request.param == "by-words":
        monkeypatch.setattr("coder.verify._SEARCH_ALL_UP_TO", 0)
    return request.param


def test_markdown_manuscript_every_verdict_and_attribution(demo, search):
    demo.write("kapittel.md", CHAPTER)
    result = demo.run("verify", "kapittel.md", "--json")
    assert result.exit_code == 1, result.stderr
    records = result.json()
    check_against_expected(records)
    assert list(records[0]) == ["quote", "line", "verdict", "transcript", "case", "role", "segment", "start", "end",
                                "score", "attribution", "claimed", "time"]
    text = {name: t for name, t in db_rows(demo.db, "SELECT name, text FROM transcripts")}
    first = records[0]
    assert text["hamar_1"][first["start"]:first["end"]] == first["quote"]
    assert (first["case"], first["role"], first["score"]) == ("Hamar", "NAV-leder", 100.0)
    close = records[2]
    assert 85 <= close["score"] < 100
    trimmed = records[3]  # the span runs from the first part to the last, omission included
    assert text["asker_1"][trimmed["start"]:trimmed["end"]].startswith("Jeg hadde ingen bindinger")
    assert text["asker_1"][trimmed["start"]:trimmed["end"]].endswith("sette meg inn i mye på kort tid.")
    assert result.stderr.strip().splitlines()[-1] == (
        "10 quotes: 6 exact, 1 normalised, 1 close, 1 spliced, 1 not found; 1 attribution wrong")


def test_terminal_table_fits_80_columns_and_explains_each_problem(demo, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    demo.write("kapittel.md", CHAPTER)
    result = demo.run("verify", "kapittel.md")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80, result.stdout
    assert any(line.split()[:3] == ["7", "close", "94"] for line in lines), result.stdout
    out = " ".join(result.stdout.split())
    assert "[-fylkesdirektøren-] {+fylkesdirektoren+}" in out
    assert "from hamar_1:8;" in out and "from hamar_1:12" in out
    assert "attributed to “rådmann, Lier”, but the source is Trøgstad, NAV-leder (Informant K), trogstad_1:2" in out
    assert "line 17: not found in any transcript" in out


def test_all_quotes_right_exits_0(demo):
    demo.write("ok.md", "Lederen sa: «Men i praksis har jeg to sjefer, det kommer man ikke bort fra.» (Hamar)\n\n"
                        "Og: «men i praksis har jeg to sjefer det kommer man ikke bort fra»\n")
    result = demo.run("verify", "ok.md", "--json")
    assert result.exit_code == 0, result.stderr
    assert [(r["verdict"], r["attribution"]) for r in result.json()] == [("exact", "ok"), ("normalised", "none")]


def test_a_quote_from_a_timed_turn_says_when_it_was_said(demo):
    imported = demo.run("import", Path(__file__).resolve().parents[1] / "transcripts" / "arrived" / "tjome_3.vtt",
                        "--case", "Tjøme")
    assert imported.exit_code == 0, imported.stderr
    demo.write("tid.md", "Hun sa: «Der blir vi enige om de store linjene & hvem som gjør hva.»\n\n"
                         "Og: «Men i praksis har jeg to sjefer, det kommer man ikke bort fra.»\n")
    result = demo.run("verify", "tid.md", "--json")
    timed, untimed = result.json()
    assert (timed["transcript"], timed["verdict"], timed["time"]) == ("tjome_3", "exact", "00:12:36")
    assert (untimed["transcript"], untimed["time"]) == ("hamar_1", None)


def make_docx(path, *, indent_block: bool = False):
    """The chapter as a Word document: the block quote in the "Quote" style (or indented),
    its attribution in the paragraph after it."""
    from docx import Document
    from docx.shared import Cm

    document = Document()
    document.add_heading("Kapittel 5: To sjefer", level=1)
    for paragraph in CHAPTER.split("\n\n")[1:]:
        if paragraph.startswith(">"):
            lines = [line.lstrip("> ").strip() for line in paragraph.splitlines()]
            text = " ".join(line for line in lines if line and not line.startswith("—"))
            if indent_block:
                document.add_paragraph(text).paragraph_format.left_indent = Cm(1.5)
            else:
                document.add_paragraph(text, style="Quote")
            document.add_paragraph("— NAV-leder, Asker")
        else:
            document.add_paragraph(" ".join(paragraph.split("\n")))
    document.save(path)


@pytest.mark.parametrize("indent_block", [False, True], ids=["quote-style", "indented"])
def test_docx_manuscript_every_verdict_and_attribution(demo, indent_block, search):
    make_docx(demo.root / "kapittel.docx", indent_block=indent_block)
    result = demo.run("verify", "kapittel.docx", "--json")
    assert result.exit_code == 1, result.stderr
    # DOCX: `line` is the paragraph number (the heading is 1; the first paragraph holds two quotes)
    expected = [(n, *rest) for n, (_, *rest) in zip([2, 2, 3, 4, 5, 6, 7, 8, 9, 11], EXPECTED)]
    check_against_expected(result.json(), expected)


def make_odt(path, paragraphs: list[tuple[str, str]]):
    """A minimal OpenDocument text: (style, text) paragraphs."""
    import zipfile
    from xml.sax.saxutils import escape

    body = "".join(f'<text:p text:style-name="{style}">{escape(text)}</text:p>' for style, text in paragraphs)
    content = ('<?xml version="1.0" encoding="UTF-8"?><office:document-content '
               'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
               'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
               'xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0" '
               'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:automatic-styles>'
               '<style:style style:name="P1" style:family="paragraph" style:parent-style-name="Quotations"/>'
               '<style:style style:name="P2" style:family="paragraph"><style:paragraph-properties '
               'fo:margin-left="1.2cm"/></style:style></office:automatic-styles><office:body><office:text>'
               f'{body}</office:text></office:body></office:document-content>')
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", content)


def test_odt_manuscript(demo):
    make_odt(demo.root / "kapittel.odt", [
        ("Standard", "Lederen på Hamar: «Men i praksis har jeg to sjefer, det kommer man ikke bort fra.»"),
        ("P1", "Kontoret er en egen resultatenhet rett under rådmannen, og jeg har fått ganske omfattende "
               "fullmakter fra både kommunen og staten."),
        ("Standard", "— NAV-leder, Asker"),
        ("P2", "Jeg har vært i trygdeetaten hele mitt yrkesliv, nesten tretti år (rådmann, Lier)"),
    ])
    result = demo.run("verify", "kapittel.odt", "--json")
    assert result.exit_code == 1, result.stderr
    assert [(r["line"], r["verdict"], r["transcript"], r["attribution"]) for r in result.json()] == [
        (1, "exact", "hamar_1", "ok"), (2, "exact", "asker_1", "ok"), (4, "exact", "trogstad_1", "wrong")]


@pytest.mark.parametrize("name, content, says", [
    ("missing.md", None, "missing.md: no such manuscript"),
    ("kapittel.pdf", b"%PDF-1.4 ...", "kapittel.pdf: cannot read .pdf files"),
    ("kapittel.docx", b"PK\x03\x04 not really a zip", "kapittel.docx: not a readable Word document"),
    ("kapittel.odt", b"not a zip at all", "kapittel.odt: not a readable OpenDocument text"),
    ("kapittel.md", b"\x00\x01binary", "kapittel.md: binary file"),
])
def test_bad_manuscript_is_one_line_naming_the_file_and_exit_2(demo, name, content, says):
    if content is not None:
        demo.write(name, content)
    result = demo.run("verify", name)
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {says}"), result.stderr


def test_html_report_escapes_the_data_and_shows_each_quote_beside_its_passage(demo):
    demo.write("kapittel.md", CHAPTER + '\nEn leser skrev «<script>alert(1)</script> og <b>fet</b> tekst her».\n')
    result = demo.run("verify", "kapittel.md", "--html", "rapport.html")
    assert result.exit_code == 1
    html = (demo.root / "rapport.html").read_text(encoding="utf-8")
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert html.count('<section class="check') == 11
    assert "<del>fylkesdirektøren</del>" in html and "<ins>fylkesdirektoren</ins>" in html
    assert "hamar_1, turn 4" in html
    again = demo.run("verify", "kapittel.md", "--html", "rapport.html")
    assert again.exit_code == 2 and "--force" in again.stderr  # never over a file without --force
    piped = demo.run("verify", "kapittel.md", "--html", "-")
    assert piped.exit_code == 1 and piped.stdout == html


def test_pseudonymised_reports_real_names_anywhere(demo):
    demo.write("anonym.md", "Informant C (Arne Bjørklund) sa: «Men i praksis har jeg to sjefer, det kommer man "
                            "ikke bort fra.»\n\nSom Inger Marie påpekte, og per uke er det mye.\n")
    plain = demo.run("verify", "anonym.md", "--json")
    assert plain.exit_code == 0, plain.stderr
    result = demo.run("verify", "anonym.md", "--pseudonymised")
    assert result.exit_code == 1
    out = " ".join(result.stdout.split())
    assert "line 1: real name “Arne Bjørklund” (its pseudonym is Informant C)" in out
    assert "line 3: real name “Inger Marie” (its pseudonym is Informant K)" in out
    assert "per uke" not in out and "“per”" not in out.lower()
    assert result.stderr.strip().endswith("; 2 real names")


def test_norwegian_quotation_marks_and_letters(demo):
    demo.write("norsk.md", "Hun sa „Jeg har vært i trygdeetaten hele mitt yrkesliv, nesten tretti år“ og "
                           "la til «Så jeg kjenner bygda og jeg kjenner kommunen.» Han: 'Jeg er statlig ansatt, og "
                           "det valgte jeg selv.'\n")
    result = demo.run("verify", "norsk.md", "--json")
    assert [(r["verdict"], r["transcript"]) for r in result.json()] == [("exact", "trogstad_1")] * 3


def test_project_without_transcripts_is_bad_input(project):
    assert project.run("init").exit_code == 0
    project.write("kapittel.md", CHAPTER)
    result = project.run("verify", "kapittel.md")
    assert result.exit_code == 2 and "no transcripts" in result.stderr


# -- any verbatim passage is found exact at its span ------------------------------------------

@pytest.fixture(scope="module")
def demo_turns(tmp_path_factory):
    """The demo project, once for the property test, and its turns' spoken text."""
    from typer.testing import CliRunner

    from coder.cli import app

    root = tmp_path_factory.mktemp("verify-demo")
    result = CliRunner().invoke(app, ["--db", str(root / "coder.db"), "demo", str(root)])
    assert result.exit_code == 0, result.stderr
    texts = dict(db_rows(root / "coder.db", "SELECT id, text FROM transcripts"))
    turns = [(name, texts[tid], start, end) for tid, name, start, end in db_rows(
        root / "coder.db", 'SELECT t.id, t.name, s.start, s."end" FROM segments s JOIN transcripts t '
                           "ON t.id = s.transcript_id WHERE s.speaker != 'Intervjuer' ORDER BY t.name, s.number")]
    return root, turns, list(texts.values())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_verbatim_passage_is_found_exact_at_its_span(demo_turns, data):
    from unittest import mock

    from typer.testing import CliRunner

    from coder import verify
    from coder.cli import app

    root, turns, texts = demo_turns
    name, text, turn_start, turn_end = data.draw(st.sampled_from(turns))
    words = [(m.start(), m.end()) for m in __import__("re").finditer(r"\S+", text[turn_start:turn_end])]
    length = data.draw(st.integers(min_value=5, max_value=min(40, len(words))))
    first = data.draw(st.integers(min_value=0, max_value=len(words) - length))
    start, end = turn_start + words[first][0], turn_start + words[first + length - 1][1]
    passage = text[start:end]
    assume(not any(mark in passage for mark in "«»\"“”„'‘’[]()…") and "..." not in passage)
    assume(sum(t.count(passage) for t in texts) == 1)
    # a manuscript quotes a turn's paragraphs on one line
    (root / "m.md").write_text(f"Som det ble sagt: «{' '.join(passage.split())}», og mer.\n", encoding="utf-8")
    # searched whole, or as a large project is: by its words, the texts read in batches of any size
    by_words = data.draw(st.booleans())
    batch = data.draw(st.integers(min_value=1, max_value=20_000))
    with mock.patch.object(verify, "_SEARCH_ALL_UP_TO", 0 if by_words else verify._SEARCH_ALL_UP_TO), \
            mock.patch.object(verify, "_BATCH_CHARS", batch):
        result = CliRunner().invoke(app, ["--db", str(root / "coder.db"), "verify", str(root / "m.md"), "--json"])
    [record] = json.loads(result.stdout)
    assert (record["verdict"], record["transcript"], record["start"], record["end"]) == ("exact", name, start, end)


FOCUS_GROUP = """\
---
case: Lier
informant: Fokusgruppe Lier
speakers:
  Intervjuer: interviewer
  A: {informant: Kari Dahl, role: veileder}
  B: {informant: Per Vik, role: saksbehandler}
---
Intervjuer: Hva mener dere om partnerskapet mellom stat og kommune her?

A: Vi merker lite til partnerskapet i det daglige arbeidet med brukerne.

B: Det er ledelsen som snakker om partnerskap, ikke vi som sitter i mottaket.
"""


def test_attribution_follows_the_speaker_of_the_turn(demo, search):
    """The interviewer's words credited to the informant, and a focus group's speakers each
    with their own role."""
    demo.write("fokus/lier_fokus.txt", FOCUS_GROUP)
    assert demo.run("import", demo.root / "fokus").exit_code == 0
    demo.write("roller.md", "\n\n".join([
        "«Hvor foregår selve styringen, etter din mening?» (NAV-leder, Hamar)",
        "«Vi merker lite til partnerskapet i det daglige arbeidet med brukerne.» (veileder, Lier)",
        "«Det er ledelsen som snakker om partnerskap, ikke vi som sitter i mottaket» (veileder, Lier)",
        "«Det er ledelsen som snakker om partnerskap, ikke vi som sitter i mottaket» (saksbehandler i Lier)",
    ]) + "\n")
    result = demo.run("verify", "roller.md", "--json")
    assert [(r["transcript"], r["role"], r["attribution"]) for r in result.json()] == [
        ("hamar_1", "interviewer", "wrong"), ("lier_fokus", "veileder", "ok"),
        ("lier_fokus", "saksbehandler", "wrong"), ("lier_fokus", "saksbehandler", "ok")]
    plain = demo.run("verify", "roller.md")
    assert "the source is Hamar, interviewer, hamar_1:7" in " ".join(plain.stdout.split())


def test_words_said_twice_are_credited_to_the_one_the_manuscript_names(demo, search):
    demo.write("asker_3.txt", "---\ncase: Asker\ninformant: Ola Lie\nrole: rådmann\n---\nIntervjuer: Og du?\n\n"
                              "Rådmann: Tja. Men i praksis har jeg to sjefer, det kommer man ikke bort fra. Sånn er det.\n")
    assert demo.run("import", "asker_3.txt").exit_code == 0
    demo.write("to.md", "«Men i praksis har jeg to sjefer, det kommer man ikke bort fra.» (rådmann, Asker)\n\n"
                        "«Men i praksis har jeg to sjefer, det kommer man ikke bort fra.» (NAV-leder, Hamar)\n\n"
                        "«Men i praksis har jeg to sjefer, det kommer man ikke bort fra.» (rådmann, Lier)\n")
    result = demo.run("verify", "to.md", "--json")
    assert [(r["transcript"], r["attribution"]) for r in result.json()] == [
        ("asker_3", "ok"), ("hamar_1", "ok"), ("asker_3", "wrong")]


def test_the_place_written_as_quoted_wins_over_one_that_differs_in_case(demo_turns):
    """'Jeg har ikke så mye' is said so in hamar_2 and as '... jeg har ikke så mye' in
    asker_1: the exact place is the quote's, not the first transcript read."""
    from typer.testing import CliRunner

    from coder.cli import app

    root, _, _ = demo_turns
    (root / "m.md").write_text("Lederen sa: «Jeg har ikke så mye», og mer.\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["--db", str(root / "coder.db"), "verify", str(root / "m.md"), "--json"])
    [record] = json.loads(result.stdout)
    assert (record["verdict"], record["transcript"]) == ("exact", "hamar_2")


def test_a_passage_over_a_paragraph_break_in_one_turn_is_exact(demo_turns):
    from typer.testing import CliRunner

    from coder.cli import app

    root, _, _ = demo_turns
    (root / "m.md").write_text("Han sa: «det vi skal drive med. Jeg tror det henger sammen», og mer.\n",
                               encoding="utf-8")
    result = CliRunner().invoke(app, ["--db", str(root / "coder.db"), "verify", str(root / "m.md"), "--json"])
    [record] = json.loads(result.stdout)
    assert (record["verdict"], record["transcript"]) == ("exact", "lier_3")


# -- a large project: the transcripts read a few at a time, never held -------------------------

def _many_transcripts(project, count: int) -> dict[str, list[str]]:
    """`count` interviews of made-up words (more than verify searches whole), imported;
    name -> the informant's turns."""
    import random

    rng = random.Random(19)
    letters = "abdefghijklmnoprstuvyæøå"
    vocabulary = ["".join(rng.choice(letters) for _ in range(rng.randint(3, 9))) for _ in range(600)]
    offices = ["Hamar", "Lier", "Asker", "Tjøme", "Trøgstad"]
    turns_of = {}
    for index in range(count):
        name = f"intervju_{index:02d}"
        turns = [" ".join(rng.choice(vocabulary) for _ in range(rng.randint(12, 20))).capitalize() + "."
                 for _ in range(4)]
        turns_of[name] = turns
        body = "\n\n".join(f"Intervjuer: {' '.join(rng.choice(vocabulary) for _ in range(6))}?\n\nLeder: {turn}"
                           for turn in turns)
        project.write(f"mange/{name}.txt", f"---\ncase: {offices[index % 5]}\ninformant: Informant {index}\n"
                                           f"role: NAV-leder\n---\n{body}\n")
    assert project.run("init").exit_code == 0
    assert project.run("import", project.root / "mange").exit_code == 0
    return turns_of


def test_verify_reads_the_transcripts_a_few_at_a_time_and_holds_none(project, monkeypatch):
    """A project larger than verify searches whole: the texts are read through the batched
    reader, once (every quote's words, and runs of them for a quote not found as written, in
    the same pass), never all at once, and only the few looked in are read one by one."""
    from coder import verify
    from coder.store import transcripts as transcripts_store

    turns = _many_transcripts(project, 45)
    exact = " ".join(turns["intervju_17"][1].split()[2:12])
    words = turns["intervju_30"][2].split()[1:13]
    longest = max(range(len(words)), key=lambda i: len(words[i]))
    words[longest] = words[longest][:2] + words[longest][3:]  # a letter dropped: close, found by its runs
    project.write("kapittel.md", f"Hun sa: «{exact}» (NAV-leder, Lier).\n\n"
                                 f"Han sa: «{' '.join(words)}» (NAV-leder, Hamar).\n\n"
                                 "«Dette har ingen sagt i noe intervju noensinne» (NAV-leder, Asker).\n")

    monkeypatch.setattr(verify, "_BATCH_CHARS", 1_000)  # a transcript or two per batch
    batches, one_by_one = [], []
    batched = verify._Passes._batches

    def counted_batches(self):
        batches.append([])
        for blob, starts, numbers in batched(self):
            batches[-1].append(len(numbers))
            yield blob, starts, numbers

    read_one = transcripts_store.source

    def counted_source(store, transcript_id):
        one_by_one.append(transcript_id)
        return read_one(store, transcript_id)

    monkeypatch.setattr(verify._Passes, "_batches", counted_batches)
    monkeypatch.setattr(transcripts_store, "source", counted_source)
    result = project.run("verify", "kapittel.md", "--json")
    assert result.exit_code == 1, result.stderr
    assert [(r["verdict"], r["transcript"], r["attribution"]) for r in result.json()] == [
        ("exact", "intervju_17", "wrong"), ("close", "intervju_30", "ok"), ("not_found", None, None)]
    assert len(batches) == 1
    assert max(max(sizes) for sizes in batches) <= 2 and sum(batches[0]) <= 45
    assert len(set(one_by_one)) < 20  # those holding a quote's words, not every transcript


def test_a_transcript_removed_while_verify_reads_is_still_read_as_it_was(project, monkeypatch):
    """verify reads in several passes (the ids, the batched pass, then one transcript at a
    time); another process removing a transcript between them must not change the answer
    half-way (the quote was reported not found, though the ids read first held its
    transcript; a row gone between two reads raised a TypeError): verify reads one snapshot."""
    import sqlite3

    from coder.store import transcripts as transcripts_store

    turns = _many_transcripts(project, 45)
    exact = " ".join(turns["intervju_17"][1].split()[2:12])
    project.write("kapittel.md", f"Hun sa: «{exact}» (NAV-leder, Asker).\n")
    read_ids = transcripts_store.ids_in_name_order

    def ids_then_another_process_removes_one(store):
        ids = read_ids(store)
        other = sqlite3.connect(project.db)
        with other:
            other.execute("PRAGMA foreign_keys = ON")
            other.execute("DELETE FROM transcripts WHERE name = 'intervju_17'")
        other.close()
        return ids

    monkeypatch.setattr(transcripts_store, "ids_in_name_order", ids_then_another_process_removes_one)
    result = project.run("verify", "kapittel.md", "--json")
    assert result.exit_code == 0, result.stderr
    assert [(r["verdict"], r["transcript"]) for r in result.json()] == [("exact", "intervju_17")]


def _holders_in_one_string(texts: list[bytes], needle: bytes, limit: int) -> set[int] | None:
    """The search verify made before it read the transcripts in batches: every folded text
    joined in one string, the needle looked for in it (the oracle of the property test below)."""
    from bisect import bisect_right

    starts, position = [], 0
    for text in texts:
        starts.append(position)
        position += len(text) + 1
    blob = b"\x00".join(texts)
    found: set[int] = set()
    at, count = blob.find(needle), 0
    while at >= 0:
        count += 1
        if count > limit:
            return None
        found.add(bisect_right(starts, at) - 1)
        if limit == 1:
            return found
        at = blob.find(needle, at + len(needle))
    return found


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_the_batched_passes_find_what_one_string_of_every_text_finds(demo_turns, data):
    """Runs of words (from the texts, cut anywhere, retyped, or made up), each with the limit
    verify asks for, found in batches of any size as in all the texts joined."""
    from unittest import mock

    from coder import verify
    from coder.store import Store
    from coder.store import transcripts as transcripts_store

    root, _, _ = demo_turns
    store = Store.open(root / "coder.db")
    try:
        ids = transcripts_store.ids_in_name_order(store)
        texts = [verify.folded_words(transcripts_store.source(store, i).text) for i in ids]
        needles = []
        for _ in range(data.draw(st.integers(min_value=1, max_value=6))):
            kind = data.draw(st.sampled_from(["cut", "words", "made up"]))
            if kind == "made up":
                needle = data.draw(st.text(alphabet="aeiou ns", min_size=1, max_size=6)).encode()
            else:
                text = texts[data.draw(st.integers(min_value=0, max_value=len(texts) - 1))]
                start = data.draw(st.integers(min_value=0, max_value=len(text) - 1))
                needle = text[start:start + data.draw(st.integers(min_value=1, max_value=40))]
                if kind == "words":
                    needle = b" ".join(needle.split()[:3])
            needles.append((needle, data.draw(st.sampled_from([1, 2, 8, 200]))))
        with mock.patch.object(verify, "_BATCH_CHARS", data.draw(st.integers(min_value=1, max_value=30_000))):
            passes = verify._Passes(store, {transcript_id: n for n, transcript_id in enumerate(ids)})
            for needle, limit in needles:
                passes.ask(needle, limit)
            passes.run()
            for needle, limit in needles:
                assert passes.holders(needle, limit) == _holders_in_one_string(texts, needle, limit), (needle, limit)
    finally:
        store.conn.close()


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(list("aeøæåÆØÅÉé ßµÿ,.-–—«»“”„‘’‚…\n\t\r!?:;'\"ΣΑİ🙂\x00") +
                                             [chr(c) for c in range(0x20, 0x180, 7)]), max_size=40))
def test_the_quick_fold_of_latin_1_text_is_the_fold(text):
    from coder.verify import _folded_words_slowly, folded_words

    assert folded_words(text) == _folded_words_slowly(text)
