"""The performance benchmark (issue 6): coder's commands at scale, against the SQLite floor.

    python bench/run.py                       # 0.25x, 0.5x, 1x of 1000 transcripts x 200 turns,
                                              # plus a 1,000,000-coding `report freq`
    python bench/run.py --quick               # a small corpus, a minute or so
    python bench/run.py --sizes 0.5,1 --transcripts 400 --turns 100 --no-big-freq
    python bench/run.py --search-tier 10000   # also search and autocode over 10,000 transcripts

Every phase runs the real command line in its own process (`python -m coder --db ...`),
timed wall-clock, with its peak memory (the child's ru_maxrss from wait4). The floor is the
same rows written by a minimal sqlite3 script (bench/floor.py). Results: a JSON file and
bench/results/latest.md (a Markdown table, also printed).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from corpus import Spec  # noqa: E402

FREQ_UNITS = ("segments", "documents", "informants", "words")
QUOTE_CODE = "vertical.two_bosses"
SEARCH_WORD = "samarbeid"  # a common word: plain search finds it in about one turn in ten
FUZZY_WORD = "partnerskapsmøtet"  # 17 letters, 2 edits allowed: fuzzy search's hardest case


@dataclass
class Run:
    wall: float
    cpu: float
    rss_mb: float
    returncode: int
    stdout: str
    stderr: str

    def as_json(self) -> dict:
        return {"wall": round(self.wall, 4), "cpu": round(self.cpu, 4), "rss_mb": round(self.rss_mb, 1),
                "returncode": self.returncode}


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.update({"CODER_NAME": "bench", "NO_COLOR": "1", "COLUMNS": "160"})
    env.pop("CODER_DB", None)
    env.pop("CODER_DEBUG", None)
    # coder runs from compiled bytecode, as after `pip install` (which compiles it): a shell
    # with PYTHONDONTWRITEBYTECODE would otherwise recompile every module on every run.
    # main() points PYTHONPYCACHEPREFIX into the work folder and compiles coder there first.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


ENV = _env()


def _tail(handle, limit: int = 8192) -> str:
    """The end of a child's output: enough to report on, without holding a 100 MB CSV here."""
    size = handle.seek(0, os.SEEK_END)
    handle.seek(max(0, size - limit))
    return handle.read().decode("utf-8", "replace")


