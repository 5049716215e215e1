"""`coder codebook load` of an edited YAML (issue 14): the plan (added, renamed, moved,
proposed, retired, removed, with the codings each touches), applied as before when it moves no
coding, and only with --apply when it does; and `codebook history` / `codebook diff`."""
from __future__ import annotations

import json

from conftest import CODEBOOK, db_rows
from test_codebook_ops import codings, coded, freq  # noqa: F401 (coded is a fixture)

RENAMED_BY_HAND = CODEBOOK.replace("      - id: two_bosses\n", "      - id: dual_command\n")
RENAMED_FROM = CODEBOOK.replace("      - id: two_bosses\n",
                                "      - id: dual_command\n        renamed_from: two_bosses\n")


def state(db):
    """What a user sees of the codebook and codings, without ids or times."""
    return (db_rows(db, "SELECT path, parent, dimension, label, description, keywords, retired, depth, position "
                        "FROM codes ORDER BY path"),
            sorted(codings(db).values()),
            db_rows(db, "SELECT ancestor, descendant FROM code_closure ORDER BY 1, 2"))


def test_a_rename_by_hand_is_proposed_and_nothing_is_written(coded):
    before = state(coded.db)
    coded.write("codebook.yaml", RENAMED_BY_HAND)
    result = coded.run("codebook", "load", "codebook.yaml")
    assert result.exit_code == 1
    assert "rename?  vertical.two_bosses -> vertical.dual_command (3 coding(s) stay on the old code)" \
        in result.stderr
    assert "add `renamed_from: vertical.two_bosses` to it" in result.stderr
    assert "nothing was loaded" in result.stderr
    assert state(coded.db) == before
    result = coded.run("codebook", "load", "codebook.yaml", "--json")
    assert result.exit_code == 1 and result.json()["applied"] is False
    assert {"change": "proposed", "code": "vertical.dual_command", "from": "vertical.two_bosses", "codings": 3} \
        in result.json()["plan"]
    # loaded as it is, on purpose: the old code is retired with its codings, as before
    result = coded.run("codebook", "load", "codebook.yaml", "--apply")
    assert result.exit_code == 0 and "'vertical.two_bosses' is no longer in the codebook" in result.stderr
    assert db_rows(coded.db, "SELECT retired FROM codes WHERE path = 'vertical.two_bosses'") == [(1,)]


def test_renamed_from_moves_the_codings_with_apply(coded):
    uuid = db_rows(coded.db, "SELECT uuid FROM codes WHERE path = 'vertical.two_bosses'")[0][0]
    before, counts = codings(coded.db), freq(coded)
    coded.write("codebook.yaml", RENAMED_FROM)
    result = coded.run("codebook", "load", "codebook.yaml")
    assert result.exit_code == 1 and "run again with --apply" in result.stderr
    assert "renamed  vertical.two_bosses -> vertical.dual_command (3 coding(s) go with it)" in result.stderr
    assert codings(coded.db) == before
    result = coded.run("codebook", "load", "codebook.yaml", "--apply")
    assert result.exit_code == 0, result.stderr
    assert "3 coding(s) moved to renamed codes" in result.stderr and "new" not in result.stderr
    rename = {"vertical.two_bosses": "vertical.dual_command"}
    assert codings(coded.db) == {u: (t, s, rename.get(c, c), who) for u, (t, s, c, who) in before.items()}
    assert freq(coded) == {rename.get(code, code): n for code, n in counts.items()}
    assert db_rows(coded.db, "SELECT path FROM codes WHERE uuid = ?", (uuid,)) == [("vertical.dual_command",)]
    action, details = db_rows(coded.db, "SELECT action, details FROM audit WHERE action = 'codebook.rename'")[0]
    assert json.loads(details)["recoded"] == 3 and json.loads(details)["renamed"] == rename
    again = coded.run("codebook", "load", "codebook.yaml")  # the same file again: nothing to do
    assert again.exit_code == 0 and "unchanged" in again.stderr


def test_a_plan_that_moves_no_coding_applies_as_before(coded):
    edited = CODEBOOK.replace("      - id: partnership_meeting\n        label: Partnerskapsmøtet\n  - id: horizontal",
                              "      - id: steering\n        label: Styring\n  - id: horizontal")
    edited = edited.replace("description: The leader answers to both owners.", "description: Two lines.")
    coded.write("codebook.yaml", edited)
    result = coded.run("codebook", "load", "codebook.yaml")
    assert result.exit_code == 0, result.stderr
    assert "plan for" not in result.stderr  # no rename or move: the load's lines as they always were
    assert "1 new" in result.stderr
    assert "warning: 'vertical.partnership_meeting' is no longer in the codebook but has codings; kept as retired" \
        in result.stderr
    assert db_rows(coded.db, "SELECT COUNT(*) FROM codings WHERE code = 'vertical.partnership_meeting'") == [(1,)]


