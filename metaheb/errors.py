"""The exceptions the command line turns into a one-line message: bad input (exit code 2) and a
run that cannot go on (exit code 1)."""


class UserError(Exception):
    """Bad input from the user: the message says what is wrong and how to fix it, on one line."""


class RunStopped(Exception):
    """A run that cannot go on (every member of a generation non-finite, say): the message names
    the likely cause and what to change, on one line; the run directory keeps what was finished."""