def run(argv: list[str], *, ok: tuple[int, ...] = (0,), full_stdout: bool = False) -> Run:
    """One process, timed from spawn to exit; its peak RSS and CPU time from its own rusage
    (wait4). A child's ru_maxrss also counts the process it was spawned from, so this one
    stays small: the corpus and the big database are built in child processes too."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=ENV, cwd=REPO)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if full_stdout:
            out.seek(0)
            stdout = out.read().decode("utf-8")
        else:
            stdout = _tail(out)
        result = Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, proc.returncode, stdout,
                     _tail(err))
    if result.returncode not in ok:
        raise SystemExit(f"bench: `{' '.join(argv)}` exited {result.returncode}:\n{result.stderr[-2000:]}")
    return result


def coder(db: Path, *args: str, ok: tuple[int, ...] = (0,)) -> Run:
    return run([sys.executable, "-m", "coder", "--db", str(db), *args], ok=ok)


def repeated(times: int, fn) -> Run:
    """Read-only phases run a few times and the fastest run is kept, as timeit does: other
    work on the machine only ever adds time."""
    return min((fn() for _ in range(times)), key=lambda r: r.wall)


def repeated_write(db: Path, times: int, fn) -> Run:
    """A phase that changes the database, run `times` times from the same starting state (a
    copy of the file, restored between runs); the fastest is kept, the state after the last
    run stays."""
    snapshot = db.with_name(db.name + ".before")
    best = None
    for attempt in range(times):
        last = attempt == times - 1
        if not last:
            source, copy = sqlite3.connect(db), sqlite3.connect(snapshot)
            source.backup(copy)  # the whole database, whatever is still in its WAL
            source.close()
            copy.close()
        result = fn()
        best = result if best is None or result.wall < best.wall else best
        if not last:
            for suffix in ("-wal", "-shm"):
                Path(str(db) + suffix).unlink(missing_ok=True)
            os.replace(snapshot, db)
    return best


def fresh_db(path: Path) -> Path:
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    shutil.rmtree(path.parent / "backups", ignore_errors=True)
    return path


def apply_counts(stderr: str) -> dict:
    """`code apply` ends with 'FILE: 123 coded, 4 not_found': the counts by status."""
    last = stderr.strip().splitlines()[-1] if stderr.strip() else ""
    return {status: int(n) for n, status in re.findall(r"(\d+) (\w+)", last.split(": ", 1)[-1])}


def corpus(root: Path, spec: Spec, counts: list[int]) -> dict[int, dict]:
    """Write the corpus (bench/corpus.py, in its own process): {transcripts: paths and counts}."""
    out = run([sys.executable, str(HERE / "corpus.py"), str(root), "--transcripts", str(spec.transcripts),
               "--turns", str(spec.turns), "--seed", str(spec.seed), "--counts", ",".join(map(str, counts))],
              full_stdout=True)
    data = json.loads(out.stdout)
    return {int(n): {k: Path(v) if k in ("folder", "segment_csv", "quote_csv", "manuscript") else v
                     for k, v in d.items()}
            for n, d in data.items()}


# -- the phases ---------------------------------------------------------------------------

def bench_size(label: str, data: dict, workdir: Path, codebook: Path, repeat: int, repeat_writes: int,
               log) -> dict:
    db = fresh_db(workdir / "coder.db")
    phases: dict[str, dict] = {}

    def record(name: str, result: Run, **extra) -> Run:
        phases[name] = {**result.as_json(), **extra}
        log(f"  {label:>6} {name:24} {result.wall:8.3f} s  cpu {result.cpu:7.3f} s  {result.rss_mb:6.0f} MB"
            + "".join(f"  {k}={v}" for k, v in extra.items()))
        return result

    record("init", repeated(repeat, lambda: coder(fresh_db(db), "init", "--codebook", str(codebook))))
    record("import", repeated_write(db, repeat_writes, lambda: coder(db, "import", str(data["folder"]))),
           segments=data["segments"])
    record("reimport", repeated(repeat, lambda: coder(db, "import", str(data["folder"]))))
    r = repeated_write(db, repeat_writes, lambda: coder(db, "code", "apply", str(data["segment_csv"]), ok=(0, 1)))
    record("apply_segment", r, rows=data["segment_rows"], **apply_counts(r.stderr))
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        split = conn.execute("SELECT COALESCE(MAX(id), 0) FROM codings").fetchone()[0]
    r = repeated_write(db, repeat_writes, lambda: coder(db, "code", "apply", str(data["quote_csv"]), ok=(0, 1)))
    counts = apply_counts(r.stderr)
    record("apply_quote", r, rows=data["quote_rows"], quotes_per_s=round(data["quote_rows"] / r.wall), **counts)
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        codings = conn.execute("SELECT COUNT(*) FROM codings").fetchone()[0]
    for unit in FREQ_UNITS:  # the first run after the codings were written stores the counts, later runs read them
        first = coder(db, "report", "freq", "--by", "case", "--unit", unit)
        record(f"freq_{unit}", repeated(repeat, lambda: coder(db, "report", "freq", "--by", "case", "--unit", unit)),
               codings=codings)
        phases[f"freq_{unit}"]["first"] = first.as_json()
        log(f"  {label:>6} (first run {first.wall:.3f} s, {first.rss_mb:.0f} MB)")
    record("quotes_code_json", repeated(repeat, lambda: coder(db, "report", "quotes", "--code", QUOTE_CODE,
                                                                 "--json")))
    record("quotes_csv_all", repeated(repeat_writes, lambda: coder(db, "report", "quotes", "--csv")))
    for unit in ("segments", "characters"):  # issue 15: all codes of the two coders, about a second
        record(f"agreement_{unit}", repeated(repeat, lambda: coder(db, "report", "agreement", "--coder", "anna",
                                                                    "--coder", "bjørn", "--unit", unit, "--json")))
    record("help", repeated(repeat, lambda: coder(db, "--help")))
    search_phases(db, repeat_writes, record)
    # a 50-page manuscript's 120 quotes checked; exit 1 is its success, as some are planted wrong
    r = repeated(repeat_writes, lambda: coder(db, "verify", str(data["manuscript"]), "--json", ok=(0, 1)))
    record("verify", Run(r.wall, r.cpu, r.rss_mb, 0, r.stdout, r.stderr),
           checked=(r.stderr.strip().splitlines() or [""])[-1])
    # autocode --apply on a copy: its codings would change the floor's rows
    auto_db = fresh_db(workdir / "autocode.db")
    with sqlite3.connect(db) as source, sqlite3.connect(auto_db) as copy:
        source.backup(copy)
    source.close()
    copy.close()
    r = repeated_write(auto_db, repeat_writes, lambda: coder(auto_db, "autocode", "--apply"))
    record("autocode_apply", r, codings=autocoded(auto_db))
    merge_floor = merge_phase(db, workdir, codebook, repeat_writes, record)

    # init's floor is a process too (spawn to exit), as coder's is: a Python that creates the
    # same schema and writes the same codebook rows, no more
    init_floor = repeated(repeat, lambda: run([sys.executable, str(HERE / "floor.py"), str(db),
                                                str(fresh_db(workdir / "floor-init.db")), "--init"]))
    fresh_db(workdir / "floor-init.db")
    floors = [json.loads(run([sys.executable, str(HERE / "floor.py"), str(db), str(workdir / "floor.db"),
                              "--split", str(split), "--autocode", str(auto_db), "--quotes", str(data["quote_csv"])],
                             full_stdout=True).stdout) for _ in range(repeat_writes)]
    fresh_db(auto_db)
    floor = {name: min((f[name] for f in floors), key=lambda v: v["wall"]) for name in floors[0]}
    floor["merge"] = merge_floor
    floor["init"] = {"wall": init_floor.wall, "cpu": init_floor.cpu, "rows": 0, "process": True}
    for name, values in floor.items():
        log(f"  {label:>6} floor {name:18} {values['wall']:8.3f} s  cpu {values['cpu']:7.3f} s  rows={values['rows']}")
    for suffix in ("", "-wal", "-shm"):
        Path(str(workdir / "floor.db") + suffix).unlink(missing_ok=True)
    return {"transcripts": data["transcripts"], "segments": data["segments"], "codings": codings,
            "segment_rows": data["segment_rows"], "quote_rows": data["quote_rows"], "phases": phases,
            "floor": floor}


def merge_phase(db: Path, workdir: Path, codebook: Path, repeat: int, record) -> dict:
    """`coder merge` of the whole project into an empty one with the same codebook (issue 15):
    every transcript, segment and coding is new there. Its floor copies the same rows with
    bare sqlite3 (bench/floor_merge.py). Returns the floor's fastest run."""
    empty, target = fresh_db(workdir / "merge-empty.db"), fresh_db(workdir / "merged.db")
    coder(empty, "init", "--codebook", str(codebook))
    with sqlite3.connect(empty) as source, sqlite3.connect(target) as copy:
        source.backup(copy)
    source.close()
    copy.close()
    r = repeated_write(target, repeat, lambda: coder(target, "merge", str(db)))
    with sqlite3.connect(f"file:{target}?mode=ro", uri=True) as conn:
        merged = conn.execute("SELECT COUNT(*) FROM codings").fetchone()[0]
    conn.close()
    record("merge", r, codings=merged)
    floors = [json.loads(run([sys.executable, str(HERE / "floor_merge.py"), str(db), str(empty),
                              str(workdir / "floor-merge.db")], full_stdout=True).stdout) for _ in range(repeat)]
    for path in (empty, target, workdir / "floor-merge.db"):
        fresh_db(path)
        shutil.rmtree(path.with_name(path.name + ".backups"), ignore_errors=True)
    return min(floors, key=lambda f: f["wall"])


