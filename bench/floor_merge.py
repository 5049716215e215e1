"""The SQLite floor of `coder merge`: the rows a merge into an empty project adds, copied by a
minimal sqlite3 script.

Run by bench/run.py after the merge phase, as its own process:

    python bench/floor_merge.py SOURCE.db EMPTY.db TARGET.db

EMPTY is a project made by `coder init --codebook` (its codes are in already); it is copied
to TARGET (not timed). Then, timed: reading SOURCE's cases, transcripts, segments, speakers
and codings and writing them into TARGET in one transaction with executemany, with coder's
settings (WAL, synchronous=FULL, foreign keys on). Prints the timing as JSON on stdout.
"""
from __future__ import annotations

import argparse
import json
import sqlite3
import time
from pathlib import Path

TRANSCRIPT_COLUMNS = ("id", "uuid", "name", "case_name", "informant", "role", "date", "attributes", "source_path",
                      "encoding", "sha256", "text", "imported_at", "updated_at")
SEGMENT_COLUMNS = ("transcript_id", "number", "speaker", "start", '"end"', "text")
SPEAKER_COLUMNS = ("transcript_id", "label", "interviewer", "informant", "role")
CODING_COLUMNS = ("uuid", "transcript_id", "segment", "start", '"end"', "code", "coder", "memo", "text", "words",
                  "source", "status", "created_at", "updated_at")


def _copy(table: str, columns: tuple[str, ...], src: sqlite3.Connection, dst: sqlite3.Connection) -> int:
    rows = src.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall()
    dst.executemany(f"INSERT INTO {table}({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", rows)
    return len(rows)


def run(source: Path, empty: Path, target: Path) -> dict:
    for suffix in ("", "-wal", "-shm"):
        Path(str(target) + suffix).unlink(missing_ok=True)
    template, conn = sqlite3.connect(empty), sqlite3.connect(str(target), isolation_level=None)
    template.backup(conn)
    template.close()
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    wall, cpu = time.perf_counter(), time.process_time()
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    conn.execute("BEGIN IMMEDIATE")
    rows = _copy("cases", ("name", "attributes", "created_at"), src, conn)
    for table, columns in (("transcripts", TRANSCRIPT_COLUMNS), ("segments", SEGMENT_COLUMNS),
                           ("speakers", SPEAKER_COLUMNS), ("codings", CODING_COLUMNS)):
        rows += _copy(table, columns, src, conn)
    conn.execute("COMMIT")
    result = {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu, "rows": rows}
    src.close()
    conn.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("empty", type=Path)
    parser.add_argument("target", type=Path)
    args = parser.parse_args()
    print(json.dumps(run(args.source, args.empty, args.target)))


if __name__ == "__main__":
    main()
