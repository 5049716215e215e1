"""`coder report agreement` and its statistics, checked against independent computations:
the `krippendorff` package, hand-worked kappa examples, Krippendorff's own published
example, and a brute-force recount of the units from what the CLI lists."""
from __future__ import annotations

import itertools
import math
from collections import Counter

import krippendorff
import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from coder.agreement import binary_table, cohen_kappa, krippendorff_alpha, percent_agreement
from conftest import db_rows

NAN = np.nan


def table_of(matrix: list[list]) -> Counter:
    """The reliability table of a coders × units matrix (None or NaN = missing)."""
    def value(v):
        return None if v is None or (isinstance(v, float) and math.isnan(v)) else v

    return Counter(tuple(value(row[u]) for row in matrix) for u in range(len(matrix[0])))


def package_alpha(matrix: list[list]) -> float | None:
    """The krippendorff package's nominal alpha; None where it finds it undefined."""
    data = np.array([[NAN if v is None else v for v in row] for row in matrix], dtype=float)
    try:
        value = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
    except (ValueError, ZeroDivisionError):
        return None
    return None if math.isnan(value) else float(value)


def reference_kappa(first: list, second: list) -> float | None:
    """Cohen's kappa as the textbook writes it: p_o, p_e from each coder's proportions."""
    pairs = [(a, b) for a, b in zip(first, second) if a is not None and b is not None]
    if not pairs:
        return None
    n = len(pairs)
    p_o = sum(1 for a, b in pairs if a == b) / n
    values = {v for pair in pairs for v in pair}
    p_e = sum((sum(1 for a, _ in pairs if a == v) / n) * (sum(1 for _, b in pairs if b == v) / n) for v in values)
    if math.isclose(p_e, 1.0):
        return None
    return (p_o - p_e) / (1 - p_e)


# -- the statistics against published and hand-worked examples ------------------------------

def test_krippendorffs_published_example_four_coders_twelve_units_missing_data():
    # "Computing Krippendorff's Alpha-Reliability" (2011), the nominal example: alpha = 0.743
    x = None
    matrix = [[1, 2, 3, 3, 2, 1, 4, 1, 2, x, x, x],
              [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, x, 3],
              [x, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, x],
              [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, x]]
    alpha = krippendorff_alpha(table_of(matrix))
    assert round(alpha, 3) == 0.743
    assert alpha == pytest.approx(package_alpha(matrix), abs=1e-12)
    assert cohen_kappa(table_of(matrix)) is None  # four coders


@pytest.mark.parametrize("both_yes, a_only, b_only, both_no, kappa", [
    (20, 5, 10, 15, 0.4),  # p_o = .70, p_e = .5 × .6 + .5 × .4 = .50
    (45, 15, 25, 15, 0.06 / 0.46),  # p_o = .60, p_e = .6 × .7 + .4 × .3 = .54
    (25, 35, 5, 35, 0.14 / 0.54),  # the same p_o, p_e = .6 × .3 + .4 × .7 = .46
])
def test_hand_worked_kappa(both_yes, a_only, b_only, both_no, kappa):
    table = {(1, 1): both_yes, (1, 0): a_only, (0, 1): b_only, (0, 0): both_no}
    assert cohen_kappa(table) == pytest.approx(kappa, abs=1e-12)
    n = both_yes + a_only + b_only + both_no
    assert percent_agreement(table) == pytest.approx(100 * (both_yes + both_no) / n)


