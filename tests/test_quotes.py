"""Quotes as a reviewer reads them: found inside one turn's words, without the quotation
marks typed around them, attributed to whoever spoke them, and each passage shown once."""
from __future__ import annotations

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
