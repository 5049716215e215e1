"""What a person sees at an 80-column terminal, and what a pipe gets: tables fitted to the
width (text wrapped, never a header one letter per line or a name cut to "…"), and plain
tab-separated lines when stdout is not a terminal. Rendering is tested on `Env` with an
injected terminal; the CLI once, through a pipe."""
from __future__ import annotations

import io
import re

from rich import box
from rich.table import Table

from coder.render import Env, print_records

CODE_LABELS = ["Samarbeidsavtalen som styringsdokument", "Formelle styrings- og rapporteringsbetingelser",
               "Med to sjefer i hverdagen", "Partnerskapsmøtets vertikale dimensjon", "Partenes relasjoner",
               "Kommunikasjon", "Likeverdighet", "Integrasjon", "Informantenes syn på partnerskapet",
               "Administrasjon stjeler tid og oppmerksomhet", "Kompetanseutfordring",
               "Oppgaver på hverandres områder og arbeidsmetodeutvikling"]
OFFICES = ["Tjøme", "Trøgstad", "Hamar", "Lier", "Asker"]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def shown(table=None, *, records=None, width: int = 80, **kwargs) -> list[str]:
    """The lines an 80-column terminal shows for `table` (or for `records` as a list command
    prints them), colours off."""
    screen = Terminal()
    env = Env(stdout=screen, stderr=io.StringIO(), width=width, **kwargs)
    if records is not None:
        print_records(env, records, None)
    else:
        env.print_table(table)
    return [line.rstrip() for line in re.sub(r"\x1b\[[0-9;]*m", "", screen.getvalue()).splitlines()]  # bold, which NO_COLOR keeps


def words(lines: list[str]) -> str:
    return " ".join(" ".join(lines).split())


def matrix(rows: list[str], cols: list[str]) -> Table:
    table = Table(title="cases × codes: coded segments", box=box.SIMPLE_HEAVY, title_justify="left")
    table.add_column("cases")
    for label in cols:
        table.add_column(label, justify="right")
    for r, row in enumerate(rows):
        table.add_row(row, *[str((r + c) % 5) if (r + c) % 5 else "·" for c in range(len(cols))])
    return table


