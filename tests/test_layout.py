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
STILL_TO_MOVE: dict[str, str] = {}


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


# -- the import graph ---------------------------------------------------------------------------

# Imports that still close a cycle, each waiting for a module to move. This list only shrinks:
# the test fails when one of them is gone, and when any other cycle appears.
STILL_CYCLING: dict[tuple[str, str], str] = {}


def _module_name(path: Path) -> str:
    parts = ["coder", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Which module of coder/ imports which, from the source: every import statement, those
    inside functions too (they run as soon as the function does), but not the ones under
    `if TYPE_CHECKING:` (annotations only). `from coder.store import codings` imports the
    module coder.store.codings (and its package)."""
    import ast

    paths = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        typing_only = {id(node) for guard in ast.walk(tree)
                       if isinstance(guard, ast.If) and "TYPE_CHECKING" in ast.unparse(guard.test)
                       for node in ast.walk(guard)}
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            if isinstance(node, ast.Import):
                targets |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[:len(package.split(".")) - node.level + 1]
                    base = ".".join([*up, base] if base else up)
                targets |= {f"{base}.{alias.name}" if f"{base}.{alias.name}" in paths else base for alias in node.names}
        edges = set()
        for target in targets:
            while target and target not in paths:  # coder.store.Store -> coder.store
                target = target.rpartition(".")[0]
            if target and target != name:
                edges.add(target)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for other in sorted(graph[module]):
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            component = []
            while True:
                other = stack.pop()
                component.append(other)
                if other == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def test_the_import_graph_has_no_cycle():
    graph = import_graph()
    gone = sorted(edge for edge in STILL_CYCLING if edge[1] not in graph.get(edge[0], set()))
    assert not gone, f"{gone} import(s) no longer made: take them off STILL_CYCLING in this test"
    for importer, imported in STILL_CYCLING:
        graph[importer].discard(imported)
    found = cycles(graph)
    assert not found, (f"import cycles among {found}; move the shared piece down (to the module both use) "
                       "instead of importing back up")


def test_the_cycle_check_sees_function_level_imports():
    graph = import_graph()
    assert "coder.export" in graph["coder.commands.report"]  # imported inside the command functions
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def _coder_imports(path: Path) -> set[str]:
    """The coder modules a file imports when it runs (anywhere in it, functions included;
    not under `if TYPE_CHECKING:`)."""
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {id(node) for block in ast.walk(tree) if isinstance(block, ast.If)
                   and ast.unparse(block.test) == "TYPE_CHECKING" for stmt in block.body for node in ast.walk(stmt)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "coder":
            found |= ({f"{node.module}.{a.name}" for a in node.names} if node.module == "coder" else {node.module})
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "coder"}
    return found


def test_the_store_imports_nothing_above_it():
    """The store sits on sqlite_guard (errors, busy retry, journal mode) and the value types;
    backups, commands and domain modules sit above it and are never imported by it, not even
    inside a function (a migration is handed the backup function instead)."""
    below = {"coder.errors", "coder.sqlite_guard", "coder.output_files", "coder.values", "coder.text"}
    upward = {}
    for path in sorted((PACKAGE / "store").glob("*.py")):
        wrong = {m for m in _coder_imports(path) if not m.startswith("coder.store") and m not in below}
        if wrong:
            upward[path.name] = sorted(wrong)
    assert not upward, upward
    assert _coder_imports(PACKAGE / "sqlite_guard.py") <= {"coder.errors", "coder.output_files"}
