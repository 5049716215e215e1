"""A study that changes (issue 14): transcripts listed, withdrawn and renamed; cases renamed
and removed; names and memos removed or edited; orphaned codings put back; and the history
of it all read with `coder log`. Each test drives the real command line and checks the
database afterwards."""
from __future__ import annotations

import json
import sqlite3

from conftest import HAMAR_1, LIER_1, db_rows

QUOTE = "Jeg har to sjefer, rådmannen og fylkesdirektøren."


def ok(project, *args, input=None):
    result = project.run(*args, input=input)
    assert result.exit_code == 0, result.stderr
    return result


def _coded(project):
    """hamar_1 coded by two coders, lier_1 by one, with memos on a transcript and a coding."""
    ok(project, "code", "quote", "hamar_1", QUOTE, "two_bosses")
    ok(project, "code", "add", "hamar_1", "4", "communication", "--coder", "bjorn")
    ok(project, "code", "add", "lier_1", "4", "equality")
    ok(project, "memo", "add", "Et rikt intervju.", "--transcript", "hamar_1")
    coding = ok(project, "code", "list", "--transcript", "hamar_1", "--coder", "bjorn", "--json").json()[0]
    ok(project, "memo", "add", "Kommunikasjon, tydelig.", "--coding", coding["id"])
    return coding


# -- transcripts list -------------------------------------------------------------------------

def test_transcripts_list_shows_case_informant_source_segments_codings_per_coder_and_status(loaded):
    _coded(loaded)
    loaded.write("transcripts/lier_1.txt", LIER_1.replace(" Det er ærlig talt en utfordring.", ""))
    ok(loaded, "code", "quote", "lier_1", "Det er ærlig talt en utfordring.", "relations")
    ok(loaded, "import", "transcripts/lier_1.txt")  # its coding on the sentence is orphaned
    (loaded.root / "transcripts" / "hamar_1.txt").unlink()
    rows = {r["transcript"]: r for r in ok(loaded, "transcripts", "list", "--json").json()}
    hamar, lier = rows["hamar_1"], rows["lier_1"]
    assert (hamar["case"], hamar["informant"], hamar["role"]) == ("Hamar", "Kari Solberg", "NAV-leder")
    assert hamar["source"].endswith("hamar_1.txt") and hamar["segments"] == 4
    assert hamar["by_coder"] == {"bjorn": 1, "tester": 1} and hamar["codings"] == 2
    assert hamar["status"] == "coded, file missing"
    assert (lier["codings"], lier["orphaned"], lier["status"]) == (1, 1, "coded, 1 orphaned")
    csv_lines = ok(loaded, "transcripts", "list", "--csv").stdout.splitlines()
    assert csv_lines[0] == "transcript,case,informant,source,segments,codings,orphaned,by_coder,status"
    assert csv_lines[1].startswith("hamar_1,Hamar,Kari Solberg,") and ",bjorn=1; tester=1," in csv_lines[1]
    piped = ok(loaded, "transcripts", "list").stdout.splitlines()  # not a terminal: tab-separated
    assert piped[0].split("\t") == ["transcript", "case", "informant", "segments", "codings", "by coder", "status",
                                    "source"]
    assert piped[1].split("\t")[:7] == ["hamar_1", "Hamar", "Kari Solberg", "4", "2", "bjorn 1, tester 1",
                                        "coded, file missing"]


def at_terminal(project, monkeypatch, module: str, *args: str, width: int = 80) -> list[str]:
    """What `coder ARGS` shows on a terminal `width` columns wide (colours off)."""
    import io
    import re

    from coder.render import Env

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen, errors = Terminal(), io.StringIO()
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setattr(f"coder.commands.{module}._env", lambda: Env(stdout=screen, stderr=errors, width=width))
    ok(project, *args)
    return [line.rstrip() for line in re.sub(r"\x1b\[[0-9;]*m", "", screen.getvalue()).splitlines()]


def test_transcripts_list_at_80_columns_is_one_table(loaded, monkeypatch):
    _coded(loaded)
    lines = at_terminal(loaded, monkeypatch, "transcripts", "transcripts", "list")
    assert max(map(len, lines)) <= 80, "\n".join(lines)
    assert not any("part 1 of" in line for line in lines)
    hamar = next(line for line in lines if "hamar_1" in line)
    assert hamar.split() == ["hamar_1", "Hamar", "Kari", "Solberg", "4", "bjorn", "1,", "tester", "1", "coded"]


