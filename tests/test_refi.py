"""REFI-QDA both ways (issue 16): `coder export qdc/qdpx` validated against the official
schemas, and `coder import PROJECT.qdpx` / `codebook load FILE.qdc` over every sample file
in ../shared/interop (its samples/manifest.json says what each must do)."""
from __future__ import annotations

import io
import json
import os
import subprocess
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from conftest import REPO, Project, db_rows
from test_pseudonymise import PEOPLE, PLACES, leaks, named  # noqa: F401 (named: the fixture)

P = "{urn:QDA-XML:project:1.0}"
C = "{urn:QDA-XML:codebook:1.0}"


def _interop() -> Path | None:
    """../shared/interop beside the repository (as CI clones it), or beside the main checkout
    when the tests run in a git worktree of it."""
    candidates = [REPO.parent / "shared" / "interop"]
    try:
        common = subprocess.run(["git", "rev-parse", "--path-format=absolute", "--git-common-dir"], cwd=REPO,
                                capture_output=True, text=True, check=True).stdout.strip()
        candidates.append(Path(common).parent.parent / "shared" / "interop")
    except (OSError, subprocess.CalledProcessError):
        pass
    return next((c for c in candidates if (c / "samples" / "manifest.json").is_file()), None)


INTEROP = _interop()
needs_interop = pytest.mark.skipif(INTEROP is None, reason="../shared/interop (the REFI-QDA samples) is not there")


@pytest.fixture(scope="module")
def schemas():
    if INTEROP is None:
        pytest.skip("../shared/interop (the REFI-QDA schemas) is not there")
    import xmlschema

    return {"project": xmlschema.XMLSchema(str(INTEROP / "xsd" / "Project.xsd")),
            "codebook": xmlschema.XMLSchema(str(INTEROP / "xsd" / "Codebook.xsd"))}


def ok(project: Project, *args) -> str:
    result = project.run(*args)
    assert result.exit_code == 0, (args, result.stderr)
    return result.stdout


def qde(path: Path) -> ET.Element:
    with zipfile.ZipFile(path) as archive:
        return ET.fromstring(archive.read("project.qde"))


