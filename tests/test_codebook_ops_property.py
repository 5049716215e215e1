"""Issue 14's proof for code operations: random sequences of rename, move, merge, split (with
its codings reassigned by `code move`, then the code deleted) and delete --reassign on a coded
project. After each step no coding is lost, each is on the code intended (an oracle kept
beside the CLI), and `report freq --json` equals a recount from the codings; a rename or a
move leaves the frequency table as it was, up to the renamed codes."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import CODEBOOK, HAMAR_1, LIER_1, Project, db_rows

CODINGS = [  # (transcript, segment, code, coder)
    ("hamar_1", 1, "two_bosses", "anna"), ("hamar_1", 2, "two_bosses", "anna"), ("hamar_1", 2, "two_bosses", "bjorn"),
    ("hamar_1", 2, "communication", "anna"), ("hamar_1", 3, "vertical.partnership_meeting", "bjorn"),
    ("hamar_1", 4, "communication", "anna"), ("hamar_1", 4, "equality", "anna"), ("hamar_1", 4, "relations", "bjorn"),
    ("hamar_1", 4, "horizontal.partnership_meeting", "anna"), ("lier_1", 2, "equality", "anna"),
    ("lier_1", 2, "relations", "anna"), ("lier_1", 3, "two_bosses", "bjorn"), ("lier_1", 4, "two_bosses", "anna"),
    ("lier_1", 4, "vertical.partnership_meeting", "bjorn"), ("lier_1", 4, "communication", "bjorn"),
]
NEW_IDS = ("alpha", "beta", "gamma", "delta", "links", "ties")


@pytest.fixture(scope="module")
def base_db(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("coded")
    project = Project(root, root / "coder.db")
    project.write("codebook.yaml", CODEBOOK)
    project.start("codebook.yaml", {"hamar_1.txt": HAMAR_1, "lier_1.txt": LIER_1})
    for transcript, segment, code, coder in CODINGS:
        assert project.run("code", "add", transcript, str(segment), code, "--coder", coder).exit_code == 0
    return project.db


def coding_set(db) -> list[tuple]:
    """(transcript, start, end, coder, code) of every coding, sorted (a list: a duplicate shows)."""
    return sorted(db_rows(db, 'SELECT t.name, c.start, c."end", c.coder, c.code FROM codings c '
                              "JOIN transcripts t ON t.id = c.transcript_id"))


def codes(db) -> list[str]:
    return [r[0] for r in db_rows(db, "SELECT path FROM codes WHERE retired = 0 ORDER BY position")]


def under(path: str, root: str) -> bool:
    return path == root or path.startswith(root + ".")


def freq(project: Project) -> dict[tuple[str, str], int]:
    result = project.run("report", "freq", "--json")
    assert result.exit_code == 0, result.stderr
    return {(r["group"], r["code"]): r["count"] for r in result.json() if r["count"] and "." in r["code"]}


def recount(db) -> dict[tuple[str, str], int]:
    """Segments per case and code, a code counting its sub-codes' segments, from the codings."""
    rows = db_rows(db, "SELECT t.case_name, c.transcript_id, c.segment, c.code FROM codings c "
                       "JOIN transcripts t ON t.id = c.transcript_id WHERE c.status = 'ok'")
    units: dict[tuple[str, str], set] = {}
    for path in codes(db):
        for case, tid, segment, code in rows:
            if under(code, path):
                units.setdefault((case, path), set()).add((tid, segment))
    return {key: len(value) for key, value in units.items()}


def moved(model: list[tuple], rule) -> list[tuple]:
    """The oracle after a step: each coding's code through `rule` (None: unchanged); a coding
    that lands where the same span and coder already are is the one copy kept."""
    out: set[tuple] = set()
    for transcript, start, end, coder, code in model:
        out.add((transcript, start, end, coder, rule(code, coder) or code))
    return sorted(out)


def rebased(code: str, root: str, new_root: str) -> str | None:
    return new_root + code[len(root):] if under(code, root) else None


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(data=st.data())
def test_random_code_operations_lose_no_coding(base_db, data):
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        shutil.copy(base_db, root / "coder.db")
        project = Project(root, root / "coder.db")
        model = coding_set(project.db)
        for _ in range(data.draw(st.integers(1, 3), label="steps")):
            paths = codes(project.db)
            dims = sorted({p.split(".")[0] for p in paths})
            op = data.draw(st.sampled_from(["rename", "move", "merge", "split", "delete"]), label="op")
            code = data.draw(st.sampled_from(paths), label="code")
            before_freq = freq(project)
            renamed = None
            if op == "rename":
                new = data.draw(st.sampled_from(NEW_IDS), label="new")
                target = f"{code.rsplit('.', 1)[0]}.{new}"
                result = project.run("codebook", "rename", code, target)
                expected = moved(model, lambda c, _: rebased(c, code, target))
                renamed = (code, target)
            elif op == "move":
                parent = data.draw(st.sampled_from(dims + paths), label="parent")
                target = f"{parent}.{code.rsplit('.', 1)[1]}"
                result = project.run("codebook", "move", code, "--under", parent)
                expected = moved(model, lambda c, _: rebased(c, code, target))
                renamed = (code, target)
            elif op == "merge":
                other = data.draw(st.sampled_from(paths), label="other")
                into = data.draw(st.sampled_from(paths), label="into")
                result = project.run("codebook", "merge", code, other, "--into", into)
                sources = dict.fromkeys([code, other])

                def merged(c, _):
                    if c in sources:
                        return into
                    for source in sources:  # a sub-code goes under the target, keeping its id
                        if c.startswith(source + "."):
                            return into + c[len(source):]
                    return None
                expected = moved(model, merged)
            elif op == "split":
                x, y = data.draw(st.lists(st.sampled_from(NEW_IDS), min_size=2, max_size=2, unique=True), label="into")
                result = project.run("codebook", "split", code, "--into", x, "--into", y)
                if result.exit_code == 0:
                    parent = code.rsplit(".", 1)[0]
                    for args in (["--coder", "anna", "--to", f"{parent}.{x}"], ["--to", f"{parent}.{y}"]):
                        step = project.run("code", "move", "--code", code, *args)
                        assert step.exit_code == 0, step.stderr
                    result = project.run("codebook", "delete", code)
                    assert result.exit_code == 0, result.stderr
                expected = moved(model, lambda c, who: (f"{code.rsplit('.', 1)[0]}.{x if who == 'anna' else y}"
                                                        if under(c, code) else None))
            else:
                to = data.draw(st.sampled_from(paths), label="to")
                result = project.run("codebook", "delete", code, "--reassign", to)
                expected = moved(model, lambda c, _: to if under(c, code) else None)
            if result.exit_code != 0:  # refused (a name taken, a code under itself, ...): nothing changed
                assert result.exit_code == 2 and result.stderr.startswith("error:"), result.stderr  # before any backup
                assert coding_set(project.db) == model and codes(project.db) == paths
                continue
            model = expected
            assert coding_set(project.db) == model
            after_freq = freq(project)
            assert after_freq == recount(project.db)
            if renamed:  # the table as before, up to the new paths (a move changes its old and new parents' totals)
                old, new = renamed
                parents = {p for p in paths + codes(project.db) if under(old, p) or under(new, p)} - {old, new}
                assert {k: n for k, n in after_freq.items() if k[1] not in parents} == \
                    {(case, rebased(c, old, new) or c): n for (case, c), n in before_freq.items() if c not in parents}
                if op == "rename":
                    assert after_freq == {(case, rebased(c, old, new) or c): n for (case, c), n in before_freq.items()}