def test_edge_cases_of_the_statistics():
    # total agreement on a constant: nothing to measure agreement against chance by
    constant = {(0, 0): 10}
    assert (percent_agreement(constant), cohen_kappa(constant), krippendorff_alpha(constant)) == (100.0, None, None)
    # total agreement with both values used: perfect
    perfect = {(1, 1): 3, (0, 0): 7}
    assert (cohen_kappa(perfect), krippendorff_alpha(perfect)) == (1.0, 1.0)
    # total disagreement
    opposite = {(1, 0): 5, (0, 1): 5}
    assert percent_agreement(opposite) == 0.0
    assert cohen_kappa(opposite) == -1.0
    assert krippendorff_alpha(opposite) == pytest.approx(package_alpha([[1] * 5 + [0] * 5, [0] * 5 + [1] * 5]))
    # one coder always yes, the other always no: kappa 0 (chance agreement 0), alpha below 0
    apart = {(1, 0): 10}
    assert cohen_kappa(apart) == 0.0
    assert krippendorff_alpha(apart) == pytest.approx(package_alpha([[1] * 10, [0] * 10]))
    # a code used by one coder only
    one_coder = {(1, 0): 2, (0, 0): 8}
    assert cohen_kappa(one_coder) == 0.0
    assert krippendorff_alpha(one_coder) == pytest.approx(package_alpha([[1, 1] + [0] * 8, [0] * 10]))
    # no units at all, or none with two values
    assert (percent_agreement({}), cohen_kappa({}), krippendorff_alpha({})) == (None, None, None)
    lonely = {(1, None): 3, (None, 0): 2}
    assert (percent_agreement(lonely), cohen_kappa(lonely), krippendorff_alpha(lonely)) == (None, None, None)


def test_missing_data_and_three_coders_match_the_package():
    x = None
    matrix = [[1, 0, 1, x, 0, 1, 1],
              [1, 1, x, 0, 0, 1, 0],
              [x, 0, 1, 0, 0, 1, 1]]
    assert krippendorff_alpha(table_of(matrix)) == pytest.approx(package_alpha(matrix), abs=1e-12)
    two = matrix[:2]
    assert cohen_kappa(table_of(two)) == pytest.approx(reference_kappa(*two), abs=1e-12)


def test_binary_table_fills_in_the_units_nobody_coded():
    assert binary_table({0b01: 2, 0b11: 3}, 2, 10) == {(1, 0): 2, (1, 1): 3, (0, 0): 5}


values = st.one_of(st.none(), st.integers(0, 2))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the package divides 0 by 0 where alpha is undefined
@settings(max_examples=60, deadline=None)
@given(st.integers(2, 4).flatmap(lambda coders: st.lists(st.lists(values, min_size=coders, max_size=coders),
                                                          min_size=1, max_size=25)))
def test_alpha_equals_the_krippendorff_package_and_kappa_the_textbook(units):
    matrix = [list(column) for column in zip(*units)]  # coders × units
    table = table_of(matrix)
    ours, theirs = krippendorff_alpha(table), package_alpha(matrix)
    if theirs is None:
        assert ours is None
    else:
        assert ours == pytest.approx(theirs, abs=1e-9)
    if len(matrix) == 2:
        expected = reference_kappa(*matrix)
        assert (cohen_kappa(table) is None) == (expected is None)
        if expected is not None:
            assert cohen_kappa(table) == pytest.approx(expected, abs=1e-9)
    else:
        assert cohen_kappa(table) is None


# -- the command, on a project -------------------------------------------------------------

def _code(project, *args):
    result = project.run("code", *args)
    assert result.exit_code == 0, result.stderr
    return result


def _agreement(project, *args) -> dict:
    result = project.run("report", "agreement", *args, "--json")
    assert result.exit_code == 0, result.stderr
    return {row["code"]: row for row in result.json()}


def _units(project, coders, transcripts, unit: str, code_prefix: str, exact: bool = False) -> list[list[int]]:
    """coders × units, 1 where the coder put the code (or a sub-code, unless `exact`) there,
    recounted the slow way from `code list` and `segments` (one unit at a time)."""
    codings = project.run("code", "list", "--json").json()
    segments = {name: project.run("segments", name, "--json").json() for name in transcripts}
    return _recount(codings, segments, coders, unit, code_prefix, exact)


def _recount(codings, segments: dict, coders, unit: str, code_prefix: str, exact: bool = False) -> list[list[int]]:
    matrix = [[] for _ in coders]
    for name, turns in segments.items():
        mine = [c for c in codings if c["transcript"] == name
                and (c["code"] == code_prefix or not exact and c["code"].startswith(code_prefix + "."))]
        if unit == "segments":
            for i, coder in enumerate(coders):
                coded = {c["segment"] for c in mine if c["coder"] == coder}
                matrix[i] += [1 if s["segment"] in coded else 0 for s in turns]
        else:
            positions = [p for s in turns for p in range(s["start"], s["end"])]
            for i, coder in enumerate(coders):
                spans = [(c["start"], c["end"]) for c in mine if c["coder"] == coder]
                matrix[i] += [1 if any(a <= p < b for a, b in spans) else 0 for p in positions]
    return matrix