def sources(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as archive:
        return {n: archive.read(n).decode("utf-8") for n in archive.namelist() if n.startswith("sources/")}


@pytest.fixture
def rich(loaded) -> Project:
    """The loaded project with codings by two coders, a coding memo, memos on everything,
    case attributes of every type and a transcript attribute."""
    ok(loaded, "code", "add", "hamar_1", "4", "two_bosses", "--memo", "tydelig")
    ok(loaded, "code", "quote", "hamar_1", "Det fungerer godt 👍 for oss", "horizontal.partnership_meeting", "--coder", "anna")
    ok(loaded, "code", "add", "lier_1", "2", "horizontal.relations.equality", "--coder", "anna")
    ok(loaded, "code", "add", "lier_1", "4", "communication")
    loaded.write("cases.yaml", "Hamar: {population: 27000, leadership_model: split, share: 0.5, "
                               "founded: 2006-01-01, rural: true}\n"
                               "Lier: {population: 26000, leadership_model: unified, share: 1.25, "
                               "founded: 2007-05-02, rural: false}\n")
    ok(loaded, "cases", "import", "cases.yaml")
    ok(loaded, "memo", "add", "Prosjektnotat\nom analysen")
    ok(loaded, "memo", "add", "Hamar-intervjuet", "--transcript", "hamar_1")
    ok(loaded, "memo", "add", "Om to sjefer", "--code", "two_bosses")
    coding = json.loads(ok(loaded, "code", "list", "--json", "--transcript", "lier_1"))[0]["id"]
    ok(loaded, "memo", "add", "Om likeverd", "--coding", coding)
    return loaded


# -- export ---------------------------------------------------------------------------------

def test_export_qdc_and_qdpx_validate_against_the_schemas(rich, schemas):
    ok(rich, "export", "qdc", "book.qdc")
    ok(rich, "export", "qdpx", "project.qdpx")
    schemas["codebook"].validate(str(rich.root / "book.qdc"))
    with zipfile.ZipFile(rich.root / "project.qdpx") as archive:
        schemas["project"].validate(io.BytesIO(archive.read("project.qde")))


def test_export_qdc_nests_dimensions_codes_colours_and_carries_labels_in_descriptions(rich):
    ok(rich, "export", "qdc", "book.qdc")
    root = ET.parse(rich.root / "book.qdc").getroot()
    top = root.findall(f"{C}Codes/{C}Code")
    assert [c.get("name") for c in top] == ["Vertikal dimensjon", "Horisontal dimensjon"]
    assert [c.get("isCodable") for c in top] == ["false", "false"]
    assert top[0].get("color") == "#1f77b4"
    two = top[0].find(f"{C}Code")
    assert two.get("name") == "Med to sjefer" and two.get("isCodable") == "true"
    description = two.find(f"{C}Description").text
    assert description.startswith("The leader answers to both owners.")
    assert "Label (en): Two bosses" in description
    assert "Keywords:\n- sjef\n- to sjefer" in description
    assert description.endswith("coder path: vertical.two_bosses")
    nested = top[1].find(f"{C}Code[@name='Relasjoner']")
    assert [c.get("name") for c in nested.findall(f"{C}Code")] == ["Kommunikasjon", "Likeverd"]
    guids = {c.get("guid") for c in root.iter(f"{C}Code")}
    assert len(guids) == 8


def test_export_qdpx_holds_users_cases_variables_sources_selections_and_notes(rich):
    ok(rich, "export", "qdpx", "project.qdpx")
    root = qde(rich.root / "project.qdpx")
    texts = sources(rich.root / "project.qdpx")
    assert {u.get("name") for u in root.iter(f"{P}User")} == {"tester", "anna"}
    variables = {v.get("name"): v.get("typeOfVariable") for v in root.iter(f"{P}Variable")}
    assert variables == {"population": "Integer", "leadership_model": "Text", "share": "Float", "founded": "Date",
                         "rural": "Boolean", "informant": "Text", "role": "Text", "date": "Date",
                         "interviewer": "Text"}
    cases = {c.get("name"): c for c in root.iter(f"{P}Case")}
    assert set(cases) == {"Hamar", "Lier"}
    assert cases["Hamar"].find(f"{P}VariableValue/{P}IntegerValue").text == "27000"
    source_names = {s.get("name"): s for s in root.iter(f"{P}TextSource")}
    assert set(source_names) == {"hamar_1", "lier_1"}
    for source in source_names.values():
        text = texts[f"sources/{source.get('guid')}.txt"]
        assert source.get("plainTextPath") == f"internal://{source.get('guid')}.txt"
        stored = db_rows(rich.db, "SELECT text FROM transcripts WHERE upper(uuid) = ?", (source.get("guid"),))
        assert text == stored[0][0]  # the normalised text, as coder's offsets count it
    stored = {uuid.upper(): (start, end, text, memo) for uuid, start, end, text, memo in
              db_rows(rich.db, 'SELECT uuid, start, "end", text, memo FROM codings')}
    seen = 0
    for source in source_names.values():
        text = texts[f"sources/{source.get('guid')}.txt"]
        for selection in source.findall(f"{P}PlainTextSelection"):
            coding = selection.find(f"{P}Coding")
            start, end, coded, memo = stored[coding.get("guid")]
            assert (int(selection.get("startPosition")), int(selection.get("endPosition"))) == (start, end)
            assert text[start:end] == coded
            description = selection.find(f"{P}Description")
            assert (description.text if description is not None else None) == memo
            seen += 1
    assert seen == len(stored) == 4
    notes = {n.get("guid"): n.find(f"{P}PlainTextContent").text for n in root.iter(f"{P}Note")}
    assert sorted(notes.values()) == ["Hamar-intervjuet", "Om likeverd", "Om to sjefer", "Prosjektnotat\nom analysen"]
    refs = {"project": root.findall(f"{P}NoteRef"), "source": source_names["hamar_1"].findall(f"{P}NoteRef"),
            "code": list(root.iter(f"{P}Code"))[1].findall(f"{P}NoteRef"),
            "selection": [r for s in root.iter(f"{P}PlainTextSelection") for r in s.findall(f"{P}NoteRef")]}
    assert {k: [notes[r.get("targetGUID")] for r in v] for k, v in refs.items()} == {
        "project": ["Prosjektnotat\nom analysen"], "source": ["Hamar-intervjuet"], "code": ["Om to sjefer"],
        "selection": ["Om likeverd"]}


def test_exporting_twice_gives_the_same_guids_and_bytes(rich):
    ok(rich, "export", "qdpx", "one.qdpx")
    ok(rich, "export", "qdpx", "two.qdpx")
    ok(rich, "export", "qdc", "one.qdc")
    ok(rich, "export", "qdc", "two.qdc")
    assert (rich.root / "one.qdpx").read_bytes() == (rich.root / "two.qdpx").read_bytes()
    assert (rich.root / "one.qdc").read_bytes() == (rich.root / "two.qdc").read_bytes()
    project_guids = {c.get("guid") for c in qde(rich.root / "one.qdpx").iter(f"{P}Code")}
    codebook_guids = {c.get("guid") for c in ET.parse(rich.root / "one.qdc").getroot().iter(f"{C}Code")}
    assert project_guids == codebook_guids


def test_export_qdpx_builds_and_writes_one_transcript_at_a_time(rich, monkeypatch):
    """A .qdpx of a large project is written part by part (issue 19): no element serialised
    holds more than one TextSource (the whole tree once held every text and coding, 4.7 GB
    for 10,000 transcripts), and the parts make the document the whole tree would."""
    from coder import refi

    serialised = []
    whole = ET.tostring

    def tostring(element, *args, **kwargs):
        serialised.append(sum(1 for _ in element.iter(f"{P}TextSource")))
        return whole(element, *args, **kwargs)

    monkeypatch.setattr(refi.ET, "tostring", tostring)
    out = ok(rich, "export", "qdpx", "project.qdpx")
    monkeypatch.undo()
    with zipfile.ZipFile(rich.root / "project.qdpx") as archive:
        data = archive.read("project.qde")
    assert len(list(ET.fromstring(data).iter(f"{P}TextSource"))) == 2
    assert serialised and max(serialised) == 1
    assert data == refi._serialise(ET.fromstring(data), refi.NS_PROJECT)
    assert out == ""


@pytest.mark.parametrize("filters, sources_kept, codings_kept", [
    (["--case", "hamar"], {"hamar_1"}, 2),
    (["--code", "horizontal"], {"hamar_1", "lier_1"}, 3),
    (["--coder", "anna"], {"hamar_1", "lier_1"}, 2),
    (["--where", "leadership_model=unified"], {"lier_1"}, 2),
    (["--case", "Hamar", "--coder", "anna"], {"hamar_1"}, 1),
])
def test_export_qdpx_takes_the_reports_filters(rich, schemas, filters, sources_kept, codings_kept):
    ok(rich, "export", "qdpx", "part.qdpx", *filters)
    root = qde(rich.root / "part.qdpx")
    assert {s.get("name") for s in root.iter(f"{P}TextSource")} == sources_kept
    assert len(list(root.iter(f"{P}Coding"))) == codings_kept
    assert len(sources(rich.root / "part.qdpx")) == len(sources_kept)
    with zipfile.ZipFile(rich.root / "part.qdpx") as archive:
        schemas["project"].validate(io.BytesIO(archive.read("project.qde")))
    if "--coder" in filters:
        assert {u.get("name") for u in root.iter(f"{P}User")} <= {"anna", "tester"}
        assert {c.get("creatingUser") for c in root.iter(f"{P}Coding")} == {
            u.get("guid") for u in root.iter(f"{P}User") if u.get("name") == "anna"}


def test_export_never_writes_over_the_project_or_an_existing_file(rich):
    before = rich.db.read_bytes()
    result = rich.run("export", "qdpx", str(rich.db), "--force")
    assert result.exit_code == 2 and "project" in result.stderr
    assert rich.db.read_bytes() == before
    ok(rich, "export", "qdc", "book.qdc")
    result = rich.run("export", "qdc", "book.qdc")
    assert result.exit_code == 2 and "exists" in result.stderr
    result = rich.run("export", "qdpx", "book.qdc")
    assert result.exit_code == 2 and "qdc" in result.stderr


def test_pseudonymised_qdpx_holds_no_listed_name_and_its_selections_still_fit(named):
    ok(named, "export", "qdpx", "anon.qdpx", "--pseudonymise", "--force")
    ok(named, "export", "qdc", "anon.qdc", "--pseudonymise", "--force")
    path = named.root / "anon.qdpx"
    with zipfile.ZipFile(path) as archive:
        everything = "\n".join([*archive.namelist(), *(archive.read(n).decode("utf-8") for n in archive.namelist())])
    assert leaks(everything, PEOPLE, PLACES) == []
    assert leaks((named.root / "anon.qdc").read_text(encoding="utf-8"), PEOPLE, PLACES) == []
    root, texts = qde(path), sources(path)
    assert {s.get("name") for s in root.iter(f"{P}TextSource")} == {"T01", "T02", "T03"}
    for source in root.iter(f"{P}TextSource"):
        text = texts[f"sources/{source.get('guid')}.txt"]
        for selection in source.findall(f"{P}PlainTextSelection"):
            start, end = int(selection.get("startPosition")), int(selection.get("endPosition"))
            assert 0 <= start < end <= len(text)
            assert text[start:end].strip() == text[start:end]  # still whole turns, not cut inside an alias


# -- import: every sample file as its manifest says -------------------------------------------

def manifest() -> dict:
    if INTEROP is None:
        return {}
    return json.loads((INTEROP / "samples" / "manifest.json").read_text(encoding="utf-8"))


def inputs(expect: tuple[str, ...]) -> list:
    found = [pytest.param(name, entry, id=name.rsplit("/", 1)[-1]) for name, entry in manifest().items()
             if isinstance(entry, dict) and entry.get("expect") in expect and (INTEROP / name).is_file()]
    return found or [pytest.param(None, None, marks=pytest.mark.skip(reason="no REFI-QDA samples"))]


def dump(db: Path) -> list[str]:
    import sqlite3

    conn = sqlite3.connect(db)
    try:
        return [line for line in conn.iterdump() if "INSERT INTO \"audit\"" not in line]
    finally:
        conn.close()


def codings_of(db: Path) -> list[dict]:
    """Every coding as the samples' answer keys give it: source, code path (the names from the
    top-level code down), start, end, text."""
    labels = {path: (label, parent) for path, label, parent in db_rows(db, "SELECT path, label, parent FROM codes")}
    labels.update({dim: (label, None) for dim, label in db_rows(db, "SELECT id, label FROM dimensions")})

    def names(path):
        out = []
        while path is not None:
            label, path = labels[path]
            out.insert(0, label)
        return out

    rows = db_rows(db, 'SELECT t.name, c.code, c.start, c."end", c.text FROM codings c '
                       "JOIN transcripts t ON t.id = c.transcript_id")
    found = [{"source": name, "code_path": names(code), "start": start, "end": end, "text": text}
             for name, code, start, end, text in rows]
    return sorted(found, key=lambda c: (c["source"], c["start"], c["end"], c["code_path"]))


def expected_codings(name: str) -> list[dict]:
    if "qualitative-coding" in name:
        expected = json.loads((INTEROP / name).with_name("expected_qc_export.json").read_text(encoding="utf-8"))
    else:
        expected = json.loads((INTEROP / "samples" / "expected_valid_project.json").read_text(encoding="utf-8"))
    keep = ("source", "code_path", "start", "end", "text")
    return sorted(({k: c[k] for k in keep} for c in expected["codings"]),
                  key=lambda c: (c["source"], c["start"], c["end"], c["code_path"]))


@needs_interop
@pytest.mark.parametrize("name, entry", inputs(("import",)))
def test_every_valid_sample_imports_exactly_its_codings(project, name, entry):
    path = INTEROP / name
    if path.suffix == ".qdc":
        ok(project, "init", "--codebook", path)
        dimensions, codes = (db_rows(project.db, f"SELECT COUNT(*) FROM {t}")[0][0] for t in ("dimensions", "codes"))
        assert dimensions + codes == entry["codes"]
        return
    result = project.run("import", path)
    assert result.exit_code == 0, result.stderr
    assert "created project" in result.stderr
    found = codings_of(project.db)
    assert len(found) == entry["codings"]
    assert found == expected_codings(name)
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning")]
    assert len(warnings) <= 1, warnings
    # importing it again finds everything there: nothing new, nothing doubled
    before = dump(project.db)
    again = project.run("import", path)
    assert again.exit_code == 0, again.stderr
    assert f"0 new coding(s) ({entry['codings']} already there)" in again.stderr
    assert codings_of(project.db) == found
    assert len(dump(project.db)) == len(before)


@needs_interop
def test_the_valid_project_brings_users_cases_variables_and_notes(project):
    ok(project, "import", INTEROP / "samples" / "valid_project.qdpx")
    cases = {c["case"]: c for c in json.loads(ok(project, "cases", "list", "--json"))}
    assert cases["Leder A – Fjordvik"]["Innbyggertall"] == 24310
    assert cases["Leder C – Østre dal"]["Interkommunalt kontor"] is True
    assert cases["Leder B – Åsmark"]["Intervjudato"] == "2024-02-19"
    assert {r[0] for r in db_rows(project.db, "SELECT DISTINCT coder FROM codings")} == {"Kari Nordmann", "Ola Hansen"}
    memos = {(m["type"], m["text"].split("\n")[0]) for m in json.loads(ok(project, "report", "memos", "--json"))}
    assert {("project", "Prosjektnotat: analysestrategi"), ("transcript", "Memo: Åsmark"),
            ("code", "Memo: definisjon av krysspress"), ("coding", "Memo: «to lojaliteter»")} <= memos
    colours = dict(db_rows(project.db, "SELECT label, color FROM codes"))
    assert colours["Statlig styringslinje"] == "#2e75b6" and colours["Partnerskapsmøter"] is None
    paths = {r[0] for r in db_rows(project.db, "SELECT path FROM codes WHERE label = 'Budsjett'")}
    assert paths == {"styring.statlig_styringslinje.budsjett", "styring.kommunal_styringslinje.budsjett"}


@needs_interop
@pytest.mark.parametrize("name, entry", inputs(("tolerate",)))
def test_peer_files_that_break_the_schema_are_tolerated(project, name, entry):
    result = project.run("init", "--codebook", INTEROP / name)
    assert result.exit_code == 0, result.stderr
    assert len([line for line in result.stderr.splitlines() if line.startswith("warning")]) <= 1
    labels = sorted(r[0] for r in db_rows(project.db, "SELECT label FROM codes"))
    assert len(labels) == entry["codes"]
    assert "Krysspress.Uklare forventninger" in labels  # a dot in a name is no hierarchy


@needs_interop
@pytest.mark.parametrize("name, entry", inputs(("refuse",)))
def test_hostile_files_are_refused_in_one_line_and_nothing_is_written(project, tmp_path, name, entry):
    path = INTEROP / name
    fresh = project.run(*(("init", "--codebook") if path.suffix == ".qdc" else ("import",)), path)  # none made
    assert fresh.exit_code == 2, fresh.stderr
    assert fresh.stderr.count("\n") == 1 and path.name in fresh.stderr and "Traceback" not in fresh.stderr
    assert not project.db.exists()
    ok(project, "import", INTEROP / "samples" / "valid_project.qdpx")  # into an existing one: unchanged
    before = dump(project.db)
    command = ("codebook", "load") if path.suffix == ".qdc" else ("import",)
    result = project.run(*command, path)
    assert result.exit_code == 2 and result.stderr.count("\n") == 1 and path.name in result.stderr
    assert dump(project.db) == before
    if "must_not_contain" in entry:
        assert entry["must_not_contain"] not in "\n".join(before)
    assert not Path("/tmp/coder-interop-zipslip.txt").exists()
    # '../../evil.txt' from any folder the test used lands in one of these (another test's own
    # transcripts/evil.txt, elsewhere under the shared base folder, is no escape)
    assert not list(tmp_path.glob("**/evil.txt"))
    assert not any((folder / "evil.txt").exists() for folder in (tmp_path, *list(tmp_path.parents)[:3], Path.cwd()))


def test_zip_bombs_are_refused_from_their_declared_size_and_ratio(project, monkeypatch):
    bomb = project.root / "bomb.qdpx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("project.qde", b"<Project xmlns='urn:QDA-XML:project:1.0' name='x'>" + b" " * (4 << 20)
                         + b"</Project>")
    result = project.run("import", bomb)
    assert result.exit_code == 2 and "zip bomb" in result.stderr and not project.db.exists()
    monkeypatch.setenv("CODER_MAX_BYTES", str(1 << 20))
    result = project.run("import", bomb)
    assert result.exit_code == 2 and "more than the 1,048,576 coder reads" in result.stderr