# -- transcripts remove -----------------------------------------------------------------------

def test_removing_a_coded_transcript_is_refused_without_force(loaded):
    _coded(loaded)
    result = loaded.run("transcripts", "remove", "hamar_1")
    assert result.exit_code == 2
    assert "has 2 coding(s) and 2 memo(s); nothing was removed" in result.stderr and "--force" in result.stderr
    assert db_rows(loaded.db, "SELECT count(*) FROM transcripts WHERE name = 'hamar_1'") == [(1,)]
    assert db_rows(loaded.db, "SELECT count(*) FROM codings") == [(3,)]


def test_removing_a_transcript_backs_up_first_and_takes_its_codings_and_memos(loaded):
    _coded(loaded)
    before = ok(loaded, "report", "freq", "--json").json()
    result = ok(loaded, "transcripts", "remove", "hamar_1", "--force")
    assert "removed transcript hamar_1: 2 coding(s) and 2 memo(s) went with it (kept in the backup " in result.stderr
    backup = result.stderr.split("(kept in the backup ")[1].split(")")[0]
    # the backup holds the transcript and its codings as they were
    assert db_rows(loaded.root / backup, "SELECT count(*) FROM codings c JOIN transcripts t ON t.id = c.transcript_id "
                                          "WHERE t.name = 'hamar_1'") == [(2,)]
    assert db_rows(loaded.db, "SELECT name FROM transcripts") == [("lier_1",)]
    assert db_rows(loaded.db, "SELECT count(*) FROM codings") == [(1,)]
    assert db_rows(loaded.db, "SELECT count(*) FROM segments s WHERE s.transcript_id NOT IN "
                              "(SELECT id FROM transcripts)") == [(0,)]
    assert db_rows(loaded.db, "SELECT count(*) FROM memos") == [(0,)]
    # the counts of the report lose exactly Hamar's
    assert ok(loaded, "report", "freq", "--json").json() == [c for c in before if c["group"] != "Hamar"]
    entry = ok(loaded, "log", "--json", "--transcript", "hamar_1").json()[-1]
    assert entry["action"] == "transcripts.remove" and entry["details"]["removed"] == 2
    assert entry["details"]["backup"] == backup
    # restoring the backup brings it all back
    ok(loaded, "restore", backup)
    assert db_rows(loaded.db, "SELECT count(*) FROM codings") == [(3,)]


def test_an_uncoded_transcript_is_removed_without_force(loaded):
    result = ok(loaded, "transcripts", "remove", "lier_1")
    assert "0 coding(s)" in result.stderr and "importing it (or its folder) again adds it back" in result.stderr
    assert db_rows(loaded.db, "SELECT name FROM transcripts") == [("hamar_1",)]
    assert loaded.run("transcripts", "remove", "lier_1").exit_code == 2  # gone: unknown


# -- transcripts rename -----------------------------------------------------------------------

def test_renaming_a_transcript_keeps_its_codings_memos_and_counts(loaded):
    coding = _coded(loaded)
    before = ok(loaded, "report", "freq", "--json").json()
    result = ok(loaded, "transcripts", "rename", "hamar_1", "hamar_01")
    assert "renamed transcript hamar_1 to hamar_01 (2 coding(s) and 1 memo(s) follow it)" in result.stderr
    assert ok(loaded, "report", "freq", "--json").json() == before
    codings = ok(loaded, "code", "list", "--transcript", "hamar_01", "--json").json()
    assert {c["id"] for c in codings} >= {coding["id"]} and len(codings) == 2
    assert db_rows(loaded.db, "SELECT target FROM memos WHERE target_type = 'transcript'") == [("hamar_01",)]
    assert loaded.run("code", "list", "--transcript", "hamar_1").exit_code == 2
    ok(loaded, "code", "add", "hamar_01", "2", "equality")  # coded under its new name


