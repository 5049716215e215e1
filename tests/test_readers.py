"""Transcripts as they arrive: Word (.docx), OpenDocument (.odt), subtitles (.vtt from
Teams/Zoom, .srt), spreadsheets (.csv/.xlsx, a turn per row) and survey answers (a
respondent per row). Files are built here as the programs that make them write them, and
imported through the real command line."""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import CODEBOOK, HAMAR_1, db_rows
from test_hostile_files import assert_refused_and_unchanged, refused

# -- files as their programs write them ---------------------------------------------------

TURNS = [("Intervjuer", "Hvordan er det å ha to sjefer?"),
         ("Leder", "Det er krevende. Jeg har to sjefer, rådmannen og fylkesdirektøren."),
         ("Intervjuer", "Og partnerskapsmøtet?"),
         ("Leder", "Det fungerer godt 👍 for oss. Vi snakker sammen hver uke.")]


def as_txt(turns, meta: dict | None = None) -> str:
    """The plain-text transcript of the same interview, as a person would type it."""
    head = "".join(f"{k}: {json.dumps(v, ensure_ascii=False)}\n" for k, v in (meta or {}).items())
    return (f"---\n{head}---\n" if head else "") + "\n".join(f"{who}: {words}\n" for who, words in turns)


def make_docx(path: Path, turns, *, meta: dict | None = None, heading: str | None = None,
              label_style: str = "bold with colon") -> Path:
    import docx

    document = docx.Document()
    if heading:
        document.add_heading(heading, 1)
    if meta:
        table = document.add_table(rows=len(meta), cols=2)
        for row, (key, value) in zip(table.rows, meta.items()):
            row.cells[0].text, row.cells[1].text = key, value
    for who, words in turns:
        paragraph = document.add_paragraph()
        if label_style == "bold with colon":
            paragraph.add_run(f"{who}:").bold = True
            paragraph.add_run(f" {words}")
        elif label_style == "bold, colon plain":
            paragraph.add_run(who).bold = True
            paragraph.add_run(f": {words}")
        elif label_style == "bold, then a tab":
            paragraph.add_run(who).bold = True
            paragraph.add_run(f"\t{words}")
        else:
            paragraph.add_run(f"{who}: {words}")
    document.save(path)
    return path


ODT_NS = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
          'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
          'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
          'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
          'xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0" office:version="1.3"')


def odt_bytes(body: str, *, content: str | None = None) -> bytes:
    """An .odt as LibreOffice lays it out: `mimetype` first and stored, a manifest, content.xml."""
    content = content if content is not None else (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<office:document-content {ODT_NS}>'
        '<office:automatic-styles><style:style style:name="T1" style:family="text">'
        '<style:text-properties fo:font-weight="bold"/></style:style></office:automatic-styles>'
        f'<office:body><office:text>{body}</office:text></office:body></office:document-content>')
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.text",
                         compress_type=zipfile.ZIP_STORED)
        archive.writestr("META-INF/manifest.xml",
                         '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
                         'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.3">'
                         '<manifest:file-entry manifest:full-path="/" '
                         'manifest:media-type="application/vnd.oasis.opendocument.text"/>'
                         '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
                         '</manifest:manifest>')
        archive.writestr("content.xml", content)
    return buffer.getvalue()


def odt_text(words: str) -> str:
    """Words as LibreOffice writes them: runs of spaces as <text:s text:c="N"/>."""
    out, spaces = [], 0
    for char in words:
        if char == " ":
            spaces += 1
            continue
        if spaces:
            out.append(" " + (f'<text:s text:c="{spaces - 1}"/>' if spaces > 1 else ""))
            spaces = 0
        out.append(escape(char))
    return "".join(out)


def make_odt(path: Path, turns, *, meta: dict | None = None) -> Path:
    body = ""
    if meta:
        rows = "".join(f"<table:table-row><table:table-cell><text:p>{escape(k)}</text:p></table:table-cell>"
                       f"<table:table-cell><text:p>{escape(v)}</text:p></table:table-cell></table:table-row>"
                       for k, v in meta.items())
        body += f'<table:table table:name="Metadata"><table:table-column table:number-columns-repeated="2"/>{rows}</table:table>'
    for who, words in turns:
        body += (f'<text:p text:style-name="Standard"><text:span text:style-name="T1">{escape(who)}:</text:span> '
                 f"{odt_text(words)}</text:p>")
    path.write_bytes(odt_bytes(body))
    return path


def _clock(seconds: float, comma: bool = False) -> str:
    ms = round(seconds * 1000)
    text = f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"
    return text.replace(".", ",") if comma else text


def teams_vtt(turns, *, words_per_cue: int = 6) -> str:
    """A Microsoft Teams transcript: cue ids, `<v Name>` voices, a turn spread over cues."""
    out, at, cue = ["WEBVTT", ""], 3.0, 0
    for who, words in turns:
        split = words.split(" ")
        for i in range(0, len(split), words_per_cue):
            chunk = " ".join(split[i:i + words_per_cue])
            chunk = chunk.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            out += [f"6f1c9a4e-2b7d-4c1e-9f3a-{cue:012d}/{cue}-0", f"{_clock(at)} --> {_clock(at + 2.5)}",
                    f"<v {who}>{chunk}</v>", ""]
            at, cue = at + 2.5, cue + 1
    return "\n".join(out)


# -- Word -------------------------------------------------------------------------------------

