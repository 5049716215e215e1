"""Every number a report gives agrees with a recount done here, from `code list --json` and
the segment texts alone: overlapping codings by two coders, spans inside each other,
sub-codes, several cases; and every report takes the same filters with the same meaning."""
from __future__ import annotations

import csv
import io
import json
import re

from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import CODEBOOK, REPO, Project, db_rows

WORD = re.compile(r"\w+")  # the test's own idea of a word, as the README states it
CODES = ("vertical.two_bosses", "vertical.partnership_meeting", "horizontal.relations",
         "horizontal.relations.communication", "horizontal.relations.equality", "horizontal.partnership_meeting")
DIMENSIONS = ("vertical", "horizontal")
TURNS = (
    "Det er krevende å ha to sjefer, rådmannen og fylkesdirektøren.",
    "Vi møtes hver uke i partnerskapsmøtet og snakker om budsjett_2024.",
    "Kommunikasjonen er bedre nå, men staten bestemmer mye. Det er ærlig talt en utfordring!",
    "Ja.",
)
# name -> (case, informant); one informant was interviewed in two cases
TRANSCRIPTS = {"a_1": ("Alta", "Kari"), "a_2": ("Alta", "Per"), "b_1": ("Bodø", "Kari"), "c_1": ("Cecilie", "Ola")}


def _transcript(name: str) -> str:
    case, informant = TRANSCRIPTS[name]
    turns = "\n\n".join(f"{'Intervjuer' if i % 2 else 'Leder'}: {text}" for i, text in enumerate(TURNS))
    return f"---\ncase: {case}\ninformant: {informant}\n---\n{turns}\n"


def _start(project: Project) -> Project:
    project.write("codebook.yaml", CODEBOOK)
    project.start("codebook.yaml", {f"{name}.txt": _transcript(name) for name in TRANSCRIPTS})
    for case, population in (("Alta", 21000), ("Bodø", 52000), ("Cecilie", 900)):
        assert project.run("cases", "set", case, f"population={population}").exit_code == 0
    return project


def _apply(project: Project, rows: list[dict], *, all_found: bool = True) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, ["transcript", "code", "segment", "quote", "coder"])
    writer.writeheader()
    writer.writerows(rows)
    project.write("codings.csv", buffer.getvalue())
    result = project.run("code", "apply", project.root / "codings.csv")
    if all_found:
        assert result.exit_code == 0, result.stderr
    else:  # a generated quote may occur twice in its turn: that row is refused, the recount sees the rest
        assert result.exit_code in (0, 1), result.stderr
        assert all("ambiguous" in line for line in result.stderr.splitlines() if ": row " in line), result.stderr


# -- the recount ------------------------------------------------------------------------------

def _reaches(code: str) -> set[str]:
    """The code, every code above it, and its dimension."""
    parts = code.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts) + 1)}


class Recount:
    """Counts from `code list --json` and `segments --json`, nothing else."""

    def __init__(self, project: Project, *, coders: set[str] | None = None):
        self.codings = [c for c in project.run("code", "list", "--json").json()
                        if coders is None or c["coder"] in coders]
        self.segments = {name: project.run("segments", name, "--json").json() for name in TRANSCRIPTS}

    def words_of(self, name: str) -> list[tuple[int, int]]:
        return [(s["start"] + m.start(), s["start"] + m.end()) for s in self.segments[name]
                for m in WORD.finditer(s["text"])]

    def units(self, unit: str) -> dict[tuple[str, str], set]:
        """{(key, case): the units carrying the key}, a key being a code or a dimension."""
        out: dict[tuple[str, str], set] = {}
        for c in self.codings:
            case, informant = TRANSCRIPTS[c["transcript"]]
            if unit == "words":
                units = {(c["transcript"], w) for w in self.words_of(c["transcript"])
                         if c["start"] < w[1] and c["end"] > w[0]}
            else:
                units = {{"segments": (c["transcript"], c["segment"]), "documents": c["transcript"],
                          "informants": informant}[unit]}
            for key in _reaches(c["code"]):
                out.setdefault((key, case), set()).update(units)
        return out

    def freq(self, unit: str) -> dict[tuple[str, str], int]:
        return {cell: len(units) for cell, units in self.units(unit).items() if units}

    def totals(self, unit: str) -> dict[str, int]:
        out: dict[str, set] = {}
        for name, (case, informant) in TRANSCRIPTS.items():
            units = {"segments": {(name, s["segment"]) for s in self.segments[name]},
                     "words": {(name, w) for w in self.words_of(name)},
                     "documents": {name}, "informants": {informant}}[unit]
            out.setdefault(case, set()).update(units)
        return {case: len(units) for case, units in out.items()}

    def cooccurrence(self, unit: str) -> dict[tuple[str, str], int]:
        keys: dict = {}
        for c in self.codings:
            where = (c["transcript"], c["segment"]) if unit == "segments" else c["transcript"]
            keys.setdefault(where, set()).update(k for k in _reaches(c["code"]) if "." in k)
        pairs: dict = {}
        for on_unit in keys.values():
            for a in on_unit:
                for b in on_unit:
                    if a < b and not (b.startswith(a + ".") or a.startswith(b + ".")):
                        pairs[a, b] = pairs.get((a, b), 0) + 1
        return pairs