@pytest.fixture
def two_coders(loaded):
    """hamar_1 and lier_1 coded by anna and bjorn, partly alike."""
    for args in (("hamar_1", "2", "two_bosses", "--coder", "anna"),
                 ("hamar_1", "2", "two_bosses", "--coder", "bjorn"),
                 ("hamar_1", "4", "communication", "--coder", "anna", "--memo", "ukentlig"),
                 ("hamar_1", "4", "equality", "--coder", "bjorn", "--memo", "likeverd?"),
                 ("hamar_1", "3", "vertical.partnership_meeting", "--coder", "bjorn"),
                 ("lier_1", "2", "equality", "--coder", "anna"),
                 ("lier_1", "2", "equality", "--coder", "bjorn"),
                 ("lier_1", "4", "two_bosses", "--coder", "anna")):
        _code(loaded, "add", *args)
    _code(loaded, "quote", "hamar_1", "Det er krevende", "two_bosses", "--coder", "carl")
    _code(loaded, "quote", "hamar_1", "rådmannen og fylkesdirektøren", "two_bosses", "--coder", "anna")
    return loaded


def test_agreement_per_code_and_pooled_equals_a_recount(two_coders):
    rows = _agreement(two_coders, "--coder", "anna", "--coder", "bjorn")
    assert list(rows)[-1] == "*"
    assert all(set(r) == {"code", "unit", "coders", "units", "percent_agreement", "cohen_kappa",
                          "krippendorff_alpha"} for r in rows.values())
    # both transcripts are coded by both: every segment of them is a unit
    segments = sum(len(two_coders.run("segments", name, "--json").json()) for name in ("hamar_1", "lier_1"))
    assert segments == 8
    assert {r["units"] for code, r in rows.items() if code != "*"} == {segments}
    assert rows["*"]["units"] == segments * len([c for c in rows if c != "*"])
    for code in ("vertical.two_bosses", "horizontal.relations", "horizontal.relations.equality",
                 "vertical.partnership_meeting"):
        matrix = _units(two_coders, ["anna", "bjorn"], ["hamar_1", "lier_1"], "segments", code)
        assert rows[code]["unit"] == "segments" and rows[code]["coders"] == ["anna", "bjorn"]
        assert rows[code]["krippendorff_alpha"] == pytest.approx(package_alpha(matrix), abs=1e-12)
        assert rows[code]["cohen_kappa"] == pytest.approx(reference_kappa(*matrix), abs=1e-12)
        agree = sum(1 for a, b in zip(*matrix) if a == b)
        assert rows[code]["percent_agreement"] == pytest.approx(100 * agree / len(matrix[0]))
    # relations holds communication and equality: anna and bjorn both coded segment 4 there
    assert rows["horizontal.relations"]["cohen_kappa"] == 1.0
    # a code used by bjorn only (on one segment): kappa 0, alpha 0, no error
    assert rows["vertical.partnership_meeting"]["cohen_kappa"] == 0.0
    assert rows["vertical.partnership_meeting"]["krippendorff_alpha"] == pytest.approx(0.0, abs=1e-12)
    # a code nobody used: agreement 100%, kappa and alpha undefined (null), no error
    assert rows["horizontal.partnership_meeting"]["percent_agreement"] == 100.0
    assert rows["horizontal.partnership_meeting"]["cohen_kappa"] is None
    assert rows["horizontal.partnership_meeting"]["krippendorff_alpha"] is None


def test_pooled_figures_count_each_code_on_its_own(two_coders):
    rows = _agreement(two_coders, "--coder", "anna", "--coder", "bjorn")
    codes = [c for c in rows if c != "*"]
    exact = [[], []]
    for code in codes:  # each code alone: its sub-codes' codings are not its own here
        matrix = _units(two_coders, ["anna", "bjorn"], ["hamar_1", "lier_1"], "segments", code, exact=True)
        exact[0] += matrix[0]
        exact[1] += matrix[1]
    assert rows["*"]["krippendorff_alpha"] == pytest.approx(package_alpha(exact), abs=1e-12)
    assert rows["*"]["cohen_kappa"] == pytest.approx(reference_kappa(*exact), abs=1e-12)