@pytest.mark.parametrize("label_style", ["bold with colon", "bold, colon plain", "bold, then a tab", "plain"])
def test_a_word_document_imports_as_its_text_would(project, label_style):
    assert project.run("init", "--codebook", "codebook.yaml").exit_code == 0
    make_docx(project.root / "hamar_1.docx", TURNS, heading="Intervju med NAV-leder",
              meta={"Kontor": "Hamar", "Informant": "Kari Solberg", "Dato": "2007-03-01", "Intervjuer": "A"},
              label_style=label_style)
    result = project.run("import", "hamar_1.docx")
    assert result.exit_code == 0, result.stderr
    assert "imported  hamar_1  case=Hamar  segments=4" in result.stdout
    segments = project.run("segments", "hamar_1", "--json").json()
    assert [(s["speaker"], s["text"]) for s in segments] == TURNS
    (name, case, informant, date, attributes), = db_rows(
        project.db, "SELECT name, case_name, informant, date, attributes FROM transcripts")
    assert (case, informant, date) == ("Hamar", "Kari Solberg", "2007-03-01")
    assert json.loads(attributes) == {"intervjuer": "A", "title": "Intervju med NAV-leder"}
    text, = db_rows(project.db, "SELECT text FROM transcripts")[0]
    for s in segments:
        assert text[s["start"]:s["end"]] == s["text"]


def test_a_word_answer_over_several_paragraphs_is_one_turn_and_bold_words_are_no_label(project):
    import docx

    project.run("init")
    document = docx.Document()
    paragraph = document.add_paragraph()
    paragraph.add_run("Intervjuer:").bold = True
    paragraph.add_run(" Hvordan startet det?")
    paragraph = document.add_paragraph()
    paragraph.add_run("Leder: ").bold = True
    paragraph.add_run("Det var i 2006.")
    paragraph = document.add_paragraph()
    paragraph.add_run("Veldig").bold = True  # emphasis, not a speaker
    paragraph.add_run(" krevende, men vi fikk det til.")
    document.add_paragraph("")
    document.add_paragraph("Klokka 10:30 hver mandag har vi møte.")
    document.save(project.root / "lier_2.docx")
    assert project.run("import", "lier_2.docx").exit_code == 0
    segments = project.run("segments", "lier_2", "--json").json()
    assert [(s["speaker"], s["text"]) for s in segments] == [
        ("Intervjuer", "Hvordan startet det?"),
        ("Leder", "Det var i 2006.\n\nVeldig krevende, men vi fikk det til.\n\nKlokka 10:30 hver mandag har vi møte.")]


# -- OpenDocument -----------------------------------------------------------------------------

def test_an_opendocument_text_imports_as_its_text_would(project):
    assert project.run("init", "--codebook", "codebook.yaml").exit_code == 0
    turns = [*TURNS[:3], ("Leder", "To  sjefer,   altså.")]  # runs of spaces as <text:s/>
    make_odt(project.root / "hamar_1.odt", turns, meta={"Case": "Hamar", "Role": "NAV-leder"})
    project.write("txt/hamar_1.txt", as_txt(turns, {"case": "Hamar", "role": "NAV-leder"}))
    assert project.run("import", "hamar_1.odt").exit_code == 0
    segments = project.run("segments", "hamar_1", "--json").json()
    assert [(s["speaker"], s["text"]) for s in segments] == turns
    assert db_rows(project.db, "SELECT case_name, role FROM transcripts") == [("Hamar", "NAV-leder")]
    odt_text_stored = db_rows(project.db, "SELECT text FROM transcripts")[0][0]
    # the .txt of the same interview is the same transcript: re-importing it changes nothing
    assert (project.root / "txt" / "hamar_1.txt").read_text(encoding="utf-8") == odt_text_stored
    result = project.run("import", "txt/hamar_1.txt", "--json")
    assert result.json()[0]["status"] == "unchanged"


def test_opendocument_line_breaks_tabs_and_lists_are_kept(project):
    project.run("init")
    body = ('<text:h text:outline-level="1">Intervju 7</text:h>'
            '<text:p><text:span text:style-name="T1">Intervjuer</text:span>: Hva skjer<text:line-break/>nå?</text:p>'
            '<text:list><text:list-item><text:p>Leder:<text:tab/>Vi møtes <text:span>hver</text:span> uke.'
            '</text:p></text:list-item></text:list>')
    project.write("t7.odt", odt_bytes(body))
    assert project.run("import", "t7.odt").exit_code == 0, project.run("import", "t7.odt").stderr
    segments = project.run("segments", "t7", "--json").json()
    assert [(s["speaker"], s["text"]) for s in segments] == [("Intervjuer", "Hva skjer\nnå?"),
                                                             ("Leder", "Vi møtes hver uke.")]
    assert json.loads(db_rows(project.db, "SELECT attributes FROM transcripts")[0][0]) == {"title": "Intervju 7"}


# -- subtitles --------------------------------------------------------------------------------

TEAMS = """WEBVTT

NOTE Transcript exported from Microsoft Teams

0e5b4c1a-7d2f-4a8e-b3c6-1f2a3b4c5d6e/18-0
00:00:03.120 --> 00:00:06.480
<v Intervjuer A>Hvordan er det å ha to sjefer?</v>

0e5b4c1a-7d2f-4a8e-b3c6-1f2a3b4c5d6e/25-0
00:00:07.010 --> 00:00:10.950
<v Kari Solberg>Det er krevende. Jeg har to sjefer,</v>

0e5b4c1a-7d2f-4a8e-b3c6-1f2a3b4c5d6e/25-1
00:00:10.950 --> 00:00:14.200
<v Kari Solberg>rådmannen &amp; fylkesdirektøren.</v>

0e5b4c1a-7d2f-4a8e-b3c6-1f2a3b4c5d6e/31-0
00:12:31.400 --> 00:12:35.000
<v Intervjuer A>Og partnerskapsmøtet?</v>
"""