def _freq(project: Project, *args: str) -> dict[tuple[str, str], float]:
    result = project.run("report", "freq", *args, "--json")
    assert result.exit_code == 0, result.stderr
    return {(c["code"], c["group"]): c.get("percent", c["count"]) for c in result.json()}


def assert_reports_agree(project: Project) -> None:
    recount = Recount(project)
    for unit in ("segments", "words", "documents", "informants"):
        expected = recount.freq(unit)
        totals = recount.totals(unit)
        for level, keys in (("code", CODES), ("dimension", DIMENSIONS)):
            wanted = {cell: n for cell, n in expected.items() if cell[0] in keys}
            assert _freq(project, "--unit", unit, "--level", level) == wanted, (unit, level)
            percent = {cell: round(100.0 * n / totals[cell[1]], 1) for cell, n in wanted.items()}
            assert _freq(project, "--unit", unit, "--level", level, "--percent") == percent, (unit, level)
            assert all(p <= 100 for p in percent.values())
        matrix = project.run("report", "matrix", "--rows", "cases", "--cols", "codes", "--unit", unit, "--json")
        assert matrix.exit_code == 0, matrix.stderr
        assert {(r["col"], r["row"]): r["count"] for r in matrix.json()} == \
            {cell: n for cell, n in expected.items() if cell[0] in CODES}, unit
    for unit in ("segments", "documents"):
        pairs = project.run("report", "cooccurrence", "--unit", unit, "--json").json()
        assert {(p["code_a"], p["code_b"]): p["count"] for p in pairs} == recount.cooccurrence(unit), unit
        # the same count for a pair whichever codes are asked for
        for a, b in list(recount.cooccurrence(unit))[:3]:
            asked = project.run("report", "cooccurrence", "--unit", unit, "--codes", a, "--codes", b, "--json")
            assert asked.json() == [{"code_a": a, "code_b": b, "count": recount.cooccurrence(unit)[a, b]}]


# -- fixed examples from the issue -------------------------------------------------------------

def test_a_ten_word_turn_with_two_overlapping_codings_has_ten_coded_words(project):
    project.write("codebook.yaml", CODEBOOK)
    project.start("codebook.yaml", {"t.txt": "---\ncase: Hamar\n---\nLeder: en to tre fire fem seks sju åtte ni ti\n"})
    assert project.run("code", "add", "t", "1", "two_bosses").exit_code == 0
    assert project.run("code", "quote", "t", "to tre fire fem seks sju åtte ni ti", "vertical.partnership_meeting",
                       "--coder", "bjorn").exit_code == 0
    # the same code by two coders, spans overlapping
    assert project.run("code", "quote", "t", "en to tre fire", "equality").exit_code == 0
    assert project.run("code", "quote", "t", "tre fire fem", "equality", "--coder", "bjorn").exit_code == 0
    words = _freq(project, "--unit", "words", "--level", "dimension")
    assert words == {("vertical", "Hamar"): 10, ("horizontal", "Hamar"): 5}  # was 19 and 7
    assert _freq(project, "--unit", "words", "--level", "dimension", "--percent") == \
        {("vertical", "Hamar"): 100.0, ("horizontal", "Hamar"): 50.0}  # was 190 %
    codes = _freq(project, "--unit", "words")
    assert codes[("horizontal.relations.equality", "Hamar")] == 5
    assert codes[("horizontal.relations", "Hamar")] == 5
    matrix = project.run("report", "matrix", "--rows", "cases", "--cols", "dimensions", "--unit", "words", "--json")
    assert {r["col"]: r["count"] for r in matrix.json()} == {"vertical": 10, "horizontal": 5}
    # the stored counts hold it too
    assert db_rows(project.db, "SELECT SUM(n) FROM unit_counts WHERE unit = 'word_sets'") == [(10,)]
    assert project.run("check", "--json").json()[0]["stored_counts"] == "ok"


