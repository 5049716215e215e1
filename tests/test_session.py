"""`coder session` driven for real: the CLI in a pseudo-terminal of 80x24 (pexpect), keys
sent as a coder types them, assertions on what the screen shows and what the database holds.

The screen is read through `Terminal`, a minimal VT100 emulator: prompt_toolkit redraws
only the characters that changed, so the raw output stream never holds whole lines."""
from __future__ import annotations

import os
import re
import signal
import sys
import time
import unicodedata

import pexpect
import pytest

from conftest import REPO, db_rows

ROWS, COLS = 24, 80
TIMEOUT = 30  # generous: a loaded CI machine may take seconds to start Python


class Terminal:
    """Enough of a VT100 for prompt_toolkit's output: cursor moves, erases, wide characters;
    styles are ignored (the raw stream is kept for tests of colour)."""

    _CSI = re.compile(r"\x1b\[([?>=]?)([0-9;]*)([@-~])")

    def __init__(self, rows: int = ROWS, cols: int = COLS):
        self.rows, self.cols = rows, cols
        self.cells = [[" "] * cols for _ in range(rows)]
        self.row = self.col = 0
        self.raw = ""

    def feed(self, data: str) -> None:
        self.raw += data
        i = 0
        while i < len(data):
            ch = data[i]
            if ch == "\x1b":
                i = self._escape(data, i)
                continue
            if ch == "\r":
                self.col = 0
            elif ch == "\n":
                self._line_feed()
            elif ch == "\b":
                self.col = max(0, self.col - 1)
            elif ch >= " ":
                self._put(ch)
            i += 1

    def _escape(self, data: str, i: int) -> int:
        match = self._CSI.match(data, i)
        if match:
            private, params, final = match.groups()
            if not private:
                self._csi(final, [int(p) if p else 0 for p in params.split(";")] if params else [])
            return match.end()
        if data.startswith("\x1b]", i):  # OSC (window title): up to BEL or ST
            end = min([j for j in (data.find("\x07", i), data.find("\x1b\\", i)) if j >= 0] or [len(data)])
            return end + (2 if data.startswith("\x1b\\", end) else 1)
        return i + 2

    def _csi(self, final: str, params: list[int]) -> None:
        n = (params[0] if params else 0) or 1
        if final == "H" or final == "f":
            row, col = (params + [1, 1])[:2]
            self.row, self.col = min(max(row, 1), self.rows) - 1, min(max(col, 1), self.cols) - 1
        elif final == "A":
            self.row = max(0, self.row - n)
        elif final == "B":
            self.row = min(self.rows - 1, self.row + n)
        elif final == "C":
            self.col = min(self.cols - 1, self.col + n)
        elif final == "D":
            self.col = max(0, self.col - n)
        elif final == "K":
            mode = params[0] if params else 0
            span = {0: range(self.col, self.cols), 1: range(0, self.col + 1)}.get(mode, range(self.cols))
            for c in span:
                self.cells[self.row][c] = " "
        elif final == "J":
            mode = params[0] if params else 0
            if mode == 0:
                self.cells[self.row][self.col:] = [" "] * (self.cols - self.col)
                for r in range(self.row + 1, self.rows):
                    self.cells[r] = [" "] * self.cols
            elif mode == 2:
                self.cells = [[" "] * self.cols for _ in range(self.rows)]

    def _line_feed(self) -> None:
        if self.row == self.rows - 1:
            self.cells = self.cells[1:] + [[" "] * self.cols]
        else:
            self.row += 1

    def _put(self, ch: str) -> None:
        wide = unicodedata.east_asian_width(ch) in "WF"
        if self.col >= self.cols:
            self.col = self.cols - 1  # autowrap is off in prompt_toolkit's full-screen mode
        self.cells[self.row][self.col] = ch
        if wide and self.col + 1 < self.cols:
            self.cells[self.row][self.col + 1] = ""
        self.col = min(self.cols, self.col + (2 if wide else 1))

    def text(self) -> str:
        return "\n".join("".join(row).rstrip() for row in self.cells)


