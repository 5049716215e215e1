"""A project with a million codings, written straight into coder's schema with sqlite3.

`coder init --codebook` makes the database (schema, codebook); this fills in cases,
transcripts (short texts: `report freq` never reads them) and codings, fast: building it
through `code apply` would take minutes and measure nothing new.
"""
from __future__ import annotations

import random
import sqlite3
from pathlib import Path

from corpus import CODERS, FIRST_NAMES, LAST_NAMES, OFFICES, ROLES

STAMP = "2026-01-01T00:00:00+00:00"


def build(db: Path, *, codings: int, per_transcript: int = 100, segments: int = 200, seed: int = 1) -> dict:
    rng = random.Random(seed)
    conn = sqlite3.connect(str(db), isolation_level=None)
    codes = [path for (path,) in conn.execute("SELECT path FROM codes ORDER BY position")]
    transcripts = -(-codings // per_transcript)
    informants = [f"{f} {l}" for f in FIRST_NAMES for l in LAST_NAMES]
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("BEGIN")
    conn.executemany("INSERT OR IGNORE INTO cases(name, attributes, created_at) VALUES (?, '{}', ?)",
                     [(office, STAMP) for office in OFFICES])
    conn.executemany(
        "INSERT INTO transcripts(id, uuid, name, case_name, informant, role, date, attributes, sha256, text, "
        "imported_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, '2007-03-01', '{}', ?, 'tekst', ?, ?)",
        [(i, f"00000000-0000-4000-8000-{i:012d}", f"big_{i:06d}", OFFICES[i % len(OFFICES)],
          rng.choice(informants), rng.choice(ROLES), f"{i:064x}", STAMP, STAMP) for i in range(1, transcripts + 1)])

    def rows():
        n = 0
        combos = [(s, c, k) for s in range(1, segments + 1) for c in range(len(codes)) for k in range(len(CODERS))]
        for t in range(1, transcripts + 1):
            for segment, code, coder in rng.sample(combos, min(per_transcript, codings - n)):
                n += 1
                start = segment * 300
                yield (f"10000000-0000-4000-8000-{n:012d}", t, segment, start, start + 120, codes[code],
                       CODERS[coder], None, "sitert tekst", rng.randint(3, 40), STAMP, STAMP)
            if n >= codings:
                return

    conn.executemany('INSERT INTO codings(uuid, transcript_id, segment, start, "end", code, coder, memo, text, '
                     "words, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows())
    conn.execute("COMMIT")
    count = conn.execute("SELECT COUNT(*) FROM codings").fetchone()[0]
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return {"transcripts": transcripts, "codings": count}


def main() -> None:
    import argparse
    import json

    parser = argparse.ArgumentParser(description="Fill a `coder init` database with N codings.")
    parser.add_argument("db", type=Path)
    parser.add_argument("--codings", type=int, default=1_000_000)
    args = parser.parse_args()
    print(json.dumps(build(args.db, codings=args.codings)))


if __name__ == "__main__":
    main()