ZOOM = """WEBVTT

1
00:00:03.120 --> 00:00:06.480
Intervjuer A: Hvordan er det å ha to sjefer?

2
00:00:07.010 --> 00:00:10.950
Kari Solberg: Det er krevende. Jeg har to sjefer,

3
00:00:10.950 --> 00:00:14.200
Kari Solberg: rådmannen & fylkesdirektøren.

4
00:12:31.400 --> 00:12:35.000
Intervjuer A: Og partnerskapsmøtet?
"""

SRT = """1
00:00:03,120 --> 00:00:06,480
Intervjuer A: Hvordan er det å ha to sjefer?

2
00:00:07,010 --> 00:00:10,950
Kari Solberg: Det er krevende.
Jeg har to sjefer,

3
00:00:10,950 --> 00:00:14,200
<i>rådmannen & fylkesdirektøren.</i>

4
00:12:31,400 --> 00:12:35,000
Intervjuer A: Og partnerskapsmøtet?
"""

SUBTITLE_TURNS = [("Intervjuer A", "Hvordan er det å ha to sjefer?"),
                  ("Kari Solberg", "Det er krevende. Jeg har to sjefer, rådmannen & fylkesdirektøren."),
                  ("Intervjuer A", "Og partnerskapsmøtet?")]


@pytest.mark.parametrize("name, content", [("teams.vtt", TEAMS), ("zoom.vtt", ZOOM), ("subtitles.srt", SRT),
                                           ("saved_as.txt", TEAMS)], ids=["teams", "zoom", "srt", "vtt-as-txt"])
def test_subtitle_cues_of_one_speaker_become_one_turn_without_ids_or_timings(project, name, content):
    project.run("init")
    project.write(name, content.replace("\n", "\r\n") if name.endswith(".srt") else content)
    result = project.run("import", name)
    assert result.exit_code == 0, result.stderr
    segments = project.run("segments", Path(name).stem, "--json").json()
    assert [(s["speaker"], s["text"]) for s in segments] == SUBTITLE_TURNS
    text = db_rows(project.db, "SELECT text FROM transcripts")[0][0]
    assert "-->" not in text and "0e5b4c1a" not in text and "WEBVTT" not in text and "<" not in text


def test_a_subtitle_file_without_cues_is_refused(project):
    project.run("init")
    project.write("empty.vtt", "WEBVTT\n\nNOTE nothing was said\n")
    assert_refused_and_unchanged(project, "import", "empty.vtt", says="no subtitle cues")


# -- spreadsheets -----------------------------------------------------------------------------

def test_a_spreadsheet_with_a_turn_per_row_imports_as_turns(project):
    import openpyxl

    project.run("init")
    project.write("csv/lier_3.csv", "speaker;text;time\nIntervjuer;Hvordan går det?;00:00:03\n"
                                    "Leder;\"Bra; vi har to sjefer.\";00:12:31\n;;\n")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Speaker", "Text", "Time"])
    sheet.append(["Intervjuer", "Hvordan går det?", "00:00:03"])
    sheet.append(["Leder", "Bra; vi har to sjefer.", "00:12:31"])
    workbook.save(project.root / "lier_3.xlsx")
    assert project.run("import", "csv/lier_3.csv").exit_code == 0
    csv_text = db_rows(project.db, "SELECT text FROM transcripts")[0][0]
    assert csv_text == "Intervjuer: Hvordan går det?\n\nLeder: Bra; vi har to sjefer.\n"
    result = project.run("import", "lier_3.xlsx", "--json")
    assert result.json()[0]["status"] == "unchanged"  # the same turns, the same transcript


def test_a_spreadsheet_with_a_bad_time_is_refused_at_its_row(project):
    project.run("init")
    project.write("t.csv", "speaker,text,time\nA,hei,00:00:03\nB,hallo,kvart over\n")
    assert_refused_and_unchanged(project, "import", "t.csv", says="t.csv:3: 'kvart over' is not a time")


def test_survey_answers_become_a_transcript_per_respondent_with_attributes(project):
    import openpyxl

    assert project.run("init", "--codebook", "codebook.yaml").exit_code == 0
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["ResponseId", "Kontor", "Age group", "Q1: Hvordan er samarbeidet?", "Q2", "Submitted"])
    sheet.append(["R_01", "Hamar", "30-39", "Vi har to sjefer, og det går fint.", "Nei", 1])
    sheet.append(["R_02", "Lier", "40-49", None, "  ", 0])  # answered nothing: no transcript
    sheet.append(["R_03", "Lier", "50+", "Godt.\nMen krevende.", "Ja", 1])
    workbook.save(project.root / "answers.xlsx")
    result = project.run("import", "answers.xlsx", "--text-columns", "Q1: Hvordan er samarbeidet?",
                         "--text-columns", "q2")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == ["imported  answers_R_01  case=Hamar  segments=2",
                                          "imported  answers_R_03  case=Lier  segments=2"]
    segments = project.run("segments", "answers_R_03", "--json").json()
    assert [(s["speaker"], s["text"]) for s in segments] == [("Q1 Hvordan er samarbeidet?", "Godt.\nMen krevende."),
                                                             ("Q2", "Ja")]
    rows = db_rows(project.db, "SELECT name, case_name, informant, attributes FROM transcripts ORDER BY name")
    assert [(n, c, i, json.loads(a)) for n, c, i, a in rows] == [
        ("answers_R_01", "Hamar", "R_01", {"age_group": "30-39", "responseid": "R_01", "submitted": 1}),
        ("answers_R_03", "Lier", "R_03", {"age_group": "50+", "responseid": "R_03", "submitted": 1})]
    assert project.run("code", "quote", "answers_R_01", "to sjefer", "two_bosses").exit_code == 0
    freq = project.run("report", "freq", "--by", "age_group", "--json").json()
    assert freq == [{"group": "30-39", "code": "vertical.two_bosses", "count": 1}]
    again = project.run("import", "answers.xlsx", "--text-columns", "Q1: Hvordan er samarbeidet?",
                        "--text-columns", "Q2", "--json")
    assert [r["status"] for r in again.json()] == ["unchanged", "unchanged"]