class Tui:
    """`coder session` running in a pseudo-terminal."""

    def __init__(self, project, transcript: str, *, coder: str = "anna", extra_env: dict | None = None,
                 args: tuple[str, ...] = ()):
        env = {**os.environ, "PYTHONPATH": str(REPO), "CODER_NAME": coder, "TERM": "xterm-256color",
               "LANG": "C.UTF-8", **(extra_env or {})}
        env.pop("CODER_DB", None)
        env.pop("CODER_DEBUG", None)
        self.terminal = Terminal()
        self.child = pexpect.spawn(sys.executable, ["-m", "coder", "--db", str(project.db), "session", transcript, *args],
                                   env=env, cwd=str(project.root), dimensions=(ROWS, COLS), encoding="utf-8",
                                   codec_errors="replace", timeout=TIMEOUT)
        self.child.delaybeforesend = None  # every step waits for the screen instead
        self.tail = ""  # what the process printed after leaving the full screen

    def _pump(self, wait: float) -> bool:
        try:
            data = self.child.read_nonblocking(65536, timeout=wait)
        except pexpect.TIMEOUT:
            return False
        self.terminal.feed(data)
        self.tail += data
        return True

    def screen(self) -> str:
        while self._pump(0.05):
            pass
        return self.terminal.text()

    def wait_for(self, *texts: str, timeout: float = TIMEOUT) -> str:
        """Read until every text is on the screen at once; the screen."""
        deadline = time.monotonic() + timeout
        while True:
            screen = self.terminal.text()
            if all(text in screen for text in texts):
                return self.screen()  # the rest of the frame being drawn
            if time.monotonic() > deadline:
                raise AssertionError(f"waited {timeout}s for {texts!r}; the screen shows:\n{screen}")
            try:
                self._pump(0.1)
            except pexpect.EOF:
                raise AssertionError(f"coder session ended while waiting for {texts!r}:\n{self.tail[-2000:]}")

    def wait_for_change(self, before: str, timeout: float = TIMEOUT) -> str:
        """Read until the screen differs from `before` (a key's effect has been drawn)."""
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if screen != before or time.monotonic() > deadline:
                return screen

    def type(self, keys: str) -> None:
        self.child.send(keys)

    def key(self, name: str) -> None:
        self.child.send({"enter": "\r", "escape": "\x1b", "down": "\x1b[B", "up": "\x1b[A",
                         "backspace": "\x7f", "c-u": "\x15", "c-c": "\x03", "pageup": "\x1b[5~"}[name])

    def quit(self) -> str:
        self.type("q")
        self.child.expect(pexpect.EOF)
        self.tail += self.child.before or ""
        self.child.close()
        assert self.child.exitstatus == 0, self.tail[-2000:]
        return self.tail

    def kill(self) -> None:
        self.child.kill(signal.SIGKILL)
        self.child.close(force=True)


@pytest.fixture
def tui(loaded):
    opened: list[Tui] = []

    def start(transcript: str = "hamar_1", **kwargs) -> Tui:
        opened.append(Tui(loaded, transcript, **kwargs))
        return opened[-1]

    yield start
    for session in opened:
        if session.child.isalive():
            session.kill()


def codings(project, coder: str = "anna"):
    return db_rows(project.db, 'SELECT segment, start, "end", code, memo, text FROM codings WHERE coder = ? '
                               "ORDER BY start, code", (coder,))


def segment_bounds(project, transcript: str, number: int):
    return db_rows(project.db, 'SELECT s.start, s."end" FROM segments s JOIN transcripts t ON t.id = s.transcript_id '
                               "WHERE t.name = ? AND s.number = ?", (transcript, number))[0]


def position(project, coder: str = "anna"):
    return db_rows(project.db, "SELECT segment FROM session_state WHERE coder = ?", (coder,))


# -- the scripted session ------------------------------------------------------------------------

