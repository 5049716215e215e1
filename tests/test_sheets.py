"""Quote sheets on paper (issue 18): the DOCX and XLSX layout a reviewer prints, titles and
file names that say what a sheet holds, and CSV that Excel reads as written. Timings are the
benchmark's (bench/run.py, the DOCX phase), never a test's."""
import datetime

import pytest

from test_reports import _code_all


@pytest.fixture
def coded(loaded):
    _code_all(loaded)
    assert loaded.run("code", "add", "hamar_1", "2", "equality", "--memo", "Sjekk mot Lier.").exit_code == 0
    loaded.run("cases", "set", "Hamar", "leadership_model=unified")
    loaded.run("cases", "set", "Lier", "leadership_model=split")
    return loaded


def _docx(project, *args):
    from docx import Document

    result = project.run("report", "quotes", "--docx", *args)
    assert result.exit_code == 0, result.stderr
    name = result.stderr.strip().rsplit(" to ", 1)[1]
    return Document(str(project.root / name)), name


def test_docx_keeps_each_quote_with_its_caption_and_starts_each_case_on_a_page(coded):
    document, _ = _docx(coded)
    paragraphs = document.paragraphs
    quotes = [i for i, p in enumerate(paragraphs) if p.style.name == "Quote"]
    assert quotes
    for i in quotes:
        quote, caption = paragraphs[i], paragraphs[i + 1]
        # the caption follows its quote: the quote is kept whole and with the next paragraph
        assert quote.paragraph_format.keep_with_next and quote.paragraph_format.keep_together
        assert " §" in caption.text and ", coded by " in caption.text
        assert caption.paragraph_format.keep_together
    cases = [p for p in paragraphs if p.style.name == "Heading 1"]
    assert [p.text for p in cases] == ["Hamar", "Lier"]
    assert not cases[0].paragraph_format.page_break_before and cases[1].paragraph_format.page_break_before
    assert all(p.paragraph_format.keep_with_next for p in paragraphs if p.style.name.startswith("Heading"))
    # the memo is a line of its own, under its caption (which is kept with it)
    memo = next(i for i, p in enumerate(paragraphs) if p.text.startswith("Memo:"))
    assert paragraphs[memo].text == "Memo: Sjekk mot Lier."
    assert paragraphs[memo - 1].text.endswith("coded by tester") and paragraphs[memo - 1].paragraph_format.keep_with_next
    assert not any("Memo" in p.text for p in paragraphs if p.style.name == "Quote")


def test_docx_title_names_project_date_and_filters_and_the_footer_numbers_pages(coded):
    document, name = _docx(coded, "--case", "hamar", "--where", "leadership_model=unified")
    title, subtitle = document.paragraphs[0], document.paragraphs[1]
    assert title.style.name == "Title" and title.text == "Quotes — Hamar — where leadership_model=unified"
    assert document.core_properties.title == title.text
    assert subtitle.text == (f"Test codebook · {datetime.date.today().isoformat()} · filters: case Hamar, "
                             "where leadership_model=unified · 4 quote(s)")
    footer = document.sections[0].footer._element.xml
    assert 'w:instr="PAGE"' in footer and 'w:instr="NUMPAGES"' in footer
    assert name.endswith("quotes_hamar_where-leadership_model-unified.docx")
    assert coded.run("report", "quotes", "--html", "--case", "hamar", "--where", "leadership_model=unified").exit_code == 0
    page = (coded.root / name.replace(".docx", ".html")).read_text(encoding="utf-8")
    assert f'<p class="subtitle">{subtitle.text}</p>' in page
    unfiltered, _ = _docx(coded)
    assert unfiltered.paragraphs[0].text == "Quotes"
    assert "all coded quotes" in unfiltered.paragraphs[1].text


def test_file_names_follow_every_filter(coded):
    names = set()
    for filters in ((), ("--case", "Hamar"), ("--where", "leadership_model=unified"),
                    ("--where", "leadership_model=split"), ("--coder", "bjorn"), ("--limit-per-code", "1"),
                    ("--case", "Hamar", "--where", "leadership_model=unified")):
        for fmt in ("--docx", "--xlsx", "--html"):
            result = coded.run("report", "quotes", fmt, *filters)
            assert result.exit_code == 0, (filters, result.stderr)  # never refused as an existing file
            names.add(result.stderr.strip().rsplit(" to ", 1)[1])
    assert len(names) == 21