def test_survey_answers_from_csv_numbered_by_row_and_an_unknown_column_refused(project):
    project.run("init")
    project.write("svar.csv", "alder,fritekst\n34,Det er krevende.\n51,\n29,Bra.\n")
    result = project.run("import", "svar.csv", "--text-columns", "fritekst", "--json")
    assert [(r["transcript"], r["status"]) for r in result.json()] == [("svar_1", "imported"),
                                                                        ("svar_3", "imported")]
    assert_refused_and_unchanged(project, "import", "svar.csv", "--text-columns", "Q9",
                                 says="no column 'Q9' for --text-columns (the header has 'alder', 'fritekst')")


# -- which files import reads -----------------------------------------------------------------

def test_a_folder_import_takes_every_format_and_passes_over_other_files(project):
    assert project.run("init", "--codebook", "codebook.yaml").exit_code == 0
    (project.root / "corpus").mkdir()
    make_docx(project.root / "corpus" / "a.docx", TURNS)
    make_odt(project.root / "corpus" / "b.odt", TURNS)
    project.write("corpus/c.vtt", TEAMS)
    project.write("corpus/d.srt", SRT)
    project.write("corpus/e.csv", "speaker,text\nA,hei\n")
    project.write("corpus/f.txt", HAMAR_1)
    project.write("corpus/codings.csv", "transcript,code,segment\nf,two_bosses,2\n")  # kept beside them
    project.write("corpus/notes.pdf", b"%PDF-1.4")
    result = project.run("import", "corpus", "--json")
    assert result.exit_code == 0, result.stdout
    statuses = {r["transcript"]: r["status"] for r in result.json()}
    assert statuses == {"a": "imported", "b": "imported", "c": "imported", "d": "imported", "e": "imported",
                        "f": "imported", "codings": "skipped"}
    shown = project.run("import", "corpus")
    assert "skipped: corpus/codings.csv: a spreadsheet without a 'text' column" in shown.stderr
    assert shown.exit_code == 0


@pytest.mark.parametrize("name, content", [
    ("codebook.qdc", b'<?xml version="1.0"?><CodeBook xmlns="urn:QDA-XML:codebook:1.0"/>'),
    ("interview.pdf", b"%PDF-1.4\n"),
    ("interview.rtf", b"{\\rtf1 Leder: hei}"),
    ("notes", b"Leder: hei\n"),
])
def test_a_file_of_another_type_is_refused_saying_which_formats_are_read(project, name, content):
    project.run("init")
    project.write(name, content)
    line = assert_refused_and_unchanged(project, "import", name, says=name)
    assert ".docx" in line and ".vtt" in line and ".xlsx" in line


def test_a_codings_csv_named_on_its_own_is_refused(project):
    project.run("init")
    project.write("codings.csv", "transcript,code,segment\nf,two_bosses,2\n")
    assert_refused_and_unchanged(project, "import", "codings.csv", says="needs columns 'speaker' and 'text'")


# -- hostile files ----------------------------------------------------------------------------

def _zip(members: dict[str, bytes], *, compress=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compress) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


DOCX_XXE = (b'<?xml version="1.0"?><!DOCTYPE w:document [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r>'
            b'<w:t>&x;</w:t></w:r></w:p></w:body></w:document>')
LAUGHS = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
          + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
          + f']><office:document-content {ODT_NS}><office:body><office:text><text:p>&lol9;</text:p>'
          '</office:text></office:body></office:document-content>')


def _truncated_docx(tmp: Path) -> bytes:
    data = make_docx(tmp / "whole.docx", TURNS).read_bytes()
    return data[:len(data) // 2]


def _lying_header() -> bytes:
    """A member whose header says 100 bytes while it expands to 3 MB."""
    data = bytearray(_zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b" " * 3_000_000}))
    local = data.find(b"word/document.xml") - 30
    central = data.rfind(b"word/document.xml") - 46
    for at in (local + 22, central + 24):  # the uncompressed size in both headers
        data[at:at + 4] = (100).to_bytes(4, "little")
    return bytes(data)