def test_code_a_turn_and_part_of_it_memo_undo_quit_and_resume(tui, loaded):
    session = tui()
    screen = session.wait_for("hamar_1 · Hamar · Kari Solberg", "turn 1/4 · anna", "no codes yet")
    assert "Hvordan er det å ha to sjefer?" in screen and "2 Leder: Det er krevende." in screen
    assert max(len(line) for line in screen.splitlines()) <= COLS

    session.type("?")
    session.wait_for("Keys", "next turn without your codes", "undo the last change")
    session.type(" ")  # any key closes the help
    session.type("j")
    # its keyword 'to sjefer' is in the turn: suggested
    session.wait_for("turn 2/4", "── 2 · Leder", "1 Intervjuer: Hvordan er det",
                     "suggested: ★ two_bosses (to sjefer)")

    # the whole turn: the picker lists the suggestion first and filters as one types
    session.type("a")
    screen = session.wait_for("Code the whole turn 2 with:", "›★ ■ vertical.two_bosses (to sjefer)")
    assert "The leader answers to both owners." in screen  # the highlighted code's description
    session.type("likev")
    screen = session.wait_for("code: likev", "horizontal.relations.equality")
    assert "vertical.two_bosses" not in screen
    session.key("c-u")
    session.type("two")
    session.wait_for("code: two", "›★ ■ vertical.two_bosses")
    session.key("enter")
    session.wait_for("coded the whole turn vertical.two_bosses", "1 ■ vertical.two_bosses · anna · whole turn")
    start, end = segment_bounds(loaded, "hamar_1", 2)
    assert codings(loaded) == [(2, start, end, "vertical.two_bosses", None, codings(loaded)[0][5])]
    assert codings(loaded)[0][5].startswith("Det er krevende.")

    # part of the turn, by a fragment typed loosely (case, ø/o): anchored within the turn
    session.type("s")
    session.wait_for("part of the turn (a fragment, or word numbers like 3-9):")
    session.type("RADMANNEN og fylkesdirektoren")
    session.key("enter")
    session.wait_for("Code «rådmannen og fylkesdirektøren» (turn 2) with:")
    session.type("kommunik")
    session.wait_for("›  ■ horizontal.relations.communication")
    session.key("enter")
    session.wait_for("coded «rådmannen og fylkesdirektøren» horizontal.relations.communication")
    part = [c for c in codings(loaded) if c[3] == "horizontal.relations.communication"]
    assert len(part) == 1 and part[0][5] == "rådmannen og fylkesdirektøren" and part[0][0] == 2

    # part of the turn by word numbers: words 1-3 are "Det er krevende"
    session.type("s")
    session.wait_for("Det¹ er² krevende³.")  # word numbers are shown while choosing
    session.type("1-3")
    session.key("enter")
    session.wait_for("Code «Det er krevende» (turn 2) with:")
    session.type("equality")
    session.key("enter")
    session.wait_for("coded «Det er krevende» horizontal.relations.equality")
    assert [c[5] for c in codings(loaded) if c[3] == "horizontal.relations.equality"] == ["Det er krevende"]

    # a memo on one of the three codings, then undo it, then undo the last coding
    session.type("m")
    session.wait_for("memo on which of your codings (1, 2, 3):")
    session.type("1")
    session.key("enter")
    session.wait_for("memo on vertical.two_bosses:")
    session.type("tydelig")
    session.key("enter")
    session.wait_for("memo saved", "✎ tydelig")
    assert [c[4] for c in codings(loaded) if c[3] == "vertical.two_bosses"] == ["tydelig"]
    session.type("u")
    session.wait_for("undid the memo change on turn 2")
    assert [c[4] for c in codings(loaded) if c[3] == "vertical.two_bosses"] == [None]
    session.type("u")
    session.wait_for("undid: horizontal.relations.equality on turn 2")
    assert sorted(c[3] for c in codings(loaded)) == ["horizontal.relations.communication", "vertical.two_bosses"]

    tail = session.quit()
    assert "hamar_1: stopped at turn 2/4, 2 coding(s) by anna; all saved" in tail
    assert position(loaded) == [(2,)]
    actions = [a for (a,) in db_rows(loaded.db, "SELECT action FROM audit WHERE action LIKE 'session.%' ORDER BY id")]
    assert actions == ["session.code", "session.code", "session.code", "session.memo", "session.undo",
                       "session.undo"]

    # reopening resumes at the same turn, with what was saved
    again = tui()
    again.wait_for("turn 2/4 · anna", "resumed at turn 2", "vertical.two_bosses · anna · whole turn",
                   "horizontal.relations.communication · anna · «rådmannen og fylkes")
    again.quit()