def test_import_of_a_file_it_cannot_read_says_which_formats_it_reads(project):
    ok(project, "init")
    project.write("notes.pdf", b"%PDF-1.4 ...")
    result = project.run("import", project.root / "notes.pdf")
    assert result.exit_code == 2
    assert ".txt, .md" in result.stderr and "REFI-QDA projects (.qdpx)" in result.stderr
    project.write("project.qde", "<Project xmlns='urn:QDA-XML:project:1.0' name='x'/>")
    result = project.run("import", project.root / "project.qde")
    assert result.exit_code == 2 and ".qdpx" in result.stderr


@needs_interop
def test_formats_are_recognised_by_content_whatever_the_name(project):
    project.write("exported.zip", (INTEROP / "samples" / "valid_project.qdpx").read_bytes())
    project.write("codes.xml", (INTEROP / "samples" / "valid_codebook_hierarchical.qdc").read_bytes())
    ok(project, "init", "--codebook", project.root / "codes.xml")
    ok(project, "import", project.root / "exported.zip")
    assert len(codings_of(project.db)) == 21
    # the codebook's GUIDs are the project's: one codebook, not two
    assert db_rows(project.db, "SELECT COUNT(*) FROM codes")[0][0] == 16


@needs_interop
def test_codes_from_another_tool_get_unique_paths_and_each_rename_is_reported(project):
    ok(project, "init", "--codebook", INTEROP / "samples" / "peers" / "taguette-1.5.2" / "codebook.qdc")
    twin = (INTEROP / "samples" / "peers" / "taguette-1.5.2" / "codebook.qdc").read_text(encoding="utf-8")
    twin = twin.replace("0D62985D", "0D62985E").replace("3E04144A", "3E04144B")  # new GUIDs, same names
    project.write("twin.qdc", twin)
    result = project.run("codebook", "load", project.root / "twin.qdc")
    assert result.exit_code == 0, result.stderr
    renamed = [line for line in result.stderr.splitlines() if line.startswith("renamed:")]
    assert renamed == ["renamed: code 'interesting' under 'Codes': path codes.interesting_2 (codes.interesting is "
                       "taken)", "renamed: code 'Krysspress' under 'Codes': path codes.krysspress_2 "
                       "(codes.krysspress is taken)"]
    assert db_rows(project.db, "SELECT COUNT(*) FROM codes")[0][0] == 8