def search_phases(db: Path, repeat: int, record) -> None:
    """`search` as typed and fuzzy (read-only: the fastest of `repeat` runs)."""
    record("search_plain", repeated(repeat, lambda: coder(db, "search", SEARCH_WORD, "--json")))
    record("search_fuzzy", repeated(repeat, lambda: coder(db, "search", FUZZY_WORD, "--fuzzy", "--json")))


def autocoded(db: Path) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        count = conn.execute("SELECT COUNT(*) FROM codings WHERE coder = 'autocode'").fetchone()[0]
    conn.close()
    return count


def bench_search_tier(root: Path, spec: Spec, transcripts: int, log) -> dict:
    """The large tier for search and autocode (issue 19): a corpus of `transcripts`, imported,
    then `search` (as typed, fuzzy) and `autocode --apply`, each run once."""
    big = Spec(transcripts=transcripts, turns=spec.turns, seed=spec.seed)
    folder = root / f"{big.transcripts}x{big.turns}-{big.seed}"
    start = time.perf_counter()
    data = corpus(folder, big, [transcripts])[transcripts]
    log(f"  tier   corpus of {transcripts:,} transcripts written ({time.perf_counter() - start:.0f} s)")
    db = fresh_db(folder / "coder.db")
    phases: dict[str, dict] = {}

    def record(name: str, result: Run, **extra) -> Run:
        phases[name] = {**result.as_json(), **extra}
        log(f"  tier   {name:24} {result.wall:8.3f} s  cpu {result.cpu:7.3f} s  {result.rss_mb:6.0f} MB"
            + "".join(f"  {k}={v}" for k, v in extra.items()))
        return result

    coder(db, "init", "--codebook", str(folder / "codebook.yaml"))
    record("import", coder(db, "import", str(data["folder"])), segments=data["segments"])
    search_phases(db, 1, record)
    record("autocode_apply", coder(db, "autocode", "--apply"), codings=autocoded(db))
    fresh_db(db)
    return {"transcripts": transcripts, "segments": data["segments"], "phases": phases}


def bench_survey(root: Path, rows: int, log) -> dict:
    """Survey answers (issue 16): a workbook of `rows` respondents (an id, three attribute
    columns, two free-text answers) imported once with --text-columns into a new project."""
    import random

    folder = root / f"survey-{rows}"
    workbook = folder / "answers.xlsx"
    if not workbook.exists():
        import openpyxl

        folder.mkdir(parents=True, exist_ok=True)
        rng = random.Random(16)
        words = ("vi har to sjefer og det går fint men krevende samarbeid kommune stat kontor partnerskap møte uke "
                 "leder").split()
        book = openpyxl.Workbook(write_only=True)
        sheet = book.create_sheet()
        sheet.append(["ResponseId", "kontor", "alder", "stilling", "Q1", "Q2"])
        for i in range(rows):
            sheet.append([f"R{i:06d}", rng.choice(["Hamar", "Lier", "Asker", "Tjøme", "Trøgstad"]),
                          rng.randint(20, 67), rng.choice(["veileder", "leder"]),
                          " ".join(rng.choices(words, k=rng.randint(5, 40))),
                          " ".join(rng.choices(words, k=rng.randint(0, 20)))])
        book.save(workbook)
    sheet_csv = folder / "answers.csv"
    if not sheet_csv.exists():  # the same rows as CSV, written by a child (this process stays small)
        run([sys.executable, "-c", "import csv, sys, openpyxl\n"
             "book = openpyxl.load_workbook(sys.argv[1], read_only=True)\n"
             "with open(sys.argv[2], 'w', encoding='utf-8', newline='') as out:\n"
             "    csv.writer(out).writerows(book.active.iter_rows(values_only=True))\n",
             str(workbook), str(sheet_csv)])
    result: dict = {"rows": rows}
    for kind, path in (("xlsx", workbook), ("csv", sheet_csv)):
        db = fresh_db(folder / "coder.db")
        coder(db, "init")
        r = coder(db, "import", str(path), "--text-columns", "Q1", "--text-columns", "Q2")
        log(f"  survey import {rows:,} rows ({kind}) {r.wall:8.3f} s  cpu {r.cpu:7.3f} s  {r.rss_mb:6.0f} MB")
        result[kind] = r.as_json()
        result["import"] = result.get("import") or r.as_json()
        if kind == "csv":  # the floor: the csv module reading the file, sqlite3 writing the rows coder wrote
            floor = json.loads(run([sys.executable, str(HERE / "floor.py"), str(db), str(folder / "floor.db"),
                                    "--survey", str(path)], full_stdout=True).stdout)
            log(f"  survey floor  {rows:,} rows (csv) {floor['wall']:8.3f} s  cpu {floor['cpu']:7.3f} s")
            result["floor"] = floor
            fresh_db(folder / "floor.db")
        fresh_db(db)
    return result


def bench_small(root: Path, repeat: int, log) -> dict:
    """Start-up cost: `coder --help` and `report freq` on a project of 10 short interviews."""
    data = corpus(root, Spec(transcripts=10, turns=40), [10])[10]
    db = fresh_db(root / "coder.db")
    coder(db, "init", "--codebook", str(root / "codebook.yaml"))
    coder(db, "import", str(data["folder"]))
    coder(db, "code", "apply", str(data["segment_csv"]), ok=(0, 1))
    result = {}
    for name, argv in (("help", ["--help"]), ("freq", ["report", "freq"])):
        r = repeated(repeat, lambda: coder(db, *argv))
        result[name] = r.as_json()
        log(f"  small  {name:24} {r.wall:8.3f} s  cpu {r.cpu:7.3f} s  {r.rss_mb:6.0f} MB")
    return result


