import csv

from conftest import db_rows

APPLY_FIELDS = {"row", "status", "transcript", "code", "segment", "start", "end", "score", "reason"}


def _write_csv(project, name, rows, header=("transcript", "code", "segment", "quote", "coder", "memo")):
    path = project.root / name
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_code_add_codes_the_whole_segment(loaded):
    result = loaded.run("code", "add", "hamar_1", "2", "vertical.two_bosses", "--memo", "tydelig")
    assert result.exit_code == 0
    codings = loaded.run("code", "list", "--json").json()
    assert len(codings) == 1
    coding = codings[0]
    assert set(coding) == {"id", "transcript", "case", "segment", "start", "end", "code", "coder", "memo", "text"}
    assert coding["code"] == "vertical.two_bosses" and coding["coder"] == "tester" and coding["memo"] == "tydelig"
    assert coding["text"].startswith("Det er krevende.")


def test_unknown_and_ambiguous_codes_are_refused_with_suggestions(loaded):
    result = loaded.run("code", "add", "hamar_1", "2", "two_boses")
    assert result.exit_code == 2
    assert "unknown code 'two_boses'" in result.stderr and "vertical.two_bosses" in result.stderr
    result = loaded.run("code", "add", "hamar_1", "2", "partnership_meeting")
    assert result.exit_code == 2
    assert "horizontal.partnership_meeting" in result.stderr and "vertical.partnership_meeting" in result.stderr
    assert db_rows(loaded.db, "SELECT count(*) FROM codings") == [(0,)]


def test_segment_out_of_range_and_unknown_transcript(loaded):
    assert loaded.run("code", "add", "hamar_1", "99", "two_bosses").exit_code == 2
    result = loaded.run("code", "add", "hamar_2", "1", "two_bosses")
    assert result.exit_code == 2 and "did you mean 'hamar_1'" in result.stderr


def test_code_quote_tolerates_ocr_swaps_and_codes_the_exact_span(loaded):
    result = loaded.run("code", "quote", "hamar_1", "jeg har to  sjefer, radmannen og fylkesdirektoren",
                        "two_bosses", "--json")
    assert result.exit_code == 0, result.stderr
    record = result.json()[0]
    text = db_rows(loaded.db, "SELECT text FROM transcripts WHERE name='hamar_1'")[0][0]
    assert text[record["start"]:record["end"]] == "Jeg har to sjefer, rådmannen og fylkesdirektøren"
    assert record["segment"] == 2 and 85 <= record["score"] <= 100


def test_code_quote_after_an_emoji_counts_code_points(loaded):
    result = loaded.run("code", "quote", "hamar_1", "for oss.", "communication", "--json")
    record = result.json()[0]
    text = db_rows(loaded.db, "SELECT text FROM transcripts WHERE name='hamar_1'")[0][0]
    assert text[record["start"]:record["end"]] == "for oss."
    assert text[record["start"] - 2] == "👍"


def test_code_quote_refuses_when_not_found_or_ambiguous(loaded):
    result = loaded.run("code", "quote", "hamar_1", "helt andre ord som ikke finnes her", "two_bosses")
    assert result.exit_code == 1 and "not found" in result.stderr
    result = loaded.run("code", "quote", "lier_1", "to sjefer", "two_bosses")
    assert result.exit_code == 1 and "several places" in result.stderr
    assert db_rows(loaded.db, "SELECT count(*) FROM codings") == [(0,)]


def test_apply_reports_every_row_and_is_idempotent(loaded):
    path = _write_csv(loaded, "codings.csv", [
        ("hamar_1", "two_bosses", "2", "", "anna", ""),
        ("hamar_1", "communication", "", "kommunikasjonen er bedre nå", "", "memo"),
        ("lier_1", "equality", "", "Vi er likeverdige parter", "bjorn", ""),
        ("lier_1", "nonsense", "2", "", "", ""),
        ("tjome_9", "two_bosses", "1", "", "", ""),
        ("lier_1", "two_bosses", "", "to sjefer", "", ""),
        ("lier_1", "two_bosses", "", "finnes slett ikke i teksten noe sted", "", ""),
        ("hamar_1", "two_bosses", "2", "", "anna", ""),
    ])
    result = loaded.run("code", "apply", str(path), "--json")
    assert result.exit_code == 1
    records = result.json()
    assert all(set(r) == APPLY_FIELDS for r in records)
    assert [r["row"] for r in records] == list(range(1, 9))
    assert [r["status"] for r in records] == ["coded", "coded", "coded", "unknown_code", "unknown_transcript",
                                              "ambiguous", "not_found", "duplicate"]
    assert db_rows(loaded.db, "SELECT coder FROM codings ORDER BY id") == [("anna",), ("tester",), ("bjorn",)]
    again = loaded.run("code", "apply", str(path), "--json")
    assert [r["status"] for r in again.json()][:3] == ["duplicate"] * 3
    assert db_rows(loaded.db, "SELECT count(*) FROM codings") == [(3,)]


def test_apply_all_good_exits_zero(loaded):
    path = _write_csv(loaded, "ok.csv", [("hamar_1", "two_bosses", "2", "", "", "")],
                      header=("transcript", "code", "segment", "quote", "coder", "memo"))
    assert loaded.run("code", "apply", str(path)).exit_code == 0
    assert loaded.run("code", "apply", str(path)).exit_code == 0


def test_apply_missing_column_is_bad_input(loaded):
    path = _write_csv(loaded, "bad.csv", [("hamar_1", "2")], header=("transcript", "segment"))
    result = loaded.run("code", "apply", str(path))
    assert result.exit_code == 2
    assert "bad.csv:1:" in result.stderr and "missing column 'code'" in result.stderr


def test_apply_reads_cp1252_csv(loaded):
    path = loaded.root / "win.csv"
    path.write_bytes("transcript;x\n".replace(";x", ",code,quote") .encode()
                     + "lier_1,equality,Det er ærlig talt en utfordring\n".encode("cp1252"))
    result = loaded.run("code", "apply", str(path), "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json()[0]["status"] == "coded"


def test_remove_by_short_id(loaded):
    loaded.run("code", "add", "hamar_1", "2", "two_bosses")
    coding_id = loaded.run("code", "list", "--json").json()[0]["id"]
    result = loaded.run("code", "remove", coding_id[:8])
    assert result.exit_code == 0
    assert db_rows(loaded.db, "SELECT count(*) FROM codings") == [(0,)]
    assert db_rows(loaded.db, "SELECT action FROM audit ORDER BY id DESC LIMIT 1") == [("code.remove",)]
    assert loaded.run("code", "remove", coding_id[:8]).exit_code == 2


def test_list_filters(loaded):
    loaded.run("code", "add", "hamar_1", "2", "two_bosses")
    loaded.run("code", "add", "lier_1", "2", "equality", "--coder", "bjorn")
    loaded.run("code", "add", "lier_1", "2", "communication")
    assert len(loaded.run("code", "list", "--code", "relations", "--json").json()) == 2
    assert len(loaded.run("code", "list", "--coder", "bjorn", "--json").json()) == 1
    assert len(loaded.run("code", "list", "--transcript", "hamar_1", "--json").json()) == 1
