"""The exceptions the command line turns into a one-line message: bad input (exit code 2), a
run that cannot go on (exit code 1) and a run stopped from outside (128 + the signal); and the
one-line forms of other errors and notices."""

import sys
from collections.abc import Callable


class UserError(Exception):
    """Bad input from the user: the message says what is wrong and how to fix it, on one line."""


class RunStopped(Exception):
    """A run that cannot go on (every member of a generation non-finite, say): the message names
    the likely cause and what to change, on one line; the run directory keeps what was finished."""


class Interrupted(Exception):
    """A run stopped by Ctrl-C or SIGTERM (``cause``): the message says where it stopped and how
    to go on."""

    def __init__(self, message: str, cause: str, exit_code: int) -> None:
        super().__init__(message)
        self.cause, self.exit_code = cause, exit_code


def first_line(error: BaseException, empty: str = "") -> str:
    """An exception's message cut to its first line, or ``empty`` (its type's name by default)
    when it has none: what a one-line message quotes of a library's error."""
    text = str(error).strip()
    return text.splitlines()[0] if text else (empty or type(error).__name__)


def compiled_path_notice(what: str, why: str, instead: str) -> None:
    """One line on stderr: a compiled path that gives the plain one's bits is not used here."""
    print(
        f"metaheb: {what} is not used: {why}; {instead} runs instead (the same numbers, slower)",
        file=sys.stderr,
        flush=True,
    )


class SwitchAfterFrames:
    """A compiled path that gives a plain path's values, taken once a process has seen
    ``switch_after`` frames (so a short replay never pays for compiling); built and checked on
    the call that crosses the threshold, by ``check`` (False keeps the plain path)."""

    def __init__(self, switch_after: int) -> None:
        self.switch_after = switch_after
        self.frames_seen = 0
        self._works: bool | None = None

    def _ready(self, count: int, check: Callable[[], bool]) -> bool:
        self.frames_seen += count
        if self._works is None and self.frames_seen >= self.switch_after:
            self._works = check()
        return bool(self._works)
