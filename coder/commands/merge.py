"""`coder merge OTHER.db`, registered on the main app (coder/cli.py imports every module of
coder/commands/). The work is done in coder/merge.py."""
from __future__ import annotations

import json
from pathlib import Path

import typer

from coder.commands.base import _env, _store, app

LABELS = {"added": "added", "already_present": "already here", "reanchored": "re-anchored",
          "orphaned": "orphaned", "conflicting": "conflicting"}
FINDINGS_SHOWN = 20  # per kind, on a terminal; --json has them all


@app.command(short_help="Bring in the work done in another copy of the same study.")
def merge(ctx: typer.Context,
          other: Path = typer.Argument(..., metavar="OTHER.db", help="Another copy of this project (a coder "
                                                                     "database); it is only read."),
          dry_run: bool = typer.Option(False, "--dry-run", help="Show what the merge would do; write nothing."),
          json_: bool = typer.Option(False, "--json", help="Print the result (or the plan) as one JSON object.")):
    """Bring the work in another copy of the same study into this project. Transcripts are
    matched by name (a text that differs keeps this side's, and the other side's codings are
    re-anchored onto it), codes by path, codings, memos and names by id, then by what they
    say. Nothing is lost or doubled, and a value that differs is reported and this side's is
    kept. The project is backed up first; merging the same file again changes nothing."""
    from coder import merge as merging
    from coder.render import print_records

    report = merging.merge(_store(ctx), other, dry_run=dry_run)
    env = _env()
    if json_:
        env.stdout.write(json.dumps(report.as_json(), ensure_ascii=False, indent=2) + "\n")
        return
    records = [{"kind": kind.replace("_", " "), **{LABELS[o]: n for o, n in counts.items()}}
               for kind, counts in report.counts.items()]
    print_records(env, records, None, title=f"{'Would merge' if dry_run else 'Merged'} {other}")
    shown: dict[str, int] = {}
    for finding in report.findings:
        shown[finding.kind] = shown.get(finding.kind, 0) + 1
        if shown[finding.kind] <= FINDINGS_SHOWN:
            env.err(f"{finding.kind.rstrip('s').replace('_', ' ')} {finding.name}: {finding.detail}")
    for kind, n in shown.items():
        if n > FINDINGS_SHOWN:
            env.err(f"... and {n - FINDINGS_SHOWN} more about {kind.replace('_', ' ')} (see --json)")
    added = ", ".join(_counted(n, kind) for kind, n in report.added().items() if n)
    conflicting = sum(counts["conflicting"] for counts in report.counts.values())
    kept = f"; {_counted(conflicting, 'difference')} kept as this side has it (above)" if conflicting else ""
    if dry_run:
        env.err(f"dry run: would add {added or 'nothing'}{kept}; nothing was written")
    elif report.changes:
        env.err(f"merged {other}: added {added}{kept}")
    else:
        env.err(f"merged {other}: everything in it was here already, nothing changed{kept}")


def _counted(n: int, kind: str) -> str:
    """"1 coding", "2 case attributes"."""
    kind = kind.replace("_", " ")
    singular = kind[:-1] if kind.endswith("s") else kind
    return f"{n} {singular if n == 1 else singular + 's'}"
