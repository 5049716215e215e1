"""Memos and the names pseudonymised exports hide: what `coder memo add` and `coder names
add` write. Nothing here prints."""
from __future__ import annotations

from coder.codebook_load import resolve
from coder.coding import coding_id_prefix
from coder.errors import InputError
from coder.importing import require_transcript
from coder.store import Store
from coder.store import codings as coding_rows
from coder.store import memos as memo_rows
from coder.store import names as name_rows


def add_name(store: Store, name: str, alias: str, kind: str = "person") -> None:
    if not name.strip() or not alias.strip():
        raise InputError("a name and its alias must not be empty")
    if kind not in ("person", "place"):
        raise InputError(f"unknown kind '{kind}'", hint="use person or place")
    with store.transaction():
        name_rows.add(store, name.strip(), alias.strip(), kind)
        store.audit("names.add", name=name.strip(), kind=kind)


def add_memo(store: Store, text: str, *, transcript: str | None = None, code: str | None = None,
             coding: str | None = None, author: str, uuid: str | None = None) -> str:
    """Write a memo; with the `uuid` of one already there (a re-imported REFI-QDA note), it is
    updated instead."""
    given = [x for x in (transcript, code, coding) if x]
    if len(given) > 1:
        raise InputError("attach a memo to one thing: --transcript, --code or --coding")
    if not text.strip():
        raise InputError("the memo is empty")
    if transcript:
        target_type, target = "transcript", require_transcript(store, transcript).name
    elif code:
        target_type, target = "code", resolve(store, code)
    elif coding:
        prefix = coding_id_prefix(coding)
        found = coding_rows.uuids_with_prefix(store, prefix)
        if len(found) != 1:
            raise InputError(f"no single coding with id '{coding}'", hint="see `coder code list`")
        target_type, target = "coding", found[0]
    else:
        target_type, target = "project", ""
    with store.transaction():
        memo_id = memo_rows.add(store, target_type=target_type, target=target, author=author, text=text.strip(),
                                uuid=uuid)
        store.audit("memo.add", id=memo_id, target_type=target_type, target=target)
    return f"{target_type} {target}".strip()
