"""The project's codebook written back as YAML (`coder codebook export FILE.yaml`, and the
version each `coder codebook rename/merge/move/split/delete` records).

The YAML last loaded (or recorded) is the starting point: it is read with ruamel.yaml's
round-trip loader, so comments, key order and quoting survive, and each dimension and code
is matched to its node there by path (through `renamed` for a code a command just renamed
or moved). A node's values are rewritten only where the database says otherwise; codes
the codebook no longer has are left out, new ones are written in the codebook's key order.
Without ruamel.yaml (it is a declared dependency, but an older environment may lack it) the
same tree is written as plain YAML by PyYAML, without comments.

Loading the written file back gives a plan with no change (tests/test_codebook_ops.py).
Retired codes are not written: they are no longer in the codebook, and a load keeps them
retired while they have codings.
"""
from __future__ import annotations

import io
import json

from coder.codebook import CODE_KEYS, DIMENSION_KEYS
from coder.store import Store
from coder.store import codebook as codebook_rows

NATIVE_LABEL_KEYS = ("nb", "nn", "no")


def render(store: Store, *, renamed: dict[str, str] | None = None) -> str:
    """The current codebook as YAML text."""
    try:
        from ruamel.yaml import YAML
    except ImportError:  # pragma: no cover - ruamel.yaml is a dependency; plain YAML without it
        return _plain(store)
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap a description
    yaml.indent(mapping=2, sequence=4, offset=2)
    base = _base_document(store, yaml)
    doc = _tree(store, base, renamed or {}, _RoundTrip())
    out = io.StringIO()
    yaml.dump(doc, out)
    return out.getvalue()


def _base_document(store: Store, yaml):
    latest = codebook_rows.latest_version(store)
    if not latest:
        return None
    try:
        doc = yaml.load(latest["yaml"])
    except Exception:  # a CSV or REFI-QDA codebook was loaded last: start from nothing
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("dimensions"), list):
        return None
    return doc


def _plain(store: Store) -> str:
    import yaml

    return yaml.safe_dump(_tree(store, None, {}, _Plain()), sort_keys=False, allow_unicode=True, width=4096)


class _Plain:
    """Plain dicts and lists (PyYAML)."""

    def mapping(self) -> dict:
        return {}

    def flow_list(self, values) -> list:
        return list(values)

    def flow_mapping(self, pairs) -> dict:
        return dict(pairs)

    def sequence(self) -> list:
        return []


class _RoundTrip:
    """ruamel.yaml's commented nodes: short lists and labels written inline, as people write them."""

    def mapping(self):
        from ruamel.yaml.comments import CommentedMap

        return CommentedMap()

    def flow_list(self, values):
        from ruamel.yaml.comments import CommentedSeq

        seq = CommentedSeq(values)
        seq.fa.set_flow_style()
        return seq

    def flow_mapping(self, pairs):
        from ruamel.yaml.comments import CommentedMap

        node = CommentedMap(pairs)
        node.fa.set_flow_style()
        return node

    def sequence(self):
        from ruamel.yaml.comments import CommentedSeq

        return CommentedSeq()


def _old_nodes(base, renamed: dict[str, str]) -> tuple[dict, dict]:
    """The base document's dimension nodes by id and code nodes by (current) path."""
    dims, codes = {}, {}

    def walk(items, parent: str) -> None:
        for node in items or ():
            if isinstance(node, dict) and node.get("id") is not None:
                path = f"{parent}.{node['id']}"
                codes[renamed.get(path, path)] = node
                walk(node.get("codes"), path)

    for dim in (base or {}).get("dimensions") or ():
        if isinstance(dim, dict) and dim.get("id") is not None:
            dims[str(dim["id"])] = dim
            walk(dim.get("codes"), str(dim["id"]))
    return dims, codes