HOSTILE = {
    "xxe.docx": (lambda tmp: _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": DOCX_XXE}),
                 "declares a document type"),
    "laughs.odt": (lambda tmp: odt_bytes("", content=LAUGHS), "declares a document type"),
    "bomb.docx": (lambda tmp: _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"\0" * 30_000_000}),
                  "zip bomb"),
    "wide.xlsx": (lambda tmp: _zip({f"xl/media/image{i}.bin": b"\0" * 900_000 for i in range(6)}
                                   | {"xl/workbook.xml": b"<workbook/>"}), "possible zip bomb"),
    "lying.docx": (lambda tmp: _lying_header(), "not a readable word document"),
    "broken.docx": (lambda tmp: b"PK\x03\x04" + bytes(200), "not a readable word document"),
    "truncated.docx": (_truncated_docx, "not a readable word document"),
    "not_odt.odt": (lambda tmp: _zip({"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": b"<a"}),
                    "not well-formed"),
    "spreadsheet.odt": (lambda tmp: odt_bytes("", content=f"<office:document-content {ODT_NS}><office:body>"
                                              "<office:spreadsheet/></office:body></office:document-content>"),
                        "no text document"),
    "huge_cell.csv": (lambda tmp: ("speaker,text\nA,\"" + "ord " * 60_000 + "\n").encode(), "huge_cell.csv:"),
    "binary.vtt": (lambda tmp: b"WEBVTT\n\n\x00\x01\x02", "binary"),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_file_is_refused_in_one_line_naming_it(project, monkeypatch, tmp_path_factory, name):
    monkeypatch.setenv("CODER_MAX_BYTES", "1000000")  # zips may expand to 4 MB
    make, says = HOSTILE[name]
    project.run("init")
    project.write(name, make(tmp_path_factory.mktemp("build")))
    line = assert_refused_and_unchanged(project, "import", name, says=says)
    assert name in line


def test_a_workbook_cell_over_the_limit_is_refused_at_its_row(project):
    import openpyxl

    project.run("init")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["speaker", "text"])
    sheet.append(["A", "hei"])
    sheet.append(["B", "HUGE"])
    workbook.save(project.root / "built.xlsx")  # openpyxl cuts a cell to Excel's 32,767 characters: patch it in
    with zipfile.ZipFile(project.root / "built.xlsx") as built:
        members = {name: built.read(name) for name in built.namelist()}
    members["xl/worksheets/sheet1.xml"] = members["xl/worksheets/sheet1.xml"].replace(b">HUGE<", b">" + b"x" * 200_000 + b"<")
    project.write("huge.xlsx", _zip(members))
    assert_refused_and_unchanged(project, "import", "huge.xlsx", says="huge.xlsx:3: a cell of 200,000 characters")


