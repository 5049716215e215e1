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
