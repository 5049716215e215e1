"""Start-up (issue 19): a command loads what it uses and nothing else. `coder init --codebook`
is held within 3x of a bare-sqlite script (bench/floor.py), a whole process each, so most of
its time is Python and the libraries it imports; these tests name the imports it must not
pay for, and check that only the command run is made into a click command. No timings: what
is imported is the same on every machine."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from coder.cli import app
from conftest import REPO

# Libraries and modules for reports, exports and other formats; none is needed to start.
HEAVY = {"rich", "rapidfuzz", "openpyxl", "docx", "ruamel", "defusedxml", "lxml", "matplotlib", "hypothesis",
         "xml.etree.ElementTree", "zipfile", "coder.refi", "coder.verify", "coder.export", "coder.reports",
         "coder.selection", "coder.importing", "coder.readers", "coder.backup", "coder.search", "coder.autocode",
         "coder.anchor", "coder.merge", "coder.agreement"}


def _imported(tmp_path, *args: str) -> set[str]:
    """The modules `coder ARGS` imports, as `python -X importtime` lists them."""
    env = {**os.environ, "COLUMNS": "80"}
    env.pop("CODER_DB", None)
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "coder", *args], capture_output=True,
                            text=True, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    return {line.rsplit("|", 1)[1].strip() for line in result.stderr.splitlines()
            if line.startswith("import time:") and "|" in line} - {"imported package"}


def _heavy(modules: set[str]) -> set[str]:
    return {m for m in modules if m in HEAVY or m.split(".")[0] in HEAVY}


def test_init_with_a_yaml_codebook_imports_no_reader_or_report_machinery(tmp_path):
    modules = _imported(tmp_path, "--db", str(tmp_path / "p.db"), "init", "--codebook",
                        str(REPO / "codebooks" / "nav_partnership.yaml"))
    assert {"coder.codebook", "yaml", "coder.store"} <= modules  # it did load the codebook
    assert not _heavy(modules)


def test_help_imports_no_domain_module_or_yaml(tmp_path):
    modules = _imported(tmp_path, "--help")
    assert not _heavy(modules)
    assert not {m for m in modules if m.startswith(("coder.store", "coder.codebook", "yaml", "hashlib"))}


def test_code_add_reads_no_yaml_and_loads_no_importer(loaded):
    modules = _imported(loaded.root, "--db", str(loaded.db), "code", "add", "hamar_1", "2", "two_bosses")
    assert "coder.coding" in modules
    assert not _heavy(modules)
    assert "yaml" not in modules


@pytest.mark.parametrize("args, made", [(["--help"], []), (["report", "--help"], []),
                                        (["init"], ["init"]), (["report", "freq", "--help"], ["freq"])])
def test_only_the_command_run_is_made(monkeypatch, tmp_path, args, made):
    """typer would turn every command's signature into click parameters at each start; coder
    makes only the one that runs (and none for a list of commands)."""
    import coder.commands.base as base

    making = []
    make = base.get_command_from_info

    def counted(info, **kwargs):
        making.append(info.name or info.callback.__name__)
        return make(info, **kwargs)

    monkeypatch.setattr(base, "get_command_from_info", counted)
    result = CliRunner().invoke(app, ["--db", str(tmp_path / "p.db"), *args], prog_name="coder")
    assert result.exit_code == 0, result.output
    assert making == made
