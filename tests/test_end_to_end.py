"""The README's flow as a new user runs it: real subprocesses, the shipped demo data."""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

from conftest import REPO


def coder(*args: str, cwd, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "CODER_NAME": "e2e", "NO_COLOR": "1"}
    env.pop("CODER_DB", None)
    result = subprocess.run([sys.executable, "-m", "coder", *args], cwd=cwd, env=env, capture_output=True,
                            text=True, timeout=120)
    if check:
        assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result


def test_demo_builds_the_project_and_is_repeatable(tmp_path):
    first = coder("demo", str(tmp_path / "demo"), cwd=tmp_path)
    assert "Tjøme" in first.stdout and "Asker" in first.stdout and "Med to sjefer" in first.stdout
    sheet = tmp_path / "demo" / "exports" / "demo_quotes.md"
    assert sheet.exists() and "## Hamar" in sheet.read_text(encoding="utf-8")
    db = tmp_path / "demo" / "coder.db"
    codings = json.loads(coder("--db", str(db), "code", "list", "--json", cwd=tmp_path).stdout)
    expected_rows = len(list(csv.DictReader(io.StringIO(
        (REPO / "transcripts" / "demo_codings.csv").read_text(encoding="utf-8")))))
    assert len(codings) == expected_rows
    again = coder("demo", str(tmp_path / "demo"), cwd=tmp_path)
    assert "0 new" in again.stderr
    assert len(json.loads(coder("--db", str(db), "code", "list", "--json", cwd=tmp_path).stdout)) == expected_rows


def test_readme_session(tmp_path):
    run = lambda *a, **k: coder(*a, cwd=tmp_path, **k)  # noqa: E731
    run("init", "--codebook", str(REPO / "codebooks" / "nav_partnership.yaml"))
    run("cases", "import", str(REPO / "codebooks" / "nav_pilot_offices.yaml"))
    imported = json.loads(run("import", str(REPO / "transcripts" / "demo"), "--json").stdout)
    assert {r["status"] for r in imported} == {"imported"} and len(imported) == 12
    segments = json.loads(run("segments", "hamar_1", "--json").stdout)
    informant_turn = next(s for s in segments if s["speaker"] != "Intervjuer")
    run("code", "add", "hamar_1", str(informant_turn["segment"]), "vertical.two_bosses", "--memo", "tydelig")
    run("code", "apply", str(REPO / "transcripts" / "demo_codings.csv"))
    freq = json.loads(run("report", "freq", "--json").stdout)
    assert {c["group"] for c in freq} == {"Tjøme", "Trøgstad", "Hamar", "Lier", "Asker"}
    by_model = json.loads(run("report", "freq", "--by", "leadership_model", "--unit", "informants", "--json").stdout)
    assert {c["group"] for c in by_model} == {"unified", "split"}
    run("report", "quotes", "--case", "Hamar", "--docx")
    assert (tmp_path / "exports" / "quotes_hamar.docx").stat().st_size > 5000
    bad = run("code", "add", "hamar_1", "1", "no_such_code", check=False)
    assert bad.returncode == 2 and bad.stderr.startswith("error: unknown code 'no_such_code'")
    assert len(bad.stderr.strip().splitlines()) == 1
    assert run("--help").stdout.count("report") >= 1


def _modules_loaded(*args: str, cwd) -> set[str]:
    """The top-level packages a command imports (python -X importtime lists each import)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "CODER_NAME": "e2e", "NO_COLOR": "1"}
    run = subprocess.run([sys.executable, "-X", "importtime", "-m", "coder", *args], cwd=cwd, env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return {line.rsplit("|", 1)[1].strip().split(".")[0] for line in run.stderr.splitlines()
            if line.startswith("import time:") and "|" in line}


def test_frequent_commands_load_no_heavy_library(tmp_path):
    """Start-up is most of a quick command's time: `--help` and re-importing an unchanged
    corpus load neither the export libraries, nor YAML, nor pydantic (typer 0.29's)."""
    coder("init", "--codebook", str(REPO / "codebooks" / "nav_partnership.yaml"), cwd=tmp_path)
    coder("import", str(REPO / "transcripts" / "demo"), cwd=tmp_path)
    heavy = {"pydantic", "yaml", "rapidfuzz", "docx", "openpyxl", "prompt_toolkit", "matplotlib", "rich",
             "sqlite_utils"}
    for args in (("--help",), ("import", str(REPO / "transcripts" / "demo"))):
        loaded = _modules_loaded(*args, cwd=tmp_path)
        assert "coder" in loaded and not loaded & heavy, f"coder {' '.join(args)} loads {sorted(loaded & heavy)}"


def test_the_benchmark_runs_end_to_end_on_a_tiny_corpus(tmp_path):
    """`make bench` is how the performance targets are checked: it must keep working. Only
    that it runs and reports every phase and target is checked here, never a timing."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "run.py"), "--sizes", "0.5,1", "--transcripts", "12", "--turns", "15",
         "--no-big-freq", "--repeat", "1", "--repeat-writes", "1", "--workdir", str(tmp_path / "work"),
         "--results", str(tmp_path / "results"), "--search-tier", "20", "--large", "24"], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads((tmp_path / "results" / "latest.json").read_text(encoding="utf-8"))
    assert set(report["sizes"]) == {"0.5", "1"}
    phases = report["sizes"]["1"]["phases"]
    assert {"import", "reimport", "apply_segment", "apply_quote", "freq_segments", "quotes_csv_all", "help"} <= set(phases)
    assert {"search_plain", "search_fuzzy", "autocode_apply"} <= set(phases) and phases["autocode_apply"]["codings"]
    assert all(p["returncode"] == 0 for p in phases.values())
    # apply_quote's floor finds the quotes too; apply_quote_writes only inserts the same rows
    assert set(report["sizes"]["1"]["floor"]) == {"init", "import", "apply_segment", "apply_quote",
                                                  "apply_quote_writes", "freq", "autocode_apply", "merge"}
    assert phases["merge"]["codings"] == report["sizes"]["1"]["codings"]  # every coding merged into an empty copy
    assert set(report["search_tier"]["phases"]) == {"import", "search_plain", "search_fuzzy", "autocode_apply"}
    table = (tmp_path / "results" / "latest.md").read_text(encoding="utf-8")
    assert "| re-import ≤ 10% of import |" in table and "× floor" in table
    assert "`code apply` by quote ≤ 3× floor (finding the quotes too)" in table
    assert "peak memory of `search --fuzzy` ≤ 250 MB" in table and "over 20 transcripts" in table
    # the large tier (issue 19): every phase once, with its floor, memory and growth per doubling
    assert set(report["large"]["phases"]) == set(phases) and report["large"]["transcripts"] == 24
    assert "## Large tier: 24 transcripts" in table and "every phase ≤ 3× its floor at 24 transcripts" in table