def test_a_code_cut_and_pasted_elsewhere_is_moved(coded):
    block = "      - id: equality\n        label: Likeverd\n"
    edited = CODEBOOK.replace("          - id: equality\n            label: Likeverd\n", "")
    edited = edited.replace("      - id: partnership_meeting\n        label: Partnerskapsmøtet\n  - id: horizontal",
                            "      - id: partnership_meeting\n        label: Partnerskapsmøtet\n" + block
                            + "  - id: horizontal")
    coded.write("codebook.yaml", edited)
    result = coded.run("codebook", "load", "codebook.yaml", "--json")
    assert result.exit_code == 1
    assert result.json()["plan"] == [{"change": "moved", "code": "vertical.equality",
                                      "from": "horizontal.relations.equality", "codings": 2}]
    assert coded.run("codebook", "load", "codebook.yaml", "--apply").exit_code == 0
    assert db_rows(coded.db, "SELECT COUNT(*) FROM codings WHERE code = 'vertical.equality'") == [(2,)]


def test_renamed_from_naming_no_code_is_an_error(coded):
    coded.write("codebook.yaml", CODEBOOK.replace("      - id: two_bosses\n",
                                                  "      - id: dual_command\n        renamed_from: two_boses\n"))
    result = coded.run("codebook", "load", "codebook.yaml")
    assert result.exit_code == 2 and "which is no code of the project" in result.stderr
    assert "did you mean 'vertical.two_bosses'?" in result.stderr


def test_yaml_rename_and_command_rename_give_the_same_project(coded, tmp_path):
    """The plan of a YAML edit does what the command does: same codes, codings and counts."""
    import shutil

    twin = tmp_path / "twin.db"
    shutil.copy(coded.db, twin)
    assert coded.run("codebook", "rename", "relations", "ties").exit_code == 0
    edited = CODEBOOK.replace("      - id: relations\n", "      - id: ties\n        renamed_from: relations\n")
    coded.write("edited.yaml", edited)
    result = coded.run("--db", str(twin), "codebook", "load", "edited.yaml", "--apply")
    assert result.exit_code == 0, result.stderr
    assert state(twin) == state(coded.db)
    by_command = coded.run("report", "freq", "--json").json()
    by_yaml = coded.run("--db", str(twin), "report", "freq", "--json").json()
    assert by_command == by_yaml


def test_history_and_diff(coded):
    assert coded.run("codebook", "rename", "two_bosses", "dual_command").exit_code == 0
    assert coded.run("codebook", "move", "equality", "--under", "vertical").exit_code == 0
    history = coded.run("codebook", "history", "--json").json()
    assert [v["source"].split("/")[-1] for v in history] == [
        "codebook.yaml", "coder codebook rename vertical.two_bosses vertical.dual_command",
        "coder codebook move horizontal.relations.equality --under vertical"]
    assert [v["codes"] for v in history] == [6, 6, 6]
    result = coded.run("codebook", "diff", "1", "3", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json() == [
        {"change": "renamed", "code": "vertical.dual_command", "from": "vertical.two_bosses"},
        {"change": "moved", "code": "vertical.equality", "from": "horizontal.relations.equality"}]
    result = coded.run("codebook", "diff")  # the last two versions
    assert result.exit_code == 0 and "codebook version 2 -> 3: 1 moved" in result.stderr
    assert coded.run("codebook", "diff", "9").exit_code == 2


def test_init_with_an_edited_codebook_moves_no_coding_unasked(coded):
    before = state(coded.db)
    coded.write("renamed.yaml", RENAMED_FROM)
    result = coded.run("init", "--codebook", "renamed.yaml")
    assert result.exit_code == 1 and "coder codebook load renamed.yaml" in result.stderr
    assert state(coded.db) == before
    fresh = coded.run("--db", str(coded.root / "fresh.db"), "init", "--codebook", "renamed.yaml")
    assert fresh.exit_code == 0 and "loaded, 6 codes" in fresh.stderr  # a fresh project just loads it


def test_load_dry_run_prints_the_plan_and_writes_nothing(coded):
    before = state(coded.db), db_rows(coded.db, "SELECT COUNT(*) FROM codebook_versions")
    coded.write("codebook.yaml", RENAMED_FROM.replace("description: The leader answers to both owners.",
                                                      "description: Two lines of command."))
    result = coded.run("codebook", "load", "codebook.yaml", "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert "renamed  vertical.two_bosses -> vertical.dual_command (3 coding(s) go with it)" in result.stderr
    assert "dry run: nothing was loaded" in result.stderr
    assert (state(coded.db), db_rows(coded.db, "SELECT COUNT(*) FROM codebook_versions")) == before


def test_yaml_move_and_command_move_give_the_same_project(coded, tmp_path):
    import shutil

    twin = tmp_path / "twin.db"
    shutil.copy(coded.db, twin)
    assert coded.run("codebook", "move", "relations", "--under", "vertical").exit_code == 0
    block = CODEBOOK[CODEBOOK.index("      - id: relations\n"):CODEBOOK.index("      - id: partnership_meeting\n"
                                                                               "        label: Partnerskapsmøtet\n",
                                                                               CODEBOOK.index("id: relations"))]
    edited = CODEBOOK.replace(block, "").replace("  - id: horizontal\n", block + "  - id: horizontal\n")
    coded.write("moved.yaml", edited)
    result = coded.run("--db", str(twin), "codebook", "load", "moved.yaml", "--apply")
    assert result.exit_code == 0, result.stderr
    assert "moved    horizontal.relations -> vertical.relations (4 coding(s) go with it)" in result.stderr
    assert state(twin) == state(coded.db)
    assert coded.run("report", "freq", "--json").json() == coded.run("--db", str(twin), "report", "freq",
                                                                     "--json").json()