def bench_big_freq(root: Path, codebook: Path, codings: int, repeat: int, log) -> dict:
    root.mkdir(parents=True, exist_ok=True)
    db = fresh_db(root / "coder.db")
    coder(db, "init", "--codebook", str(codebook))
    start = time.perf_counter()
    built = json.loads(run([sys.executable, str(HERE / "bigfreq.py"), str(db), "--codings", str(codings)],
                           full_stdout=True).stdout)
    log(f"  big    built {built['codings']:,} codings in {built['transcripts']:,} transcripts "
        f"({time.perf_counter() - start:.1f} s)")
    result = {"codings": built["codings"], "transcripts": built["transcripts"], "phases": {}}
    for unit in FREQ_UNITS:
        first = coder(db, "report", "freq", "--by", "case", "--unit", unit)
        r = repeated(repeat, lambda: coder(db, "report", "freq", "--by", "case", "--unit", unit))
        result["phases"][f"freq_{unit}"] = {**r.as_json(), "first": first.as_json()}
        log(f"  big    freq_{unit:19} {r.wall:8.3f} s  cpu {r.cpu:7.3f} s  {r.rss_mb:6.0f} MB  "
            f"(first run {first.wall:.3f} s, {first.rss_mb:.0f} MB)")
    fresh_db(db)
    return result


def bench_docx(dbs: list[tuple[str, Path]], repeat: int, log) -> dict:
    """The DOCX quote sheet of every quote at two sizes (issue 18: it grew quadratically, 27,200
    quotes took 7 minutes): seconds at each, and the growth per doubling of the quotes (2.0 is
    linear, 4.0 quadratic)."""
    result: dict = {"sizes": {}}
    for label, db in dbs:
        target = db.parent / "quotes.docx"
        r = repeated(repeat, lambda: coder(db, "report", "quotes", "--docx", "--out", str(target), "--force"))
        quotes = int(re.search(r"wrote (\d+) quote", r.stderr).group(1))
        result["sizes"][label] = {**r.as_json(), "quotes": quotes}
        log(f"  {label:>6} {'docx_all':24} {r.wall:8.3f} s  cpu {r.cpu:7.3f} s  {r.rss_mb:6.0f} MB  quotes={quotes}")
    found = sorted(result["sizes"].values(), key=lambda d: d["quotes"])
    a, b = found[0], found[-1]
    if b["quotes"] > a["quotes"] > 0 and a["wall"] > 0:
        exponent = math.log(b["wall"] / a["wall"]) / math.log(b["quotes"] / a["quotes"])
        result["per_doubling"] = round(2 ** exponent, 2)
        log(f"  docx: {a['quotes']:,} -> {b['quotes']:,} quotes, time x{result['per_doubling']} per doubling "
            "(2 = linear)")
    return result


# -- report -------------------------------------------------------------------------------

PHASES = (
    ("init", "`init --codebook`", "init"),
    ("import", "`import` folder", "import"),
    ("reimport", "re-`import` (unchanged)", None),
    ("apply_segment", "`code apply` by segment", "apply_segment"),
    ("apply_quote", "`code apply` by quote", "apply_quote"),
    *((f"freq_{u}", f"`report freq --by case --unit {u}`", "freq" if u == "segments" else None) for u in FREQ_UNITS),
    ("quotes_code_json", f"`report quotes --code {QUOTE_CODE} --json`", None),
    ("quotes_csv_all", "`report quotes --csv` (all)", None),
    *((f"agreement_{u}", f"`report agreement` (2 coders, all codes, {u})", None) for u in ("segments", "characters")),
    ("help", "`coder --help`", None),
    ("search_plain", f"`search {SEARCH_WORD} --json`", None),
    ("search_fuzzy", f"`search {FUZZY_WORD} --fuzzy --json`", None),
    ("autocode_apply", "`autocode --apply`", "autocode_apply"),
    ("verify", "`verify` a 50-page manuscript (120 quotes)", None),
    ("merge", "`merge` the project into an empty one", "merge"),
)
GROWTH_SLACK = 1.25
LARGE_GROWTH = 2.2  # issue 19: from the 1× size to the large tier, at most this per doubling
RSS_LIMIT_MB = 250


def machine() -> dict:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": model, "cores": os.cpu_count(), "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version, "platform": platform.platform()}


def growth(results: dict, phase: str, measure: str = "wall") -> list[tuple[float, float, bool]]:
    """(size ratio, time ratio, within the limit) for each step between consecutive sizes."""
    steps = []
    sizes = sorted(results["sizes"], key=float)
    for a, b in zip(sizes, sizes[1:]):
        ta, tb = (results["sizes"][x]["phases"][phase][measure] for x in (a, b))
        size_ratio = float(b) / float(a)
        ratio = tb / ta if ta else math.inf
        steps.append((size_ratio, ratio, ratio <= size_ratio * GROWTH_SLACK))
    return steps


