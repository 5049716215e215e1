"""The SQLite floor: the rows coder wrote, written again by a minimal sqlite3 script.

Run by bench/run.py after coder's own phases, as its own process:

    python bench/floor.py SOURCE.db TARGET.db --split ID

It reads every row of coder's database (SOURCE, not timed) and times, on a fresh TARGET
with the very same schema (copied from SOURCE's sqlite_master, so the same indexes) and
the same settings as coder (WAL, synchronous=FULL, foreign keys on):

  import         cases + transcripts + segments: one transaction, executemany
  apply_segment  codings with id <= SPLIT (those `code apply` by segment wrote)
  apply_quote    with --quotes CSV (the file `code apply` by quote read): the same work as coder,
                 in bare Python: each row's transcript text read once per transcript (as coder
                 stores it, normalised), its quote found (str.find; else rapidfuzz's
                 partial_ratio_alignment over the text, with coder's threshold), its segment
                 found (bisect), its words counted, and the rows inserted 5,000 at a time
  apply_quote_writes  the other codings (those `code apply` by quote wrote), only inserted
                 (apply_quote without --quotes: a floor that does none of the finding)
  freq           the GROUP BY behind `report freq --by case` (segments per code and case)
  autocode_apply with --autocode AUTO.db: the codings by `autocode` in AUTO.db (a copy of SOURCE
                 that `autocode --apply` wrote to), inserted after the others

and prints the timings as JSON on stdout.

    python bench/floor.py SOURCE.db TARGET.db --init

is the floor of `coder init --codebook`, timed by bench/run.py as a process (spawn to exit,
as coder's own): it creates SOURCE's schema in TARGET with coder's settings and writes the
codebook's rows (dimensions, codes, their closure, meta) in one transaction.

    python bench/floor.py SOURCE.db TARGET.db --survey ANSWERS.csv

is the floor of `coder import ANSWERS.csv --text-columns ...` (SOURCE: the project that import
made): it times reading every row of the CSV with the csv module and writing the rows coder
wrote (cases, transcripts, their files and segments) in one transaction, and prints the
timing as JSON.
"""
from __future__ import annotations

import argparse
import bisect
import csv
import json
import os
import re
import sqlite3
import sys
import time
from pathlib import Path

TRANSCRIPT_COLUMNS = ("uuid", "name", "case_name", "informant", "role", "date", "attributes", "source_path",
                      "encoding", "sha256", "text", "imported_at", "updated_at")
SEGMENT_COLUMNS = ("transcript_id", "number", "speaker", "start", '"end"', "text")
CODING_COLUMNS = ("uuid", "transcript_id", "segment", "start", '"end"', "code", "coder", "memo", "text", "words",
                  "created_at", "updated_at")
FREQ_SQL = ("SELECT cl.ancestor AS k, t.case_name AS g, COUNT(DISTINCT (c.transcript_id << 24) | c.segment) "
            "FROM codings c JOIN transcripts t ON t.id = c.transcript_id JOIN code_closure cl "
            "ON cl.descendant = c.code WHERE c.status = 'ok' GROUP BY k, g")


def _insert_sql(table: str, columns: tuple[str, ...]) -> str:
    return f"INSERT INTO {table}({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