def test_the_demo_counts_the_144_distinct_words_of_two_bosses_in_hamar(project):
    assert project.run("demo", str(project.root)).exit_code == 0
    assert _freq(project, "--unit", "words")[("vertical.two_bosses", "Hamar")] == 144  # was 159
    matrix = project.run("report", "matrix", "--unit", "words", "--case", "Hamar", "--code", "two_bosses", "--json")
    assert matrix.json() == [{"row": "Hamar", "col": "vertical.two_bosses", "count": 144}]


def test_fixed_project_agrees_with_the_recount(project):
    _start(project)
    _apply(project, [
        {"transcript": "a_1", "code": "two_bosses", "segment": "1", "coder": "anna"},
        {"transcript": "a_1", "code": "two_bosses", "quote": "to sjefer, rådmannen", "coder": "bjorn"},
        {"transcript": "a_1", "code": "communication", "quote": "ha to sjefer", "coder": "bjorn"},
        {"transcript": "a_1", "code": "relations", "segment": "3", "coder": "anna"},
        {"transcript": "a_1", "code": "equality", "quote": "staten bestemmer mye", "coder": "bjorn"},
        {"transcript": "b_1", "code": "vertical.partnership_meeting", "segment": "2", "coder": "anna"},
        {"transcript": "b_1", "code": "horizontal.partnership_meeting", "quote": "partnerskapsmøtet og",
         "coder": "bjorn"},
        {"transcript": "c_1", "code": "equality", "segment": "4", "coder": "anna"},
        {"transcript": "a_2", "code": "two_bosses", "quote": "krevende å ha", "coder": "anna"},
    ])
    assert_reports_agree(project)


# -- the property ------------------------------------------------------------------------------

_WORDS = [[m.span() for m in WORD.finditer(text)] for text in TURNS]
_coding = st.tuples(st.sampled_from(sorted(TRANSCRIPTS)), st.integers(0, len(TURNS) - 1), st.sampled_from(CODES),
                    st.sampled_from(("anna", "bjorn")), st.integers(0, 20), st.integers(1, 20), st.booleans())


def _row(transcript, turn, code, coder, first, length, whole) -> dict:
    if whole:
        return {"transcript": transcript, "code": code, "segment": str(turn + 1), "coder": coder}
    words = _WORDS[turn]
    first = first % len(words)
    last = min(len(words) - 1, first + length - 1)
    quote = TURNS[turn][words[first][0]:words[last][1]]
    return {"transcript": transcript, "code": code, "segment": str(turn + 1), "quote": quote, "coder": coder}


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(codings=st.lists(_coding, min_size=1, max_size=14))
def test_freq_matrix_and_cooccurrence_agree_with_a_recount(tmp_path_factory, monkeypatch, codings):
    root = tmp_path_factory.mktemp("recount")
    monkeypatch.chdir(root)
    monkeypatch.setenv("CODER_NAME", "tester")
    project = _start(Project(root, root / "coder.db"))
    _apply(project, [_row(*coding) for coding in codings], all_found=False)
    assert_reports_agree(project)


# -- filters -----------------------------------------------------------------------------------

def _coded(project: Project) -> Project:
    _start(project)
    _apply(project, [
        {"transcript": "a_1", "code": "two_bosses", "segment": "1", "coder": "anna"},
        {"transcript": "a_1", "code": "communication", "segment": "3", "coder": "bjorn"},
        {"transcript": "a_2", "code": "equality", "segment": "3", "coder": "anna"},
        {"transcript": "b_1", "code": "two_bosses", "segment": "3", "coder": "bjorn"},
        {"transcript": "b_1", "code": "vertical.partnership_meeting", "segment": "2", "coder": "anna"},
        {"transcript": "c_1", "code": "equality", "segment": "1", "coder": "anna"},
    ])
    return project