# -- round trip --------------------------------------------------------------------------------

def canonical(path: Path) -> tuple[str, dict]:
    """project.qde without the times (when each project was made and imported) and the
    sources: what two exports of the same project must share."""
    root = qde(path)
    for el in root.iter():
        for key in [k for k in el.attrib if k.endswith("DateTime")]:
            del el.attrib[key]
    ET.indent(root)
    return ET.tostring(root, encoding="unicode"), sources(path)


def round_trip(first: Project, tmp_path: Path) -> None:
    ok(first, "export", "qdpx", tmp_path / "one.qdpx")
    second = Project(tmp_path, tmp_path / "second.db")
    ok(second, "import", tmp_path / "one.qdpx")
    ok(second, "export", "qdpx", tmp_path / "two.qdpx")
    assert canonical(tmp_path / "one.qdpx") == canonical(tmp_path / "two.qdpx")
    ok(first, "export", "qdc", tmp_path / "one.qdc")
    ok(second, "export", "qdc", tmp_path / "two.qdc")
    assert (tmp_path / "one.qdc").read_bytes() == (tmp_path / "two.qdc").read_bytes()
    for table, columns in (("codes", "path, uuid, label, label_en, description, include, exclude, examples, "
                                     "keywords, color"),
                           ("dimensions", "id, label, label_en, description, color"),
                           ("transcripts", "uuid, name, case_name, informant, role, date, attributes, text"),
                           ("cases", "name, attributes"),
                           ("codings", 'uuid, start, "end", code, coder, memo, text'),
                           ("memos", "uuid, target_type, target, author, text")):
        query = f"SELECT {columns} FROM {table} ORDER BY 1, 2"
        assert db_rows(first.db, query) == db_rows(second.db, query), table