def test_renaming_onto_a_name_in_use_is_refused(loaded):
    _coded(loaded)
    result = loaded.run("transcripts", "rename", "hamar_1", "lier_1")
    assert result.exit_code == 2 and "there is a transcript 'lier_1' already" in result.stderr
    assert loaded.run("transcripts", "rename", "hamar_1", "../x").exit_code == 2
    assert db_rows(loaded.db, "SELECT name FROM transcripts ORDER BY name") == [("hamar_1",), ("lier_1",)]


# -- orphans -----------------------------------------------------------------------------------

EDITED = HAMAR_1.replace("Jeg har to sjefer, rådmannen og fylkesdirektøren.",
                         "Jeg har nok to sjefer, både rådmannen og også fylkesdirektøren.")


def _orphaned(loaded):
    ok(loaded, "code", "quote", "hamar_1", QUOTE, "two_bosses")
    ok(loaded, "code", "quote", "hamar_1", "Det fungerer godt 👍 for oss.", "relations")
    # one sentence rewritten (found again only loosely), one deleted outright
    loaded.write("transcripts/hamar_1.txt", EDITED.replace(" Det fungerer godt 👍 for oss.", ""))
    result = ok(loaded, "import", "transcripts/hamar_1.txt", "--json")
    assert "2 orphaned" in result.json()[0]["message"]
    return {o["text"]: o for o in ok(loaded, "code", "orphans", "--json").json()}


def test_orphans_are_listed_with_their_old_text_and_best_places(loaded):
    orphans = _orphaned(loaded)
    rewritten = orphans[QUOTE]
    best = rewritten["candidates"][0]
    assert best["segment"] == 2 and best["score"] >= 80
    text = db_rows(loaded.db, "SELECT text FROM transcripts WHERE name = 'hamar_1'")[0][0]
    assert text[best["start"]:best["end"]] == best["text"]
    assert "to sjefer" in best["text"]
    gone = orphans["Det fungerer godt 👍 for oss."]
    assert all(c["score"] < 80 for c in gone["candidates"])
    table = ok(loaded, "code", "orphans").stdout
    assert rewritten["id"][:8] in table and "§2 (" in table


def test_an_orphan_is_placed_on_a_segment_or_a_quote(loaded):
    orphans = _orphaned(loaded)
    rewritten, gone = orphans[QUOTE], orphans["Det fungerer godt 👍 for oss."]
    result = ok(loaded, "code", "place", rewritten["id"][:8], "--quote", "to sjefer, både rådmannen")
    assert f"placed {rewritten['id'][:8]} vertical.two_bosses on hamar_1 §2" in result.stdout
    ok(loaded, "code", "place", gone["id"], "--segment", "4")
    rows = db_rows(loaded.db, "SELECT c.uuid, c.status, c.segment, c.text, substr(t.text, c.start + 1, c.\"end\" - c.start) "
                              "FROM codings c JOIN transcripts t ON t.id = c.transcript_id ORDER BY c.segment")
    assert [(r[1], r[2]) for r in rows] == [("ok", 2), ("ok", 4)]
    assert all(r[3] == r[4] for r in rows)  # each on exactly the text it now holds
    assert rows[0][3] == "to sjefer, både rådmannen"
    assert ok(loaded, "code", "orphans", "--json").json() == []
    cells = ok(loaded, "report", "freq", "--json").json()
    assert {c["code"] for c in cells} == {"vertical.two_bosses", "horizontal.relations"}
    placed = ok(loaded, "log", "--json", "--code", "two_bosses").json()[-1]
    assert placed["action"] == "code.place" and placed["details"]["before"] == QUOTE


def test_placing_refuses_what_is_not_an_orphan_or_not_there(loaded):
    orphans = _orphaned(loaded)
    ok(loaded, "code", "add", "hamar_1", "2", "equality")
    coded = ok(loaded, "code", "list", "--json").json()[0]
    result = loaded.run("code", "place", coded["id"], "--segment", "2")
    assert result.exit_code == 2 and "is not orphaned" in result.stderr
    some = next(iter(orphans.values()))
    assert loaded.run("code", "place", some["id"], "--segment", "99").exit_code == 2
    assert loaded.run("code", "place", some["id"], "--quote", "ingenting som dette finnes her").exit_code == 2
    assert loaded.run("code", "place", some["id"]).exit_code == 2
    assert len(ok(loaded, "code", "orphans", "--json").json()) == 2  # nothing was changed