def test_characters_are_swept_from_the_spans(two_coders):
    rows = _agreement(two_coders, "--coder", "anna", "--coder", "bjorn", "--unit", "characters")
    chars = sum(s["end"] - s["start"] for name in ("hamar_1", "lier_1")
                for s in two_coders.run("segments", name, "--json").json())
    assert rows["vertical.two_bosses"]["unit"] == "characters"
    assert rows["vertical.two_bosses"]["units"] == chars
    for code in ("vertical.two_bosses", "horizontal.relations", "horizontal.relations.communication"):
        matrix = _units(two_coders, ["anna", "bjorn"], ["hamar_1", "lier_1"], "characters", code)
        assert rows[code]["krippendorff_alpha"] == pytest.approx(package_alpha(matrix), abs=1e-12)
        assert rows[code]["cohen_kappa"] == pytest.approx(reference_kappa(*matrix), abs=1e-12)


def test_three_coders_only_where_all_three_coded(two_coders):
    rows = _agreement(two_coders, "--coder", "anna", "--coder", "bjorn", "--coder", "carl")
    # carl coded hamar_1 only: lier_1 is no unit
    assert rows["vertical.two_bosses"]["units"] == len(two_coders.run("segments", "hamar_1", "--json").json()) == 4
    assert rows["vertical.two_bosses"]["coders"] == ["anna", "bjorn", "carl"]
    assert all(r["cohen_kappa"] is None for r in rows.values())
    matrix = _units(two_coders, ["anna", "bjorn", "carl"], ["hamar_1"], "segments", "vertical.two_bosses")
    assert rows["vertical.two_bosses"]["krippendorff_alpha"] == pytest.approx(package_alpha(matrix), abs=1e-12)
    # carl's quote in segment 2 agrees with anna's and bjorn's segment codings of it
    assert rows["vertical.two_bosses"]["percent_agreement"] == 100.0


def test_code_filter_and_output_formats(two_coders):
    rows = _agreement(two_coders, "--coder", "anna", "--coder", "bjorn", "--code", "relations")
    assert list(rows) == ["horizontal.relations", "horizontal.relations.communication",
                          "horizontal.relations.equality", "*"]
    csv_out = two_coders.run("report", "agreement", "--coder", "anna", "--coder", "bjorn", "--code", "relations",
                             "--csv")
    assert csv_out.stdout.splitlines()[0] == "code,unit,coders,units,percent_agreement,cohen_kappa,krippendorff_alpha"
    assert csv_out.stdout.splitlines()[1].startswith("horizontal.relations,segments,anna;bjorn,8,")
    md = two_coders.run("report", "agreement", "--coder", "anna", "--coder", "bjorn", "--md")
    assert md.exit_code == 0 and md.stdout.startswith("| code | unit |")
    table = two_coders.run("report", "agreement", "--coder", "anna", "--coder", "bjorn")
    assert "8 segments in 2 transcript(s) coded by both" in table.stdout
    assert "all codes (pooled)" in table.stdout


def test_the_report_filters_narrow_the_transcripts(two_coders):
    hamar = len(two_coders.run("segments", "hamar_1", "--json").json())
    lier = len(two_coders.run("segments", "lier_1", "--json").json())
    for filters, units in ((("--case", "hamar"), hamar), (("--where", "case=Lier"), lier),
                           (("--transcript", "lier_1", "--transcript", "hamar_1"), hamar + lier),
                           (("--case", "Hamar", "--where", "role=avdelingsleder kommune"), 0)):
        rows = _agreement(two_coders, "--coder", "anna", "--coder", "bjorn", *filters)
        assert rows["vertical.two_bosses"]["units"] == units, filters
    nothing = _agreement(two_coders, "--coder", "anna", "--coder", "bjorn", "--case", "Hamar", "--where",
                         "role=avdelingsleder kommune")
    assert all(r[k] is None for r in nothing.values() for k in ("percent_agreement", "cohen_kappa",
                                                                  "krippendorff_alpha"))
    dimension = _agreement(two_coders, "--coder", "anna", "--coder", "bjorn", "--dimension", "vertical")
    assert list(dimension) == ["vertical.two_bosses", "vertical.partnership_meeting", "*"]


