"""Safe YAML that remembers line numbers, so validation errors can name the line.

Mappings come back as `LineDict` (a dict with `.line` and `.key_lines`), sequences as
`LineList` (a list with `.line` and `.item_lines`). Aliases are refused: they are never
needed in a codebook or front matter, and refusing them rules out "billion laughs" expansion.
"""
from __future__ import annotations

import yaml

from coder.errors import InputError
from coder.text import is_text

MAX_DEPTH = 50


class LineDict(dict):
    line: int = 0
    key_lines: dict

    def line_of(self, key) -> int:
        return self.key_lines.get(key, self.line)


class LineList(list):
    line: int = 0
    item_lines: list


class _Constructor(yaml.SafeLoader):
    pass


# libyaml's parser when PyYAML was built with it: the same events and nodes, with the same
# line marks, about ten times faster than the pure-Python scanner
_FAST_LOADER = getattr(yaml, "CSafeLoader", None)


def load(text: str, *, path: str, line_offset: int = 0):
    """Parse YAML text; errors become InputError naming path and line (shifted by line_offset)."""
    if _FAST_LOADER is not None:
        try:
            return _load(text, path, line_offset, _FAST_LOADER)
        except (yaml.YAMLError, RecursionError, UnicodeError):
            pass  # read again by the pure-Python parser, whose messages are the ones users see
    try:
        return _load(text, path, line_offset, yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 + line_offset if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.context_mark and mark is not exc.context_mark:
            problem += f" ({exc.context} started on line {exc.context_mark.line + 1 + line_offset})"
        raise InputError(f"YAML syntax error: {problem}", path=path, line=line,
                         hint="check the indentation and quoting on that line") from None
    except yaml.YAMLError as exc:  # e.g. a control character: PyYAML's message has a second line
        raise InputError(f"YAML error: {str(exc).splitlines()[0]}", path=path) from None
    except RecursionError:  # a backstop: _refuse_aliases stops deep nesting before compose
        raise InputError(f"YAML nested deeper than {MAX_DEPTH} levels", path=path) from None


def _load(text: str, path: str, line_offset: int, loader):
    _refuse_aliases(text, path, line_offset, loader)
    node = yaml.compose(text, Loader=loader)
    if node is None:
        return None
    return _convert(node, _Constructor(""), path, line_offset, depth=0)


def _convert(node, loader, path: str, line_offset: int, depth: int):
    line = node.start_mark.line + 1 + line_offset
    if depth > MAX_DEPTH:
        raise InputError(f"YAML nested deeper than {MAX_DEPTH} levels", path=path, line=line)
    if isinstance(node, yaml.CollectionNode) and node.tag not in _PLAIN_COLLECTION_TAGS:
        # PyYAML's SafeLoader would build a set, an ordered list of pairs or fail; read as a
        # plain mapping or list, the tag would be ignored without a word.
        kind = "mapping" if isinstance(node, yaml.MappingNode) else "list"
        raise InputError(f"YAML tag {_short_tag(node.tag)} on a {kind} is not supported", path=path, line=line,
                         hint=f"remove the tag: write a plain {kind}")
    if isinstance(node, yaml.MappingNode):
        result = LineDict()
        result.line, result.key_lines = line, {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise InputError("YAML merge keys (<<) are not supported", path=path,
                                 line=key_node.start_mark.line + 1 + line_offset)
            key = _convert(key_node, loader, path, line_offset, depth + 1)
            key_line = key_node.start_mark.line + 1 + line_offset
            if not isinstance(key, (str, int, float, bool)):
                raise InputError("a mapping key must be a plain value", path=path, line=key_line)
            if key in result:
                raise InputError(f"duplicate key '{key}'", path=path, line=key_line,
                                 hint=f"it was first given on line {result.key_lines[key]}")
            result[key] = _convert(value_node, loader, path, line_offset, depth + 1)
            result.key_lines[key] = key_line
        return result
    if isinstance(node, yaml.SequenceNode):
        result = LineList(_convert(item, loader, path, line_offset, depth + 1) for item in node.value)
        result.line = line
        result.item_lines = [item.start_mark.line + 1 + line_offset for item in node.value]
        return result
    if isinstance(node.value, str) and not is_text(node.value):
        node.value = _paired(node.value, path, line)
    try:
        return loader.construct_object(node, deep=True)
    except yaml.constructor.ConstructorError as exc:  # a tag such as !!python/object
        raise InputError(f"unsupported YAML value ({exc.problem})", path=path, line=line,
                         hint="write plain text, numbers, lists and 'key: value' pairs") from None
    except (ValueError, TypeError, AttributeError, OverflowError):  # e.g. the "date" 2020-13-45
        raise InputError(f"invalid {node.tag.rsplit(':', 1)[-1]} {node.value[:40]!r}", path=path, line=line,
                         hint="put it in quotes to keep it as text") from None


_PLAIN_COLLECTION_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


def _short_tag(tag: str) -> str:
    return "!!" + tag[len("tag:yaml.org,2002:"):] if tag.startswith("tag:yaml.org,2002:") else tag


def _paired(value: str, path: str, line: int) -> str:
    """A scalar whose \\u escapes gave UTF-16 surrogates: a pair written as two escapes
    ("\\ud83d\\ude00") is the one character it stands for; half a pair is no text at all
    (nothing could store or print it), and is refused."""
    try:
        return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
    except UnicodeDecodeError:
        raise InputError("a \\u escape for half of a UTF-16 surrogate pair (such as \\udc80) is not a character",
                         path=path, line=line, hint="write the character itself, or its \\U0001xxxx escape") from None


def _refuse_aliases(text: str, path: str, line_offset: int, loader=yaml.SafeLoader) -> None:
    """Refuse aliases, and deep nesting while only scanning events: composing a deeply nested
    document recurses in PyYAML (a RecursionError, after seconds of work)."""
    depth = 0
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, yaml.AliasEvent):
            raise InputError("YAML aliases (*name) are not supported", path=path,
                             line=event.start_mark.line + 1 + line_offset, hint="write the value out in full")
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise InputError(f"YAML nested deeper than {MAX_DEPTH} levels", path=path,
                                 line=event.start_mark.line + 1 + line_offset)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
