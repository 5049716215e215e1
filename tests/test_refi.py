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
