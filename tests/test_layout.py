"""The house's rules, checked on the code itself: SQL lives only in coder/store/ (the one
place a schema change has to look), and exactly one function inserts codings."""
from __future__ import annotations

import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "coder"

# SQL in a line: a call to the connection, the store's generic query helpers, or a statement
# in a string literal.
SQL = re.compile(r"""\bexecute(?:many|script)?\(|\.conn\b|\bstore\.(?:query|scalar)\(|"""
                 r"""["'](?:SELECT|INSERT|UPDATE|DELETE|CREATE|PRAGMA|WITH|BEGIN|DROP|ALTER)\s""")

# Modules that still hold SQL of their own, each waiting to move its queries into a noun
# module of coder/store/. This list only shrinks: the test fails when a module on it no
# longer needs to be here, and when any other module outside coder/store/ runs SQL.
STILL_TO_MOVE = {
    "safety.py": "integrity and schema checks, backups: to a guard under the store and store reads for check",
}


def _modules_with_sql() -> dict[str, int]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative.startswith("store/"):
            continue
        lines = sum(1 for line in path.read_text(encoding="utf-8").splitlines() if SQL.search(line))
        if lines:
            found[relative] = lines
    return found


def test_sql_only_under_coder_store():
    found = _modules_with_sql()
    strays = {module: lines for module, lines in found.items() if module not in STILL_TO_MOVE}
    assert not strays, (f"SQL outside coder/store/ (lines per module): {strays}; put the query in a named function "
                        "of the noun's module in coder/store/ and call that")
    done = sorted(set(STILL_TO_MOVE) - set(found))
    assert not done, f"{done} hold(s) no SQL any more: take it off STILL_TO_MOVE in this test"


def test_exactly_one_function_inserts_codings():
    writers = []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"INSERT\s+(?:OR\s+\w+\s+)?INTO\s+codings\b", text):
            function = re.findall(r"^\s*def (\w+)", text[:match.start()], re.M)
            writers.append(f"{path.relative_to(PACKAGE).as_posix()}:{function[-1] if function else '?'}")
    assert writers == ["store/codings.py:add"], writers


def test_exactly_one_function_deletes_codings_and_one_inserts_memos():
    def places(pattern: str) -> list[str]:
        return [path.relative_to(PACKAGE).as_posix() for path in sorted(PACKAGE.rglob("*.py"))
                for _ in re.finditer(pattern, path.read_text(encoding="utf-8"))]

    assert places(r"DELETE\s+FROM\s+codings\b") == ["store/codings.py"]
    assert places(r"INSERT\s+INTO\s+memos\b") == ["store/memos.py"]