def _fresh(target: Path, schema: list[str]) -> sqlite3.Connection:
    """The floor's database, made as coder makes its own: WAL, synchronous=FULL, foreign keys."""
    conn = sqlite3.connect(str(target), isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    for sql in schema:
        conn.execute(sql)
    return conn


def _timed(conn: sqlite3.Connection, batches: list[tuple[str, list]]) -> dict:
    wall, cpu = time.perf_counter(), time.process_time()
    conn.execute("BEGIN IMMEDIATE")
    for sql, rows in batches:
        conn.executemany(sql, rows)
    conn.execute("COMMIT")
    return {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
            "rows": sum(len(rows) for _, rows in batches)}


WORD = re.compile(r"\w+")


def _apply_quotes(conn: sqlite3.Connection, quotes: Path, threshold: float) -> dict:
    """The quotes of a `code apply` CSV found in their transcripts and inserted: the work of
    `code apply` by quote, without coder's checks (unknown codes, duplicates judged by their
    words, ambiguity, quotation marks, folding of case and letters), in one transaction."""
    from rapidfuzz import fuzz

    wall, cpu = time.perf_counter(), time.process_time()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    insert = "INSERT OR IGNORE " + _insert_sql("codings", CODING_COLUMNS)[len("INSERT "):]
    conn.execute("BEGIN IMMEDIATE")
    name, transcript_id, text, starts = None, None, "", []
    pending, written = [], 0
    with quotes.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        t, c, q, k, m = (header.index(h) for h in ("transcript", "code", "quote", "coder", "memo"))
        for row in reader:
            if row[t] != name:  # the transcript's text and segment starts, once per transcript
                name = row[t]
                transcript_id, text = conn.execute("SELECT id, text FROM transcripts WHERE name = ?",
                                                   (name,)).fetchone()
                starts = [s for (s,) in conn.execute(
                    "SELECT start FROM segments WHERE transcript_id = ? ORDER BY number", (transcript_id,))]
            quote = row[q].strip()
            start = text.find(quote)
            if start >= 0:
                end = start + len(quote)
            else:
                found = fuzz.partial_ratio_alignment(quote, text, score_cutoff=threshold)
                if found is None:
                    continue
                start, end = found.dest_start, found.dest_end
            span = text[start:end]
            pending.append((os.urandom(16).hex(), transcript_id, bisect.bisect_right(starts, start), start, end,
                            row[c], row[k], row[m] or None, span, len(WORD.findall(span)), stamp, stamp))
            if len(pending) == 5000:
                conn.executemany(insert, pending)
                written += len(pending)
                pending = []
    conn.executemany(insert, pending)
    written += len(pending)
    conn.execute("COMMIT")
    return {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu, "rows": written}


def run(source: Path, target: Path, split: int, autocode: Path | None = None, quotes: Path | None = None,
        threshold: float = 85.0) -> dict:
    for suffix in ("", "-wal", "-shm"):
        Path(str(target) + suffix).unlink(missing_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    schema = [sql for (sql,) in src.execute(
        "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY rowid")]
    cases = src.execute("SELECT name, attributes, created_at FROM cases ORDER BY rowid").fetchall()
    transcripts = src.execute(f"SELECT {', '.join(TRANSCRIPT_COLUMNS)} FROM transcripts ORDER BY id").fetchall()
    segments = src.execute(f"SELECT {', '.join(SEGMENT_COLUMNS)} FROM segments ORDER BY id").fetchall()
    dimensions = src.execute("SELECT * FROM dimensions").fetchall()
    codes = src.execute("SELECT * FROM codes").fetchall()
    closure = src.execute("SELECT * FROM code_closure").fetchall()
    codings = src.execute(f"SELECT id, {', '.join(CODING_COLUMNS)} FROM codings ORDER BY id").fetchall()
    src.close()
    autocoded = []
    if autocode:
        src = sqlite3.connect(f"file:{autocode}?mode=ro", uri=True)
        autocoded = src.execute(f"SELECT {', '.join(CODING_COLUMNS)} FROM codings WHERE coder = 'autocode' "
                                "ORDER BY id").fetchall()
        src.close()

    conn = _fresh(target, schema)
    result = {"import": _timed(conn, [
        ("INSERT INTO cases(name, attributes, created_at) VALUES (?, ?, ?)", cases),
        (_insert_sql("transcripts", TRANSCRIPT_COLUMNS), transcripts),
        (_insert_sql("segments", SEGMENT_COLUMNS), segments)])}
    conn.execute("BEGIN")
    for table, rows in (("dimensions", dimensions), ("codes", codes), ("code_closure", closure)):
        if rows:
            conn.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * len(rows[0]))})", rows)
    conn.execute("COMMIT")
    insert_coding = _insert_sql("codings", CODING_COLUMNS)
    result["apply_segment"] = _timed(conn, [(insert_coding, [row[1:] for row in codings if row[0] <= split])])
    written = [row[1:] for row in codings if row[0] > split]
    result["apply_quote"] = _timed(conn, [(insert_coding, written)])
    if quotes:  # the same rows only inserted is kept beside the fair floor, which writes them again
        result["apply_quote_writes"] = result["apply_quote"]
        last = conn.execute("SELECT MAX(id) FROM codings").fetchone()[0] - len(written)
        conn.execute("DELETE FROM codings WHERE id > ?", (last,))
        result["apply_quote"] = _apply_quotes(conn, quotes, threshold)
    if autocode:
        result["autocode_apply"] = _timed(conn, [(insert_coding, autocoded)])
    walls, cpus = [], []
    for _ in range(3):
        wall, cpu = time.perf_counter(), time.process_time()
        conn.execute(FREQ_SQL).fetchall()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    result["freq"] = {"wall": min(walls), "cpu": min(cpus), "rows": len(codings)}
    conn.close()
    return result


