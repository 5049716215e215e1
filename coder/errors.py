"""One error hierarchy: the CLI turns a CoderError into one line on stderr and its exit code."""
from __future__ import annotations

from enum import IntEnum

from coder.render import printable


class ExitStatus(IntEnum):
    OK = 0
    PARTIAL = 1  # the work ran, but some of it failed (rows not applied, files not imported)
    BAD_INPUT = 2  # usage or input error; nothing was written


class CoderError(Exception):
    """An error a user can act on. `str(error)` is the whole one-line message."""

    exit_code: ExitStatus = ExitStatus.BAD_INPUT

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None, hint: str | None = None):
        self.path = path
        self.line = line
        self.hint = hint
        self.detail = message
        super().__init__(self._format())

    def _format(self) -> str:
        where = ""
        if self.path is not None:
            where = f"{self.path}:{self.line}: " if self.line is not None else f"{self.path}: "
        hint = f"; {self.hint}" if self.hint else ""
        return _one_line(f"{where}{self.detail}{hint}")


def _one_line(text: str) -> str:
    """A message is one line on stderr, whatever a file put into it: newlines and other
    control characters (a terminal escape, say) are shown escaped, as \\n or \\x1b."""
    return printable(text)


class InputError(CoderError):
    """A file or argument the user gave is wrong (bad YAML, unknown key, unreadable encoding)."""


class UnknownCode(InputError):
    """A code referred to that is not in the codebook, or a short name shared by several codes."""


class NotATranscript(InputError):
    """A file of a format import reads that holds no transcript (a spreadsheet of codings):
    passed over in a folder, refused when named."""


class UnknownTranscript(InputError):
    pass


class DatabaseError(CoderError):
    """No database, not a coder database, or one made by a newer version."""


class DatabaseBusy(DatabaseError):
    """Another process kept the database locked for longer than the busy timeout."""

    exit_code = ExitStatus.PARTIAL


class PartialFailure(CoderError):
    """Raised after the work ran when part of it could not be done."""

    exit_code = ExitStatus.PARTIAL


class Interrupted(CoderError):
    exit_code = ExitStatus.PARTIAL