def test_a_killed_session_loses_nothing_and_resumes_where_it_stopped(tui, loaded):
    session = tui()
    session.wait_for("turn 1/4")
    session.type("jj")
    session.wait_for("turn 3/4", "── 3 · Intervjuer")
    session.type("a")
    session.wait_for("Code the whole turn 3 with:")
    session.type("horizontal partnership")
    session.wait_for("code: horizontal partnership", "›  ■ horizontal.partnership_meeting")
    session.key("enter")
    session.wait_for("coded the whole turn")
    session.type("M")
    session.wait_for("memo on the transcript:")
    session.type("Lederen er tydelig på to sjefer")
    session.key("enter")
    session.wait_for("memo on hamar_1 saved", "✎1")
    session.type("?")
    session.wait_for("Memos on hamar_1", "anna: Lederen er tydelig på to sjefer")
    session.type(" ")
    session.type("j")
    session.wait_for("turn 4/4")
    session.kill()  # SIGKILL: no chance to clean up or save anything more

    assert position(loaded) == [(4,)]
    assert [(c[0], c[3]) for c in codings(loaded)] == [(3, "horizontal.partnership_meeting")]
    assert db_rows(loaded.db, "SELECT target_type, target, author, text FROM memos") == [
        ("transcript", "hamar_1", "anna", "Lederen er tydelig på to sjefer")]
    assert db_rows(loaded.db, "PRAGMA integrity_check") == [("ok",)]

    again = tui()
    screen = again.wait_for("turn 4/4 · anna", "resumed at turn 4", "── 4 · Leder")
    assert "Det fungerer godt 👍 for oss." in screen
    again.type("k")
    again.wait_for("turn 3/4", "1 ■ horizontal.partnership_meeting · anna · whole turn")
    again.quit()


def test_jumps_search_removal_and_other_coders(tui, loaded):
    assert loaded.run("code", "add", "hamar_1", "4", "communication", "--coder", "bjorn").exit_code == 0
    session = tui()
    session.wait_for("turn 1/4")

    # go to turn N; a wrong number is refused and can be corrected
    session.type("g")
    session.wait_for("go to turn (1-4):")
    session.type("9")
    session.key("enter")
    session.wait_for("'hamar_1' has turns 1-4, not 9")
    session.key("backspace")
    session.type("4")
    session.key("enter")
    session.wait_for("turn 4/4", "1 ■ horizontal.relations.communication · bjorn · whole turn")

    # the next turn with a code, by anyone
    session.type("g")
    session.type("1")
    session.key("enter")
    session.wait_for("turn 1/4")
    session.type("f")
    session.wait_for("Go to the next turn with the code:")
    session.type("relations")  # the parent code finds its sub-code's codings
    session.wait_for("›  ■ horizontal.relations  Relasjoner")
    session.key("enter")
    session.wait_for("turn 4/4", "turn 4 is coded horizontal.relations")

    # search the transcript; Enter on an empty search repeats it
    session.type("/")
    session.wait_for("search:")
    session.type("to sjefer")
    session.key("enter")
    session.wait_for("turn 1/4", "'to sjefer' in turn 1 (2 turns have it)")
    session.type("/")
    session.key("enter")
    session.wait_for("turn 2/4", "'to sjefer' in turn 2")

    # next uncoded: anna has coded nothing, so it is the next turn; code it, and it is skipped
    session.type("a")
    session.type("two")
    session.key("enter")
    session.wait_for("coded the whole turn vertical.two_bosses")
    session.type("g1")
    session.key("enter")
    session.wait_for("turn 1/4")
    session.type("n")  # turn 3 is the interviewer's question: passed over
    session.wait_for("turn 4/4", "turn 4: no codes of yours yet")

    # removing another coder's coding asks first; u brings it back
    session.type("r")
    session.wait_for("remove bjorn's coding horizontal.relations.communication? (y/n):")
    session.type("y")
    session.key("enter")
    session.wait_for("removed horizontal.relations.communication (bjorn)", "no codes yet")
    assert codings(loaded, "bjorn") == []
    session.type("u")
    session.wait_for("undid the removal of horizontal.relations.communication on turn 4",
                     "horizontal.relations.communication · bjorn · whole turn")
    restored = db_rows(loaded.db, "SELECT segment, code, coder FROM codings WHERE coder = 'bjorn'")
    assert restored == [(4, "horizontal.relations.communication", "bjorn")]

    # one's own coding goes at once
    session.type("g2")
    session.key("enter")
    session.wait_for("turn 2/4", "vertical.two_bosses · anna")
    session.type("r")
    session.wait_for("removed vertical.two_bosses (anna)")
    assert codings(loaded) == []
    session.quit()
    removed = db_rows(loaded.db, "SELECT details FROM audit WHERE action = 'session.remove'")
    assert len(removed) == 2 and '"coder": "anna"' in removed[1][0]