def test_bad_input_is_one_line_and_exit_2(two_coders):
    one = two_coders.run("report", "agreement", "--coder", "anna")
    assert one.exit_code == 2 and "two or more coders" in one.stderr
    unknown = two_coders.run("report", "agreement", "--coder", "anna", "--coder", "nobody")
    assert unknown.exit_code == 2 and "no codings by 'nobody'" in unknown.stderr and "anna" in unknown.stderr
    unit = two_coders.run("report", "agreement", "--coder", "anna", "--coder", "bjorn", "--unit", "words")
    assert unit.exit_code == 2 and "unknown unit" in unit.stderr


def test_the_demo_is_coded_by_anna_and_bjorn(project):
    assert project.run("demo", str(project.root)).exit_code == 0
    rows = _agreement(project, "--coder", "anna", "--coder", "bjorn")
    transcripts = sorted({t for (t,) in db_rows(project.db, "SELECT t.name FROM transcripts t WHERE "
                                                             "(SELECT COUNT(DISTINCT coder) FROM codings c WHERE "
                                                             "c.transcript_id = t.id AND c.coder IN ('anna', 'bjorn'))"
                                                             " = 2")})
    assert transcripts
    code = "vertical.two_bosses"
    matrix = _units(project, ["anna", "bjorn"], transcripts, "segments", code)
    assert rows[code]["units"] == len(matrix[0])
    assert rows[code]["krippendorff_alpha"] == pytest.approx(package_alpha(matrix), abs=1e-12)
    assert rows[code]["cohen_kappa"] == pytest.approx(reference_kappa(*matrix), abs=1e-12)
    assert rows["*"]["cohen_kappa"] is not None


# -- who coded what -----------------------------------------------------------------------

def test_coders_lists_each_coder_per_code_and_transcript(two_coders):
    summaries = {s["coder"]: s for s in two_coders.run("coders", "--json").json()}
    assert list(summaries) == ["anna", "bjorn", "carl"]
    anna = summaries["anna"]
    assert anna["codings"] == 5 and anna["transcripts"] == 2
    assert anna["by_code"] == {"vertical.two_bosses": 3, "horizontal.relations.communication": 1,
                               "horizontal.relations.equality": 1}
    assert anna["by_transcript"] == {"hamar_1": 3, "lier_1": 2}
    assert summaries["carl"]["by_transcript"] == {"hamar_1": 1}
    rows = two_coders.run("coders", "--csv").stdout.splitlines()
    assert rows[0] == "coder,transcript,code,codings"
    assert "bjorn,hamar_1,vertical.partnership_meeting,1" in rows
    table = two_coders.run("coders")
    assert "Codings per code" in table.stdout and "Codings per transcript" in table.stdout


# -- disagreements ------------------------------------------------------------------------

def test_disagreements_list_each_segment_one_coder_coded_and_the_other_not(two_coders):
    result = two_coders.run("report", "disagreements", "--coder", "anna", "--coder", "bjorn", "--json")
    assert result.exit_code == 0, result.stderr
    found = [(d["transcript"], d["segment"], d["code"], d["coded_by"], d["not_coded_by"]) for d in result.json()]
    assert found == [("hamar_1", 3, "vertical.partnership_meeting", ["bjorn"], ["anna"]),
                     ("hamar_1", 4, "horizontal.relations.communication", ["anna"], ["bjorn"]),
                     ("hamar_1", 4, "horizontal.relations.equality", ["bjorn"], ["anna"]),
                     ("lier_1", 4, "vertical.two_bosses", ["anna"], ["bjorn"])]
    communication = result.json()[1]
    segment = two_coders.run("segments", "hamar_1", "--json").json()[3]
    assert communication["text"] == segment["text"]
    assert (communication["start"], communication["end"]) == (segment["start"], segment["end"])
    assert communication["memos"] == [{"coder": "anna", "memo": "ukentlig"}]
    assert communication["instead"] == [{"coder": "bjorn", "codes": ["horizontal.relations.equality"]}]
    # the same count as the agreement table's disagreeing units
    rows = _agreement(two_coders, "--coder", "anna", "--coder", "bjorn")
    matrix = _units(two_coders, ["anna", "bjorn"], ["hamar_1", "lier_1"], "segments", "vertical.two_bosses",
                    exact=True)
    assert sum(1 for a, b in zip(*matrix) if a != b) == 1
    assert rows["vertical.two_bosses"]["percent_agreement"] == pytest.approx(100 * 7 / 8)