def test_a_matrix_page_is_named_by_its_filters_unit_and_quotes_and_never_by_a_hidden_name(coded):
    """report matrix --html was always matrix_cases_codes.html: a filtered page was refused as
    an existing file, or with --force took the place of the unfiltered one."""
    assert coded.run("names", "add", "Hamar", "--as", "Kontor H", "--kind", "place").exit_code == 0
    names = set()
    for args in ((), ("--case", "Hamar"), ("--where", "leadership_model=split"), ("--coder", "bjorn"),
                 ("--unit", "documents"), ("--quotes",), ("--case", "Hamar", "--pseudonymise")):
        result = coded.run("report", "matrix", "--html", *args)
        assert result.exit_code == 0, (args, result.stderr)
        names.add(result.stderr.strip().rsplit(" to ", 1)[1])
    assert len(names) == 7
    hidden = [name for name in names if "pseudonymised" in name]
    assert hidden and "hamar" not in hidden[0].lower(), hidden


def test_xlsx_prints_landscape_across_pages_with_wrapped_top_aligned_rows(coded):
    from openpyxl import load_workbook

    assert coded.run("report", "quotes", "--xlsx").exit_code == 0
    ws = load_workbook(coded.root / "exports" / "quotes.xlsx").active
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref.startswith("A1:")
    assert ws.print_title_rows == "$1:$1"  # the header row on every printed page
    assert ws.page_setup.orientation == "landscape"
    # across as many pages as the columns need, not shrunk to one page's width
    assert not (ws.sheet_properties.pageSetUpPr and ws.sheet_properties.pageSetUpPr.fitToPage)
    rows = list(ws.iter_rows())
    assert len(rows) > 2
    for row in rows:
        for cell in row:
            assert cell.alignment.wrap_text and cell.alignment.vertical == "top", cell.coordinate
    header = [c.value for c in rows[0]]
    text = header.index("text")
    assert ws.column_dimensions[rows[0][text].column_letter].width >= 60
    for row in rows[1:]:  # each row as tall as its text wraps to, so printed rows never overlap
        lines = 1 + len(row[text].value) // 70
        assert ws.row_dimensions[row[0].row].height >= 15 * lines, (row[0].row, row[text].value)
    assert any(len(row[text].value) > 70 for row in rows[1:])


def test_xlsx_keeps_formula_like_quotes_as_text_without_a_mark_and_csv_escapes_them(loaded):
    from openpyxl import load_workbook

    loaded.write("transcripts/evil.txt", "---\ncase: Lier\n---\nLeder: =HYPERLINK(\"x\") er lenken\n"
                                         "Intervjuer: - ja?\nLeder: @sum og +1\n")
    loaded.run("import", "transcripts/evil.txt")
    for segment in ("1", "2", "3"):
        assert loaded.run("code", "add", "evil", segment, "two_bosses").exit_code == 0
    assert loaded.run("report", "quotes", "--xlsx").exit_code == 0
    ws = load_workbook(loaded.root / "exports" / "quotes.xlsx").active
    header = [c.value for c in ws[1]]
    cells = [row[header.index("text")] for row in ws.iter_rows(min_row=2)]
    texts = {c.value: c.data_type for c in cells}
    assert texts == {'=HYPERLINK("x") er lenken': "s", "- ja?": "s", "@sum og +1": "s"}
    csv_text = loaded.run("report", "quotes", "--csv").stdout
    assert "'=HYPERLINK" in csv_text and ",'- ja?," in csv_text and "'@sum og +1" in csv_text


@pytest.mark.parametrize("command", [("report", "quotes"), ("code", "list"), ("export", "segments"),
                                     ("report", "freq"), ("report", "matrix")])
def test_excel_csv_has_a_byte_order_mark_and_semicolons(coded, command):
    import csv
    import io

    plain = coded.run(*command, "--csv")
    excel = coded.run(*command, "--excel")
    assert plain.exit_code == excel.exit_code == 0, excel.stderr
    assert excel.stdout.startswith("\ufeff") and not plain.stdout.startswith("\ufeff")
    assert ";" in excel.stdout.splitlines()[0]
    # the same cells, only the delimiter differs (Norwegian text, quotes and commas included)
    assert list(csv.reader(io.StringIO(excel.stdout[1:]), delimiter=";")) == list(csv.reader(io.StringIO(plain.stdout)))
    tabbed = coded.run(*command, "--delimiter", "\t")
    assert tabbed.exit_code == 0 and not tabbed.stdout.startswith("\ufeff")
    assert list(csv.reader(io.StringIO(tabbed.stdout), delimiter="\t")) == list(csv.reader(io.StringIO(plain.stdout)))


def test_excel_csv_into_a_file_and_a_bad_delimiter(coded):
    assert coded.run("report", "quotes", "--excel", "--out", "sheet.csv").exit_code == 0
    data = (coded.root / "sheet.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbfcase;transcript;") and "rådmannen".encode() in data
    assert coded.run("export", "segments", "--excel", "--out", "segments.csv").exit_code == 0
    assert (coded.root / "segments.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    result = coded.run("report", "quotes", "--delimiter", ";;")
    assert result.exit_code == 2 and "--delimiter" in result.stderr
    assert coded.run("report", "quotes", "--excel", "--docx").exit_code == 2
