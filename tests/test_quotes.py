"""Quotes as a reviewer reads them: found inside one turn's words, without the quotation
marks typed around them, attributed to whoever spoke them, and each passage shown once."""
from __future__ import annotations

import csv
import io

from conftest import db_rows


def _codings(project):
    return db_rows(project.db, "SELECT segment, text, coder FROM codings ORDER BY start, coder")


def test_a_quote_is_found_only_inside_one_turns_words(loaded):
    # the front matter is not spoken text
    result = loaded.run("code", "quote", "hamar_1", "informant: Kari Solberg", "two_bosses")
    assert result.exit_code == 1 and "quote not found" in result.stderr
    # a quote copied with its speaker label codes the words, not the label
    result = loaded.run("code", "quote", "hamar_1", "Leder: Det er krevende.", "two_bosses")
    assert result.exit_code == 0, result.stderr
    assert _codings(loaded) == [(2, "Det er krevende.", "tester")]
    # the end of one turn and the start of the next are not one quote
    result = loaded.run("code", "quote", "hamar_1", "Hvordan er det å ha to sjefer? Leder: Det er krevende",
                        "relations")
    assert result.exit_code == 1
    assert "within one turn" in result.stderr
    assert len(_codings(loaded)) == 1


def test_quotation_marks_typed_around_a_quote_are_not_part_of_it(loaded):
    plain = "Jeg har to sjefer, rådmannen og fylkesdirektøren"
    assert loaded.run("code", "quote", "hamar_1", plain, "two_bosses").exit_code == 0
    for typed in (f"«{plain}»", f"«{plain}».", f"“{plain}”,", f'"{plain}."', f"{plain}."):
        result = loaded.run("code", "quote", "hamar_1", typed, "two_bosses")
        assert result.exit_code == 0, result.stderr
        assert result.stdout.startswith("already coded"), (typed, result.stdout)
    assert _codings(loaded) == [(2, plain, "tester")]
    # marks the transcript itself has around the words are kept: the speaker quoting someone
    loaded.write("transcripts/hamar_1.txt", loaded.root.joinpath("transcripts/hamar_1.txt").read_text()
                 .replace("Vi snakker sammen", "Hun sa: «Vi snakker sammen.» Og vi snakker"))
    assert loaded.run("import", "transcripts/hamar_1.txt").exit_code == 0
    result = loaded.run("code", "quote", "hamar_1", '"vi snakker sammen."', "communication", "--json")
    record = result.json()[0]
    text = db_rows(loaded.db, "SELECT text FROM transcripts WHERE name='hamar_1'")[0][0]
    assert text[record["start"]:record["end"]] == "«Vi snakker sammen.»"


FOCUS_GROUP = """\
---
case: Lier
informant: Fokusgruppe Lier
speakers:
  Leder: {informant: Kari Dahl, role: NAV-leder}
  Rådmann: {informant: Ole Vik, role: rådmann}
  Ordstyrer: interviewer
---
Ordstyrer: Hvem er sjefen her?

Leder: Det er fylkesdirektøren som er sjefen min.

Rådmann: Og jeg er sjefen til de kommunalt ansatte.
"""


def test_quotes_are_attributed_to_whoever_spoke_them(loaded):
    for segment in ("1", "2"):  # the interviewer's question, the leader's answer
        assert loaded.run("code", "add", "hamar_1", segment, "two_bosses").exit_code == 0
    sheet = loaded.run("report", "quotes", "--md").stdout
    assert "«Hvordan er det å ha to sjefer?» (interviewer, Hamar)" in sheet
    assert "(NAV-leder, Hamar)" in sheet
    rows = loaded.run("report", "quotes", "--json").json()
    assert [(r["speaker"], r["speaker_kind"]) for r in rows] == [("Intervjuer", "interviewer"), ("Leder", "informant")]

    # a focus group maps its speaker labels to informants and roles in the front matter
    loaded.write("transcripts/fokus_lier.txt", FOCUS_GROUP)
    assert loaded.run("import", "transcripts/fokus_lier.txt").exit_code == 0
    for segment in ("1", "2", "3"):
        assert loaded.run("code", "add", "fokus_lier", segment, "relations").exit_code == 0
    rows = loaded.run("report", "quotes", "--case", "Lier", "--json").json()
    assert [(r["speaker"], r["speaker_kind"], r["informant"], r["role"]) for r in rows] == [
        ("Ordstyrer", "interviewer", "Fokusgruppe Lier", None),
        ("Leder", "informant", "Kari Dahl", "NAV-leder"),
        ("Rådmann", "informant", "Ole Vik", "rådmann")]
    sheet = loaded.run("report", "quotes", "--case", "Lier", "--md").stdout
    assert "«Hvem er sjefen her?» (interviewer, Lier)" in sheet
    assert "(NAV-leder, Lier)" in sheet and "(rådmann, Lier)" in sheet
    header = loaded.run("report", "quotes", "--csv").stdout.splitlines()[0].split(",")
    assert "speakers" not in header  # the mapping is not an attribute
    hidden = loaded.run("report", "quotes", "--pseudonymise", "--json").stdout
    assert "Kari Dahl" not in hidden and "Ole Vik" not in hidden