def test_repeating_a_filter_keeps_every_value(project):
    _coded(project)
    quotes = project.run("report", "quotes", "--code", "two_bosses", "--code", "relations", "--json").json()
    assert sorted({q["code"] for q in quotes}) == ["horizontal.relations.communication",
                                                   "horizontal.relations.equality", "vertical.two_bosses"]
    cases = project.run("report", "quotes", "--case", "Alta", "--case", "Bodø", "--json").json()
    assert {q["case"] for q in cases} == {"Alta", "Bodø"}
    coders = project.run("report", "quotes", "--coder", "anna", "--coder", "bjorn", "--json").json()
    assert len(coders) == 6
    transcripts = project.run("report", "quotes", "--transcript", "a_1", "--transcript", "c_1", "--json").json()
    assert {q["transcript"] for q in transcripts} == {"a_1", "c_1"}


def test_every_report_takes_the_same_filters_with_the_same_meaning(project):
    _coded(project)
    filters = ["--case", "Alta", "--case", "Bodø", "--code", "vertical", "--code", "relations", "--coder", "anna",
               "--where", "population>20000"]
    # anna's codings in Alta and Bodø: a_1 two_bosses §1, a_2 equality §3, b_1 partnership_meeting §2
    assert _freq(project, *filters) == {("vertical.two_bosses", "Alta"): 1, ("horizontal.relations", "Alta"): 1,
                                        ("horizontal.relations.equality", "Alta"): 1,
                                        ("vertical.partnership_meeting", "Bodø"): 1}
    groups = project.run("report", "freq", *filters, "--csv").stdout.splitlines()[0].split(",")
    assert groups == ["dimension", "code", "label", "Alta", "Bodø", "total"]
    quotes = project.run("report", "quotes", *filters, "--json").json()
    assert sorted((q["transcript"], q["code"]) for q in quotes) == [
        ("a_1", "vertical.two_bosses"), ("a_2", "horizontal.relations.equality"),
        ("b_1", "vertical.partnership_meeting")]
    matrix = project.run("report", "matrix", *filters, "--json").json()
    assert {(r["row"], r["col"]): r["count"] for r in matrix} == {
        ("Alta", "vertical.two_bosses"): 1, ("Alta", "horizontal.relations"): 1,
        ("Alta", "horizontal.relations.equality"): 1, ("Bodø", "vertical.partnership_meeting"): 1}
    segments = project.run("export", "segments", *filters).stdout
    rows = list(csv.DictReader(io.StringIO(segments)))
    assert {r["transcript"] for r in rows} == {"a_1", "a_2", "b_1"}
    assert "horizontal.partnership_meeting" not in rows[0]
    assert sum(int(r["vertical.two_bosses"]) for r in rows) == 1  # bjorn's in Bodø is not counted
    assert project.run("report", "cooccurrence", *filters, "--json").exit_code == 0
    assert project.run("report", "memos", *filters, "--json").exit_code == 0
    # filters narrow the counts, not only the quotes (matrix --case/--code)
    narrow = project.run("report", "matrix", "--case", "Bodø", "--code", "two_bosses", "--json").json()
    assert narrow == [{"row": "Bodø", "col": "vertical.two_bosses", "count": 1}]


def test_memos_follow_the_filters(project):
    _coded(project)
    assert project.run("memo", "add", "om Alta", "--transcript", "a_1").exit_code == 0
    assert project.run("memo", "add", "om Bodø", "--transcript", "b_1").exit_code == 0
    assert project.run("memo", "add", "om koden", "--code", "two_bosses").exit_code == 0
    assert project.run("memo", "add", "om prosjektet").exit_code == 0
    texts = lambda *args: sorted(m["text"] for m in project.run("report", "memos", *args, "--json").json())  # noqa
    assert texts() == ["om Alta", "om Bodø", "om koden", "om prosjektet"]
    assert texts("--case", "Bodø") == ["om Bodø"]
    assert texts("--code", "two_bosses") == ["om koden"]


