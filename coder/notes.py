"""Memos and the names pseudonymised exports hide: what `coder memo add` and `coder names
add` write. Nothing here prints."""
from __future__ import annotations

from coder.codebook_load import resolve
from coder.coding import coding_id_prefix
from coder.errors import InputError
from coder.store import Store
from coder.store import codings as coding_rows
from coder.store import memos as memo_rows
from coder.store import names as name_rows
from coder.transcripts import require_transcript


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


# -- taking back (`coder names remove`, `coder memo edit/remove`) -----------------------------------

def remove_name(store: Store, name: str) -> tuple[str, str]:
    """Take a name off the list pseudonymised exports hide; returns its (alias, kind)."""
    with store.transaction():
        removed = name_rows.remove(store, name.strip())
        if removed is None:
            listed = [n for n, _, _ in name_rows.listing(store)]
            from coder.codebook import _closest

            close = _closest(name.strip(), listed) if listed else []
            hint = (f"did you mean {' or '.join(repr(c) for c in close)}?" if close else
                    "see `coder names list` (an informant's alias is given by the transcript, not listed)")
            raise InputError(f"'{name.strip()}' is not a listed name; nothing was removed", hint=hint)
        alias, kind = removed
        store.audit("names.remove", name=name.strip(), alias=alias, kind=kind)
    return alias, kind


def _one_memo(store: Store, ref: str) -> dict:
    prefix = ref.strip().lower()
    if not prefix or any(c not in "0123456789abcdef-" for c in prefix):
        raise InputError(f"'{ref}' is not a memo id", hint="an id is hex digits and dashes; see `coder memo list "
                                                            "--json`")
    if len(prefix) < 6:
        raise InputError(f"memo id '{ref}' is too short", hint="give at least 6 characters of the id")
    found = memo_rows.by_id_prefix(store, prefix)
    if not found:  # a coding's own memo (`code add --memo`) goes by the coding's id
        found = [{"uuid": c["uuid"], "target_type": "coding", "target": f"{c['transcript']} {c['code']}",
                  "text": c["memo"], "author": c["coder"], "created_at": None, "own": True}
                 for c in coding_rows.by_id_prefix(store, prefix) if c["memo"]]
    if not found:
        raise InputError(f"no memo with id '{ref}'", hint="see `coder memo list` for the ids")
    if len(found) > 1:
        raise InputError(f"memo id '{ref}' matches {len(found)} memos", hint="give more of the id")
    return found[0]


def edit_memo(store: Store, ref: str, text: str) -> dict:
    """Replace a memo's text; returns the memo as it was."""
    if not text.strip():
        raise InputError("the memo is empty", hint="to remove it, run `coder memo remove ID`")
    with store.transaction():
        memo = _one_memo(store, ref)
        if memo.get("own"):
            coding_rows.set_memo(store, memo["uuid"], text.strip())
        else:
            memo_rows.set_text(store, memo["uuid"], text.strip())
        store.audit("memo.edit", id=memo["uuid"], target_type=memo["target_type"], target=memo["target"],
                    before=memo["text"], after=text.strip())
    return memo


def remove_memo(store: Store, ref: str) -> dict:
    """Remove a memo (its text is kept in the audit trail); returns it."""
    with store.transaction():
        memo = _one_memo(store, ref)
        if memo.get("own"):
            coding_rows.set_memo(store, memo["uuid"], None)
        else:
            memo_rows.remove(store, memo["uuid"])
        store.audit("memo.remove", id=memo["uuid"], target_type=memo["target_type"], target=memo["target"],
                    author=memo["author"], text=memo["text"], created_at=memo["created_at"])
    return memo
