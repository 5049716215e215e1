import json
import os

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


# -- re-import judged by size and modification time ---------------------------------------

def _age(path, seconds: int = 3600) -> int:
    """Date a file back, as a corpus on disk is by the time it is imported again."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns - seconds * 1_000_000_000))
    return path.stat().st_mtime_ns


def test_reimport_does_not_read_a_file_whose_size_and_time_are_unchanged(loaded, monkeypatch):
    for name in ("hamar_1", "lier_1"):
        _age(loaded.root / "transcripts" / f"{name}.txt")
    assert loaded.run("import", "transcripts", "--checksum").exit_code == 0  # hashed, then remembered
    assert db_rows(loaded.db, "SELECT count(*) FROM transcript_files WHERE size IS NOT NULL") == [(2,)]

    import coder.ingest
    import coder.importing

    def unread(*args, **kwargs):
        raise AssertionError("an unchanged file was read")

    monkeypatch.setattr(coder.importing, "read_transcript", unread)
    monkeypatch.setattr(coder.importing.Path, "read_bytes", unread)
    result = loaded.run("import", "transcripts", "--json")
    assert result.exit_code == 0, result.stderr
    assert [(r["transcript"], r["status"], r["segments"]) for r in result.json()] == [
        ("hamar_1", "unchanged", 4), ("lier_1", "unchanged", 4)]
    monkeypatch.chdir(loaded.root / "transcripts")  # the same files, typed from another folder
    result = loaded.run("import", ".", "--json")
    assert [(r["transcript"], r["status"]) for r in result.json()] == [("hamar_1", "unchanged"), ("lier_1", "unchanged")]


def test_a_file_edited_a_moment_ago_is_hashed_next_time(loaded):
    # the fixture's files were just written: their times are not trusted, so none is kept
    assert db_rows(loaded.db, "SELECT size, mtime_ns, named_case FROM transcript_files ORDER BY transcript_id") == [
        (None, None, "Hamar"), (None, None, "Lier")]
    path = loaded.root / "transcripts" / "lier_1.txt"
    path.write_text(LIER_1.replace("Ja, jeg", "Nei, jeg"), encoding="utf-8")  # same size, within the same second
    result = loaded.run("import", "transcripts", "--json")
    assert [r["status"] for r in result.json()] == ["unchanged", "updated"]


def test_checksum_finds_an_edit_that_kept_the_size_and_time(loaded):
    path = loaded.root / "transcripts" / "lier_1.txt"
    mtime = _age(path)
    assert loaded.run("import", "transcripts").exit_code == 0
    # an edit of the same length, with the modification time put back (as `touch -r` or a
    # restore can): size and time cannot tell, as for make and rsync; --checksum can
    path.write_text(LIER_1.replace("Ja, jeg", "Nei jeg"), encoding="utf-8")
    os.utime(path, ns=(mtime, mtime))
    assert loaded.run("import", "transcripts", "--json").json()[1]["status"] == "unchanged"
    assert loaded.run("import", "transcripts", "--checksum", "--json").json()[1]["status"] == "updated"
    text = db_rows(loaded.db, "SELECT text FROM transcripts WHERE name = 'lier_1'")[0][0]
    assert "Nei jeg har to sjefer" in text


def test_front_matter_case_still_moves_a_transcript_known_by_its_size_and_time(loaded):
    path = loaded.root / "transcripts" / "lier_1.txt"
    assert loaded.run("import", str(path), "--case", "Asker").exit_code == 0
    _age(path)
    assert loaded.run("import", str(path), "--case", "Asker", "--checksum").exit_code == 0  # remembered
    # without --case, the front matter's case (Lier) applies again, known without hashing the file
    result = loaded.run("import", str(path), "--json")
    assert result.json()[0]["status"] == "updated" and result.json()[0]["case"] == "Lier"
    assert db_rows(loaded.db, "SELECT case_name FROM transcripts WHERE name = 'lier_1'") == [("Lier",)]


def test_a_folder_is_read_at_any_depth_through_links_without_looping(project):
    assert project.run("init", "--codebook", "codebook.yaml").exit_code == 0
    project.write("corpus/2007/hamar_1.txt", HAMAR_1)
    project.write("elsewhere/lier_1.md", LIER_1)
    project.write("corpus/notes.pdf", b"not a transcript")  # a type import does not read: passed over
    (project.root / "corpus" / "linked").symlink_to(project.root / "elsewhere", target_is_directory=True)
    (project.root / "elsewhere" / "back").symlink_to(project.root / "corpus", target_is_directory=True)  # a cycle
    result = project.run("import", "corpus", "--json", "--follow-links")  # "linked" leads outside corpus/
    assert result.exit_code == 0, result.stderr
    assert [(r["transcript"], r["status"]) for r in result.json()] == [("hamar_1", "imported"), ("lier_1", "imported")]