def _tree(store: Store, base, renamed: dict[str, str], make):
    old_dims, old_codes = _old_nodes(base, renamed)
    doc = base if base is not None else make.mapping()
    latest = codebook_rows.latest_version(store)
    _put(doc, "name", (latest or {}).get("name") or "Codebook", ("name", "version", "language", "description",
                                                                  "dimensions"))
    if latest and latest.get("version") is not None:
        _put(doc, "version", latest["version"], ("name", "version", "language", "description", "dimensions"))
    codes = [r for r in codebook_rows.code_rows(store) if not r["retired"]]
    children: dict[str, list[dict]] = {}
    for row in codes:
        children.setdefault(row["parent"], []).append(row)

    def code_node(row: dict):
        node = old_codes.get(row["path"])
        node = node if node is not None else make.mapping()
        _put(node, "id", row["id"], CODE_KEYS)
        _put(node, "renamed_from", None, CODE_KEYS)  # done: the code has its new name
        _label(node, row["label"], row["label_en"], CODE_KEYS, make)
        _put(node, "description", row["description"], CODE_KEYS)
        for key in ("include", "exclude", "examples", "keywords"):
            _put_list(node, key, json.loads(row[key] or "[]"), CODE_KEYS, make)
        _put(node, "color", row["color"], CODE_KEYS)
        kids = children.get(row["path"], [])
        _put(node, "codes", _sequence(make, (code_node(k) for k in kids)) if kids else None, CODE_KEYS)
        return node

    dims = make.sequence()
    for dim in codebook_rows.dimension_rows(store):
        node = old_dims.get(dim["id"])
        node = node if node is not None else make.mapping()
        _put(node, "id", dim["id"], DIMENSION_KEYS)
        _label(node, dim["label"], dim["label_en"], DIMENSION_KEYS, make)
        _put(node, "description", dim["description"], DIMENSION_KEYS)
        _put(node, "color", dim["color"], DIMENSION_KEYS)
        _put(node, "codes", _sequence(make, (code_node(r) for r in children.get(dim["id"], []))), DIMENSION_KEYS)
        dims.append(node)
    _put(doc, "dimensions", dims, ("name", "version", "language", "description", "dimensions"))
    return doc


def _sequence(make, nodes):
    seq = make.sequence()
    for node in nodes:
        seq.append(node)
    return seq


def _same(old, new) -> bool:
    if isinstance(old, str) and isinstance(new, str):
        return old.strip() == new.strip() or (old.startswith("#") and old.lower() == new.lower())
    return old == new


def _put(node, key: str, value, order: tuple[str, ...]) -> None:
    """Set node[key] to value (None or empty: no key), keeping the old value object (its
    quoting, its comments) when it says the same, and a new key in the codebook's order."""
    if value is None or value == []:
        if key in node:
            del node[key]
        return
    if key in node:
        if not _same(node[key], value):
            node[key] = value
        return
    if hasattr(node, "insert"):
        later = order[order.index(key) + 1:] if key in order else ()
        position = next((i for i, k in enumerate(node) if k in later), len(node))
        node.insert(position, key, value)
    else:
        node[key] = value


def _put_list(node, key: str, values: list[str], order, make) -> None:
    old = node.get(key) if hasattr(node, "get") else None
    if isinstance(old, str) and values == [old]:  # `keywords: sjef` is a list of one
        return
    if isinstance(old, list) and list(old) == values:
        return
    _put(node, key, make.flow_list(values) if values else None, order)


def _label(node, label: str, label_en: str | None, order, make) -> None:
    old = node.get("label") if hasattr(node, "get") else None
    if isinstance(old, dict):
        native = next((k for k in NATIVE_LABEL_KEYS if k in old), None)
        if native is None:  # only an English label, which is then the label too
            if label_en in (None, label):
                if old.get("en") != label:
                    old["en"] = label
                return
            native = "nb"
            old.insert(0, "nb", label) if hasattr(old, "insert") else old.update(nb=label)
        if old[native] != label:
            old[native] = label
        if label_en is None:
            old.pop("en", None)
        elif old.get("en") != label_en:
            old["en"] = label_en
        return
    _put(node, "label", make.flow_mapping([("nb", label), ("en", label_en)]) if label_en else label, order)