def test_cooccurrence_takes_a_dimension(project):
    _coded(project)
    _apply(project, [{"transcript": "a_1", "code": "equality", "segment": "1", "coder": "anna"}])
    pairs = project.run("report", "cooccurrence", "--codes", "vertical", "--codes", "relations", "--json")
    assert pairs.exit_code == 0, pairs.stderr
    assert pairs.json() == [{"code_a": "horizontal.relations", "code_b": "vertical", "count": 1}]


def test_where_is_parsed_strictly(project):
    _coded(project)
    cases = lambda *where: sorted({q["case"] for q in project.run(  # noqa: E731
        "report", "quotes", *[a for w in where for a in ("--where", w)], "--json").json()})
    assert cases("case!=Alta") == ["Bodø", "Cecilie"]
    assert cases("case=Alta,Cecilie") == ["Alta", "Cecilie"]
    assert cases("population>20000") == ["Alta", "Bodø"]
    assert cases("population<=21000") == ["Alta", "Cecilie"]
    assert cases("population>=900", "case!=Bodø") == ["Alta", "Cecilie"]
    for bad in ("=Unified", "leadership_model==unified", "population>many", "case="):
        result = project.run("report", "quotes", "--where", bad)
        assert result.exit_code == 2, bad
        assert "--where" in result.stderr and "--by" not in result.stderr, result.stderr
    unknown = project.run("report", "freq", "--where", "populaton=2")
    assert unknown.exit_code == 2 and "did you mean 'population'" in unknown.stderr
    missing = project.run("report", "quotes", "--where", "case=Oslo", "--json")
    assert missing.exit_code == 0 and missing.json() == []
    assert "Oslo" in missing.stderr and "Alta, Bodø, Cecilie" in missing.stderr


def test_an_attribute_name_with_a_quote_mark_works_in_where_and_by(project):
    _coded(project)
    assert project.run("cases", "set", "Alta", 'model "A"=split').exit_code == 0
    assert project.run("cases", "set", "Bodø", 'model "A"=joint').exit_code == 0
    quotes = project.run("report", "quotes", "--where", 'model "A"=split', "--json").json()
    assert {q["case"] for q in quotes} == {"Alta"}
    cells = project.run("report", "freq", "--by", 'model "A"', "--json").json()
    assert {c["group"] for c in cells} == {"split", "joint", "(none)"}


# -- retired codes, charts ---------------------------------------------------------------------

def test_a_retired_code_takes_no_new_codings_and_shows_under_its_parent(project):
    _coded(project)
    project.write("smaller.yaml", CODEBOOK.replace("          - id: equality\n            label: Likeverd\n", ""))
    assert project.run("codebook", "load", project.root / "smaller.yaml").exit_code == 0
    refused = project.run("code", "add", "a_1", "1", "relations.equality")
    assert refused.exit_code == 2
    assert "retired" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    project.write("batch.csv", "transcript,code,segment\na_1,equality,1\na_1,two_bosses,2\n")
    batch = project.run("code", "apply", project.root / "batch.csv")
    assert batch.exit_code == 1 and "retired" in batch.stderr
    assert db_rows(project.db, "SELECT COUNT(*) FROM codings WHERE code = 'horizontal.relations.equality'") == [(2,)]
    rows = project.run("report", "freq", "--csv").stdout.splitlines()
    labels = [r.split(",")[1] for r in rows[1:]]
    assert labels.index("horizontal.relations.equality") == labels.index("horizontal.relations.communication") + 1
    assert "(retired)" in rows[1 + labels.index("horizontal.relations.equality")]


def test_the_chart_draws_percentages_and_whole_number_ticks(project):
    _coded(project)
    svg = project.run("report", "freq", "--svg", "--percent", "--out", "p.svg")
    assert svg.exit_code == 0, svg.stderr
    drawn = (project.root / "p.svg").read_text()
    assert "% of all segments" in drawn
    counts = project.run("report", "freq", "--svg", "--out", "c.svg")
    assert counts.exit_code == 0
    ticks = re.findall(r"<!-- ([0-9.]+) -->", (project.root / "c.svg").read_text())
    assert ticks and all(float(t).is_integer() for t in ticks), ticks
