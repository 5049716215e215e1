import json

from hypothesis import given, strategies as st

from coder.ingest import parse_transcript
from conftest import HAMAR_1, LIER_1, db_rows


def _segments(project, name):
    return project.run("segments", name, "--json").json()


def test_import_json_contract_and_reimport_is_a_no_op(loaded):
    first = db_rows(loaded.db, "SELECT count(*) FROM segments")
    result = loaded.run("import", "transcripts", "--json")
    assert result.exit_code == 0
    records = result.json()
    assert {r["status"] for r in records} == {"unchanged"}
    assert set(records[0]) == {"path", "transcript", "case", "status", "segments", "message"}
    assert db_rows(loaded.db, "SELECT count(*) FROM segments") == first


def test_segments_cover_turn_text_without_labels(loaded):
    segments = _segments(loaded, "hamar_1")
    assert [s["speaker"] for s in segments] == ["Intervjuer", "Leder", "Intervjuer", "Leder"]
    text = db_rows(loaded.db, "SELECT text FROM transcripts WHERE name='hamar_1'")[0][0]
    for s in segments:
        assert text[s["start"]:s["end"]] == s["text"]
    # "Klokka 10:30" continues the turn; the blank line inside a turn does not end it
    assert segments[1]["text"].endswith("Klokka 10:30 hver mandag har vi møte.")
    assert segments[3]["text"].endswith("kommunikasjonen er bedre nå.")
    assert "Det fungerer godt 👍" in segments[3]["text"]


def test_front_matter_fields_and_attributes(loaded):
    row = db_rows(loaded.db, "SELECT case_name, informant, role, date, attributes FROM transcripts "
                             "WHERE name='hamar_1'")[0]
    assert row[:4] == ("Hamar", "Kari Solberg", "NAV-leder", "2007-03-01")
    assert json.loads(row[4]) == {"interviewer": "A"}


def test_encodings_all_give_the_same_offsets(project):
    project.run("init", "--codebook", "codebook.yaml")
    body = LIER_1.replace("case: Lier", "case: Asker")
    project.write("enc/utf8.txt", body)
    project.write("enc/bom_crlf.txt", b"\xef\xbb\xbf" + body.replace("\n", "\r\n").encode("utf-8"))
    project.write("enc/utf16.txt", body.encode("utf-16"))
    project.write("enc/cp1252.txt", body.replace("\n", "\r\n").encode("cp1252"))
    project.write("enc/old_mac.txt", body.replace("\n", "\r").encode("utf-8"))
    result = project.run("import", "enc", "--json")
    assert result.exit_code == 0, result.stderr
    assert [r["status"] for r in result.json()] == ["imported"] * 5
    texts = db_rows(project.db, "SELECT name, text, sha256 FROM transcripts ORDER BY name")
    assert len({t[1] for t in texts}) == 1
    expected = _segments(project, "utf8")
    for name in ("bom_crlf", "utf16", "cp1252", "old_mac"):
        assert [(s["start"], s["end"], s["text"]) for s in _segments(project, name)] == \
               [(s["start"], s["end"], s["text"]) for s in expected]


