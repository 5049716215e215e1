"""Changing the codebook by command (issue 14): rename, move, merge, split and delete codes,
move and remove codings in bulk. Each test runs the real CLI on a small coded project and
checks the database: no coding is lost, each is on the code intended, and `report freq`
counts what the codings say."""
from __future__ import annotations

import json

import pytest

from conftest import db_rows

# (transcript, segment, code, coder): codings on the conftest codebook's codes
CODINGS = [
    ("hamar_1", 2, "two_bosses", "anna"),
    ("hamar_1", 2, "two_bosses", "bjorn"),
    ("hamar_1", 4, "communication", "anna"),
    ("hamar_1", 4, "equality", "anna"),
    ("hamar_1", 4, "relations", "bjorn"),
    ("lier_1", 2, "equality", "anna"),
    ("lier_1", 4, "two_bosses", "anna"),
    ("lier_1", 4, "vertical.partnership_meeting", "bjorn"),
]


@pytest.fixture
def coded(loaded):
    for transcript, segment, code, coder in CODINGS:
        result = loaded.run("code", "add", transcript, str(segment), code, "--coder", coder)
        assert result.exit_code == 0, result.stderr
    return loaded


def codings(db) -> dict[str, tuple]:
    """uuid -> (transcript, segment, code, coder) of every coding."""
    return {r[0]: tuple(r[1:]) for r in db_rows(
        db, "SELECT c.uuid, t.name, c.segment, c.code, c.coder FROM codings c JOIN transcripts t ON t.id = c.transcript_id")}


def freq(project) -> dict[str, int]:
    result = project.run("report", "freq", "--json")
    assert result.exit_code == 0, result.stderr
    counts: dict[str, int] = {}
    for row in result.json():
        counts[row["code"]] = counts.get(row["code"], 0) + row["count"]
    return counts


def last_audit(db) -> tuple[str, dict]:
    action, details = db_rows(db, "SELECT action, details FROM audit ORDER BY id DESC LIMIT 1")[0]
    return action, json.loads(details)


def test_rename_carries_codings_subcodes_and_memos(coded):
    before, counts = codings(coded.db), freq(coded)
    assert coded.run("memo", "add", "Close to trust.", "--code", "communication").exit_code == 0
    result = coded.run("codebook", "rename", "relations", "ties")
    assert result.exit_code == 0, result.stderr
    assert "renamed 'horizontal.relations' to 'horizontal.ties' with 2 sub-code(s): 4 coding(s) go with it" \
        in result.stderr
    renamed = {"horizontal.relations": "horizontal.ties",
               "horizontal.relations.communication": "horizontal.ties.communication",
               "horizontal.relations.equality": "horizontal.ties.equality"}
    after = codings(coded.db)
    assert after == {u: (t, s, renamed.get(c, c), who) for u, (t, s, c, who) in before.items()}
    assert freq(coded) == {renamed.get(code, code): n for code, n in counts.items()}
    assert db_rows(coded.db, "SELECT target FROM memos WHERE target_type = 'code'") == \
        [("horizontal.ties.communication",)]
    assert db_rows(coded.db, "SELECT descendant FROM code_closure WHERE ancestor = 'horizontal.ties' "
                             "ORDER BY descendant") == [(p,) for p in sorted(renamed.values())]
    action, details = last_audit(coded.db)
    assert action == "codebook.rename" and details["recoded"] == 4 and details["renamed"] == renamed
    assert sorted(details["uuids"]) == sorted(u for u, row in before.items() if row[2] in renamed)
    assert list((coded.root / "coder.db.backups").glob("*before-codebook-rename*"))
    # the codebook the rename left is a version of its own, as a load is
    assert db_rows(coded.db, "SELECT source FROM codebook_versions ORDER BY id DESC LIMIT 1") == \
        [("coder codebook rename horizontal.relations horizontal.ties",)]


def test_rename_refuses_a_taken_name_and_a_bad_id(coded):
    before = codings(coded.db)
    result = coded.run("codebook", "rename", "communication", "equality")
    assert result.exit_code == 2 and "'horizontal.relations.equality' exists already" in result.stderr
    result = coded.run("codebook", "rename", "communication", "Kommunikasjon")
    assert result.exit_code == 2 and "not a code id" in result.stderr
    assert codings(coded.db) == before


