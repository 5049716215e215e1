"""Quote sheets in bounded memory (issue 19): every format of `report quotes` is written as the
quotes are read, so at no moment are more than a few of them alive, however many the sheet
has. Checked by structure, not by timing or by measuring memory: each quote the store gives
is tracked by a weak reference, and while the sheet is written the live ones are counted."""
import weakref
import zipfile

import pytest

from coder import reports
from conftest import HAMAR_1, LIER_1

TRANSCRIPTS = 30  # per case office
CODES = ("two_bosses", "communication", "equality", "vertical.partnership_meeting")


@pytest.fixture
def many(project):
    """Two case offices of 30 transcripts, each of whose turns carries four codes by two
    coders (one of them coding every other turn): about 700 passages to write."""
    transcripts = {f"{name}_{i}.txt": text for name, text in (("hamar", HAMAR_1), ("lier", LIER_1))
                   for i in range(1, TRANSCRIPTS + 1)}
    project.start("codebook.yaml", transcripts)
    rows = ["transcript,segment,code,coder"]
    for name in transcripts:
        for segment in (1, 2, 3, 4):
            rows += [f"{name[:-4]},{segment},{code},tester" for code in CODES]
            if segment % 2 == 0:
                rows.append(f"{name[:-4]},{segment},two_bosses,bjorn")
    project.write("codings.csv", "\n".join(rows) + "\n")
    result = project.run("code", "apply", project.root / "codings.csv")
    assert result.exit_code == 0, result.stderr
    return project


class _Tracked(reports.Quote):
    """A quote that can be weakly referenced (Quote has slots, no weak references): replace()
    keeps the class, so a merged or pseudonymised quote is tracked too."""


@pytest.fixture
def live_quotes(monkeypatch):
    """The store's quotes, each tracked; `most` is the largest number alive at once (checked as
    each one is read), `read` how many were read."""
    from dataclasses import fields

    state = {"most": 0, "read": 0}
    refs: list = []
    original = reports.iter_quotes

    def tracked(store, filters=reports.QuoteFilter()):
        for quote in original(store, filters):
            copy = _Tracked(**{f.name: getattr(quote, f.name) for f in fields(reports.Quote)})
            del quote
            refs.append(weakref.ref(copy))
            state["read"] += 1
            state["most"] = max(state["most"], sum(ref() is not None for ref in refs))
            yield copy

    monkeypatch.setattr(reports, "iter_quotes", tracked)
    return state


@pytest.mark.parametrize("args", [("--docx", "--out", "q.docx"), ("--xlsx", "--out", "q.xlsx"),
                                  ("--html", "--out", "q.html"), ("--out", "q.md"), (), ("--csv",), ("--json",),
                                  ("--docx", "--pseudonymise", "--context", "3", "--out", "p.docx")])
def test_every_quote_sheet_holds_only_a_few_quotes_at_a_time(many, live_quotes, args):
    result = many.run("report", "quotes", *args)
    assert result.exit_code == 0, result.stderr
    assert live_quotes["read"] >= 2 * TRANSCRIPTS * 4 * len(CODES)
    # the sheet's quotes are written as they come: a handful alive (the one being written, the
    # passage being merged, the first of its code), never the whole sheet
    assert live_quotes["most"] <= 8, live_quotes
    if "--out" in args:
        name = args[args.index("--out") + 1]
        assert f"wrote {live_quotes['read'] - TRANSCRIPTS * 2 * 2} quote(s) to {name}" in result.stderr  # merged
        if name.endswith(".docx"):
            with zipfile.ZipFile(many.root / name) as package:
                body = package.read("word/document.xml").decode()
            if "--pseudonymise" not in args:
                assert body.count("coded by bjorn, tester") == TRANSCRIPTS * 2 * 2
    else:
        assert result.stdout.strip()


def test_a_streamed_docx_reads_back_as_python_docx_wrote_it(many):
    """The body written as text is the XML python-docx would have made: the document opens,
    with its title, subtitle count, headings and every quote, and its properties as set."""
    from docx import Document

    result = many.run("report", "quotes", "--docx", "--code", "two_bosses", "--out", "q.docx")
    assert result.exit_code == 0, result.stderr
    document = Document(str(many.root / "q.docx"))
    paragraphs = document.paragraphs
    assert paragraphs[0].style.name == "Title" and paragraphs[0].text == "Quotes — vertical.two_bosses"
    assert paragraphs[1].text.endswith(f"· {TRANSCRIPTS * 2 * 4} quote(s)")
    assert [p.text for p in paragraphs if p.style.name == "Heading 1"] == ["Hamar", "Lier"]
    assert sum(p.style.name == "Quote" for p in paragraphs) == TRANSCRIPTS * 2 * 4
    assert document.core_properties.title == "Quotes — vertical.two_bosses" and document.core_properties.author == "coder"
    assert 'w:instr="NUMPAGES"' in document.sections[0].footer._element.xml


@pytest.mark.parametrize("args", [("--html", "--out", "m.html"), ("--json",), ("--csv",), ("--md",),
                                  ("--html", "--pseudonymise", "--out", "p.html")])
def test_a_matrix_with_its_quotes_holds_only_a_few_quotes_at_a_time(many, live_quotes, args):
    """Every cell's passages are kept out of memory (the first few, for a table's summary, and
    the rest in a temporary file) and the page or JSON is written a cell at a time."""
    result = many.run("report", "matrix", "--quotes", *args)
    assert result.exit_code == 0, result.stderr
    assert live_quotes["read"] >= 2 * TRANSCRIPTS * 4 * len(CODES)
    # the first five passages of each of the 2 x 5 cells with quotes, and the few being read:
    # as many with 3 transcripts as with 30
    assert live_quotes["most"] <= 2 * 5 * 5 + 8, live_quotes
    if args == ("--json",):
        cells = {(c["row"], c["col"]): c for c in __import__("json").loads(result.stdout)}
        # Hamar × relations: its two sub-codes' passages, merged per code (as before)
        relations = cells[("Hamar", "horizontal.relations")]
        assert len(relations["quotes"]) == TRANSCRIPTS * 4 * 2
        assert sum(q["coder"] == "bjorn, tester" for q in cells[("Lier", "vertical.two_bosses")]["quotes"]) == \
            TRANSCRIPTS * 2