def test_round_trip_of_a_coder_project_loses_nothing(rich, tmp_path):
    round_trip(rich, tmp_path / "trip")  # labels in two languages, criteria, keywords, memos of every kind


@needs_interop
def test_round_trip_of_an_imported_project_loses_nothing(project, tmp_path):
    ok(project, "import", INTEROP / "samples" / "valid_project.qdpx")
    round_trip(project, tmp_path / "trip")


# -- offsets: code points in, code points out, whatever the text holds -------------------------

from hypothesis import HealthCheck, assume, given, settings, strategies as st  # noqa: E402

TOKENS = ["Leder", "æøå", "ÆØÅ", "👍", "😀", "på", "Tjøme", " ", " ", ",", ".", "\n", "\r\n", "\r\n\r\n", "é"]


def qdpx_with(text: bytes, spans: list[tuple[int, int]]) -> bytes:
    """A minimal .qdpx: one source stored as `text`, one code, a selection per span."""
    source = "0A1B2C3D-0000-4000-8000-000000000001"
    selections = "".join(
        f'<PlainTextSelection guid="0A1B2C3D-0000-4000-8000-{i:012d}" startPosition="{s}" endPosition="{e}">'
        f'<Coding guid="0A1B2C3D-0000-4000-9000-{i:012d}"><CodeRef targetGUID="0A1B2C3D-0000-4000-A000-000000000002"/>'
        "</Coding></PlainTextSelection>" for i, (s, e) in enumerate(spans, start=10))
    qde = ('<?xml version="1.0" encoding="utf-8"?><Project xmlns="urn:QDA-XML:project:1.0" name="p"><CodeBook><Codes>'
           '<Code guid="0A1B2C3D-0000-4000-A000-000000000001" name="Topp" isCodable="false">'
           '<Code guid="0A1B2C3D-0000-4000-A000-000000000002" name="Kode" isCodable="true"/></Code></Codes></CodeBook>'
           f'<Sources><TextSource guid="{source}" name="t" plainTextPath="internal://{source}.txt">{selections}'
           "</TextSource></Sources></Project>")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("project.qde", qde.encode("utf-8"))
        archive.writestr(f"sources/{source}.txt", text)
    return buffer.getvalue()


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tokens=st.lists(st.sampled_from(TOKENS), min_size=1, max_size=40),
       cuts=st.lists(st.tuples(st.integers(0, 41), st.integers(0, 41)), min_size=1, max_size=6),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]))
