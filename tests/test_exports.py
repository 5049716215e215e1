"""Reviewer exports (issue 5): every format's content checked against the JSON report."""
import csv
import io
import json

import pytest

from conftest import db_rows
from test_reports import _code_all


@pytest.fixture
def coded(loaded):
    _code_all(loaded)
    loaded.run("cases", "set", "Hamar", "leadership_model=unified", "county=Innlandet")
    loaded.run("cases", "set", "Lier", "leadership_model=split", "county=Buskerud")
    return loaded


def test_freq_percent_is_share_of_the_columns_units(coded):
    cells = coded.run("report", "freq", "--percent", "--json").json()
    hamar = next(c for c in cells if c["group"] == "Hamar" and c["code"] == "vertical.two_bosses")
    assert hamar["count"] == 1 and hamar["percent"] == 25.0  # 1 of Hamar's 4 segments
    table = list(csv.DictReader(io.StringIO(coded.run("report", "freq", "--percent", "--csv").stdout)))
    assert next(r for r in table if r["code"] == "vertical.two_bosses")["Hamar"] == "25"


def test_freq_heatmap_without_colour_still_shows_numbers(coded, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    result = coded.run("report", "freq", "--heatmap")
    assert result.exit_code == 0
    assert "\x1b[" not in result.stdout
    line = next(l for l in result.stdout.splitlines() if "two_bosses" in l)
    assert "1 " in line and any(block in line for block in "▁▂▃▄▅▆▇")


def test_freq_chart_png(coded):
    pytest.importorskip("matplotlib")
    result = coded.run("report", "freq", "--png", "--out", "freq.png")
    assert result.exit_code == 0, result.stderr
    assert (coded.root / "freq.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cooccurrence_pairs(coded):
    pairs = coded.run("report", "cooccurrence", "--json").json()
    assert {"code_a": "horizontal.relations.communication", "code_b": "horizontal.relations.equality",
            "count": 1} in pairs
    assert all(p["code_a"] < p["code_b"] for p in pairs)
    by_doc = coded.run("report", "cooccurrence", "--unit", "documents", "--codes", "relations", "--codes",
                       "two_bosses", "--json").json()
    assert by_doc == [{"code_a": "horizontal.relations", "code_b": "vertical.two_bosses", "count": 2}]


def test_matrix_cases_by_codes_with_quotes(coded):
    records = coded.run("report", "matrix", "--rows", "cases", "--cols", "codes", "--quotes", "--json").json()
    cell = next(r for r in records if r["row"] == "Lier" and r["col"] == "vertical.two_bosses")
    assert cell["count"] == 1
    assert {q["attribution"] for q in cell["quotes"]} == {"(avdelingsleder kommune, Lier)"}
    by_attr = coded.run("report", "matrix", "--rows", "leadership_model", "--cols", "dimensions", "--json").json()
    assert {(r["row"], r["col"]) for r in by_attr} >= {("split", "vertical"), ("unified", "horizontal")}
    assert coded.run("report", "matrix", "--rows", "codes", "--cols", "codes").exit_code == 2


def test_quotes_filters_where_dimension_limit_and_context(coded):
    split = coded.run("report", "quotes", "--where", "leadership_model=split", "--json").json()
    assert split and {q["case"] for q in split} == {"Lier"}
    horizontal = coded.run("report", "quotes", "--dimension", "horizontal", "--json").json()
    assert {q["code"].split(".")[0] for q in horizontal} == {"horizontal"}
    limited = coded.run("report", "quotes", "--limit-per-code", "1", "--json").json()
    keys = [(q["case"], q["code"]) for q in limited]
    assert len(keys) == len(set(keys))
    assert coded.run("code", "quote", "lier_1", "men staten bestemmer mye", "communication").exit_code == 0
    md = coded.run("report", "quotes", "--code", "communication", "--case", "Lier", "--context", "3").stdout
    # three words each side, within the turn; a lone "." is no word
    assert "…er likeverdige parter, «men staten bestemmer mye». Det er ærlig… (avdelingsleder kommune, Lier)" in md


def test_quote_csv_has_maxqda_levels_and_case_attributes(coded):
    rows = list(csv.DictReader(io.StringIO(coded.run("report", "quotes", "--csv").stdout)))
    communication = next(r for r in rows if r["code"] == "horizontal.relations.communication")
    assert (communication["level_1"], communication["level_2"], communication["level_3"]) == \
           ("Horisontal dimensjon", "Relasjoner", "Kommunikasjon")
    assert communication["leadership_model"] == "unified" and communication["county"] == "Innlandet"


def test_every_format_matches_the_json_report(coded):
    from docx import Document
    from openpyxl import load_workbook

    expected = coded.run("report", "quotes", "--json").json()
    for flag in ("--docx", "--xlsx", "--html"):
        assert coded.run("report", "quotes", flag).exit_code == 0
    doc = Document(str(coded.root / "exports" / "quotes.docx"))
    quote_paragraphs = [p.text for p in doc.paragraphs if p.style.name == "Quote"]
    # a passage coded alike by two coders is one entry in a document, "coded by bjorn, tester"
    passages = list(dict.fromkeys((q["case"], q["code"], q["transcript"], q["start"], q["end"], q["text"])
                                  for q in expected))
    assert len(passages) == len(expected) - 1
    assert len(quote_paragraphs) == len(passages)
    for paragraph, passage in zip(quote_paragraphs, passages):
        assert f"«{passage[-1]}»" in paragraph
    assert any("coded by bjorn, tester" in p.text for p in doc.paragraphs)
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading 1")]
    assert headings == ["Hamar", "Lier"]
    sheet = load_workbook(coded.root / "exports" / "quotes.xlsx").active
    rows = list(sheet.iter_rows(values_only=True))
    header = list(rows[0])
    # a workbook is read by people too: each passage once, as in the documents
    assert [(r[header.index("case")], r[header.index("code")], r[header.index("text")]) for r in rows[1:]] == \
           [(p[0], p[1], p[-1]) for p in passages]
    html = (coded.root / "exports" / "quotes.html").read_text(encoding="utf-8")
    assert html.count("<blockquote>") == len(passages)


def test_no_listed_name_survives_pseudonymisation_in_any_format(coded):
    from docx import Document
    from openpyxl import load_workbook

    coded.run("names", "add", "Hamar", "--as", "Kontor 1", "--kind", "place")
    coded.run("names", "add", "Lier", "--as", "Kontor 2", "--kind", "place")
    coded.run("memo", "add", "Kari Solberg var svært åpen", "--transcript", "hamar_1")
    secret = ("Kari", "Solberg", "Per", "Hovland", "Hamar", "Lier")
    outputs = {}
    for flag in ("--json", "--csv", "--md"):
        outputs[flag] = coded.run("report", "quotes", flag, "--pseudonymise", "--context", "5").stdout
    for flag in ("--docx", "--xlsx", "--html"):
        assert coded.run("report", "quotes", flag, "--pseudonymise", "--context", "5").exit_code == 0
    exports = coded.root / "exports"
    outputs["docx"] = "\n".join(p.text for p in Document(str(exports / "quotes_pseudonymised.docx")).paragraphs)
    outputs["xlsx"] = json.dumps(list(load_workbook(exports / "quotes_pseudonymised.xlsx").active
                                      .iter_rows(values_only=True)), ensure_ascii=False)
    outputs["html"] = (exports / "quotes_pseudonymised.html").read_text(encoding="utf-8")
    outputs["matrix"] = coded.run("report", "matrix", "--quotes", "--pseudonymise", "--json").stdout
    outputs["memos"] = coded.run("report", "memos", "--pseudonymise", "--json").stdout
    for fmt, text in outputs.items():
        for name in secret:
            assert f"{name}" not in text.replace("Per dag", ""), (fmt, name)
    assert "Informant A" in outputs["--md"]


def test_segments_dataset_has_a_column_per_code(coded):
    rows = list(csv.DictReader(io.StringIO(coded.run("export", "segments", "--csv").stdout)))
    assert len(rows) == db_rows(coded.db, "SELECT count(*) FROM segments")[0][0]
    hamar_4 = next(r for r in rows if r["transcript"] == "hamar_1" and r["segment"] == "4")
    assert hamar_4["horizontal.relations.communication"] == "1"
    assert hamar_4["horizontal.relations"] == "1" and hamar_4["vertical.two_bosses"] == "0"
    assert hamar_4["leadership_model"] == "unified"
    assert coded.run("export", "segments", "--xlsx").exit_code == 0
    from openpyxl import load_workbook

    sheet = load_workbook(coded.root / "exports" / "segments.xlsx").active
    assert sheet.max_row == len(rows) + 1


def test_memo_report(coded):
    assert coded.run("memo", "add", "Godt intervju", "--transcript", "hamar_1").exit_code == 0
    assert coded.run("memo", "add", "Grensetilfeller mot likeverd", "--code", "communication").exit_code == 0
    assert coded.run("memo", "add", "Prosjektnotat").exit_code == 0
    memos = coded.run("report", "memos", "--json").json()
    assert [(m["type"], m["target"]) for m in memos][:3] == [
        ("project", ""), ("transcript", "hamar_1"), ("code", "horizontal.relations.communication")]
    assert len(coded.run("memo", "list", "--type", "code", "--json").json()) == 1
    assert coded.run("memo", "add", "x", "--code", "nope").exit_code == 2


def test_codebook_export_and_csv_round_trip(coded):
    md = coded.run("codebook", "export", "--md").stdout
    assert "## Vertikal dimensjon (`vertical`)" in md and "The leader answers to both owners." in md
    assert coded.run("codebook", "export", "--docx").exit_code == 0
    assert (coded.root / "exports" / "codebook.docx").exists()
    csv_text = coded.run("codebook", "export", "--csv").stdout
    coded.write("codebook.csv", csv_text)
    assert coded.run("codebook", "validate", "codebook.csv").exit_code == 0
    fresh = coded.root / "fresh.db"
    from typer.testing import CliRunner

    from coder.cli import app

    result = CliRunner().invoke(app, ["--db", str(fresh), "init", "--codebook", "codebook.csv"])
    assert result.exit_code == 0, result.stderr
    paths = [r[0] for r in db_rows(fresh, "SELECT path FROM codes ORDER BY position")]
    assert paths == [r[0] for r in db_rows(coded.db, "SELECT path FROM codes ORDER BY position")]


def test_codebook_from_a_flat_spreadsheet(project):
    project.write("flat.csv", "name,description\nTo sjefer,Lederen har to sjefer\nPartnerskapsmøtet,Møtet\n")
    assert project.run("init", "--codebook", "flat.csv").exit_code == 0
    shown = project.run("codebook", "show", "--json").json()
    assert [(c["path"], c["label"]) for c in shown] == [("codes.to_sjefer", "To sjefer"),
                                                        ("codes.partnerskapsmotet", "Partnerskapsmøtet")]


def test_existing_file_needs_force_and_names_are_safe(coded):
    assert coded.run("report", "quotes", "--case", "Hamar", "--html").exit_code == 0
    assert (coded.root / "exports" / "quotes_hamar.html").exists()
    again = coded.run("report", "quotes", "--case", "Hamar", "--html")
    assert again.exit_code == 2 and "--force" in again.stderr
    assert coded.run("report", "quotes", "--case", "Hamar", "--html", "--force").exit_code == 0
    from coder.export import safe_filename

    assert safe_filename("quotes", "../../etc/Tjøme", "a/b") == "quotes_etc-tjome_a-b"


def test_out_file_suffix_chooses_the_format(coded):
    from openpyxl import load_workbook

    assert coded.run("report", "quotes", "--out", "sheet.xlsx").exit_code == 0
    assert load_workbook(coded.root / "sheet.xlsx").active.max_row > 1
    assert coded.run("report", "memos", "--out", "memos.json").exit_code == 0
    bad = coded.run("report", "quotes", "--out", "sheet.pdf")
    assert bad.exit_code == 2 and "cannot tell the format from 'sheet.pdf'" in bad.stderr


@pytest.mark.parametrize("command", [("report", "matrix"), ("report", "freq")], ids=" ".join)
def test_out_without_a_format_flag_writes_the_file_its_suffix_names(coded, command):
    """`report matrix --out m.csv` wrote nothing and printed the table: --out is never ignored."""
    for name, fmt in (("table.csv", "--csv"), ("table.json", "--json"), ("table.md", "--md")):
        result = coded.run(*command, "--out", name)
        assert result.exit_code == 0 and result.stdout == "", result.stderr
        assert (coded.root / name).read_text(encoding="utf-8") == coded.run(*command, fmt).stdout
        assert f"to {name}" in result.stderr
    # a format flag and --out go together too
    assert coded.run(*command, "--json", "--out", "flagged.json").exit_code == 0
    assert json.loads((coded.root / "flagged.json").read_text(encoding="utf-8")) == coded.run(*command, "--json").json()
    bad = coded.run(*command, "--out", "table.txt")
    assert bad.exit_code == 2 and "cannot tell the format from 'table.txt'" in bad.stderr
    bad = coded.run(*command, "--out", "table.docx")
    assert bad.exit_code == 2 and "can be written as json, csv" in bad.stderr
    assert not (coded.root / "table.txt").exists() and not (coded.root / "table.docx").exists()
    if command == ("report", "freq"):  # a picture's name asks for the chart
        assert coded.run(*command, "--out", "chart.png").exit_code == 0
        assert (coded.root / "chart.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize("flags, named", [(("--excel", "--html"), "--excel and --html"),
                                          (("--delimiter", ";", "--json"), "--json and --delimiter"),
                                          (("--json", "--html"), "--json and --html"),
                                          (("--csv", "--md"), "--csv and --md")])
def test_two_formats_are_refused_naming_the_flags_given(coded, flags, named):
    for command in (("report", "matrix"), ("report", "quotes"), ("report", "freq")):
        if "--html" in flags and command == ("report", "freq"):
            continue
        result = coded.run(*command, *flags)
        assert result.exit_code == 2, (command, result.stderr)
        assert f"choose one output format, not {named}" in result.stderr, (command, result.stderr)
    assert not (coded.root / "exports").exists()


def test_quote_data_is_written_as_read_with_the_text_a_whole_list_gave(coded, monkeypatch):
    """Issue 19: `report quotes --csv` and `--json` write each quote as it is read (a
    million codings' quotes are never held: reports.quotes, which builds the list, is not
    called), and the text is byte for byte what rendering the whole list gives."""
    from coder import export, reports
    from coder.store import Store

    store = Store.open(coded.db)
    try:
        sheet_of = {"json": None, "csv": None}
        for fmt in sheet_of:
            from coder.reports import QuoteFilter

            levels, keys = reports.quote_columns(store)
            sheet_of[fmt] = export.render(export.Sheet(title="Quotes", quotes=reports.quotes(store, QuoteFilter()),
                                                       levels=levels, context=False, attribute_keys=keys), fmt)
    finally:
        store.close()

    def whole_list(*args, **kwargs):
        raise AssertionError("the data formats read the quotes one at a time")

    monkeypatch.setattr(reports, "quotes", whole_list)
    for fmt in sheet_of:
        result = coded.run("report", "quotes", f"--{fmt}")
        assert result.exit_code == 0, result.stderr
        assert result.stdout == sheet_of[fmt]
    result = coded.run("report", "quotes", "--csv", "--out", "all.csv")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.strip() == f"wrote {len(list(csv.reader(io.StringIO(sheet_of['csv'])))) - 1} quote(s) to all.csv"
