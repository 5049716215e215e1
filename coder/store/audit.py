"""The audit trail: one row per write (who, when, what, and the details the command gave),
written by `Store.audit`; read here for `coder log`."""
from __future__ import annotations

import json
from typing import NamedTuple

from coder.store import Store


class AuditRow(NamedTuple):
    id: int
    at: str  # ISO 8601, UTC
    actor: str
    action: str
    details: dict


def entries(store: Store, *, since: str | None = None, until: str | None = None,
            ids: tuple[int, ...] = ()) -> list[AuditRow]:
    """The audit rows (at or after `since`, before `until`, or these ids), oldest first. A
    details text that is no JSON object (written by another program) is kept as {"text": ...}."""
    where, params = [], []
    if since is not None:
        where.append("at >= ?")
        params.append(since)
    if until is not None:
        where.append("at < ?")
        params.append(until)
    if ids:
        where.append(f"id IN ({', '.join('?' for _ in ids)})")
        params += list(ids)
    sql = f"SELECT id, at, actor, action, details FROM audit {'WHERE ' + ' AND '.join(where) if where else ''} ORDER BY id"
    return [AuditRow(row[0], row[1], row[2], row[3], _details(row[4])) for row in store.conn.execute(sql, params)]


def _details(text: str | None) -> dict:
    try:
        value = json.loads(text or "{}")
    except (TypeError, ValueError):
        return {"text": text}
    return value if isinstance(value, dict) else {"value": value}