def test_in_a_folder_a_hostile_file_is_one_error_and_the_rest_imports(project):
    project.run("init")
    project.write("corpus/good.vtt", TEAMS)
    project.write("corpus/xxe.docx", _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": DOCX_XXE}))
    result = project.run("import", "corpus", "--json")
    assert result.exit_code == 1
    assert {r["transcript"]: r["status"] for r in result.json()} == {"good": "imported", "xxe": "error"}


# -- one interview, every format ---------------------------------------------------------------

SPEAKERS = ["Intervjuer", "Leder", "Kari Solberg", "Per"]
# letters, punctuation that VTT and XML must escape, a decomposed é (normalised to NFC), emoji
WORD = st.lists(st.sampled_from(list("abcdefghijkløæåØÆÅé.,?!'\"&<>()-") + ["e\u0301", "👍", "ß"]),
                min_size=1, max_size=8).map("".join)
TURN = st.tuples(st.sampled_from(SPEAKERS), st.lists(WORD, min_size=1, max_size=14).map(" ".join))


def _alternating(turns):
    merged = []
    for who, words in turns:
        if merged and merged[-1][0] == who:
            merged[-1] = (who, merged[-1][1] + " " + words)
        else:
            merged.append((who, words))
    return merged


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(turns=st.lists(TURN, min_size=1, max_size=6).map(_alternating), data=st.data())
def test_one_interview_as_txt_docx_odt_and_vtt_gives_the_same_turns_and_quote_offsets(tmp_path_factory, turns, data):
    from typer.testing import CliRunner

    from coder.cli import app

    root = tmp_path_factory.mktemp("formats")
    (root / "codebook.yaml").write_text(CODEBOOK, encoding="utf-8")
    db = str(root / "coder.db")

    def run(*args):
        result = CliRunner().invoke(app, ["--db", db, *map(str, args)], catch_exceptions=False,
                                    env={"CODER_NAME": "tester"})
        return result

    folder = root / "interview"
    folder.mkdir()
    (folder / "as_txt.txt").write_text(as_txt(turns), encoding="utf-8")
    make_docx(folder / "as_docx.docx", turns)
    make_odt(folder / "as_odt.odt", turns)
    (folder / "as_vtt.vtt").write_text(teams_vtt(turns, words_per_cue=data.draw(st.integers(1, 5))), encoding="utf-8")
    assert run("init", "--codebook", root / "codebook.yaml").exit_code == 0
    imported = run("import", folder, "--json")
    assert imported.exit_code == 0, imported.stderr
    names = ["as_txt", "as_docx", "as_odt", "as_vtt"]
    segments = {n: [(s["speaker"], s["start"], s["end"], s["text"]) for s in
                    json.loads(run("segments", n, "--json").stdout)] for n in names}
    assert all(segments[n] == segments["as_txt"] for n in names), segments
    texts = dict(db_rows(Path(db), "SELECT name, text FROM transcripts"))
    assert len(set(texts.values())) == 1
    who, words = data.draw(st.sampled_from(turns))
    split = words.split(" ")
    first = data.draw(st.integers(0, len(split) - 1))
    quote = " ".join(split[first:first + data.draw(st.integers(1, 6))])
    outcomes = []
    for n in names:
        result = run("code", "quote", n, quote, "two_bosses", "--json")
        outcomes.append((result.exit_code, [(r["status"], r["start"], r["end"]) for r in json.loads(result.stdout)]
                         if result.stdout.strip().startswith("[") else result.stderr.replace(n, "T")))
    assert all(o == outcomes[0] for o in outcomes), outcomes


# -- when each turn was said -------------------------------------------------------------------

def test_subtitle_turns_keep_their_times_in_segments(project):
    project.run("init")
    project.write("teams.vtt", TEAMS)
    project.write("hamar_1.txt", HAMAR_1)
    assert project.run("import", "teams.vtt", "hamar_1.txt").exit_code == 0
    segments = project.run("segments", "teams", "--json").json()
    assert [(s["time"], s["start_ms"], s["end_ms"]) for s in segments] == [
        ("00:00:03", 3120, 6480), ("00:00:07", 7010, 14200), ("00:12:31", 751400, 755000)]
    assert db_rows(project.db, "SELECT number, start_ms, end_ms FROM segments s JOIN transcripts t "
                               "ON t.id = s.transcript_id WHERE t.name = 'teams'") == [
        (1, 3120, 6480), (2, 7010, 14200), (3, 751400, 755000)]
    table = project.run("segments", "teams").stdout
    assert "time" in table.splitlines()[2] and "00:12:31" in table
    assert "time" not in project.run("segments", "hamar_1").stdout.splitlines()[2]  # a text transcript has none
    assert {s["time"] for s in project.run("segments", "hamar_1", "--json").json()} == {None}
    csv_lines = project.run("segments", "teams", "--csv").stdout.splitlines()
    assert csv_lines[0].endswith(",time,start_ms,end_ms") and csv_lines[3].endswith(",00:12:31,751400,755000")


def test_spreadsheet_turns_keep_their_times(project):
    project.run("init")
    project.write("a.csv", "speaker,text,time\nI,Hei.,00:00:03\nL,Hallo.,12:31.5\nI,Ja?,\n")
    project.write("b.csv", "speaker,text,start,end\nI,Hei.,3,4.25\nL,Hallo.,01:00:00,01:00:02\n")
    assert project.run("import", "a.csv", "b.csv").exit_code == 0
    assert [(s["start_ms"], s["end_ms"]) for s in project.run("segments", "a", "--json").json()] == [
        (3000, None), (751500, None), (None, None)]
    assert [(s["start_ms"], s["end_ms"]) for s in project.run("segments", "b", "--json").json()] == [
        (3000, 4250), (3_600_000, 3_602_000)]


def test_quote_sheets_show_when_a_quote_was_said(loaded):
    loaded.write("teams.vtt", TEAMS)
    assert loaded.run("import", "teams.vtt").exit_code == 0
    assert loaded.run("code", "add", "teams", "3", "vertical.partnership_meeting").exit_code == 0
    assert loaded.run("code", "add", "hamar_1", "2", "vertical.partnership_meeting").exit_code == 0
    quotes = {q["transcript"]: q for q in loaded.run("report", "quotes", "--code", "vertical.partnership_meeting",
                                                      "--json").json()}
    assert quotes["teams"]["time"] == "00:12:31" and quotes["hamar_1"]["time"] is None
    import csv

    rows = list(csv.DictReader(io.StringIO(loaded.run("report", "quotes", "--code", "vertical.partnership_meeting",
                                                      "--csv").stdout)))
    assert sorted((r["transcript"], r["time"]) for r in rows) == [("hamar_1", ""), ("teams", "00:12:31")]
    md = loaded.run("report", "quotes", "--code", "vertical.partnership_meeting", "--md").stdout
    assert "teams §3 \\[00:12:31\\], coded by" in md  # Markdown shows [00:12:31]
    assert "hamar\\_1 §2, coded by" in md  # no time where the transcript has none
    assert loaded.run("report", "quotes", "--code", "vertical.partnership_meeting", "--docx",
                      "--out", "q.docx").exit_code == 0
    import docx

    paragraphs = [p.text for p in docx.Document(str(loaded.root / "q.docx")).paragraphs]
    assert any(p.startswith("teams §3 [00:12:31], coded by") for p in paragraphs), paragraphs
    assert loaded.run("report", "quotes", "--code", "vertical.partnership_meeting", "--html",
                      "--out", "q.html").exit_code == 0
    assert "teams §3 [00:12:31]" in (loaded.root / "q.html").read_text(encoding="utf-8")


def test_the_session_shows_when_the_turn_was_said(loaded):
    from test_session import Tui

    loaded.write("teams.vtt", TEAMS)
    assert loaded.run("import", "teams.vtt").exit_code == 0
    session = Tui(loaded, "teams")
    try:
        session.wait_for("── 1 · Intervjuer A · [00:00:03]")
        session.quit()
    finally:
        if session.child.isalive():
            session.kill()


@pytest.mark.parametrize("fixture, transcript, times", [
    ("schema_v3.db", "lier_1", [None, None, None, None]),
    ("schema_v4.db", "lier_2", ["00:00:02", "00:12:31"]),
])
def test_a_project_from_before_times_upgrades_and_a_timed_one_reads_back(tmp_path, fixture, transcript, times):
    import shutil

    from conftest import Project

    shutil.copyfile(Path(__file__).parent / "fixtures" / fixture, tmp_path / "coder.db")
    project = Project(tmp_path, tmp_path / "coder.db")
    result = project.run("segments", transcript, "--json")
    assert result.exit_code == 0, result.stderr
    assert [s["time"] for s in result.json()] == times
    assert db_rows(project.db, "PRAGMA user_version") == [(4,)]


def test_a_survey_respondent_is_the_transcript_its_text_parses_to(tmp_path):
    """read_survey does not read back the front matter it wrote: what it stores must be what
    YAML reads from that text, for every kind of cell."""
    import datetime as dt

    import openpyxl

    from coder.ingest import parse_transcript
    from coder.readers import read_survey

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["id", "Age", "age", "2nd wave", "score", "big", "ok", "note", "when", "Kontor", "svar"])
    sheet.append([7, 41, "41", 1.5, 0.1 + 0.2, 1e20, True, "  yes\n  no ", dt.datetime(2024, 5, 1, 9, 30),
                  "Tjo\u0308me", "Ja: to sjefer."])
    sheet.append(["x y", -3, None, 2.0, float("nan"), -0.0, False, "e\u0301: «quoted» \"text\"", dt.date(2024, 5, 2),
                  "", "Nei."])
    workbook.save(tmp_path / "s.xlsx")
    read = list(read_survey(tmp_path / "s.xlsx", ["svar"]))
    assert [t.name for t in read] == ["s_7", "s_x_y"]
    for transcript in read:
        again = parse_transcript(transcript.text, path=transcript.path, name=transcript.name, encoding="xlsx")
        assert transcript == again
    assert read[0].case == "Tjöme" and read[0].attributes["age"] == 41 and read[0].attributes["age_2"] == "41"


