import csv
import io

from conftest import db_rows


def _code_all(project):
    for args in (("hamar_1", "2", "two_bosses"), ("hamar_1", "4", "communication"), ("hamar_1", "4", "equality"),
                 ("lier_1", "2", "equality"), ("lier_1", "4", "two_bosses"), ("lier_1", "4", "two_bosses")):
        assert project.run("code", "add", *args).exit_code == 0
    assert project.run("code", "add", "lier_1", "4", "two_bosses", "--coder", "bjorn").exit_code == 0


def test_freq_json_cells_and_parent_counts_units_once(loaded):
    _code_all(loaded)
    cells = loaded.run("report", "freq", "--json").json()
    assert all(set(c) == {"group", "code", "count"} for c in cells)
    got = {(c["group"], c["code"]): c["count"] for c in cells}
    assert got[("Hamar", "horizontal.relations")] == 1  # communication + equality on one segment
    assert got[("Hamar", "horizontal.relations.communication")] == 1
    assert got[("Lier", "vertical.two_bosses")] == 1  # two coders, one segment
    assert ("Lier", "vertical.partnership_meeting") not in got  # zeros are left out
    dims = loaded.run("report", "freq", "--level", "dimension", "--json").json()
    assert {(c["group"], c["code"]): c["count"] for c in dims} == {
        ("Hamar", "vertical"): 1, ("Hamar", "horizontal"): 1, ("Lier", "vertical"): 1, ("Lier", "horizontal"): 1}


def test_freq_units(loaded):
    _code_all(loaded)
    docs = {(c["group"], c["code"]): c["count"] for c in loaded.run("report", "freq", "--unit", "documents",
                                                                     "--json").json()}
    assert docs[("Hamar", "horizontal.relations")] == 1
    words = {(c["group"], c["code"]): c["count"] for c in loaded.run("report", "freq", "--unit", "words",
                                                                      "--json").json()}
    assert words[("Lier", "vertical.two_bosses")] == 9  # Ja jeg har to sjefer og det går fint
    informants = loaded.run("report", "freq", "--unit", "informants", "--by", "role", "--json").json()
    assert {"group": "NAV-leder", "code": "vertical.two_bosses", "count": 1} in informants


def test_freq_by_case_attribute(loaded):
    _code_all(loaded)
    loaded.run("cases", "set", "Hamar", "leadership_model=unified", "population=27000")
    loaded.run("cases", "set", "Lier", "leadership_model=split")
    cells = loaded.run("report", "freq", "--by", "leadership_model", "--json").json()
    assert {c["group"] for c in cells} == {"unified", "split"}
    bad = loaded.run("report", "freq", "--by", "leadership_modle")
    assert bad.exit_code == 2 and "did you mean 'leadership_model'" in bad.stderr


def test_freq_table_csv_has_totals_and_dimension_rows(loaded):
    _code_all(loaded)
    rows = list(csv.DictReader(io.StringIO(loaded.run("report", "freq", "--csv").stdout)))
    assert list(rows[0]) == ["dimension", "code", "label", "Hamar", "Lier", "total"]
    vertical = rows[0]
    assert vertical["code"] == "" and vertical["total"] == "2"
    human = loaded.run("report", "freq")
    assert human.exit_code == 0 and "Hamar" in human.stdout and "Med to sjefer" in human.stdout


def test_quotes_json_text_is_exactly_the_transcript_span(loaded):
    _code_all(loaded)
    quotes = loaded.run("report", "quotes", "--json").json()
    assert set(quotes[0]) == {"case", "transcript", "informant", "role", "code", "text", "start", "end", "coder",
                              "memo", "speaker", "speaker_kind", "time"}
    texts = dict(db_rows(loaded.db, "SELECT name, text FROM transcripts"))
    for quote in quotes:
        assert texts[quote["transcript"]][quote["start"]:quote["end"]] == quote["text"]
    assert [q["case"] for q in quotes] == sorted(q["case"] for q in quotes)
    hamar = loaded.run("report", "quotes", "--case", "hamar", "--code", "relations", "--json").json()
    assert {q["code"] for q in hamar} == {"horizontal.relations.communication", "horizontal.relations.equality"}