def test_binary_file_is_an_error_and_the_rest_of_the_batch_imports(project):
    project.run("init")
    project.write("batch/good.txt", LIER_1)
    project.write("batch/image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    project.write("batch/empty.md", "---\ncase: Lier\n---\n\n")
    result = project.run("import", "batch", "--json")
    assert result.exit_code == 1
    by_name = {r["transcript"]: r for r in result.json()}
    assert by_name["good"]["status"] == "imported"
    assert by_name["image"]["status"] == "error" and "binary" in by_name["image"]["message"]
    assert by_name["empty"]["status"] == "error" and "no text" in by_name["empty"]["message"]
    assert "image.txt" in by_name["image"]["message"]
    assert db_rows(project.db, "SELECT name FROM transcripts") == [("good",)]


def test_single_bad_file_is_bad_input_with_file_and_line(project):
    project.run("init")
    project.write("broken.txt", "---\ncase: [Lier\n---\nLeder: hei\n")
    result = project.run("import", "broken.txt")
    assert result.exit_code == 2
    assert "broken.txt:3:" in result.stderr or "broken.txt:2:" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_path_and_missing_database(project):
    result = project.run("import", "nowhere")
    assert result.exit_code == 2
    assert "coder init" in result.stderr
    project.run("init")
    result = project.run("import", "nowhere")
    assert result.exit_code == 2
    assert "nowhere" in result.stderr


def test_case_override_moves_an_unchanged_transcript(loaded):
    result = loaded.run("import", "transcripts/lier_1.txt", "--case", "Asker", "--json")
    assert result.json()[0]["status"] == "updated"
    assert db_rows(loaded.db, "SELECT case_name FROM transcripts WHERE name='lier_1'") == [("Asker",)]
    again = loaded.run("import", "transcripts/lier_1.txt", "--case", "Asker", "--json")
    assert again.json()[0]["status"] == "unchanged"


def test_changed_transcript_keeps_codings_re_anchored(loaded):
    assert loaded.run("code", "quote", "hamar_1", "Jeg har to sjefer, rådmannen og fylkesdirektøren.",
                      "two_bosses").exit_code == 0
    assert loaded.run("code", "add", "hamar_1", "4", "communication").exit_code == 0
    edited = HAMAR_1.replace("Intervjuer: Hvordan er det å ha to sjefer?",
                             "Intervjuer: Takk for at du stiller opp.\n\nLeder: Bare hyggelig.\n\n"
                             "Intervjuer: Hvordan er det å ha to sjefer?")
    loaded.write("transcripts/hamar_1.txt", edited)
    result = loaded.run("import", "transcripts/hamar_1.txt", "--json")
    assert result.exit_code == 0
    assert result.json()[0]["status"] == "updated"
    codings = loaded.run("code", "list", "--transcript", "hamar_1", "--json").json()
    text = db_rows(loaded.db, "SELECT text FROM transcripts WHERE name='hamar_1'")[0][0]
    assert len(codings) == 2
    for coding in codings:
        assert text[coding["start"]:coding["end"]] == coding["text"]
    assert {c["segment"] for c in codings} == {4, 6}
    assert codings[0]["text"] == "Jeg har to sjefer, rådmannen og fylkesdirektøren."


def test_deleted_text_orphans_the_coding_instead_of_losing_it(loaded):
    loaded.run("code", "quote", "lier_1", "Det er ærlig talt en utfordring.", "equality")
    loaded.write("transcripts/lier_1.txt", LIER_1.replace(" Det er ærlig talt en utfordring.", ""))
    result = loaded.run("import", "transcripts/lier_1.txt", "--json")
    assert "orphaned" in result.json()[0]["message"]
    orphans = loaded.run("code", "list", "--orphaned", "--json").json()
    assert len(orphans) == 1 and orphans[0]["text"] == "Det er ærlig talt en utfordring."
    assert loaded.run("report", "quotes", "--json").json() == []


# -- property: offsets always select exactly the segment text -----------------------------

_words = st.sampled_from(["hei", "ærlig", "møte", "på", "NAV", "sjef", "10:30", "👍", "Leder", "stat", "kommune",
                          "a:b", "—", "«sitat»", "", " "])
_line = st.lists(_words, min_size=0, max_size=8).map(" ".join)
_label = st.sampled_from(["Leder", "Intervjuer", "NAV-leder 2", "Avdelingsleder kommune"])
_turn = st.tuples(_label, st.lists(_line, min_size=1, max_size=4)).map(
    lambda t: f"{t[0]}: " + "\n".join(t[1]))
_newline = st.sampled_from(["\n", "\r\n", "\r"])


@given(turns=st.lists(_turn | _line, min_size=1, max_size=12), sep=st.sampled_from(["\n", "\n\n", "\n \n"]),
       newline=_newline, front=st.booleans())
def test_segment_offsets_select_exactly_the_segment_text(turns, sep, newline, front):
    from coder.text import normalise

    raw = ("---\ncase: Tjøme\n---\n" if front else "") + sep.join(turns)
    text = normalise(raw.replace("\n", newline))
    try:
        parsed = parse_transcript(text, path="t.txt", name="t")
    except Exception as exc:  # only the documented error is allowed
        from coder.errors import InputError

        assert isinstance(exc, InputError) and "no text" in str(exc)
        return
    previous_end = 0
    for number, segment in enumerate(parsed.segments, start=1):
        assert segment.number == number
        assert text[segment.start:segment.end] == segment.text
        assert segment.text == segment.text.strip() and segment.text
        assert segment.start >= previous_end
        previous_end = segment.end
    if front:
        assert parsed.case == "Tjøme"
        assert all(s.start > text.index("---", 3) for s in parsed.segments)


def test_undecodable_file_names_what_was_tried(project):
    project.run("init")
    project.write("bad.txt", b"Leder: hei \x81\x8d\x8f\x90 der\n")
    result = project.run("import", "bad.txt")
    assert result.exit_code == 2
    assert "bad.txt:1: cannot decode as UTF-8 or cp1252" in result.stderr