def test_survey_respondents_are_written_a_batch_at_a_time(project, monkeypatch):
    """Issue 19: a survey's new respondents are written a batch of statements at a time
    (store/transcripts.insert_new), not four statements per respondent; what is stored is as
    before: ids in row order, each respondent's segments, a respondent already imported
    updated on its own, and a second import finds every one unchanged."""
    from coder import importing
    from coder.store import transcripts

    monkeypatch.setattr(importing, "SURVEY_BATCH", 4)
    batches = []
    insert_new = transcripts.insert_new
    monkeypatch.setattr(transcripts, "insert_new", lambda store, rows: (batches.append(len(rows)),
                                                                         insert_new(store, rows))[1])
    project.run("init")
    project.write("svar.csv", "kontor,fritekst\nHamar,Første svar.\n")
    assert project.run("import", "svar.csv", "--text-columns", "fritekst").exit_code == 0  # svar_1 exists
    rows = ["kontor,fritekst,annet"] + [f"{'Hamar' if i % 2 else 'Lier'},Svar nummer {i}.,Ekstra {i}"
                                        for i in range(1, 11)]
    project.write("svar.csv", "\n".join(rows) + "\n")
    batches.clear()
    result = project.run("import", "svar.csv", "--text-columns", "fritekst", "--text-columns", "annet", "--json")
    assert result.exit_code == 0, result.stderr
    assert [(r["transcript"], r["status"]) for r in result.json()] == \
        [("svar_1", "updated")] + [(f"svar_{i}", "imported") for i in range(2, 11)]
    assert batches == [4, 4, 1]
    stored = db_rows(project.db, "SELECT id, name, case_name FROM transcripts ORDER BY id")
    assert stored == [(i, f"svar_{i}", "Hamar" if i % 2 else "Lier") for i in range(1, 11)]
    for i in (1, 5, 10):
        segments = project.run("segments", f"svar_{i}", "--json").json()
        assert [(s["speaker"], s["text"]) for s in segments] == [("fritekst", f"Svar nummer {i}."),
                                                                 ("annet", f"Ekstra {i}")]
    again = project.run("import", "svar.csv", "--text-columns", "fritekst", "--text-columns", "annet", "--json")
    assert [r["status"] for r in again.json()] == ["unchanged"] * 10


def test_a_survey_respondent_is_made_as_written_not_searched_for_again(project, monkeypatch):
    """Issue 19: a survey respondent's text is written by coder, so its turns and front matter
    are known as they are written; the text is not searched for turns (split_segments) or its
    front matter parsed (YAML) again, 100,000 times. A respondent whose answer runs over lines
    (it may hold turns of its own) is read the full way; both are stored as their text reads."""
    from coder import ingest

    searched = []
    split_segments, front_matter = ingest.split_segments, ingest._front_matter
    monkeypatch.setattr(ingest, "split_segments",
                        lambda text, start: (searched.append("turns"), split_segments(text, start))[1])
    monkeypatch.setattr(ingest, "_front_matter",
                        lambda text, path: (searched.append("front matter"), front_matter(text, path))[1])
    project.run("init")
    rows = ["ResponseId,Kontor,alder,Q1,Q2"] + [f"R{i},{'Hamar' if i % 2 else 'Lier'},{30 + i},Svar {i}: ja.,Mer"
                                                 for i in range(1, 21)]
    rows.append('R21,Asker,51,"To linjer:\nIntervjuer: og en tur",')
    project.write("svar.csv", "\n".join(rows) + "\n")
    result = project.run("import", "svar.csv", "--text-columns", "Q1", "--text-columns", "Q2")
    assert result.exit_code == 0, result.stderr
    assert searched == ["turns"]  # R21 only
    stored = db_rows(project.db, "SELECT t.name, t.case_name, t.informant, t.attributes, s.number, s.speaker, "
                                 "s.text, substr(t.text, s.start + 1, s.\"end\" - s.start) FROM segments s "
                                 "JOIN transcripts t ON t.id = s.transcript_id WHERE t.name IN "
                                 "('svar_R1', 'svar_R21') ORDER BY t.name, s.number")
    assert stored == [
        ("svar_R1", "Hamar", "R1", '{"alder": "31", "responseid": "R1"}', 1, "Q1", "Svar 1: ja.", "Svar 1: ja."),
        ("svar_R1", "Hamar", "R1", '{"alder": "31", "responseid": "R1"}', 2, "Q2", "Mer", "Mer"),
        ("svar_R21", "Asker", "R21", '{"alder": "51", "responseid": "R21"}', 1, "Q1", "To linjer:", "To linjer:"),
        ("svar_R21", "Asker", "R21", '{"alder": "51", "responseid": "R21"}', 2, "Intervjuer", "og en tur",
         "og en tur")]