def test_dry_run_writes_nothing(coded):
    before = db_rows(coded.db, "SELECT * FROM codes ORDER BY path"), codings(coded.db)
    versions = db_rows(coded.db, "SELECT COUNT(*) FROM codebook_versions")
    result = coded.run("codebook", "move", "relations", "--under", "vertical", "--dry-run", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["applied"] is False and result.json()["recoded"] == 4
    assert result.json()["renamed"]["horizontal.relations.equality"] == "vertical.relations.equality"
    assert (db_rows(coded.db, "SELECT * FROM codes ORDER BY path"), codings(coded.db)) == before
    assert db_rows(coded.db, "SELECT COUNT(*) FROM codebook_versions") == versions
    assert not (coded.root / "coder.db.backups").exists() or \
        not list((coded.root / "coder.db.backups").glob("*codebook-move*"))


def test_move_under_another_dimension(coded):
    result = coded.run("codebook", "move", "relations", "--under", "vertical", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["applied"] is True and result.json()["target"] == "vertical.relations"
    rows = dict(db_rows(coded.db, "SELECT path, dimension FROM codes WHERE path LIKE 'vertical.relations%'"))
    assert rows == {"vertical.relations": "vertical", "vertical.relations.communication": "vertical",
                    "vertical.relations.equality": "vertical"}
    assert db_rows(coded.db, "SELECT depth, parent FROM codes WHERE path = 'vertical.relations.equality'") == \
        [(2, "vertical.relations")]
    assert freq(coded)["vertical.relations"] == 2  # segments: hamar_1 §4 (three codings) and lier_1 §2
    shown = coded.run("codebook", "show", "--json").json()
    paths = [r["path"] for r in shown]
    assert paths.index("vertical.relations") < paths.index("vertical.relations.communication")
    assert paths.index("vertical.partnership_meeting") < paths.index("vertical.relations")  # at the end


def test_merge_into_an_existing_code_keeps_one_copy_of_a_span(coded):
    before = codings(coded.db)
    result = coded.run("codebook", "merge", "communication", "equality", "--into", "relations")
    assert result.exit_code == 0, result.stderr
    after = codings(coded.db)
    # hamar_1 §4 by anna was coded both communication and equality: one coding on relations remains
    assert "1 of them were already on 'horizontal.relations'" in result.stderr
    assert sorted(after.values()) == sorted({
        (t, s, "horizontal.relations" if c.startswith("horizontal.relations") else c, who)
        for (t, s, c, who) in before.values()})
    assert not db_rows(coded.db, "SELECT path FROM codes WHERE path LIKE 'horizontal.relations.%'")
    action, details = last_audit(coded.db)
    assert action == "codebook.merge" and details["recoded"] == 2 and details["removed"] == 1
    assert details["deleted"] == ["horizontal.relations.communication", "horizontal.relations.equality"]


def test_merge_into_a_new_code(coded):
    result = coded.run("codebook", "merge", "two_bosses", "vertical.partnership_meeting", "--into", "steering")
    assert result.exit_code == 0, result.stderr
    assert "(a new code)" in result.stderr
    assert db_rows(coded.db, "SELECT code, COUNT(*) FROM codings WHERE code LIKE 'vertical.%' GROUP BY code") == \
        [("vertical.steering", 4)]
    assert coded.run("code", "add", "hamar_1", "1", "steering").exit_code == 0  # a code that takes codings


def test_split_lists_the_codings_then_they_are_moved_and_the_code_deleted(coded):
    result = coded.run("codebook", "split", "two_bosses", "--into", "formal_line", "--into", "daily_line")
    assert result.exit_code == 0, result.stderr
    assert "which keeps its 3 coding(s)" in result.stderr and "coder code move --code vertical.two_bosses" \
        in result.stderr
    lines = result.stdout.splitlines()  # piped: a header, then one line per coding
    assert lines[0].split("\t") == ["id", "transcript", "segment", "coder", "text"] and len(lines) == 4
    result = coded.run("code", "move", "--code", "two_bosses", "--to", "formal_line", "--transcript", "hamar_1")
    assert result.exit_code == 0 and "moved 2 coding(s) to 'vertical.formal_line'" in result.stderr
    refused = coded.run("codebook", "delete", "two_bosses")
    assert refused.exit_code == 2 and "has 1 coding(s)" in refused.stderr
    assert coded.run("code", "move", "--code", "two_bosses", "--to", "daily_line", "--keyword", "fint").exit_code == 0
    result = coded.run("codebook", "delete", "two_bosses")
    assert result.exit_code == 0, result.stderr
    assert dict(db_rows(coded.db, "SELECT code, COUNT(*) FROM codings WHERE code LIKE 'vertical.%' GROUP BY code")) \
        == {"vertical.formal_line": 2, "vertical.daily_line": 1, "vertical.partnership_meeting": 1}
    action, details = db_rows(coded.db, "SELECT action, details FROM audit WHERE action = 'code.move' "
                                        "ORDER BY id LIMIT 1")[0]
    assert json.loads(details)["recoded"] == 2 and len(json.loads(details)["uuids"]) == 2


def test_delete_with_reassign_or_drop(coded):
    before = codings(coded.db)
    assert coded.run("codebook", "delete", "relations").exit_code == 2
    assert codings(coded.db) == before
    result = coded.run("codebook", "delete", "relations", "--reassign", "two_bosses", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["deleted"] == ["horizontal.relations", "horizontal.relations.communication",
                                        "horizontal.relations.equality"]
    assert len(codings(coded.db)) == len(before) - 1  # hamar_1 §4 anna: communication and equality, one left
    result = coded.run("codebook", "delete", "two_bosses", "--drop-codings")
    assert result.exit_code == 0 and "removed" in result.stderr
    assert not db_rows(coded.db, "SELECT 1 FROM codings WHERE code = 'vertical.two_bosses'")


def test_code_move_and_remove_by_filters(coded):
    before = codings(coded.db)
    dry = coded.run("code", "remove", "--coder", "bjorn", "--dry-run")
    assert dry.exit_code == 0 and "would remove 3 coding(s)" in dry.stderr and "nothing was written" in dry.stderr
    assert codings(coded.db) == before
    result = coded.run("code", "remove", "--coder", "bjorn", "--case", "Hamar", "--json")
    assert result.exit_code == 0 and result.json()["removed"] == 2
    assert {row[3] for u, row in codings(coded.db).items() if row[0] == "hamar_1"} == {"anna"}
    action, details = last_audit(coded.db)
    assert action == "code.remove" and details["removed"] == 2 and len(details["uuids"]) == 2
    assert coded.run("code", "remove").exit_code == 2  # no id and no filter: never everything


def test_code_remove_by_id_as_before(coded):
    uuid, other = list(codings(coded.db))[:2]
    result = coded.run("code", "remove", uuid[:8])
    assert result.exit_code == 0 and result.stderr.startswith(f"removed {uuid[:8]}")
    assert uuid not in codings(coded.db)
    assert coded.run("code", "remove", other[:8], "--coder", "anna").exit_code == 2
    assert coded.run("code", "remove", other[:8], "--dry-run").exit_code == 2
    result = coded.run("code", "remove", other[:8], "--json")
    assert result.exit_code == 0 and result.json()["codings"][0]["id"] == other


def test_memos_on_merged_and_reassigned_codes_follow_the_codings(coded):
    assert coded.run("memo", "add", "On equality.", "--code", "equality").exit_code == 0
    assert coded.run("memo", "add", "On the meeting.", "--code", "vertical.partnership_meeting").exit_code == 0
    assert coded.run("codebook", "merge", "equality", "--into", "communication").exit_code == 0
    assert coded.run("codebook", "delete", "vertical.partnership_meeting", "--reassign", "two_bosses").exit_code == 0
    assert sorted(db_rows(coded.db, "SELECT target FROM memos WHERE target_type = 'code'")) == \
        [("horizontal.relations.communication",), ("vertical.two_bosses",)]


def test_code_move_to_a_retired_code_is_refused(coded):
    assert coded.run("code", "move", "--code", "two_bosses", "--to", "nowhere").exit_code == 2
    assert coded.run("code", "move", "--to", "equality").exit_code == 2  # --code is required


def test_export_yaml_round_trips_with_comments(coded):
    original = (coded.root / "codebook.yaml").read_text(encoding="utf-8")
    commented = original.replace("  - id: horizontal\n", "  # the second dimension\n  - id: horizontal\n")
    coded.write("codebook.yaml", commented)
    assert coded.run("codebook", "load", "codebook.yaml").exit_code == 0
    result = coded.run("codebook", "export", "same.yaml")
    assert result.exit_code == 0, result.stderr
    assert (coded.root / "same.yaml").read_text(encoding="utf-8") == commented  # nothing changed: the file as loaded
    assert coded.run("codebook", "rename", "two_bosses", "dual_command").exit_code == 0
    assert coded.run("codebook", "move", "equality", "--under", "vertical").exit_code == 0
    result = coded.run("codebook", "export", "changed.yaml")
    assert result.exit_code == 0 and "wrote 6 code(s) to changed.yaml" in result.stderr
    text = (coded.root / "changed.yaml").read_text(encoding="utf-8")
    assert "# the second dimension" in text and "id: dual_command" in text
    assert "description: The leader answers to both owners." in text  # the renamed code keeps what it said
    shown = coded.run("codebook", "show", "--json").json()
    planned = coded.run("codebook", "load", "changed.yaml", "--dry-run", "--json")
    assert planned.exit_code == 0 and planned.json()["plan"] == []  # a plan with no change
    result = coded.run("codebook", "load", "changed.yaml")
    assert result.exit_code == 0 and "unchanged" in result.stderr  # the codebook the commands left
    assert coded.run("codebook", "show", "--json").json() == shown
    # and a fresh project from the exported file has the same codebook
    fresh = coded.run("--db", str(coded.root / "fresh.db"), "init", "--codebook", "changed.yaml")
    assert fresh.exit_code == 0, fresh.stderr
    assert db_rows(coded.root / "fresh.db", "SELECT path, parent, label, description FROM codes ORDER BY position") \
        == db_rows(coded.db, "SELECT path, parent, label, description FROM codes ORDER BY position")
    assert coded.run("codebook", "export", "--yaml").stdout == text  # to stdout too