def test_quote_sheet_markdown_groups_and_attributes(loaded):
    _code_all(loaded)
    md = loaded.run("report", "quotes", "--md").stdout
    assert md.index("## Hamar") < md.index("## Lier")
    assert "(NAV-leder, Hamar)" in md and "(avdelingsleder kommune, Lier)" in md


def test_quote_sheet_files_parse_back(loaded):
    _code_all(loaded)
    expected = loaded.run("report", "quotes", "--json").json()
    assert loaded.run("report", "quotes", "--docx").exit_code == 0
    assert loaded.run("report", "quotes", "--xlsx", "--out", "sheet.xlsx").exit_code == 0
    assert loaded.run("report", "quotes", "--html").exit_code == 0
    from docx import Document
    from openpyxl import load_workbook

    doc_text = "\n".join(p.text for p in Document(str(loaded.root / "exports" / "quotes.docx")).paragraphs)
    for quote in expected:
        assert quote["text"].split("\n")[0] in doc_text
    sheet = load_workbook(loaded.root / "sheet.xlsx").active
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    # each passage once: the same span coded by two coders is one row, as in the documents
    assert [(r[header.index("code")], r[header.index("text")]) for r in rows[1:]] == \
        list(dict.fromkeys((q["code"], q["text"]) for q in expected))
    html = (loaded.root / "exports" / "quotes.html").read_text()
    assert "<h2>Hamar</h2>" in html and "(NAV-leder, Hamar)" in html
    again = loaded.run("report", "quotes", "--html")
    assert again.exit_code == 2 and "--force" in again.stderr


def test_pseudonymised_sheets_leak_no_listed_name(loaded):
    _code_all(loaded)
    loaded.run("names", "add", "Hamar", "--as", "Kontor 1", "--kind", "place")
    for fmt in ("--json", "--md", "--csv"):
        out = loaded.run("report", "quotes", fmt, "--pseudonymise").stdout
        for name in ("Kari", "Solberg", "Per Hovland", "Hamar"):
            assert name not in out, (fmt, name)
    data = loaded.run("report", "quotes", "--json", "--pseudonymise").json()
    assert any("Informant As kontor" in q["text"] for q in data)  # "Karis kontor" keeps its genitive
    plain = loaded.run("report", "quotes", "--json").json()
    assert any("Karis kontor" in q["text"] for q in plain)


def test_csv_export_escapes_formulas(loaded):
    loaded.write("transcripts/evil.txt", "---\ncase: Lier\n---\nLeder: =HYPERLINK(\"x\") er lenken\n")
    loaded.run("import", "transcripts/evil.txt")
    loaded.run("code", "add", "evil", "1", "two_bosses")
    out = loaded.run("report", "quotes", "--csv").stdout
    assert "'=HYPERLINK" in out


def test_cases_list_and_import(loaded):
    loaded.write("cases.csv", "case,population,leader_employer\nHamar,27000,state\nAsker,55000,municipal\n")
    assert loaded.run("cases", "import", "cases.csv").exit_code == 0
    cases = {c["case"]: c for c in loaded.run("cases", "list", "--json").json()}
    assert cases["Hamar"]["population"] == 27000 and cases["Hamar"]["transcripts"] == 1
    assert cases["Asker"]["transcripts"] == 0 and cases["Lier"]["segments"] == 4
    loaded.write("cases.yaml", "- case: Lier\n  leadership_model: split\n")
    assert loaded.run("cases", "import", "cases.yaml").exit_code == 0
    assert loaded.run("cases", "list", "--json").json()[2]["leadership_model"] == "split"
    loaded.write("bad.csv", "office,population\nHamar,1\n")
    result = loaded.run("cases", "import", "bad.csv")
    assert result.exit_code == 2 and "bad.csv:1:" in result.stderr