def test_disagreement_sheet_as_markdown_docx_html_and_csv(two_coders):
    md = two_coders.run("report", "disagreements", "--coder", "anna", "--coder", "bjorn")
    assert md.exit_code == 0, md.stderr
    assert md.stdout.startswith("# Disagreements — anna and bjorn")
    assert md.stdout.index("## Hamar") < md.stdout.index("## Lier")
    assert "coded by anna, not by bjorn (there instead: bjorn: horizontal.relations.equality)" in md.stdout
    assert "Memo: anna: ukentlig" in md.stdout and "Memo: bjorn: likeverd?" in md.stdout
    assert "1 disagreement(s)" in md.stdout
    docx = two_coders.run("report", "disagreements", "--coder", "anna", "--coder", "bjorn", "--docx")
    assert docx.exit_code == 0, docx.stderr
    assert "wrote 4 disagreement(s) to exports/disagreements_anna-and-bjorn.docx" in docx.stderr
    from docx import Document

    paragraphs = [p.text for p in Document(two_coders.root / "exports/disagreements_anna-and-bjorn.docx").paragraphs]
    assert paragraphs[0] == "Disagreements — anna and bjorn"
    assert any(p.startswith("«Vi snakker sammen") or "Vi snakker sammen" in p for p in paragraphs)
    assert "lier_1 §4, coded by anna, not by bjorn" in paragraphs
    html = two_coders.run("report", "disagreements", "--coder", "anna", "--coder", "bjorn", "--html", "--out",
                          "sheet.html")
    assert html.exit_code == 0 and "<h2>Hamar</h2>" in (two_coders.root / "sheet.html").read_text()
    csv_out = two_coders.run("report", "disagreements", "--coder", "anna", "--coder", "bjorn", "--csv").stdout
    import csv
    import io

    records = list(csv.DictReader(io.StringIO(csv_out)))
    assert [(r["transcript"], r["segment"], r["code"]) for r in records][-1] == ("lier_1", "4", "vertical.two_bosses")
    assert len(records) == 4 and records[-1]["coder"] == "anna, not by bjorn"
    refused = two_coders.run("report", "disagreements", "--coder", "anna", "--coder", "bjorn", "--md", "--out",
                             "coder.db", "--force")
    assert refused.exit_code == 2 and db_rows(two_coders.db, "SELECT COUNT(*) FROM codings")[0][0] == 10


def test_disagreements_filtered_by_code_still_say_what_was_coded_instead(two_coders):
    result = two_coders.run("report", "disagreements", "--coder", "anna", "--coder", "bjorn", "--code", "equality",
                            "--json").json()
    assert [(d["code"], d["instead"]) for d in result] == [
        ("horizontal.relations.equality", [{"coder": "anna", "codes": ["horizontal.relations.communication"]}])]
    none = two_coders.run("report", "disagreements", "--coder", "anna", "--coder", "bjorn", "--case", "Lier",
                          "--code", "equality")
    assert none.exit_code == 0 and "anna and bjorn agree on every segment here." in none.stdout


# -- consensus ----------------------------------------------------------------------------

def _codings(project, coder):
    return db_rows(project.db, "SELECT t.name, c.segment, c.start, c.\"end\", c.code, c.memo, c.text FROM codings c "
                               "JOIN transcripts t ON t.id = c.transcript_id WHERE c.coder = ? "
                               "ORDER BY t.name, c.start, c.code", (coder,))


def test_accept_copies_one_coders_version_into_consensus_once(two_coders):
    result = two_coders.run("code", "accept", "--from", "bjorn", "--code", "relations", "--transcript", "hamar_1")
    assert result.exit_code == 0, result.stderr
    assert "consensus: 1 coding(s) accepted from bjorn" in result.stderr
    bjorn = [row for row in _codings(two_coders, "bjorn") if row[0] == "hamar_1" and "relations" in row[4]]
    assert _codings(two_coders, "consensus") == bjorn  # span, code and memo as bjorn coded them
    audit = db_rows(two_coders.db, "SELECT details FROM audit WHERE action = 'code.accept'")
    assert len(audit) == 1 and '"from_coder": "bjorn"' in audit[0][0]
    again = two_coders.run("code", "accept", "--from", "bjorn", "--code", "relations", "--transcript", "hamar_1")
    assert again.exit_code == 0 and "0 coding(s) accepted" in again.stderr and "1 already there" in again.stderr
    assert _codings(two_coders, "consensus") == bjorn
    assert len(db_rows(two_coders.db, "SELECT details FROM audit WHERE action = 'code.accept'")) == 1
    # then the analysis runs on the consensus
    freq = two_coders.run("report", "freq", "--coder", "consensus", "--json")
    assert freq.exit_code == 0
    assert {(c["group"], c["code"], c["count"]) for c in freq.json()} >= {("Hamar", "horizontal.relations.equality", 1)}