def test_offsets_survive_export_and_import_whatever_the_text(tmp_path_factory, tokens, cuts, encoding):
    """Random text with emoji, æøå, é written decomposed, and CRLF, stored in UTF-8 (with or
    without a BOM) or UTF-16: every selection cut at a token boundary lands on exactly its
    text, normalised, in coder; and coder's export of it points at that same text."""
    import unicodedata

    raw = "Leder: Ja. " + "".join(tokens).replace("é", "e\u0301")  # é as e + combining accent: NFC joins them
    bounds = sorted({0, len(raw), *(len("Leder: Ja. ") + len("".join(tokens[:i]).replace("é", "e\u0301"))
                                    for i in range(len(tokens) + 1))})
    spans = sorted({(bounds[min(a, b) % len(bounds)], bounds[max(a, b) % len(bounds)]) for a, b in cuts})
    spans = [(s, e) for s, e in spans if s < e]  # an empty selection codes nothing (it is skipped, with a warning)
    assume(spans)

    def normalised(text: str) -> str:
        return unicodedata.normalize("NFC", text.replace("\r\n", "\n"))

    root = tmp_path_factory.mktemp("offsets")
    path = root / "random.qdpx"
    path.write_bytes(qdpx_with(raw.encode(encoding), spans))
    first = Project(root, root / "first.db")
    ok(first, "import", path)
    coded = sorted((text, start) for text, start in db_rows(first.db, "SELECT text, start FROM codings"))
    stored = db_rows(first.db, "SELECT text FROM transcripts")[0][0]
    assert stored == normalised(raw)
    assert sorted(t for t, _ in coded) == sorted(normalised(raw[s:e]) for s, e in spans)
    assert all(stored[start:start + len(text)] == text for text, start in coded)
    ok(first, "export", "qdpx", root / "again.qdpx")
    second = Project(root, root / "second.db")
    ok(second, "import", root / "again.qdpx")
    assert sorted(db_rows(second.db, 'SELECT text, start, "end" FROM codings')) == \
        sorted(db_rows(first.db, 'SELECT text, start, "end" FROM codings'))