def targets(results: dict, measure: str) -> list[dict]:
    """Each target of issue 6, judged on wall-clock time (measure="wall") or on the
    processes' CPU time ("cpu": what the code costs, whatever else the machine is doing)."""
    sizes = sorted(results["sizes"], key=float)
    top = results["sizes"][sizes[-1]]
    p, floor = top["phases"], top["floor"]
    out = []

    def add(name: str, measured: float, limit: float, unit: str, holds: bool) -> None:
        out.append({"target": name, "measured": measured, "limit": limit, "unit": unit, "holds": holds})

    def t(phase: str) -> float:
        return p[phase][measure]

    add("import ≤ 3× floor", t("import") / floor["import"][measure], 3, "× floor",
        t("import") <= 3 * floor["import"][measure])
    add("re-import ≤ 10% of import", 100 * t("reimport") / t("import"), 10, "%", t("reimport") <= 0.10 * t("import"))
    add("`code apply` by segment ≤ 3× floor", t("apply_segment") / floor["apply_segment"][measure], 3, "× floor",
        t("apply_segment") <= 3 * floor["apply_segment"][measure])
    qps = top["quote_rows"] / t("apply_quote")
    add("`code apply` by quote ≥ 2,000 quotes/s", qps, 2000, "quotes/s", qps >= 2000)
    if "apply_quote_writes" in floor:  # a floor that finds the quotes too (bench/floor.py --quotes)
        add("`code apply` by quote ≤ 3× floor (finding the quotes too)",
            t("apply_quote") / floor["apply_quote"][measure], 3, "× floor",
            t("apply_quote") <= 3 * floor["apply_quote"][measure])
    worst = max(FREQ_UNITS, key=lambda u: t(f"freq_{u}"))
    add(f"`report freq --by case` ≤ 0.3 s at {top['codings']:,} codings (slowest unit: {worst})",
        t(f"freq_{worst}"), 0.3, "s", t(f"freq_{worst}") <= 0.3)
    big = results.get("big_freq")
    if big:
        worst = max(FREQ_UNITS, key=lambda u: big["phases"][f"freq_{u}"][measure])
        value = big["phases"][f"freq_{worst}"][measure]
        add(f"`report freq --by case` ≤ 1 s at {big['codings']:,} codings (slowest unit: {worst})", value, 1, "s",
            value <= 1)
    small = results["small"]
    add("`coder --help` ≤ 0.3 s", small["help"][measure], 0.3, "s", small["help"][measure] <= 0.3)
    add("`report freq` on a small project ≤ 0.3 s", small["freq"][measure], 0.3, "s", small["freq"][measure] <= 0.3)
    add(f"peak memory of importing {top['transcripts']:,} transcripts ≤ 250 MB", p["import"]["rss_mb"], 250, "MB",
        p["import"]["rss_mb"] <= 250)
    for phase, what in (("search_plain", "`search`"), ("search_fuzzy", "`search --fuzzy`"),
                        ("autocode_apply", "`autocode --apply`")):
        add(f"peak memory of {what} ≤ 250 MB", p[phase]["rss_mb"], 250, "MB", p[phase]["rss_mb"] <= 250)
    add("`verify` a 50-page manuscript (120 quotes) ≤ 5 s", t("verify"), 5, "s", t("verify") <= 5)
    add("`autocode --apply` ≤ 3× floor", t("autocode_apply") / floor["autocode_apply"][measure], 3, "× floor",
        t("autocode_apply") <= 3 * floor["autocode_apply"][measure])
    if "merge" in p:
        add("`merge` ≤ 3× floor (a bare-sqlite copy of the same rows)", t("merge") / floor["merge"][measure], 3,
            "× floor", t("merge") <= 3 * floor["merge"][measure])
    tier = results.get("search_tier")
    if tier:
        value = tier["phases"]["search_fuzzy"][measure]
        add(f"`search --fuzzy` over {tier['transcripts']:,} transcripts < 60 s", value, 60, "s", value < 60)
        worst = max(tier["phases"].values(), key=lambda r: r["rss_mb"])["rss_mb"]
        add(f"peak memory at {tier['transcripts']:,} transcripts (import, search, autocode) ≤ 250 MB", worst, 250,
            "MB", worst <= 250)
    if len(sizes) > 1:
        steps = {name: growth(results, name, measure) for name, _, _ in PHASES}
        bad = [name for name, found in steps.items() if not all(ok for _, _, ok in found)]
        worst_step = max((ratio / size for found in steps.values() for size, ratio, _ in found), default=0)
        add("doubling the corpus at most doubles each phase (±25%)" + (f"; over: {', '.join(bad)}" if bad else ""),
            worst_step * 2, 2 * GROWTH_SLACK, "× per doubling (worst)", not bad)
    if results.get("large"):
        rows = large_rows(results)
        n = results["large"]["transcripts"]
        key = "ratio" if measure == "wall" else "cpu_ratio"
        # `code apply` by quote's floor finds each quote too (bench/floor.py: str.find, else
        # rapidfuzz's alignment), so it is rated like the rest
        rated = [r for r in rows if r[key] is not None]
        worst = max(rated, key=lambda r: r[key])
        over = [r["name"] for r in rated if r[key] > 3]
        add(f"every phase ≤ 3× its floor at {n:,} transcripts" + (f"; over: {', '.join(over)}" if over else ""),
            worst[key], 3, "× floor (worst)", not over)
        worst = max(rows, key=lambda r: r["rss_mb"])
        over = [r["name"] for r in rows if r["rss_mb"] > RSS_LIMIT_MB]
        add(f"peak memory of every phase at {n:,} transcripts ≤ {RSS_LIMIT_MB} MB"
            + (f"; over: {', '.join(over)}" if over else ""), worst["rss_mb"], RSS_LIMIT_MB, "MB", not over)
        # phases of about a second or less are start-up: their growth is noise
        key = "growth" if measure == "wall" else "cpu_growth"
        grown = [r for r in rows if not math.isnan(r[key]) and r[measure] > 1]
        over = [r["name"] for r in grown if r[key] > LARGE_GROWTH]
        worst = max((r[key] for r in grown), default=0)
        add(f"growth per doubling up to {n:,} transcripts ≤ {LARGE_GROWTH}" + (f"; over: {', '.join(over)}"
                                                                             if over else ""),
            worst, LARGE_GROWTH, "× per doubling (worst)", not over)
        fuzzy = results["large"]["phases"]["search_fuzzy"][measure]
        add(f"`search --fuzzy` over {n:,} transcripts < 60 s", fuzzy, 60, "s", fuzzy < 60)
    survey = results.get("survey")
    if survey:
        for kind in ("xlsx", "csv"):
            if kind in survey:
                value = survey[kind][measure]
                add(f"importing a {survey['rows']:,}-row survey ({kind.upper()}) ≤ 10 s", value, 10, "s", value <= 10)
                if "floor" in survey:  # the CSV floor for both: reading a workbook is part of the work
                    ratio = value / survey["floor"][measure]
                    add(f"importing a {survey['rows']:,}-row survey ({kind.upper()}) ≤ 3× floor", ratio, 3,
                        "× floor", ratio <= 3)
    total = results["total_seconds"]
    add("the whole benchmark < 10 minutes (wall-clock)", total / 60, 10, "min", total < 600)
    return out


def per_doubling(small: float, large: float, size_ratio: float) -> float:
    """Time growth per doubling of the corpus between two sizes (2.0 = linear)."""
    if small <= 0 or size_ratio <= 1:
        return math.nan
    return 2 ** (math.log2(large / small) / math.log2(size_ratio)) if large > 0 else 0.0