def test_no_color_another_coder_and_escape(tui, loaded):
    session = tui(extra_env={"NO_COLOR": "1"}, args=("--coder", "bjorn"))
    session.wait_for("turn 1/4 · bjorn", "?:keys")
    session.type("j")
    session.wait_for("turn 2/4", "suggested: ★ two_bosses")
    session.type("a")
    screen = session.wait_for("›★ ■ vertical.two_bosses")
    session.key("escape")
    session.wait_for("cancelled", "── 2 · Leder")
    session.type("a")
    session.key("enter")  # the first entry: the suggestion
    session.wait_for("coded the whole turn vertical.two_bosses", "vertical.two_bosses · bjorn · whole turn")
    session.quit()
    assert codings(loaded, "bjorn")[0][:4] == (2, *segment_bounds(loaded, "hamar_1", 2), "vertical.two_bosses")
    assert codings(loaded, "anna") == [] and position(loaded, "bjorn") == [(2,)]
    colours = re.findall(r"\x1b\[[0-9;]*(?:3[0-9]|9[0-7]|38;[0-9;]+)m", session.terminal.raw)
    assert colours == []  # no colour at all, yet the selection is visible: reverse video
    assert "\x1b[0;7m" in session.terminal.raw
    assert "Partnerskapsmøtet" in screen  # the list goes on below the suggestion


def test_session_needs_a_terminal_and_a_known_transcript(loaded):
    result = loaded.run("session", "hamar_1")
    assert result.exit_code == 2
    assert "coder session needs a terminal" in result.stderr and "Traceback" not in result.stderr
    result = loaded.run("session", "hamar_9")
    assert result.exit_code == 2 and "unknown transcript 'hamar_9'" in result.stderr
    assert db_rows(loaded.db, "SELECT COUNT(*) FROM session_state") == [(0,)]


def test_a_long_turn_scrolls_page_by_page_then_space_goes_on(tui, loaded):
    sentences = " ".join(f"Dette er punkt {n:02d} i en lang forklaring." for n in range(1, 61))
    loaded.write("transcripts/lang_1.txt", f"Intervjuer: Fortell.\n\nLeder: {sentences}\n\nIntervjuer: Takk.\n")
    assert loaded.run("import", "transcripts").exit_code == 0
    session = tui("lang_1")
    session.wait_for("turn 1/3")
    session.type("j")
    screen = session.wait_for("turn 2/3", "↓ more: Space", "punkt 01")
    assert "punkt 60" not in screen
    session.type(" ")
    session.wait_for("↑ more")
    for _ in range(6):
        before = session.screen()
        if "punkt 60" in before:
            break
        session.type(" ")
        session.wait_for_change(before)  # the page has moved on before the next Space
    screen = session.wait_for("punkt 60 i en lang forklaring.", "── 2 · Leder")
    assert "↓ more" not in screen and "punkt 01" not in screen
    session.key("pageup")
    session.wait_for("↑ more ↓ more: Space")  # a page back: more above and below
    session.type("jk")
    session.wait_for("turn 2/3", "punkt 01")  # a turn is shown from its top when one comes to it
    session.type("g3")
    session.key("enter")
    session.wait_for("turn 3/3", "── 3 · Intervjuer", "Takk.")
    session.quit()