def test_orphans_auto_places_only_confident_matches_in_one_go(loaded):
    orphans = _orphaned(loaded)
    result = ok(loaded, "code", "orphans", "--auto", "--threshold", "75", "--json")
    statuses = {r["id"]: r["status"] for r in result.json()}
    assert statuses == {orphans[QUOTE]["id"]: "placed", orphans["Det fungerer godt 👍 for oss."]["id"]: "left"}
    assert "1 placed, 1 left orphaned" in result.stderr
    left = ok(loaded, "code", "orphans", "--json").json()
    assert [o["text"] for o in left] == ["Det fungerer godt 👍 for oss."]
    entry = ok(loaded, "log", "--json").json()[-1]
    assert entry["action"] == "code.orphans.auto" and entry["details"]["placed"] == [orphans[QUOTE]["id"]]
    # a threshold nothing reaches places nothing and writes nothing
    ok(loaded, "code", "orphans", "--auto", "--threshold", "99")
    assert ok(loaded, "log", "--json").json()[-1]["id"] == entry["id"]


# -- the history -----------------------------------------------------------------------------

def test_log_shows_who_did_what_and_filters(loaded):
    ok(loaded, "code", "quote", "hamar_1", QUOTE, "two_bosses")
    ok(loaded, "code", "add", "lier_1", "2", "equality", "--coder", "bjorn")
    ok(loaded, "transcripts", "rename", "lier_1", "lier_01")
    entries = ok(loaded, "log", "--json").json()
    assert [e["action"] for e in entries][:2] == ["codebook.load", "import"]
    renamed = entries[-1]
    assert renamed["action"] == "transcripts.rename" and renamed["actor"] == "tester"
    assert renamed["summary"] == "renamed transcript lier_1 → lier_01"
    details = renamed["details"]
    assert {k: details[k] for k in ("old", "new", "codings", "memos")} == {"old": "lier_1", "new": "lier_01",
                                                                           "codings": 1, "memos": 0}
    assert details["file"].endswith("lier_1.txt") and details["new_file"].endswith("lier_01.txt")
    # bjorn's coding of lier_1 (under its name then) and the rename
    assert [e["action"] for e in ok(loaded, "log", "--json", "--transcript", "lier_01").json()] == \
        ["code.add", "transcripts.rename"]
    assert [e["id"] for e in ok(loaded, "log", "--json", "--limit", "2").json()] == [e["id"] for e in entries[-2:]]
    assert ok(loaded, "log", "--json", "--since", "2999-01-01").json() == []
    assert len(ok(loaded, "log", "--json", "--since", "2000-01-01").json()) == len(entries)
    assert loaded.run("log", "--since", "last tuesday").exit_code == 2
    piped = ok(loaded, "log").stdout.splitlines()
    assert piped[0].split("\t") == ["id", "at", "actor", "action", "summary"]
    assert piped[-1].split("\t")[3:] == ["transcripts.rename", "renamed transcript lier_1 → lier_01"]


def test_a_batch_is_one_line_and_expands(loaded):
    first = ok(loaded, "log", "--json").json()[0]  # the codebook load: 7 codes added
    line = ok(loaded, "log").stdout.splitlines()[1]
    assert line.split("\t")[4].startswith("loaded the codebook") and ", …" in line
    expanded = ok(loaded, "log", "--expand", str(first["id"])).stdout
    assert "added:" in expanded and "  - horizontal.relations.equality" in expanded
    assert loaded.run("log", "--expand", "9999").exit_code == 2


def test_log_shows_an_action_it_does_not_know_from_its_details(loaded):
    with sqlite3.connect(loaded.db) as conn:
        conn.execute("INSERT INTO audit(at, actor, action, details) VALUES ('2026-01-01T00:00:00+00:00', 'anna', "
                     "'codebook.merge', ?)", (json.dumps({"from": ["a.x", "a.y"], "to": "a.z", "codings": 12}),))
        conn.execute("INSERT INTO audit(at, actor, action, details) VALUES ('2026-01-02T00:00:00+00:00', 'anna', "
                     "'odd', 'not json')")
    entries = {e["action"]: e for e in ok(loaded, "log", "--json").json()}
    assert entries["codebook.merge"]["summary"] == "[a.x, a.y] → a.z; codings 12"
    assert entries["odd"]["summary"] == "text not json"
    assert [e["action"] for e in ok(loaded, "log", "--json", "--code", "a.z").json()] == ["codebook.merge"]