_SURVEY_TEXT = st.text(alphabet=st.sampled_from(["a", "b", " ", ":", "Q", "\n", "\r", "\t", "\u0301", "é", "e",
                                                 "\u00a0", "\u2028", "\x85", "-", '"', "\\", "\ufeff", "å"]),
                       max_size=12)
_SURVEY_HEADERS = st.sampled_from([["id", "Kontor", "Q1", "Q2"], ["Respondent", "alder", "Q1", "Q2"],
                                   ["id", "Alder", "Q1", "Q: 2"], ["id", "speakers", "Q1", "Q2"],
                                   ["Informant", "role", "Q1", " Q2"], ["id", "cafe\u0301", "Q1", "Q2"],
                                   ["id", "caf\u00e9", "Q1", "Q2"], ["x", "date", "Spørsmål 1", "Q2"]])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=_SURVEY_HEADERS, kind=st.sampled_from(["csv", "xlsx"]),
       rows=st.lists(st.tuples(st.one_of(st.none(), _SURVEY_TEXT, st.integers(-5, 5)),
                               st.one_of(st.none(), _SURVEY_TEXT, st.integers(-5, 5),
                                         st.floats(allow_nan=False, allow_infinity=False), st.booleans()),
                               _SURVEY_TEXT, _SURVEY_TEXT), min_size=1, max_size=4))
def test_a_survey_respondent_made_as_written_is_the_one_read_the_full_way(tmp_path, header, kind, rows):
    """Issue 19: the respondents read_survey makes as it writes them (readers._QuickRespondents)
    are those its full path makes (_Text, then parse_transcript searching the text): the same
    text, segments, front-matter values and attributes, or the same error; and each is what its
    stored text parses to."""
    import csv
    from unittest import mock

    import openpyxl

    from coder import readers
    from coder.errors import InputError
    from coder.ingest import parse_transcript

    path = tmp_path / f"svar.{kind}"
    if kind == "csv":
        with open(path, "w", encoding="utf-8", newline="") as out:
            csv.writer(out).writerows([header] + [["" if c is None else c for c in row] for row in rows])
    else:
        workbook = openpyxl.Workbook()
        workbook.active.append(header)
        for row in rows:
            workbook.active.append(list(row))
        workbook.save(path)
    answers = [header[2], header[3].strip()]

    def read():
        try:
            return list(readers.read_survey(path, answers))
        except InputError as exc:
            return str(exc)

    quick = read()
    with mock.patch.object(readers._QuickRespondents, "of", return_value=None):
        full = read()
    assert quick == full
    for transcript in quick if isinstance(quick, list) else ():
        assert parse_transcript(transcript.text, path=transcript.path, name=transcript.name,
                                encoding=kind) == transcript


_WORKBOOK_CELL = st.one_of(
    st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(-1e15, 1e15),
    st.datetimes(min_value=__import__("datetime").datetime(1901, 1, 1)).map(lambda d: d.replace(microsecond=0)),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\x01\x02\x03\x04\x05"
                                   "\x06\x07\x08\x0b\x0c\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a"
                                   "\x1b\x1c\x1d\x1e\x1f\r\ufffe\uffff"), min_size=1, max_size=12))  # openpyxl reads "" as None


@settings(max_examples=30, deadline=None)
@given(rows=st.lists(st.lists(_WORKBOOK_CELL, min_size=4, max_size=4), min_size=1, max_size=6),
       write_only=st.booleans())
def test_a_workbook_sheet_reads_as_openpyxl_reads_it(tmp_path_factory, rows, write_only):
    """Issue 19: a workbook's sheet is read by expat's callbacks (readers._sheet_xml_rows), not
    lxml's element tree; every cell reads as openpyxl reads it (text, shared or inline, numbers,
    booleans, dates), row by row."""
    import openpyxl

    from coder.readers import sheet_rows

    path = tmp_path_factory.mktemp("book") / "s.xlsx"
    workbook = openpyxl.Workbook(write_only=write_only)
    sheet = workbook.create_sheet() if write_only else workbook.active
    for row in [["a", "b", "c", "d"]] + rows:
        sheet.append(row)
    workbook.save(path)
    read = {number: cells for number, cells in sheet_rows(path.read_bytes(), path=path, kind="xlsx")}
    expected = {number: (list(values) + [None] * 4)[:4] for number, values in enumerate(
        openpyxl.load_workbook(path, read_only=True).active.iter_rows(values_only=True), start=1)}
    assert {n: c for n, c in read.items() if any(v is not None for v in c)} == \
        {n: c for n, c in expected.items() if any(v is not None for v in c)}