@needs_interop
def test_reimporting_a_later_export_of_another_tool_updates_instead_of_doubling(project):
    original = INTEROP / "samples" / "valid_project.qdpx"
    ok(project, "import", original)
    with zipfile.ZipFile(original) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    qde_text = members["project.qde"].decode("utf-8")
    # in the other tool: a code renamed, a selection made shorter, a note edited
    qde_text = qde_text.replace('name="Krysspress"', 'name="Krysspress (stat/kommune)"')
    qde_text = qde_text.replace('startPosition="177" endPosition="276"', 'startPosition="177" endPosition="199"')
    qde_text = qde_text.replace("Liten kommune, kommunalt ansatt leder.", "Liten kommune.")
    qde_text = qde_text.replace("<IntegerValue>24310</IntegerValue>", "<IntegerValue>24400</IntegerValue>")
    qde_text = qde_text.replace("</TextSource>", '<VariableValue><VariableRef targetGUID="EAA90566-285B-5748-B504-'
                                                 '877BC90CB91C"/><TextValue>delt</TextValue></VariableValue>'
                                                 "</TextSource>", 1)
    members["project.qde"] = qde_text.encode("utf-8")
    later = project.root / "later.qdpx"
    with zipfile.ZipFile(later, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    result = project.run("import", later)
    assert result.exit_code == 0, result.stderr
    assert "0 new coding(s) (20 already there), 1 replaced" in result.stderr
    assert db_rows(project.db, "SELECT COUNT(*) FROM codings")[0][0] == 21
    assert db_rows(project.db, "SELECT COUNT(*) FROM codes")[0][0] == 16
    assert db_rows(project.db, "SELECT label FROM codes WHERE uuid = '15c2972c-bb81-5853-9795-3515837ae705'") == [
        ("Krysspress (stat/kommune)",)]
    assert db_rows(project.db, "SELECT text FROM codings WHERE uuid = '65b9bfe1-f84a-5a71-9382-4b23a12406ad'") == [
        ("Jeg er statlig ansatt,",)]
    assert "updated   Intervju 1 – Leder A (Fjordvik)" in result.stdout
    cases = {c["case"]: c for c in json.loads(ok(project, "cases", "list", "--json"))}
    assert cases["Leder A – Fjordvik"]["Innbyggertall"] == 24400
    attributes = db_rows(project.db, "SELECT attributes FROM transcripts WHERE name LIKE 'Intervju 1%'")[0][0]
    assert json.loads(attributes)["Ledelsesmodell"] == "delt"
    memos = [m["text"] for m in json.loads(ok(project, "report", "memos", "--json", "--type", "transcript"))]
    assert memos == ["Memo: Åsmark\nLiten kommune. Legg merke til hvor mye som avklares uformelt på Teams."]


@needs_interop
def test_transcript_options_are_refused_for_a_project_and_json_reports_it(project):
    path = INTEROP / "samples" / "valid_project.qdpx"
    result = project.run("import", path, "--case", "Hamar")
    assert result.exit_code == 2 and "--case" in result.stderr and not project.db.exists()
    report = json.loads(ok(project, "import", path, "--json"))
    assert report[0]["format"] == "qdpx" and report[0]["codings_new"] == 21
    assert [t["status"] for t in report[0]["transcripts"]] == ["imported"] * 3
    result = project.run("import", INTEROP / "samples" / "valid_codebook_hierarchical.qdc")
    assert result.exit_code == 2 and "codebook load" in result.stderr
    result = project.run("codebook", "validate", INTEROP / "samples" / "valid_codebook_hierarchical.qdc")
    assert result.exit_code == 0 and "3 dimension(s), 16 codes" in result.stderr