def test_log_follows_a_code_and_a_transcript_through_their_renames(loaded):
    ok(loaded, "code", "add", "hamar_1", "2", "two_bosses")
    ok(loaded, "transcripts", "rename", "hamar_1", "hamar_01")
    ok(loaded, "codebook", "rename", "two_bosses", "dual_command")
    ok(loaded, "code", "add", "lier_1", "2", "vertical.partnership_meeting")
    ok(loaded, "code", "move", "--code", "vertical.partnership_meeting", "--to", "dual_command")
    actions = [e["action"] for e in ok(loaded, "log", "--json", "--code", "two_bosses").json()]
    assert actions == ["codebook.load", "code.add", "codebook.rename", "code.move"]
    summaries = [e["summary"] for e in ok(loaded, "log", "--json", "--code", "dual_command").json()]
    assert summaries[-2:] == ["codebook rename vertical.two_bosses vertical.dual_command: 1 coding recoded; codebook version 2",
                              "moved 1 coding of vertical.partnership_meeting to vertical.dual_command"]
    assert [e["action"] for e in ok(loaded, "log", "--json", "--transcript", "hamar_1").json()] == \
        ["code.add", "transcripts.rename"]


def test_coding_a_transcript_whose_orphan_lies_beyond_its_shortened_text(loaded):
    """An orphaned coding keeps its old offsets; after an edit that shortened the text they lie
    past its end, and coding that transcript again crashed (IndexError) looking at them."""
    ok(loaded, "code", "quote", "lier_1", "Ja, jeg har to sjefer, og det går fint.", "two_bosses")
    loaded.write("transcripts/lier_1.txt", LIER_1.split("Intervjuer: Har dere to sjefer?")[0])
    ok(loaded, "import", "transcripts/lier_1.txt")
    (start,), = db_rows(loaded.db, "SELECT start FROM codings WHERE status = 'orphaned'")
    assert start > len(db_rows(loaded.db, "SELECT text FROM transcripts WHERE name = 'lier_1'")[0][0])
    ok(loaded, "code", "add", "lier_1", "2", "two_bosses")
    assert db_rows(loaded.db, "SELECT status, count(*) FROM codings GROUP BY status ORDER BY status") == \
        [("ok", 1), ("orphaned", 1)]


def test_a_re_anchored_coding_stays_within_the_turns_never_the_front_matter(project):
    """Re-anchoring searched the whole text: a coded turn that lost its first sentence was put
    on a span starting in the front matter ('Hamar\\n---\\nIntervjuer: Ofte ...')."""
    turn = ("Mandag styringen budsjettet gir. Ofte mandag hjelper kontoret ofte. Rådmannen brukerne styringen møtet "
            "ofte tillit partnerskapet.")
    text = f"---\ncase: Hamar\n---\nIntervjuer: {turn}\n\nLeder: Tillit krever lederen sjelden kommunen.\n"
    project.start("codebook.yaml", {"hamar_1.txt": text})
    ok(project, "code", "add", "hamar_1", "1", "two_bosses")
    project.write("transcripts/hamar_1.txt", text.replace("Mandag styringen budsjettet gir. ", ""))
    ok(project, "import", "transcripts/hamar_1.txt")
    (status, start, coded), = db_rows(project.db, "SELECT status, start, text FROM codings")
    (turn_start,), = db_rows(project.db, "SELECT start FROM segments WHERE number = 1")
    assert status == "orphaned" or (start >= turn_start and "---" not in coded), (status, start, coded)


# -- cases, names, memos ---------------------------------------------------------------------------