def init(source: Path, target: Path) -> None:
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    schema = [sql for (sql,) in src.execute(
        "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY rowid")]
    rows = {table: src.execute(f"SELECT * FROM {table}").fetchall()
            for table in ("meta", "dimensions", "codes", "code_closure")}
    src.close()
    conn = sqlite3.connect(str(target), isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("BEGIN IMMEDIATE")
    for sql in schema:
        conn.execute(sql)
    for table, values in rows.items():
        if values:
            conn.executemany(f"INSERT OR REPLACE INTO {table} VALUES ({', '.join('?' * len(values[0]))})", values)
    conn.execute("COMMIT")
    conn.close()


def survey(source: Path, target: Path, answers: Path) -> dict:
    import csv

    for suffix in ("", "-wal", "-shm"):
        Path(str(target) + suffix).unlink(missing_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    schema = [sql for (sql,) in src.execute(
        "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY rowid")]
    tables = {"cases": ("name", "attributes", "created_at"), "transcripts": ("id", *TRANSCRIPT_COLUMNS),
              "transcript_files": ("transcript_id", "path", "size", "mtime_ns", "named_case", "segments"),
              "segments": (*SEGMENT_COLUMNS, "start_ms", "end_ms")}
    rows = {table: src.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY rowid").fetchall()
            for table, columns in tables.items()}
    src.close()
    conn = _fresh(target, schema)
    wall, cpu = time.perf_counter(), time.process_time()
    with open(answers, encoding="utf-8", newline="") as stream:
        read = sum(1 for _ in csv.reader(stream))
    result = _timed(conn, [(_insert_sql(table, tables[table]), rows[table]) for table in tables])
    conn.close()
    return {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu, "rows": read - 1,
            "written": result["rows"]}


def main() -> None:
    if sys.argv[3:] == ["--init"]:
        init(Path(sys.argv[1]), Path(sys.argv[2]))
        return
    if sys.argv[3:4] == ["--survey"] and len(sys.argv) == 5:
        print(json.dumps(survey(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[4]))))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("target", type=Path)
    parser.add_argument("--split", type=int, required=True, help="last coding id written by `code apply` by segment")
    parser.add_argument("--autocode", type=Path, help="a copy of SOURCE that `autocode --apply` wrote to")
    parser.add_argument("--quotes", type=Path, help="the CSV `code apply` by quote read (its floor then finds them)")
    parser.add_argument("--threshold", type=float, default=85.0, help="`code apply`'s --threshold")
    args = parser.parse_args()
    print(json.dumps(run(args.source, args.target, args.split, args.autocode, args.quotes, args.threshold)))


if __name__ == "__main__":
    main()