def test_wide_matrix_is_turned_on_its_side_with_every_label_whole(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    lines = shown(matrix(OFFICES, CODE_LABELS))
    assert max(map(len, lines)) <= 80, "\n".join(lines)
    header = next(line for line in lines if "Tjøme" in line)
    assert header.split() == OFFICES  # the offices are the columns now, each whole on one line
    text = words(lines)
    for label in CODE_LABELS:  # a code's label wraps between words, never cut to "…"
        assert set(label.split()) <= set(text.split())
    assert "…" not in text


def test_matrix_too_wide_either_way_is_split_repeating_the_row_names(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    rows = [f"Office {n}" for n in range(20)]
    lines = shown(matrix(rows, [f"code_number_{n}" for n in range(20)]))
    assert max(map(len, lines)) <= 80
    titles = [line for line in lines if line.startswith("cases × codes")]
    assert len(titles) > 1 and titles[0].endswith(f"(part 1 of {len(titles)})")
    assert sum(1 for line in lines if line.split()[:1] == ["Office"] and line.split()[1] == "7") == len(titles)
    for n in range(20):  # every column named, in its part or in the legend under the last
        assert re.search(rf"\bcode_number_{n}\b", words(lines))


def test_long_headers_over_numbers_are_abbreviated_with_a_legend(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    groups = [f"leadership_model={v}" for v in ("unified", "split", "rotating", "shared", "none")]
    table = Table(title="Coded segments by leadership_model", box=box.SIMPLE_HEAVY, title_justify="left")
    table.add_column("code")
    for group in groups:
        table.add_column(group, justify="right")
    for n in range(12):  # more rows than columns: turning it would not help
        table.add_row(f"vertical.code_{n}", *[str(n * k) for k in range(5)])
    lines = shown(table)
    assert max(map(len, lines)) <= 80, "\n".join(lines)
    legend = words(lines)
    for group in groups:
        assert f"= {group}" in legend
    assert any(line.split()[:2] == ["vertical.code_11", "0"] for line in lines)


def test_list_table_keeps_codes_whole_and_wraps_the_text(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    quote = ("Formelt sett er det fylkesdirektøren, Berit Moen. Jeg er statlig ansatt, og det er hun som har "
             "instruksjonsmyndighet over meg. Men i praksis har jeg to sjefer, det kommer man ikke bort fra.")
    records = [{"id": f"64d938c{n}", "transcript": "hamar_1", "case": "Hamar", "segment": 4, "start": 568,
                "end": 1046, "code": "leadership.admin_steals_time", "coder": "anna", "memo": None, "text": quote}
               for n in range(3)]
    lines = shown(records=records)
    assert max(map(len, lines)) <= 80, "\n".join(lines)
    assert sum(1 for line in lines if "leadership.admin_steals_time" in line) >= 3  # never broken mid-word
    assert all(len(line.split()) != 1 or len(line.strip()) > 1 for line in lines)  # no header a letter a line
    assert quote in words([line.replace("64d938c0", "") for line in lines]) or "instruksjonsmyndighet" in words(lines)


def test_wide_terminal_option_prints_the_whole_table(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    lines = shown(matrix(OFFICES, CODE_LABELS), wide=True)
    assert any(all(label in line for label in CODE_LABELS[:3]) for line in lines)  # one row of headers


def test_a_pipe_gets_tab_separated_lines(project):
    assert project.run("demo", project.root).exit_code == 0
    matrix_out = project.run("report", "matrix")
    assert matrix_out.exit_code == 0
    title, blank, *lines = matrix_out.stdout.splitlines()
    assert (title, blank) == ("cases × codes: coded segments", "")
    header = lines[0].split("\t")
    assert header[0] == "cases" and "Med to sjefer i hverdagen" in header
    assert [line.split("\t")[0] for line in lines[1:]] == OFFICES
    assert all(len(line.split("\t")) == len(header) for line in lines)
    assert "━" not in matrix_out.stdout and "·" not in matrix_out.stdout  # a zero is 0 for awk
    listed = project.run("code", "list", "--transcript", "hamar_1")
    lines = listed.stdout.splitlines()
    assert lines[0].split("\t") == ["id", "transcript", "case", "segment", "start", "end", "code", "coder", "memo",
                                    "text"]
    assert len(lines) > 3 and all(len(line.split("\t")) == 10 and line.startswith(("id", "")) for line in lines)
    assert any("Men i praksis har jeg to sjefer" in line.split("\t")[-1] for line in lines)


# -- progress --------------------------------------------------------------------------------

def progress_output(stderr, *, quiet: bool = False) -> str:
    from coder.render import Progress

    env = Env(stdout=io.StringIO(), stderr=stderr)
    with Progress(env, "autocoding", quiet=quiet, after=0) as progress:
        assert list(progress.track(range(500))) == list(range(500))
        for done in range(1, 41):
            progress(done, 40)
    return stderr.getvalue()


def test_progress_shows_a_bar_on_a_terminal():
    assert "autocoding" in progress_output(Terminal())


def test_progress_prints_nothing_into_a_pipe_or_with_json():
    assert progress_output(io.StringIO()) == ""  # stderr redirected: a log file gets no bar
    assert progress_output(Terminal(), quiet=True) == ""  # --json: a script is reading


# -- the session, on its terminal-free screen ---------------------------------------------------

def session_screen(project, transcript: str = "hamar_1", **kwargs):
    from coder.session import Session
    from coder.session_screen import SessionScreen
    from coder.store import Store

    store = Store.open(project.db)
    return store, SessionScreen(Session(store, transcript, "anna", **kwargs))


def test_n_passes_over_the_interviewers_questions_and_x_skips_a_speaker(loaded):
    # hamar_1: 1 Intervjuer, 2 Leder, 3 Intervjuer, 4 Leder
    assert loaded.run("code", "add", "hamar_1", "2", "vertical.two_bosses", "--coder", "anna").exit_code == 0
    store, screen = session_screen(loaded)
    try:
        screen.s.goto(1)
        screen.press("n")
        assert screen.s.current.number == 4, screen.message  # not 3: the interviewer asks there
        screen.press("x")  # pass over Leder too: nothing is left
        assert screen.message == ("info", "n passes over Leder's turns")
        screen.press("n")
        assert screen.s.current.number == 4 and screen.message[0] == "error"
        assert "turns of Intervjuer, Leder skipped" in screen.message[1]
        screen.s.goto(3)
        screen.press("x")  # stop passing over the interviewer
        screen.press("n")
        assert screen.s.current.number == 1
    finally:
        store.close()
    store, screen = session_screen(loaded, skip_speakers=["leder"])  # as autocode --skip-speaker
    try:
        assert screen.s.skips(screen.s.turn(2)) and screen.s.skips(screen.s.turn(1))
    finally:
        store.close()


def test_a_joined_emoji_takes_the_cells_the_terminal_gives_it(project):
    from prompt_toolkit.utils import get_cwidth

    project.start("codebook.yaml", {"emoji.txt": "Leder: Sjefen 👩‍💼 sa ja 👍🏽 og ❤️ til alle sammen her på kontoret.\n"})
    store, screen = session_screen(project, "emoji")
    try:
        for width in (24, 31, 40, 80):
            lines = screen.render(width, 12)
            for line in lines:
                text = "".join(part for _, part in line)
                assert "\u200d" not in text and "\ufe0f" not in text  # nothing a terminal joins
                # what prompt_toolkit lays out (a cell per code point's width) is what the screen counted
                assert sum(get_cwidth(ch) for ch in text) <= width, (width, text)
            assert sum(get_cwidth(ch) for _, part in lines[0] for ch in part) == width  # the padded header
            shown = " ".join("".join(part for _, part in line) for line in lines)
            assert "👩💼" in shown.replace(" ", "") and "👍" in shown
    finally:
        store.close()


def test_freq_and_autocode_tables_into_a_pipe(project):
    assert project.run("demo", project.root).exit_code == 0
    freq = project.run("report", "freq").stdout.splitlines()
    assert freq[:3] == ["Coded segments by case", "", "code\tTjøme\tTrøgstad\tHamar\tLier\tAsker\ttotal"]
    assert all(len(line.split("\t")) == 7 for line in freq[2:])
    proposals = project.run("autocode").stdout.splitlines()
    assert proposals[0].split("\t") == ["transcript", "segment", "code", "keyword", "context"]
    contexts = [line.split("\t")[-1] for line in proposals[1:]]
    assert any("[møte" in c for c in contexts) and not any("\\[" in c for c in contexts)  # the hit, marked


# -- entry points -------------------------------------------------------------------------------

def test_version_bare_coder_and_dash_h_behave_as_in_pip(project):
    from typer.testing import CliRunner

    from coder.cli import app

    run = lambda *args: CliRunner().invoke(app, list(args), prog_name="coder")  # noqa: E731
    version = run("--version")
    assert version.exit_code == 0 and version.stdout.startswith("coder ")
    for args in ((), ("-h",), ("--help",), ("report",), ("report", "-h"), ("report", "freq", "-h")):
        result = run(*args)
        assert result.exit_code == 0, (args, result.output)
        assert result.stdout.startswith(f"Usage: coder {' '.join(a for a in args if a[0] != '-')}".rstrip() + " ")
    assert not (project.root / "coder.db").exists()  # help opens no project


def test_wide_is_a_global_option_and_a_pipe_is_unchanged_by_it(loaded):
    wide = loaded.run("--wide", "cases", "list")
    assert wide.exit_code == 0 and wide.stdout == loaded.run("cases", "list").stdout


def test_a_memo_on_a_coding_names_where_the_coding_is(loaded):
    assert loaded.run("code", "add", "hamar_1", "2", "vertical.two_bosses").exit_code == 0
    [coding] = loaded.run("code", "list", "--json").json()
    assert loaded.run("memo", "add", "tydelig", "--coding", coding["id"]).exit_code == 0
    table = loaded.run("report", "memos").stdout
    assert "hamar_1 §2 vertical.two_bosses" in table and coding["id"] not in table
    assert [m["target"] for m in loaded.run("report", "memos", "--json").json()] == [coding["id"]]  # JSON unchanged


def test_a_usage_error_is_one_line_with_a_did_you_mean_about_the_word_typed(project):
    """click printed four lines ("Usage: ... Try ... Error: ...") and suggested --out for --bogus."""
    cases = [(("report", "freq", "--byy", "case"), "error: no such option --byy; did you mean --by? "
                                                   "see `coder report freq -h`"),
             (("report", "freq", "--bogus"), "error: no such option --bogus; see `coder report freq -h`"),
             (("reprot", "freq"), "error: no such command 'reprot'; did you mean report? see `coder -h`"),
             (("report", "quotes", "--cse", "Hamar"), "error: no such option --cse; did you mean --case? "
                                                      "see `coder report quotes -h`")]
    for args, line in cases:
        result = project.run(*args)
        assert result.exit_code == 2
        assert result.stderr == line + "\n", result.stderr
    missing = project.run("code", "add")
    assert missing.exit_code == 2 and missing.stderr.count("\n") == 1
    assert missing.stderr.startswith("error: Missing argument") and "coder code add -h" in missing.stderr