def large_rows(results: dict) -> list[dict]:
    """The large tier's phases: time, floor, ratio, peak RSS, growth per doubling from 1×."""
    large = results["large"]
    top = results["sizes"][sorted(results["sizes"], key=float)[-1]]
    size_ratio = large["transcripts"] / top["transcripts"]
    rows = []
    for name, title, floor_key in PHASES:
        r = large["phases"].get(name)
        if r is None:
            continue
        floor = large["floor"].get(floor_key) if floor_key else None
        small = top["phases"].get(name, {}).get("wall")
        rows.append({"name": name, "title": title, "wall": r["wall"], "cpu": r["cpu"], "rss_mb": r["rss_mb"],
                     "floor": floor["wall"] if floor else None,
                     "ratio": r["wall"] / floor["wall"] if floor else None,
                     "cpu_ratio": r["cpu"] / floor["cpu"] if floor and floor["cpu"] else None,
                     "growth": per_doubling(small, r["wall"], size_ratio) if small else math.nan,
                     "cpu_growth": per_doubling(top["phases"][name]["cpu"], r["cpu"], size_ratio)
                     if name in top["phases"] else math.nan})
        if "first" in r:  # the first report after the bulk writes, against the same GROUP BY
            first = r["first"]
            floor = large["floor"]["freq"] if name == "freq_segments" else None
            rows.append({"name": f"{name}_first", "title": f"{title}, first run after the bulk writes",
                         "wall": first["wall"], "cpu": first["cpu"], "rss_mb": first["rss_mb"],
                         "floor": floor["wall"] if floor else None,
                         "ratio": first["wall"] / floor["wall"] if floor else None,
                         "cpu_ratio": first["cpu"] / floor["cpu"] if floor and floor["cpu"] else None,
                         "growth": per_doubling(top["phases"][name]["first"]["wall"], first["wall"], size_ratio)
                         if "first" in top["phases"].get(name, {}) else math.nan,
                         "cpu_growth": per_doubling(top["phases"][name]["first"]["cpu"], first["cpu"], size_ratio)
                         if "first" in top["phases"].get(name, {}) else math.nan})
    return rows


def large_table(results: dict) -> list[str]:
    large = results["large"]
    top = results["sizes"][sorted(results["sizes"], key=float)[-1]]
    load = large.get("load") or (math.nan,) * 3
    lines = [f"## Large tier: {large['transcripts']:,} transcripts", "",
             f"{large['segments']:,} segments, {large['codings']:,} codings ({large['segment_rows']:,} rows applied "
             f"by segment, {large['quote_rows']:,} by quote). Every phase run once, its floor in the same run "
             f"(so ratios compare processes timed minutes apart, under the same load; load average "
             f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} at the end). Growth: time per doubling of the corpus "
             f"from the {top['transcripts']:,}-transcript size (2.0 = linear; ⚠ over {LARGE_GROWTH}).", "",
             "| phase | time (s) | cpu (s) | floor (s) | × floor | × floor (cpu) | peak RSS (MB) | growth per doubling "
             "| growth (cpu) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in large_rows(results):
        ratio = f"{row['ratio']:.2f}" if row["ratio"] is not None else ""
        cpu_ratio = f"{row['cpu_ratio']:.2f}" if row["cpu_ratio"] is not None else ""
        floor = _fmt(row["floor"]) if row["floor"] is not None else ""
        rss = f"{row['rss_mb']:.0f}" + (" ⚠" if row["rss_mb"] > RSS_LIMIT_MB else "")
        grow = "" if math.isnan(row["growth"]) else f"{row['growth']:.2f}" + (
            " ⚠" if row["growth"] > LARGE_GROWTH and row["wall"] > 1 else "")
        cpu_grow = "" if math.isnan(row["cpu_growth"]) else f"{row['cpu_growth']:.2f}" + (
            " ⚠" if row["cpu_growth"] > LARGE_GROWTH and row["cpu"] > 1 else "")
        lines.append(f"| {row['title']} | {_fmt(row['wall'])} | {_fmt(row['cpu'])} | {floor} | {ratio} | "
                     f"{cpu_ratio} | {rss} | {grow} | {cpu_grow} |")
    return lines


def _fmt(seconds: float) -> str:
    return f"{seconds:.3f}" if seconds < 10 else f"{seconds:.1f}"