def test_accept_keeps_a_quoted_passage_as_coded_not_the_whole_turn(two_coders):
    result = two_coders.run("code", "accept", "--from", "carl", "--into", "team", "--json")
    assert result.exit_code == 0, result.stderr
    assert [r["status"] for r in result.json()] == ["coded"]
    (carl,) = _codings(two_coders, "carl")
    assert _codings(two_coders, "team") == [carl]
    assert carl[6] == "Det er krevende"  # a part of segment 2, not the turn


def test_accept_refuses_what_it_cannot_do(two_coders):
    unknown = two_coders.run("code", "accept", "--from", "nobody", "--code", "relations")
    assert unknown.exit_code == 2 and "no codings by 'nobody'" in unknown.stderr
    same = two_coders.run("code", "accept", "--from", "anna", "--into", "anna")
    assert same.exit_code == 2
    nothing = two_coders.run("code", "accept", "--from", "carl", "--code", "relations")
    assert nothing.exit_code == 0 and "nothing accepted" in nothing.stderr
    assert _codings(two_coders, "consensus") == []


# -- random codings through the command line ------------------------------------------------

CODES = ("vertical.two_bosses", "horizontal.relations", "horizontal.relations.communication",
         "horizontal.relations.equality")
coding = st.tuples(st.integers(0, 1), st.sampled_from(["hamar_1", "lier_1"]), st.sampled_from(CODES),
                   st.integers(0, 3), st.one_of(st.none(), st.tuples(st.floats(0, 1), st.floats(0, 1))))


RUNS = itertools.count()


@pytest.fixture(scope="module")
def random_project(tmp_path_factory):
    from conftest import CODEBOOK, HAMAR_1, LIER_1, Project

    root = tmp_path_factory.mktemp("random")
    project = Project(root, root / "coder.db")
    project.write("codebook.yaml", CODEBOOK)
    return project.start("codebook.yaml", {"hamar_1.txt": HAMAR_1, "lier_1.txt": LIER_1})


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck),
          phases=[Phase.explicit, Phase.reuse, Phase.generate])  # shrinking CLI runs takes minutes
@given(codings=st.lists(coding, min_size=1, max_size=12))
def test_random_codings_give_the_packages_alpha_and_the_textbook_kappa(random_project, codings):
    """Codings of whole segments and of any span inside one, by two coders new to the
    project (so earlier examples' codings do not count): each code's and the pooled figures,
    by segments and by characters, equal those recounted unit by unit."""
    project = random_project
    run = next(RUNS)
    coders = [f"a{run}", f"b{run}"]
    segments = {name: project.run("segments", name, "--json").json() for name in ("hamar_1", "lier_1")}
    lines = ["transcript,code,segment,start,end,coder"]
    for who, name, code, number, span in codings:
        segment = segments[name][number % len(segments[name])]
        if span is None:
            lines.append(f"{name},{code},{segment['segment']},,,{coders[who]}")
        else:
            length = segment["end"] - segment["start"]
            a, b = sorted(int(x * length) for x in span)
            if a == b:
                continue
            lines.append(f"{name},{code},,{segment['start'] + a},{segment['start'] + b},{coders[who]}")
    project.write("random.csv", "\n".join(lines) + "\n")
    applied = project.run("code", "apply", project.root / "random.csv")
    assert applied.exit_code == 0, applied.stderr
    listed = [c for who in coders for c in project.run("code", "list", "--coder", who, "--json").json()]
    shared = [name for name in segments if all(any(c["coder"] == who and c["transcript"] == name for c in listed)
                                               for who in coders)]
    if len(coders) != len({c["coder"] for c in listed if c["coder"] in coders}):
        assert project.run("report", "agreement", "--coder", coders[0], "--coder", coders[1]).exit_code == 2
        return
    for unit in ("segments", "characters"):
        rows = _agreement(project, "--coder", coders[0], "--coder", coders[1], "--unit", unit,
                          "--code", "two_bosses", "--code", "relations")
        pooled = [[], []]
        for code in CODES:
            turns = {name: segments[name] for name in shared}
            matrix = _recount(listed, turns, coders, unit, code) if shared else [[], []]
            exact = _recount(listed, turns, coders, unit, code, exact=True) if shared else [[], []]
            pooled = [pooled[0] + exact[0], pooled[1] + exact[1]]
            for name, ours, (first, second) in ((code, rows[code], matrix), ("*", rows["*"], pooled)):
                if name == "*" and code != CODES[-1]:
                    continue
                assert ours["units"] == len(first), (unit, name)
                if not first:
                    assert ours["krippendorff_alpha"] is None and ours["cohen_kappa"] is None
                    continue
                expected_alpha = package_alpha([first, second])
                expected_kappa = reference_kappa(first, second)
                for key, expected in (("krippendorff_alpha", expected_alpha), ("cohen_kappa", expected_kappa)):
                    if expected is None:
                        assert ours[key] is None, (unit, name, key)
                    else:
                        assert ours[key] == pytest.approx(expected, abs=1e-9), (unit, name, key)