def test_renaming_a_case_moves_its_transcripts_and_survives_a_re_import(loaded):
    _coded(loaded)
    ok(loaded, "cases", "set", "Hamar", "population=27000")
    before = ok(loaded, "report", "freq", "--json").json()
    result = ok(loaded, "cases", "rename", "Hamar", "Kontor 1")
    assert "renamed case Hamar to Kontor 1 (1 transcript(s) follow it)" in result.stderr
    cases = {c["case"]: c for c in ok(loaded, "cases", "list", "--json").json()}
    assert set(cases) == {"Kontor 1", "Lier"} and cases["Kontor 1"]["population"] == 27000
    assert ok(loaded, "report", "freq", "--json").json() == [
        {**c, "group": "Kontor 1" if c["group"] == "Hamar" else c["group"]} for c in before]
    # the file's front matter still says Hamar: importing it (read again) keeps it in Kontor 1
    ok(loaded, "import", "transcripts/hamar_1.txt", "--checksum")
    loaded.write("transcripts/hamar_1.txt", HAMAR_1 + "\nIntervjuer: Takk.\n")
    ok(loaded, "import", "transcripts/hamar_1.txt")
    assert db_rows(loaded.db, "SELECT case_name FROM transcripts WHERE name = 'hamar_1'") == [("Kontor 1",)]
    assert db_rows(loaded.db, "SELECT name FROM cases ORDER BY name") == [("Kontor 1",), ("Lier",)]
    assert loaded.run("cases", "rename", "Kontor 1", "Lier").exit_code == 2
    assert loaded.run("cases", "rename", "Hamar", "X").exit_code == 2  # no such case now
    assert ok(loaded, "log", "--json").json()[-3]["summary"] == "renamed case Hamar → Kontor 1 (1 transcript)"


def test_removing_a_case_with_transcripts_needs_force_and_keeps_them_without_a_case(loaded):
    _coded(loaded)
    result = loaded.run("cases", "remove", "Lier")
    assert result.exit_code == 2 and "case 'Lier' has 1 transcript(s) (lier_1); nothing was removed" in result.stderr
    result = ok(loaded, "cases", "remove", "Lier", "--force")
    assert "its 1 transcript(s) (lier_1) are kept, now without a case" in result.stderr
    assert db_rows(loaded.db, "SELECT name, case_name FROM transcripts ORDER BY name") == [("hamar_1", "Hamar"),
                                                                                          ("lier_1", None)]
    assert db_rows(loaded.db, "SELECT count(*) FROM codings") == [(3,)]  # its codings stay
    assert db_rows(loaded.db, "SELECT name FROM cases") == [("Hamar",)]
    entry = ok(loaded, "log", "--json").json()[-1]
    assert entry["action"] == "cases.remove" and entry["details"]["transcripts"] == ["lier_1"]
    ok(loaded, "cases", "set", "Tom", "x=1")
    ok(loaded, "cases", "remove", "Tom")  # without transcripts: no --force needed


def test_a_listed_name_is_removed(loaded):
    ok(loaded, "names", "add", "Kari Solberg", "--as", "Leder A")
    ok(loaded, "names", "add", "Hamar", "--as", "Kontor 1", "--kind", "place")
    result = ok(loaded, "names", "remove", "Hamar")
    assert "'Hamar' (place, shown as 'Kontor 1') is no longer replaced" in result.stderr
    assert db_rows(loaded.db, "SELECT name FROM names") == [("Kari Solberg",)]
    result = loaded.run("names", "remove", "Kari Solbreg")
    assert result.exit_code == 2 and "did you mean 'Kari Solberg'?" in result.stderr
    assert ok(loaded, "log", "--json").json()[-1]["summary"] == \
        "took the place name Hamar off the list (was shown as Kontor 1)"


def test_a_memo_is_edited_and_removed_with_its_text_kept_in_the_history(loaded):
    _coded(loaded)
    memo = next(m for m in ok(loaded, "memo", "list", "--json").json() if m["type"] == "transcript")
    ok(loaded, "memo", "edit", memo["id"][:8], "--text", "Et svært rikt intervju.")
    assert db_rows(loaded.db, "SELECT text FROM memos WHERE uuid = ?", (memo["id"],)) == [("Et svært rikt intervju.",)]
    assert loaded.run("memo", "edit", memo["id"], "--text", "  ").exit_code == 2
    assert loaded.run("memo", "edit", "zz", "--text", "x").exit_code == 2
    assert loaded.run("memo", "remove", "abcdef99").exit_code == 2
    ok(loaded, "memo", "remove", memo["id"])
    assert db_rows(loaded.db, "SELECT count(*) FROM memos WHERE uuid = ?", (memo["id"],)) == [(0,)]
    edit, removal = ok(loaded, "log", "--json").json()[-2:]
    assert (edit["details"]["before"], edit["details"]["after"]) == ("Et rikt intervju.", "Et svært rikt intervju.")
    assert removal["action"] == "memo.remove" and removal["details"]["text"] == "Et svært rikt intervju."