def markdown(results: dict) -> str:
    sizes = sorted(results["sizes"], key=float)
    top = results["sizes"][sizes[-1]]
    m = results["machine"]
    lines = [
        "# coder benchmark", "",
        f"`bench/run.py`, {results['date']}. Machine: {m['cpu']}, {m['cores']} cores; Python {m['python']}; "
        f"SQLite {m['sqlite']}; load average {results['load'][0]:.1f} at the start, {results['load'][1]:.1f} at "
        f"the end. Whole run: {results['total_seconds'] / 60:.1f} min.", "",
        "Corpus: " + "; ".join(f"{s}× = {d['transcripts']:,} transcripts, {d['segments']:,} segments, "
                               f"{d['codings']:,} codings ({d['segment_rows']:,} by segment, "
                               f"{d['quote_rows']:,} by quote)" for s, d in
                               ((s, results["sizes"][s]) for s in sizes)) + ".", "",
        "Each phase is the real command line in its own process: wall-clock seconds from spawn to exit "
        f"(the fastest of {results.get('repeat', 5)} runs for read-only phases, of "
        f"{results.get('repeat_writes', 1)} from the same starting state for phases that write, the floor and "
        "exporting all quotes), and the process's CPU time (user + system). "
        "Floor: the same rows written by a bare sqlite3 script (`bench/floor.py`: one transaction, executemany, "
        "coder's schema and indexes, WAL, synchronous=FULL), and the same GROUP BY, timed inside that process; "
        "`code apply` by quote's floor does the same work as coder: each transcript's text read once, each quote "
        "found (str.find, else rapidfuzz's partial_ratio_alignment at the same threshold), its rows inserted"
        + (f" (only inserting the same rows: {top['floor']['apply_quote_writes']['wall']:.3f} s)"
           if "apply_quote_writes" in top["floor"] else "") + ". "
        "Growth: wall time ratio from each size to the next (2.0 = linear for a doubling; ⚠ over 2.5). "
        f"Peak RSS: the process's ru_maxrss (the benchmark's own process, which every phase is spawned "
        f"from and which would set a floor to it, peaked at {results['bench_rss_mb']:.0f} MB).", "",
        "| phase | " + " | ".join(f"{s}× (s)" for s in sizes) + f" | {sizes[-1]}× cpu (s) | floor (s) | × floor | "
        f"× floor (cpu) | peak RSS (MB) | growth |",
        "|---|" + "---:|" * len(sizes) + "---:|---:|---:|---:|---:|---|",
    ]
    for name, title, floor_key in PHASES:
        walls = [results["sizes"][s]["phases"][name]["wall"] for s in sizes]
        cpu = top["phases"][name]["cpu"]
        floor = top["floor"][floor_key] if floor_key else None
        ratio = f"{walls[-1] / floor['wall']:.2f}" if floor else ""
        cpu_ratio = f"{cpu / floor['cpu']:.2f}" if floor and floor["cpu"] else ""
        steps = growth(results, name) if len(sizes) > 1 else []
        grow = " → ".join(f"{r:.2f}{'' if ok else ' ⚠'}" for _, r, ok in steps)
        extra = f" ({top['quote_rows'] / walls[-1]:,.0f} quotes/s)" if name == "apply_quote" else ""
        if name == "autocode_apply":
            extra = f" ({top['phases'][name]['codings']:,} codings at {sizes[-1]}×)"
        if "first" in top["phases"][name]:
            extra = f" (first run, storing the counts: {_fmt(top['phases'][name]['first']['wall'])} s at {sizes[-1]}×)"
        floor_text = f"{_fmt(floor['wall'])}" if floor else ""
        lines.append(f"| {title}{extra} | " + " | ".join(_fmt(w) for w in walls)
                     + f" | {_fmt(cpu)} | {floor_text} | {ratio} | {cpu_ratio} | "
                       f"{top['phases'][name]['rss_mb']:.0f} | {grow} |")
    if results.get("big_freq"):
        big = results["big_freq"]
        lines += ["", f"`report freq --by case` on {big['codings']:,} codings ({big['transcripts']:,} transcripts, "
                      "built directly with sqlite3 by `bench/bigfreq.py`):", "",
                  "| unit | wall (s) | cpu (s) | peak RSS (MB) | first run: wall (s) | first run: peak RSS (MB) |",
                  "|---|---:|---:|---:|---:|---:|"]
        for unit in FREQ_UNITS:
            r = big["phases"][f"freq_{unit}"]
            lines.append(f"| {unit} | {_fmt(r['wall'])} | {_fmt(r['cpu'])} | {r['rss_mb']:.0f} | "
                         f"{_fmt(r['first']['wall'])} | {r['first']['rss_mb']:.0f} |")
        lines += ["", "The first report after codings were written also stores their counts per transcript "
                      "(`coder/store/unit_counts.py`); later reports read those, and recount only transcripts whose codings "
                      "changed."]
    if results.get("large"):
        lines += [""] + large_table(results)
    docx = results.get("docx")
    if docx and docx["sizes"]:
        lines += ["", "`report quotes --docx` (every quote): " + ", ".join(
            f"{d['quotes']:,} quotes {_fmt(d['wall'])} s ({d['rss_mb']:.0f} MB)" for d in docx["sizes"].values())
            + (f"; time ×{docx['per_doubling']:.2f} per doubling of the quotes (2 = linear)"
               if "per_doubling" in docx else "") + "."]
    if results.get("search_tier"):
        tier = results["search_tier"]
        lines += ["", f"Search and autocode over {tier['transcripts']:,} transcripts ({tier['segments']:,} segments; "
                      "`--search-tier`, each run once):", "",
                  "| phase | wall (s) | cpu (s) | peak RSS (MB) |", "|---|---:|---:|---:|"]
        titles = {name: title for name, title, _ in PHASES}
        for name, r in tier["phases"].items():
            extra = f" ({r['codings']:,} codings)" if "codings" in r else ""
            lines.append(f"| {titles[name]}{extra} | {_fmt(r['wall'])} | {_fmt(r['cpu'])} | {r['rss_mb']:.0f} |")
    survey = results.get("survey")
    if survey:
        lines += ["", f"Importing survey answers, {survey['rows']:,} respondents × 2 text columns (`coder import "
                      "--text-columns`, one run each): " + ", ".join(
                          f"{kind.upper()} {_fmt(survey[kind]['wall'])} s (cpu {_fmt(survey[kind]['cpu'])} s, "
                          f"{survey[kind]['rss_mb']:.0f} MB)" for kind in ("xlsx", "csv") if kind in survey) + "."
                  + (f" Floor (the csv module reading the CSV, sqlite3 writing the same rows): "
                     f"{_fmt(survey['floor']['wall'])} s (cpu {_fmt(survey['floor']['cpu'])} s)."
                     if "floor" in survey else "")]
    small = results["small"]
    lines += ["", "A small project (10 interviews): "
              f"`coder --help` {small['help']['wall']:.3f} s (cpu {small['help']['cpu']:.3f} s), "
              f"`coder report freq` {small['freq']['wall']:.3f} s (cpu {small['freq']['cpu']:.3f} s).",
              "", "## Targets", "",
              "Judged on wall-clock time, and again on CPU time (which other work on the machine does not inflate).",
              "", "| target | measured (wall) | holds | measured (cpu) | holds | limit |", "|---|---:|---|---:|---|---:|"]

    def show(t: dict) -> str:
        return f"{t['measured']:,.0f}" if t["measured"] >= 100 else f"{t['measured']:.2f}"

    for wall, cpu in zip(results["targets"]["wall"], results["targets"]["cpu"]):
        lines.append(f"| {wall['target']} | {show(wall)} {wall['unit']} | {'yes' if wall['holds'] else '**no**'} | "
                     f"{show(cpu)} {cpu['unit']} | {'yes' if cpu['holds'] else '**no**'} | {wall['limit']:g} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description="coder's performance benchmark against the SQLite floor.")
    parser.add_argument("--sizes", default=None, help="Fractions of the corpus to run (default 0.25,0.5,1).")
    parser.add_argument("--transcripts", type=int, default=None, help="Transcripts at 1× (default 1000).")
    parser.add_argument("--turns", type=int, default=None, help="Speaker turns per transcript (default 200).")
    parser.add_argument("--seed", type=int, default=Spec.seed)
    parser.add_argument("--quick", action="store_true", help="A small run: 200 × 100 at 0.5,1; no big freq.")
    parser.add_argument("--big-freq", dest="big_freq", action=argparse.BooleanOptionalAction, default=None,
                        help="Also time `report freq` on a database of --big-codings codings (default: on, "
                             "off with --quick).")
    parser.add_argument("--big-codings", type=int, default=1_000_000)
    parser.add_argument("--search-tier", dest="search_tier", type=int, default=0, metavar="TRANSCRIPTS",
                        help="Also time import, search and autocode over a corpus of this many transcripts (e.g. "
                             "10000: about 10 more minutes; default: not run).")
    parser.add_argument("--large", type=int, default=int(os.environ.get("BENCH_LARGE") or 0), metavar="TRANSCRIPTS",
                        help="Also run every phase once over a corpus of this many transcripts (10000: 2,000,000 "
                             "segments, about 1,000,000 codings; 30 minutes or more on 2 cores), with its floor, "
                             "and report its growth per doubling from the 1× size (default: $BENCH_LARGE, else "
                             "not run; `make bench-large` runs 10000).")
    parser.add_argument("--survey-rows", dest="survey_rows", type=int, default=0, metavar="ROWS",
                        help="Also time importing survey answers from a workbook of this many respondents (e.g. "
                             "100000; default: not run).")
    parser.add_argument("--repeat", type=int, default=5, help="Runs of each read-only phase (the fastest is kept).")
    parser.add_argument("--repeat-writes", dest="repeat_writes", type=int, default=3,
                        help="Runs of each phase that writes (from the same state; the fastest is kept), of the "
                             "floor, and of exporting all quotes.")
    parser.add_argument("--workdir", type=Path, default=HERE / "corpus", help="Corpus and databases (git-ignored).")
    parser.add_argument("--results", type=Path, default=HERE / "results")
    args = parser.parse_args()
    sizes = [float(s) for s in (args.sizes or ("0.5,1" if args.quick else "0.25,0.5,1")).split(",")]
    spec = Spec(transcripts=args.transcripts or (200 if args.quick else 1000),
                turns=args.turns or (100 if args.quick else 200), seed=args.seed)
    big_freq = args.big_freq if args.big_freq is not None else not args.quick

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    started = time.perf_counter()
    load_start = os.getloadavg()[0]
    ENV["PYTHONPYCACHEPREFIX"] = str((args.workdir / "pycache").resolve())
    run([sys.executable, "-m", "compileall", "-q", str(REPO / "coder")])
    counts = {s: max(1, round(spec.transcripts * s)) for s in sizes}
    log(f"bench: writing the corpus ({spec.transcripts} × {spec.turns}) to {args.workdir}")
    corpus_dir = args.workdir / f"{spec.transcripts}x{spec.turns}-{spec.seed}"
    data = corpus(corpus_dir, spec, sorted(set(counts.values())))
    log(f"bench: corpus ready ({time.perf_counter() - started:.1f} s)")
    results: dict = {"date": time.strftime("%Y-%m-%d %H:%M"), "machine": machine(), "repeat": args.repeat,
                     "repeat_writes": args.repeat_writes,
                     "spec": {"transcripts": spec.transcripts, "turns": spec.turns, "seed": spec.seed}, "sizes": {}}
    for s in sizes:
        label = f"{s:g}"
        results["sizes"][label] = bench_size(label, data[counts[s]], corpus_dir / f"n{counts[s]}",
                                             corpus_dir / "codebook.yaml", args.repeat, args.repeat_writes, log)
    docx_sizes = sizes[:2]  # 25,000 and 50,000 quotes at the default sizes: the DOCX is held whole in memory
    results["docx"] = bench_docx([(f"{s:g}", corpus_dir / f"n{counts[s]}" / "coder.db") for s in docx_sizes],
                                 1, log)
    results["small"] = bench_small(args.workdir / "small", args.repeat, log)
    if big_freq:
        results["big_freq"] = bench_big_freq(args.workdir / "big", corpus_dir / "codebook.yaml", args.big_codings,
                                             args.repeat, log)
    if args.large:
        big = Spec(transcripts=args.large, turns=spec.turns, seed=spec.seed)
        big_dir = args.workdir / f"{big.transcripts}x{big.turns}-{big.seed}"
        start = time.perf_counter()
        big_data = corpus(big_dir, big, [big.transcripts])[big.transcripts]
        log(f"bench: large corpus of {big.transcripts:,} transcripts ready ({time.perf_counter() - start:.0f} s)")
        label = f"{big.transcripts // 1000}k" if big.transcripts % 1000 == 0 else str(big.transcripts)
        results["large"] = bench_size(label, big_data, big_dir / f"n{big.transcripts}", big_dir / "codebook.yaml",
                                      1, 1, log)
        results["large"]["label"] = label
        results["large"]["load"] = os.getloadavg()
    if args.search_tier:
        results["search_tier"] = bench_search_tier(args.workdir, spec, args.search_tier, log)
    if args.survey_rows:
        results["survey"] = bench_survey(args.workdir, args.survey_rows, log)
    results["total_seconds"] = time.perf_counter() - started
    results["load"] = (load_start, os.getloadavg()[0])
    results["targets"] = {measure: targets(results, measure) for measure in ("wall", "cpu")}
    results["bench_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    results["python"] = sys.executable
    args.results.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for name in (f"{stamp}.json", "latest.json"):
        (args.results / name).write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    table = markdown(results)
    (args.results / "latest.md").write_text(table, encoding="utf-8")
    print(table)
    failed = [t["target"] for t in results["targets"]["wall"] if not t["holds"]]
    if failed:
        log(f"bench: {len(failed)} target(s) not met")


if __name__ == "__main__":
    main()