def test_per_transcript_figures_as_nvivo_gives_them_per_source(two_coders):
    result = two_coders.run("report", "agreement", "--coder", "anna", "--coder", "bjorn", "--unit", "characters",
                            "--per-transcript", "--json")
    assert result.exit_code == 0, result.stderr
    records = result.json()
    overall = [r for r in records if "transcript" not in r]
    assert overall[-1]["code"] == "*" and len(overall) == len(_agreement(two_coders, "--coder", "anna", "--coder",
                                                                         "bjorn"))
    each = {(r["transcript"], r["code"]): r for r in records if "transcript" in r}
    # each code someone used in a transcript, and no other
    assert ("hamar_1", "horizontal.relations.communication") in each
    assert ("lier_1", "horizontal.relations.communication") not in each
    for (name, code), row in each.items():
        matrix = _units(two_coders, ["anna", "bjorn"], [name], "characters", code)
        assert row["units"] == len(matrix[0])
        assert row["krippendorff_alpha"] == pytest.approx(package_alpha(matrix), abs=1e-12)
        assert row["cohen_kappa"] == pytest.approx(reference_kappa(*matrix), abs=1e-12)
    table = two_coders.run("report", "agreement", "--coder", "anna", "--coder", "bjorn", "--per-transcript")
    assert "Per transcript (segments of each)" in table.stdout
    csv_header = two_coders.run("report", "agreement", "--coder", "anna", "--coder", "bjorn", "--per-transcript",
                                "--csv").stdout.splitlines()[0]
    assert csv_header == "code,transcript,unit,coders,units,percent_agreement,cohen_kappa,krippendorff_alpha"


@settings(max_examples=60, deadline=None)
@given(spans=st.lists(st.tuples(st.integers(1, 3), st.sampled_from(["a", "a.b", "a.b.c", "d"]),
                                st.sampled_from([1, 2]), st.integers(0, 40), st.integers(0, 40)), max_size=25))
def test_character_figures_summed_as_they_come_equal_those_per_transcript(spans):
    """Issue 19: `report agreement --unit characters` reads the spans a transcript at a time
    and, without --per-transcript, sums each code's figures as they come instead of keeping
    every (transcript, code): the totals are those the per-transcript figures add up to."""
    from coder.agreement import _ancestors, _character_masks, _summed

    spans = sorted(((tid, code, bit, min(a, b), max(a, b)) for tid, code, bit, a, b in spans), key=lambda s: s[0])
    bounds = {1: (0, 40), 2: (5, 30), 3: (0, 40)}
    ancestors = _ancestors(["a", "a.b", "a.b.c", "d"])
    each = _character_masks(iter(spans), bounds, ancestors, per_transcript=True)
    summed = _character_masks(iter(spans), bounds, ancestors, per_transcript=False)
    assert all(key[0] is None for masks in summed for key in masks)
    assert [_summed(m) for m in summed] == [_summed(m) for m in each]
