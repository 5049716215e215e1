"""The screen of `coder session` (see coder/session.py for the work it drives).

`SessionScreen` turns key names ("a", "down", "enter") into Session calls and draws the
screen as lines of (style, text) for any width and height, with no terminal; `run` is a thin
prompt_toolkit full-screen application around it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Sequence

from coder.errors import CoderError, InputError
from coder.render import printable
from coder.session import CodeInfo, CodingView, Session, _clip, cell_width, displayable, rank_codes
from coder.text import clock
from coder.values import Segment

_TOKEN = re.compile(r"\n|[^\S\n]+|\S+")


# -- the screen, without a terminal --------------------------------------------------------------

Fragment = tuple[str, str]  # (prompt_toolkit style, text)
Line = list[Fragment]

HELP = (
    ("↓ j ↑ k Home End", "next, previous, first, last turn"),
    ("Space PgDn PgUp", "scroll a long turn (Space then goes on to the next)"),
    ("n", "next turn without your codes (the interviewer's are passed over)"),
    ("x", "pass over this turn's speaker in n, or stop passing over them"),
    ("g", "go to turn N"),
    ("f", "next turn with a code (pick the code)"),
    ("/", "search the transcript (an empty search repeats the last)"),
    ("a", "code the whole turn (★ marks codes whose keywords are in it)"),
    ("s", "code part of the turn: a fragment, or word numbers like 3-9"),
    ("w", "show / hide word numbers"),
    ("r", "remove a coding on this turn"),
    ("m", "memo on your coding on this turn"),
    ("M", "memo on the transcript"),
    ("u", "undo the last change"),
    ("q Ctrl-C", "quit: everything is saved as you go"),
)
HINTS = {
    "normal": "?:keys a:code s:part r:remove m:memo u:undo n:uncoded g:go /:search q:quit",
    "picker": "type to filter · ↑↓ choose · Enter take · Esc cancel",
    "prompt": "Enter ok · Esc cancel",
    "help": "any key: back",
}
_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def _fit(line: Line, width: int) -> Line:
    """Cut a line of fragments to `width` cells, ending in … when cut."""
    if sum(cell_width(text) for _, text in line) <= width:
        return line
    out, used = [], 0
    for style, text in line:
        keep = []
        for ch in text:
            if used + cell_width(ch) > width - 1:
                break
            keep.append(ch)
            used += cell_width(ch)
        else:
            out.append((style, text))
            continue
        out.append((style, "".join(keep) + "…"))
        break
    return out


def _padded(line: Line, width: int, style: str) -> Line:
    line = _fit(line, width)
    used = sum(cell_width(t) for _, t in line)
    return line + [(style, " " * (width - used))] if used < width else line


def wrap(chars: Sequence[tuple[str, str]], width: int) -> list[Line]:
    """Wrap styled characters (style, char) to lines of `width` cells at spaces, keeping line
    breaks; a word longer than a line is cut."""
    width = max(width, 4)
    text = "".join(ch for _, ch in chars)
    lines: list[list[int]] = []
    line: list[int] = []  # indices into chars
    used = 0
    for token in _TOKEN.finditer(text):
        if token.group() == "\n" or (line and used + cell_width(token.group()) > width):
            lines.append(line)
            line, used = [], 0
        if token.group() == "\n" or (token.group().isspace() and not line):
            continue  # no space at the start of a line
        for i in range(token.start(), token.end()):
            if used + cell_width(text[i]) > width:
                lines.append(line)
                line, used = [], 0
            line.append(i)
            used += cell_width(text[i])
    lines.append(line)
    return [_group([chars[i] for i in indices]) for indices in lines]


def _group(chars: Sequence[tuple[str, str]]) -> Line:
    out: Line = []
    for style, ch in chars:
        if out and out[-1][0] == style:
            out[-1] = (style, out[-1][1] + ch)
        else:
            out.append((style, ch))
    return out


def _plain_wrap(text: str, width: int, style: str = "") -> list[Line]:
    return wrap([(style, ch) for ch in text], width)


class LineEditor:
    """The one-line text input of prompts and the picker."""

    def __init__(self, text: str = ""):
        self.text = text
        self.cursor = len(text)

    def key(self, key: str) -> bool:
        t, c = self.text, self.cursor
        if len(key) == 1 and key.isprintable():
            self.text, self.cursor = t[:c] + key + t[c:], c + 1
        elif key == "backspace" and c:
            self.text, self.cursor = t[:c - 1] + t[c:], c - 1
        elif key in ("delete", "c-d") and c < len(t):
            self.text = t[:c] + t[c + 1:]
        elif key == "left":
            self.cursor = max(0, c - 1)
        elif key == "right":
            self.cursor = min(len(t), c + 1)
        elif key in ("home", "c-a"):
            self.cursor = 0
        elif key in ("end", "c-e"):
            self.cursor = len(t)
        elif key == "c-u":
            self.text, self.cursor = t[c:], 0
        elif key == "c-w":
            cut = len(t[:c].rstrip()) - len(t[:c].rstrip().split(" ")[-1]) if t[:c].strip() else 0
            self.text, self.cursor = t[:cut] + t[c:], cut
        else:
            return False
        return True

    def paste(self, text: str) -> None:
        text = " ".join(text.split())
        self.text = self.text[:self.cursor] + text + self.text[self.cursor:]
        self.cursor += len(text)


@dataclass
class Prompt:
    kind: str  # goto | search | part | memo_which | memo | transcript_memo | remove_which | confirm_remove
    label: str
    editor: LineEditor = field(default_factory=LineEditor)
    data: dict = field(default_factory=dict)


@dataclass
class Picker:
    purpose: str  # whole | part | find
    title: str
    editor: LineEditor = field(default_factory=LineEditor)
    selected: int = 0
    span: tuple[int, int] | None = None


class SessionScreen:
    """Keys in, screen lines out. `press` takes prompt_toolkit-style key names; `render`
    returns exactly `height` lines of at most `width` cells."""

    def __init__(self, session: Session):
        self.s = session
        self.mode = "normal"
        self.prompt: Prompt | None = None
        self.picker: Picker | None = None
        self.message = ("info", (f"resumed at turn {session.current.number}" if session.resumed
                                 else f"{len(session.turns)} turns") + " · press ? for the keys")
        self.scroll = 0
        self.page = 10  # lines of the current turn on screen, set by render
        self.more_below = False
        self.word_numbers = False
        self.word_numbers_before = False  # restored when the part prompt closes
        self.last_search = ""
        self.done = False

    # -- keys --------------------------------------------------------------------------------------
    def press(self, key: str) -> None:
        try:
            if self.mode == "help":
                self.mode = "normal"
            elif self.mode == "picker":
                self._picker_key(key)
            elif self.mode == "prompt":
                self._prompt_key(key)
            else:
                self._normal_key(key)
        except CoderError as exc:
            # A prompt or picker still open stays open, so what was typed can be corrected.
            self.message = ("error", str(exc))

    def paste(self, text: str) -> None:
        editor = self.picker.editor if self.mode == "picker" else self.prompt.editor if self.mode == "prompt" else None
        if editor is not None:
            editor.paste(text)
            if self.mode == "picker":
                self.picker.selected = 0

    def _moved(self) -> None:
        self.scroll = 0

    def _normal_key(self, key: str) -> None:
        s = self.s
        self.message = None
        if key in ("down", "j"):
            if not s.step(1):
                self.message = ("info", "this is the last turn")
            self._moved()
        elif key in ("up", "k"):
            if not s.step(-1):
                self.message = ("info", "this is the first turn")
            self._moved()
        elif key in (" ", "pagedown"):
            if self.more_below:
                self.scroll += max(1, self.page - 1)
            elif key == " ":
                if not s.step(1):
                    self.message = ("info", "this is the last turn")
                self._moved()
        elif key == "pageup":
            self.scroll = max(0, self.scroll - max(1, self.page - 1))
        elif key == "home":
            s.goto(1)
            self._moved()
        elif key == "end":
            s.goto(len(s.turns))
            self._moved()
        elif key == "n":
            turn = s.next_uncoded()
            self._moved()
            self.message = ("info", f"turn {turn.number}: no codes of yours yet")
        elif key == "x":
            speaker = s.current.speaker
            if not speaker:
                self.message = ("info", "this turn has no speaker")
            elif s.toggle_skip(speaker):
                self.message = ("info", f"n passes over {speaker}'s turns")
            else:
                self.message = ("info", f"n stops at {speaker}'s turns again")
        elif key == "g":
            self._ask("goto", f"go to turn (1-{len(s.turns)}): ")
        elif key == "/":
            self._ask("search", f"search{' [' + _clip(self.last_search, 20) + ']' if self.last_search else ''}: ")
        elif key == "f":
            self._pick("find", "Go to the next turn with the code:")
        elif key == "a":
            self._pick("whole", f"Code the whole turn {s.current.number} with:")
        elif key == "s":
            self.word_numbers_before = self.word_numbers
            self.word_numbers = True
            self._ask("part", "part of the turn (a fragment, or word numbers like 3-9): ")
        elif key == "w":
            self.word_numbers = not self.word_numbers
        elif key == "r":
            self._remove()
        elif key == "m":
            self._memo()
        elif key == "M":
            self._ask("transcript_memo", "memo on the transcript: ")
        elif key == "u":
            self.message = ("info", s.undo())
            self._moved()
        elif key == "?":
            self.mode = "help"
        elif key in ("q", "c-c"):
            self.done = True
        elif key not in ("left", "right", "escape", "enter", "tab", "s-tab"):
            self.message = ("info", f"{key!r} does nothing here · ? shows the keys")

    def _ask(self, kind: str, label: str, text: str = "", **data) -> None:
        self.mode, self.prompt = "prompt", Prompt(kind, label, LineEditor(text), data)

    def _pick(self, purpose: str, title: str, span: tuple[int, int] | None = None) -> None:
        self.mode, self.picker = "picker", Picker(purpose, title, span=span)

    def _numbered(self, codings: list[CodingView], number: int) -> CodingView:
        if not 1 <= number <= len(codings):
            raise InputError(f"this turn has codings 1-{len(codings)}, not {number}")
        return codings[number - 1]

    def _remove(self) -> None:
        codings = self.s.codings()
        if not codings:
            raise InputError("no coding on this turn to remove")
        if len(codings) == 1:
            self._remove_one(codings[0])
        else:
            self._ask("remove_which", f"remove which coding (1-{len(codings)}): ")

    def _remove_one(self, coding: CodingView) -> None:
        if coding.coder != self.s.coder:
            self._ask("confirm_remove", f"remove {coding.coder}'s coding {coding.code}? (y/n): ", id=coding.id)
            return
        self.s.remove_coding(coding.id)
        self.message = ("info", f"removed {coding.code} ({coding.coder}) · u undoes it")

    def _memo(self) -> None:
        mine = [c for c in self.s.codings() if c.coder == self.s.coder]
        if not mine:
            raise InputError("none of your codings is on this turn; M writes a memo on the transcript")
        if len(mine) == 1:
            self._ask("memo", f"memo on {mine[0].code}: ", mine[0].memo or "", id=mine[0].id)
        else:
            numbers = [i for i, c in enumerate(self.s.codings(), start=1) if c.coder == self.s.coder]
            self._ask("memo_which", f"memo on which of your codings ({', '.join(map(str, numbers))}): ")

    def _prompt_key(self, key: str) -> None:
        prompt = self.prompt
        self.message = None
        if key in ("escape", "c-c"):
            self._close_prompt()
            self.message = ("info", "cancelled")
            return
        if key != "enter":
            prompt.editor.key(key)
            return
        value = prompt.editor.text.strip()
        kind = prompt.kind
        s = self.s
        if kind == "goto":
            if not (value.isascii() and value.isdigit()):
                raise InputError(f"type a turn number, 1-{len(s.turns)}")
            s.goto(int(value))
            self._moved()
            self._close_prompt()
        elif kind == "search":
            query = value or self.last_search
            self._close_prompt()
            if not query:
                return
            self.last_search = query
            turn, count = s.find(query)
            self._moved()
            self.message = ("info", f"'{_clip(query, 20)}' in turn {turn.number} ({count} turn"
                                    f"{'s' if count != 1 else ''} have it) · / Enter: next")
        elif kind == "part":
            if not value:
                raise InputError("type a fragment of the turn, or word numbers like 3-9")
            span = s.span(value)
            self._close_prompt()
            self._pick("part", f"Code «{_clip(s.transcript.text[span[0]:span[1]], 40)}» (turn {s.current.number}) "
                               "with:", span)
        elif kind in ("remove_which", "memo_which"):
            if not (value.isascii() and value.isdigit()):
                raise InputError("type the number of the coding")
            coding = self._numbered(s.codings(), int(value))
            self._close_prompt()
            if kind == "remove_which":
                self._remove_one(coding)
            elif coding.coder != s.coder:
                raise InputError(f"that is {coding.coder}'s coding; write your memo on your own coding, or on the "
                                 "transcript (M)")
            else:
                self._ask("memo", f"memo on {coding.code}: ", coding.memo or "", id=coding.id)
        elif kind == "confirm_remove":
            self._close_prompt()
            if value.lower() in ("y", "yes", "j", "ja"):
                coding = next((c for c in s.codings() if c.id == prompt.data["id"]), None)
                if coding is None:
                    raise InputError("that coding is gone")
                s.remove_coding(coding.id)
                self.message = ("info", f"removed {coding.code} ({coding.coder}) · u undoes it")
            else:
                self.message = ("info", "kept it")
        elif kind == "memo":
            self._close_prompt()
            s.set_memo(prompt.data["id"], value)
            self.message = ("info", "memo saved" if value else "memo removed")
        elif kind == "transcript_memo":
            self._close_prompt()
            if not value:
                self.message = ("info", "no memo written")
                return
            s.add_transcript_memo(value)
            self.message = ("info", f"memo on {s.transcript.name} saved")

    def _close_prompt(self) -> None:
        if self.prompt and self.prompt.kind == "part":
            self.word_numbers = self.word_numbers_before
        self.mode, self.prompt = "normal", None

    def candidates(self) -> list[CodeInfo]:
        picker = self.picker
        suggested = [sg.code.path for sg in self.s.suggestions()] if picker.purpose != "find" else []
        return rank_codes(picker.editor.text, self.s.codes, suggested)

    def _picker_key(self, key: str) -> None:
        picker = self.picker
        self.message = None
        if key in ("escape", "c-c"):
            self.mode, self.picker = "normal", None
            self.message = ("info", "cancelled")
            return
        entries = self.candidates()
        if key in ("down", "c-n", "tab"):
            picker.selected = min(picker.selected + 1, max(len(entries) - 1, 0))
        elif key in ("up", "c-p", "s-tab"):
            picker.selected = max(picker.selected - 1, 0)
        elif key == "pagedown":
            picker.selected = min(picker.selected + 5, max(len(entries) - 1, 0))
        elif key == "pageup":
            picker.selected = max(picker.selected - 5, 0)
        elif key == "enter":
            if not entries:
                raise InputError(f"no code matches '{picker.editor.text}'")
            code = entries[min(picker.selected, len(entries) - 1)]
            self.mode, self.picker = "normal", None
            s = self.s
            if picker.purpose == "find":
                turn = s.next_with_code(code.path)
                self._moved()
                self.message = ("info", f"turn {turn.number} is coded {code.path}")
            else:
                coding = s.add_coding(code.path, picker.span if picker.purpose == "part" else None)
                where = "the whole turn" if coding.whole_turn else f"«{_clip(coding.text, 30)}»"
                self.message = ("info", f"coded {where} {code.path} · u undoes it")
        elif picker.editor.key(key):
            picker.selected = 0

    # -- drawing ----------------------------------------------------------------------------------
    def render(self, width: int, height: int) -> list[Line]:
        width, height = max(width, 20), max(height, 6)
        s = self.s
        t = s.transcript
        who = ", ".join(x for x in (t.informant, t.role) if x)
        left = f" {t.name} · {t.case_name or 'no case'}" + (f" · {who}" if who else "")
        memos = len(s.memos())
        right = f"turn {s.current.number}/{len(s.turns)} · {s.coder}" + (f" · ✎{memos}" if memos else "") + " "
        room = width - cell_width(right)
        header = [("class:header", _clip(left, room - 1).ljust(room) if room > 1 else ""),
                  ("class:header", right)]
        body_height = height - 3
        if self.mode == "help":
            body = self._help_lines(width)
        elif self.mode == "picker":
            body = self._picker_lines(width, body_height)
        else:
            body = self._turn_lines(width, body_height)
        body = body[:body_height] + [[] for _ in range(body_height - len(body))]
        if self.mode in ("prompt", "picker") and self.message and self.message[0] == "error":
            body[-1] = [("class:error", _clip(self.message[1], width))]  # the input line is taken
        lines = [_padded(_shown(header), width, "class:header")]
        lines += [_fit(_shown(line), width) for line in body]
        lines.append(_fit(_shown(self._input_line(width)), width))
        lines.append(_padded([("class:footer", " " + HINTS[self.mode])], width, "class:footer"))
        return lines

    def _input_line(self, width: int) -> Line:
        editor = self.prompt.editor if self.mode == "prompt" else self.picker.editor if self.mode == "picker" else None
        if editor is None:
            if not self.message:
                return []
            kind, text = self.message
            return [(f"class:{kind}", _clip(text, width))]
        label = self.prompt.label if self.mode == "prompt" else "code: "
        if cell_width(label) > width - 8:
            label = _clip(label, width - 9) + " "
        before, at, after = editor.text[:editor.cursor], editor.text[editor.cursor:editor.cursor + 1] or " ", \
            editor.text[editor.cursor + 1:]
        room = width - cell_width(label) - 2  # at least 6
        if cell_width(before) > room:
            before = "…" + before[-(room - 1):]
        return [("class:label", label), ("", before), ("class:cursor", at), ("", after)]

    def _help_lines(self, width: int) -> list[Line]:
        lines: list[Line] = [[("class:title", " Keys")]]
        for key, what in HELP:
            lines.append([("class:key", f" {key:<17}"), ("", what)])
        memos = self.s.memos()
        if memos:
            lines += [[("class:title", f" Memos on {self.s.transcript.name}")]]
            for memo in memos:
                author = f"{memo['author']}: "
                wrapped = _plain_wrap(memo["text"], width - 2 - cell_width(author))[:3]
                lines += [[("", " "), ("class:key", author if i == 0 else " " * len(author))] + line
                          for i, line in enumerate(wrapped)]
        return lines

    def _turn_chars(self, turn: Segment, codings: list[CodingView]) -> list[tuple[str, str]]:
        """The turn's characters with their styles: parts coded (not whole-turn codings)
        underlined, search hits and the chosen part reversed, word numbers after words."""
        from coder.search import matcher

        marks = [set() for _ in turn.text]
        for coding in codings:
            if not coding.whole_turn:
                for i in range(max(coding.start, turn.start) - turn.start, min(coding.end, turn.end) - turn.start):
                    marks[i].add("class:coded")
        if self.last_search:
            try:
                for a, b in matcher(self.last_search)(turn.text):
                    for i in range(a, b):
                        marks[i].add("class:hit")
            except InputError:
                pass
        ends = {}
        if self.word_numbers:
            ends = {end - turn.start: n for n, (_, end) in enumerate(self.s.words(turn), start=1)}
        chars = []
        for i, ch in enumerate(turn.text):
            chars.append((" ".join(["class:turn", *sorted(marks[i])]), ch))
            if i + 1 in ends:
                chars += [("class:wordno", d) for d in str(ends[i + 1]).translate(_SUPERSCRIPT)]
        return chars

    def _neighbour(self, turn: Segment, width: int, lines: int, *, last: bool) -> list[Line]:
        speaker = f"{turn.speaker}: " if turn.speaker else ""
        wrapped = _plain_wrap(f"{turn.number} {speaker}{turn.text}", width - 2, "class:dim")
        if len(wrapped) > lines:
            wrapped = wrapped[-lines:] if last else wrapped[:lines]
            edge = wrapped[0] if last else wrapped[-1]
            if last:
                wrapped[0] = [("class:dim", "…")] + edge
            else:
                wrapped[-1] = _fit(_rstrip(edge) + [("class:dim", " …")], width - 1) if edge else edge
        return [[("", " ")] + line for line in wrapped]

    def _turn_lines(self, width: int, height: int) -> list[Line]:
        s = self.s
        turn = s.current
        codings = s.codings()
        suggestions = s.suggestions()
        coding_lines = self._coding_lines(codings, width)
        if suggestions:
            text = " · ".join(f"★ {sg.code.id} ({sg.keyword})" for sg in suggestions)
            coding_lines.append([("class:dim", " suggested: "), ("class:suggest", _clip(text, width - 13))])
        chars = self._turn_chars(turn, codings)
        current = [[("", " ")] + line for line in wrap(chars, width - 2)]
        previous = self.s.turns[turn.number - 2] if turn.number > 1 else None
        following = self.s.turns[turn.number] if turn.number < len(self.s.turns) else None
        fixed = 2 + len(coding_lines)  # the turn's rule, the codes' rule
        context = 3 if height - fixed - 6 >= min(len(current), 8) else 2 if height - fixed - 4 >= 4 else 1
        before = self._neighbour(previous, width, context, last=True) if previous else []
        after = self._neighbour(following, width, context, last=False) if following else []
        if following:
            after = [[("class:rule", "─" * 3)]] + after
        room = max(1, height - fixed - len(before) - len(after))
        if len(coding_lines) > room // 2 + 1 and len(current) > room - len(coding_lines):
            keep = max(2, room // 2)
            hidden = len(coding_lines) - keep
            coding_lines = coding_lines[:keep - 1] + [[("class:dim", f"   … {hidden + 1} more")]]
            room = max(1, height - 2 - len(coding_lines) - len(before) - len(after))
        self.page = room
        self.scroll = min(self.scroll, max(0, len(current) - room))
        shown = current[self.scroll:self.scroll + room]
        self.more_below = self.scroll + room < len(current)
        speaker = turn.speaker or "no speaker"
        flags = (" ↑ more" if self.scroll else "") + (" ↓ more: Space" if self.more_below else "")
        said = f" · [{clock(turn.start_ms)}]" if turn.start_ms is not None else ""
        rule = f"── {turn.number} · {speaker}{said} "
        lines = before + [[("class:rule", rule + "─" * max(0, width - cell_width(rule) - cell_width(flags) - 1)),
                           ("class:more", flags)]]
        lines += shown
        lines.append([("class:rule", "── codes " + "─" * max(0, width - 10))])
        lines += coding_lines
        lines += after
        for later in self.s.turns[turn.number + 1:]:  # more of what follows, while there is room
            if len(lines) + 1 >= height:
                break
            lines += self._neighbour(later, width, min(context, height - len(lines)), last=False)
        return lines

    def _coding_lines(self, codings: list[CodingView], width: int) -> list[Line]:
        if not codings:
            return [[("class:dim", " no codes yet · a codes the whole turn, s a part of it")]]
        lines = []
        for n, c in enumerate(codings, start=1):
            scope = "whole turn" if c.whole_turn else f"«{_clip(c.text, 24)}»"
            memo = f" · ✎ {c.memo}" if c.memo else ""
            marker = [("fg:" + c.color, "■")] if c.color else [("", "■")]
            lines.append([("", f" {n} ")] + marker + [("class:code", f" {c.code}"),
                                                      ("", f" · {c.coder} · {scope}{memo} · "),
                                                      ("class:dim", c.label)])
        return lines

    def _picker_lines(self, width: int, height: int) -> list[Line]:
        picker = self.picker
        entries = self.candidates()
        suggested = {sg.code.path: sg.keyword for sg in self.s.suggestions()} if picker.purpose != "find" else {}
        picker.selected = min(picker.selected, max(len(entries) - 1, 0))
        lines: list[Line] = [[("class:title", " " + picker.title)]]
        list_height = max(3, min(len(entries), (height - 2) // 2))
        top = min(max(0, picker.selected - list_height + 1), max(0, len(entries) - list_height))
        top = min(top, picker.selected)
        if not entries:
            lines.append([("class:error", f" no code matches '{picker.editor.text}'")])
        for i, code in enumerate(entries[top:top + list_height], start=top):
            star = "★" if code.path in suggested else " "
            hint = f" ({suggested[code.path]})" if code.path in suggested else ""
            style = "class:selected" if i == picker.selected else ""
            marker = ("fg:" + code.color, "■") if code.color else ("", "■")
            lines.append(_padded([(style, f" {'›' if i == picker.selected else ' '}{star} "), marker,
                                  (style, f" {code.path}{hint}  "), (style + " class:dim", code.label)],
                                 width, style))
        if len(entries) > list_height:
            lines.append([("class:dim", f"   {len(entries)} codes · ↑↓ for more")])
        if entries:
            lines.append([("class:rule", "─" * width)])
            lines += self._code_details(entries[picker.selected], width, height - len(lines))
        return lines

    def _code_details(self, code: CodeInfo, width: int, height: int) -> list[Line]:
        lines: list[Line] = [[("class:code", f" {code.path}"), ("", f"  {code.label}"),
                              ("class:dim", f" / {code.label_en}" if code.label_en else "")]]
        sections = [("", code.description or "")]
        if code.include:
            sections.append(("include: ", "; ".join(code.include)))
        if code.exclude:
            sections.append(("exclude: ", "; ".join(code.exclude)))
        if code.keywords:
            sections.append(("keywords: ", ", ".join(code.keywords)))
        wrapped = [(name, _plain_wrap(name + " ".join(text.split()), width - 2)) for name, text in sections if text]
        # every section gets a line or two, then what is left goes to them in order
        room = height - len(lines)
        shares = [min(len(w), 2) for _, w in wrapped]
        for i, (_, w) in enumerate(wrapped):
            extra = max(0, min(len(w) - shares[i], room - sum(shares)))
            shares[i] += extra
        for (name, w), share in zip(wrapped, shares):
            if share <= 0:
                break
            if len(w) > share:
                w = w[:share]
                w[-1] = _fit(_rstrip(w[-1]) + [("", " …")], width - 2)
            if name:
                w[0] = [("class:label", name)] + _strip_prefix(w[0], len(name))
            lines += [[("", " ")] + line for line in w]
        return lines


def _rstrip(line: Line) -> Line:
    """The line without trailing spaces."""
    line = list(line)
    while line and not line[-1][1].rstrip():
        line.pop()
    if line:
        line[-1] = (line[-1][0], line[-1][1].rstrip())
    return line


def _shown(line: Line) -> Line:
    """A line as the terminal may show it: controls, bidi overrides and stray surrogates from
    the transcript, a label or a name written as escapes (\\x1b, \\u202e); a joined emoji as
    its pictures side by side (`displayable`)."""
    return [(style, displayable(printable(text))) for style, text in line]


def _strip_prefix(line: Line, count: int) -> Line:
    out = []
    for style, text in line:
        if count >= len(text):
            count -= len(text)
            continue
        out.append((style, text[count:]))
        count = 0
    return out


def screen_text(lines: Sequence[Line]) -> str:
    """The screen as plain text, one line per row (for tests and debugging)."""
    return "\n".join("".join(text for _, text in line).rstrip() for line in lines)


# -- the terminal ------------------------------------------------------------------------------------

# prompt_toolkit key names -> SessionScreen key names
_SPECIAL_KEYS = {
    "up": "up", "down": "down", "left": "left", "right": "right", "pageup": "pageup", "pagedown": "pagedown",
    "home": "home", "end": "end", "c-m": "enter", "c-j": "enter", "escape": "escape", "c-h": "backspace",
    "delete": "delete", "c-i": "tab", "s-tab": "s-tab", "c-c": "c-c", "c-u": "c-u", "c-w": "c-w", "c-a": "c-a",
    "c-e": "c-e", "c-d": "c-d", "c-n": "c-n", "c-p": "c-p",
}
_STYLE = {
    "header": "reverse", "footer": "reverse", "dim": "fg:ansibrightblack", "rule": "fg:ansibrightblack",
    "more": "bold", "turn": "", "coded": "underline", "hit": "reverse", "selected": "reverse", "title": "bold",
    "code": "bold", "label": "bold", "key": "bold", "suggest": "bold", "wordno": "fg:ansicyan",
    "error": "fg:ansired bold", "info": "", "cursor": "reverse",
}


def run(session: Session, *, no_color: bool = False) -> SessionScreen:
    """The full-screen session in this terminal, until the coder quits."""
    try:
        from prompt_toolkit.application import Application
    except ImportError:
        raise CoderError("coder session needs the prompt_toolkit package",
                         hint="install it: pip install 'prompt_toolkit>=3'") from None
    from prompt_toolkit.key_binding import KeyBindings
    from prompt_toolkit.keys import Keys
    from prompt_toolkit.layout import Layout, Window
    from prompt_toolkit.layout.controls import FormattedTextControl
    from prompt_toolkit.output.color_depth import ColorDepth
    from prompt_toolkit.styles import Style

    screen = SessionScreen(session)

    def fragments():
        size = app.output.get_size()
        out: list[Fragment] = []
        for i, line in enumerate(screen.render(size.columns, size.rows)):
            if i:
                out.append(("", "\n"))
            out.extend(line)
        return out

    bindings = KeyBindings()

    def handle(event, name: str) -> None:
        if screen.done:  # keys typed ahead of the quit
            return
        screen.press(name)
        if screen.done:
            event.app.exit()

    for pt_key, name in _SPECIAL_KEYS.items():
        bindings.add(pt_key)(lambda event, name=name: handle(event, name))

    @bindings.add(Keys.Any)
    def _typed(event):
        for ch in event.data:
            if ch.isprintable():
                handle(event, ch)

    @bindings.add(Keys.BracketedPaste)
    def _pasted(event):
        screen.paste(event.data)

    control = FormattedTextControl(fragments, focusable=True, show_cursor=False)
    app = Application(layout=Layout(Window(control, wrap_lines=False)), key_bindings=bindings, full_screen=True,
                      mouse_support=False, style=Style.from_dict(_STYLE),
                      color_depth=ColorDepth.DEPTH_1_BIT if no_color else None)
    app.ttimeoutlen = 0.1  # how long a lone Esc waits to be sure it is not the start of an arrow key
    app.run()
    return screen