# -- the same keys on the terminal-free screen (coder/session_screen.py), no pseudo-terminal --------

@pytest.fixture
def screen(loaded):
    """`SessionScreen` over a Session of hamar_1 by anna: keys in by name, lines out."""
    from coder.session import Session
    from coder.session_screen import SessionScreen
    from coder.store import Store

    store = Store.open(loaded.db)
    yield SessionScreen(Session(store, "hamar_1", "anna"))
    store.close()


def shown(screen, width: int = COLS, height: int = ROWS) -> str:
    from coder.session_screen import screen_text

    lines = screen.render(width, height)
    assert len(lines) == height
    return screen_text(lines)


def press(screen, *keys: str) -> str:
    """Each key by its name ("a", "enter", "c-u"); a longer word is typed a letter at a time."""
    for key in keys:
        for name in ([key] if key in SCREEN_KEYS or key.startswith("c-") else list(key)):
            screen.press(name)
    return shown(screen)


SCREEN_KEYS = {"enter", "escape", "down", "up", "pageup", "pagedown", "home", "end", "tab"}


def test_the_screen_codes_a_turn_and_part_of_it_then_undoes(screen, loaded):
    text = shown(screen)
    assert "hamar_1 · Hamar · Kari Solberg" in text and "turn 1/4 · anna" in text and "no codes yet" in text
    assert max(len(line) for line in text.splitlines()) <= COLS
    assert "Keys" in press(screen, "?") and screen.mode == "help"
    press(screen, " ")  # any key closes the help
    text = press(screen, "j")
    assert "turn 2/4" in text and "suggested: ★ two_bosses (to sjefer)" in text

    text = press(screen, "a")
    assert "Code the whole turn 2 with:" in text and "›★ ■ vertical.two_bosses (to sjefer)" in text
    text = press(screen, "likev")
    assert "horizontal.relations.equality" in text and "vertical.two_bosses" not in text
    press(screen, "c-u", "two")
    text = press(screen, "enter")
    assert "coded the whole turn vertical.two_bosses" in text
    start, end = segment_bounds(loaded, "hamar_1", 2)
    assert [c[:4] for c in codings(loaded)] == [(2, start, end, "vertical.two_bosses")]

    press(screen, "s", "1-3", "enter")
    assert "Code «Det er krevende» (turn 2) with:" in shown(screen)
    text = press(screen, "equality", "enter")
    assert "coded «Det er krevende» horizontal.relations.equality" in text
    assert [c[5] for c in codings(loaded) if c[3] == "horizontal.relations.equality"] == ["Det er krevende"]

    text = press(screen, "u")
    assert "undid: horizontal.relations.equality on turn 2" in text
    assert [c[3] for c in codings(loaded)] == ["vertical.two_bosses"]
    press(screen, "q")
    assert screen.done


def test_the_screen_keeps_a_prompt_open_on_a_wrong_answer_and_escape_cancels(screen, loaded):
    press(screen, "g", "9", "enter")
    assert screen.mode == "prompt" and screen.message[0] == "error"  # turn 9 of 4: say so, let it be corrected
    press(screen, "c-u", "3", "enter")
    assert screen.mode == "normal" and screen.s.current.number == 3
    press(screen, "a", "two")
    assert screen.mode == "picker"
    text = press(screen, "escape")
    assert screen.mode == "normal" and "cancelled" in text
    assert codings(loaded) == []  # nothing was written
    press(screen, "r")
    assert screen.message == ("error", "no coding on this turn to remove")


def test_the_screen_fits_any_size(screen):
    press(screen, "j")
    for width, height in ((40, 10), (80, 24), (120, 40), (20, 6)):
        lines = screen.render(width, height)
        assert len(lines) == height
        assert all(sum(len(part) for _, part in line) <= width for line in lines), (width, height)
