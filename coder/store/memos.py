"""Memos on the project, a transcript, a code or a coding: the one place that writes them
(`add`, `remove`), and the reads the commands need."""
from __future__ import annotations

from typing import Iterator

from coder.store import Store, new_uuid, now


def add(store: Store, *, target_type: str, target: str, author: str, text: str, uuid: str | None = None,
        created_at: str | None = None, updated_at: str | None = None) -> str:
    """Insert a memo (the only place that does), inside the caller's transaction; returns its
    id. A memo with `uuid` already there (one another tool's file brought in before) is
    updated instead. Stamped now, unless a copy keeps its own times."""
    memo_id, stamp = uuid or new_uuid(), now()
    created, updated = created_at or stamp, updated_at or created_at or stamp
    store.conn.execute("INSERT INTO memos(uuid, target_type, target, author, text, created_at, updated_at) "
                       "VALUES (?,?,?,?,?,?,?) ON CONFLICT(uuid) DO UPDATE SET target_type = excluded.target_type, "
                       "target = excluded.target, author = excluded.author, text = excluded.text, "
                       "updated_at = excluded.updated_at", (memo_id, target_type, target, author, text, created, updated))
    return memo_id



def add_copy(store: Store, row: dict, target: str) -> str:
    """A memo from another copy of the project (`coder merge`), its id and times kept, on
    `target` (a coding's id as this copy has it)."""
    return add(store, target_type=row["target_type"], target=target, author=row["author"], text=row["text"],
               uuid=row["uuid"], created_at=row["created_at"], updated_at=row["updated_at"])

def remove(store: Store, memo_id: str) -> int:
    return store.conn.execute("DELETE FROM memos WHERE uuid = ?", (memo_id,)).rowcount


def retarget_codes(store: Store, renamed: dict[str, str]) -> int:
    """Memos on a code follow it to its new path; returns how many moved."""
    return sum(store.conn.execute("UPDATE memos SET target = ? WHERE target_type = 'code' AND target = ?",
                                  (new, old)).rowcount for old, new in renamed.items())


def on_transcript(store: Store, transcript: str) -> list[dict]:
    """The memos on a transcript, oldest first."""
    return [dict(r) for r in store.query(
        "SELECT uuid, author, text, created_at FROM memos WHERE target_type = 'transcript' AND target = ? "
        "ORDER BY created_at, id", (transcript,))]


def on_targets(store: Store, target_type: str, targets) -> list[dict]:
    """The memos on any of these targets (of one type), oldest first."""
    targets = list(targets)
    found = []
    for i in range(0, len(targets), 500):  # SQLite limits a statement's parameters
        chunk = targets[i:i + 500]
        found += [dict(r) for r in store.query(
            f"SELECT uuid, target_type, target, author, text, created_at, updated_at FROM memos WHERE target_type = ? "
            f"AND target IN ({', '.join('?' for _ in chunk)}) ORDER BY created_at, id", (target_type, *chunk))]
    return found


def retarget(store: Store, target_type: str, old: str, new: str) -> int:
    """Memos on `old` (a transcript or code renamed) now on `new`; returns how many."""
    return store.conn.execute("UPDATE memos SET target = ? WHERE target_type = ? AND target = ?",
                              (new, target_type, old)).rowcount


def by_id_prefix(store: Store, prefix: str) -> list[dict]:
    """The memos whose id starts with `prefix` (checked by the caller: hex digits and dashes)."""
    return [dict(r) for r in store.query(
        "SELECT uuid, target_type, target, author, text, created_at, updated_at FROM memos "
        "WHERE uuid >= ? AND uuid < ?", (prefix, prefix + "~"))]


def set_text(store: Store, memo_id: str, text: str) -> None:
    store.conn.execute("UPDATE memos SET text = ?, updated_at = ? WHERE uuid = ?", (text, now(), memo_id))


def every(store: Store) -> Iterator[tuple]:
    """(target type, target, author, text, created_at, uuid) of every memo, oldest first."""
    return store.conn.execute(
        "SELECT target_type, target, author, text, created_at, uuid FROM memos ORDER BY created_at, id")


def in_full(store: Store) -> list[dict]:
    """Every memo, every column, in the order written."""
    return [dict(r) for r in store.query("SELECT * FROM memos ORDER BY rowid")]