def test_overlapping_codings_of_a_code_show_once_in_every_sheet(loaded):
    assert loaded.run("code", "add", "hamar_1", "2", "two_bosses", "--coder", "anna").exit_code == 0
    assert loaded.run("code", "quote", "hamar_1", "Jeg har to sjefer", "two_bosses", "--coder", "bjorn",
                      "--memo", "kjernen").exit_code == 0
    words = "Jeg har to sjefer"
    sheet = loaded.run("report", "quotes", "--md").stdout
    assert sheet.count(words) == 1 and "coded by anna, bjorn" in sheet and "kjernen" in sheet
    html = loaded.root / "sheet.html"
    assert loaded.run("report", "quotes", "--html", "--out", html).exit_code == 0
    assert html.read_text(encoding="utf-8").count(words) == 1
    docx = loaded.root / "sheet.docx"
    assert loaded.run("report", "quotes", "--docx", "--out", docx).exit_code == 0
    from docx import Document

    assert sum(p.text.count(words) for p in Document(docx).paragraphs) == 1
    xlsx = loaded.root / "sheet.xlsx"
    assert loaded.run("report", "quotes", "--xlsx", "--out", xlsx).exit_code == 0
    from openpyxl import load_workbook

    cells = [c for row in load_workbook(xlsx).active.iter_rows(values_only=True) for c in row]
    assert sum(str(c).count(words) for c in cells if c) == 1 and "anna, bjorn" in cells
    cell = loaded.run("report", "matrix", "--quotes", "--json").json()
    assert [len(r["quotes"]) for r in cell if r["col"] == "vertical.two_bosses"] == [1]
    # the matrix credits every coder of a passage, as the sheets do
    assert [q["coder"] for r in cell if r["col"] == "vertical.two_bosses" for q in r["quotes"]] == ["anna, bjorn"]
    assert "coded by anna, bjorn" in loaded.run("report", "matrix", "--quotes", "--md").stdout
    assert loaded.run("report", "matrix", "--quotes", "--html", "--out", "matrix.html").exit_code == 0
    assert "coded by anna, bjorn" in (loaded.root / "matrix.html").read_text(encoding="utf-8")
    # data keeps one row per coding
    assert len(loaded.run("report", "quotes", "--json").json()) == 2
    assert len(list(csv.reader(io.StringIO(loaded.run("report", "quotes", "--csv").stdout)))) == 3


def test_the_quote_csv_has_one_header_for_a_project(loaded):
    assert loaded.run("cases", "set", "Lier", "population=23000").exit_code == 0
    assert loaded.run("cases", "set", "Hamar", "leadership_model=unified").exit_code == 0
    empty = loaded.run("report", "quotes", "--csv").stdout.splitlines()
    assert loaded.run("code", "add", "hamar_1", "2", "two_bosses").exit_code == 0
    one = loaded.run("report", "quotes", "--csv", "--case", "Hamar").stdout.splitlines()
    assert loaded.run("code", "add", "lier_1", "2", "horizontal.relations.equality").exit_code == 0
    every = loaded.run("report", "quotes", "--csv").stdout.splitlines()
    assert empty[0] == one[0] == every[0]
    header = every[0].split(",")
    assert {"level_1", "level_2", "level_3", "population", "leadership_model", "interviewer"} <= set(header)