def test_the_memo_list_shows_the_ids_memo_edit_takes_a_codings_own_memo_included(loaded):
    """memo list showed no id (only --json did), and a coding's own memo (code add --memo),
    listed among the memos, could be neither edited nor removed by its id."""
    ok(loaded, "code", "add", "hamar_1", "2", "two_bosses", "--memo", "Tydelig om to sjefer.")
    [uuid] = [r[0] for r in db_rows(loaded.db, "SELECT uuid FROM codings WHERE memo IS NOT NULL")]
    shown = ok(loaded, "memo", "list").stdout
    assert shown.splitlines()[0].split("\t")[0] == "id" and f"{uuid[:8]}\tcoding\thamar_1 §2" in shown
    ok(loaded, "memo", "edit", uuid[:8], "--text", "Svært tydelig.")
    assert db_rows(loaded.db, "SELECT memo FROM codings WHERE uuid = ?", (uuid,)) == [("Svært tydelig.",)]
    assert ok(loaded, "log", "--json").json()[-1]["details"]["before"] == "Tydelig om to sjefer."
    ok(loaded, "memo", "remove", uuid[:8])
    assert db_rows(loaded.db, "SELECT memo, status FROM codings WHERE uuid = ?", (uuid,)) == [(None, "ok")]
    assert loaded.run("memo", "remove", uuid[:8]).exit_code == 2  # no memo there any more


def test_a_coding_batch_names_its_transcripts_and_codes_so_the_log_finds_it(loaded):
    ok(loaded, "code", "add", "hamar_1", "2", "two_bosses")
    loaded.write("codings.csv", "transcript,code,segment\nhamar_1,communication,4\nlier_1,equality,2\n"
                                "lier_1,equality,4\n")
    ok(loaded, "code", "apply", "codings.csv")
    single, batch = ok(loaded, "log", "--json").json()[-2:]
    assert single["summary"] == f"coded vertical.two_bosses on hamar_1 §2 [{single['details']['start']}:" \
                                f"{single['details']['end']}]"
    assert batch["details"]["transcripts"] == ["hamar_1", "lier_1"]
    assert batch["summary"].startswith("applied 3 codings in 2 transcripts: hamar_1, lier_1 with 2 codes: "
                                       "horizontal.relations.communication, horizontal.relations.equality from ")
    found = ok(loaded, "log", "--json", "--transcript", "lier_1", "--code", "relations").json()
    assert [e["id"] for e in found] == [batch["id"]]
    assert [e["id"] for e in ok(loaded, "log", "--json", "--code", "two_bosses", "--coder", "tester").json()][-1] \
        == single["id"]


def test_a_merged_coding_re_anchored_onto_an_edited_text_stays_within_the_turns(project):
    """As a re-import, `merge` looked for the other copy's coded text in the whole of this
    copy's text, front matter included."""
    turn = ("Mandag styringen budsjettet gir. Ofte mandag hjelper kontoret ofte. Rådmannen brukerne styringen møtet "
            "ofte tillit partnerskapet.")
    text = f"---\ncase: Hamar\n---\nIntervjuer: {turn}\n\nLeder: Tillit krever lederen sjelden kommunen.\n"
    project.start("codebook.yaml", {"hamar_1.txt": text})
    ok(project, "backup", "other.db")
    ok(project, "--db", "other.db", "code", "add", "hamar_1", "1", "two_bosses", "--coder", "bjorn")
    project.write("transcripts/hamar_1.txt", text.replace("Mandag styringen budsjettet gir. ", ""))
    ok(project, "import", "transcripts/hamar_1.txt")
    ok(project, "merge", "other.db")
    (status, start, coded), = db_rows(project.db, "SELECT status, start, text FROM codings")
    (turn_start,), = db_rows(project.db, "SELECT start FROM segments WHERE number = 1")
    assert status == "orphaned" or (start >= turn_start and "---" not in coded), (status, start, coded)
