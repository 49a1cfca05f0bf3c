"""Stopping a command from outside: Ctrl-C (SIGINT) or a scheduler's or ``kill``'s SIGTERM.

Both arrive as a ``KeyboardInterrupt`` in the main thread, so the command unwinds as from
Ctrl-C: Ray is shut down with its workers, a run's ``running`` marker is removed, and a run's
last checkpoint (written atomically at the end of every generation) is where ``metaheb resume``
goes on. Without this, SIGTERM would end the process in Ray's own handler, which prints a stack
dump and skips the cleanup.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from metaheb.errors import Interrupted

# Whether the interrupt being handled came from SIGTERM. A flag rather than an exception type:
# Ray turns an interrupt raised inside ``ray.get`` into a plain KeyboardInterrupt.
_terminated = threading.Event()


def _interrupt_on_sigterm(signal_number: int, frame: object) -> None:
    _terminated.set()
    raise KeyboardInterrupt


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """While the block lasts, SIGTERM raises ``KeyboardInterrupt`` (and is remembered). Entered
    after ``ray.init``, which installs a handler of its own that this one replaces; the one before
    is put back after."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers; a library caller keeps its own
        return
    previous = signal.getsignal(signal.SIGTERM)
    _terminated.clear()
    signal.signal(signal.SIGTERM, _interrupt_on_sigterm)
    try:
        yield
    finally:
        # None: a handler set outside Python (Ray's), which cannot be put back; the default ends
        # the process as it would.
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


def describe(stop: BaseException) -> tuple[str, int]:
    """(what stopped the command, its exit code: 128 + the signal, as a shell reports it), of an
    interrupt or of the ``Interrupted`` a run made of one."""
    if isinstance(stop, Interrupted):
        return stop.cause, stop.exit_code
    if _terminated.is_set():
        return "SIGTERM", 128 + signal.SIGTERM
    return "Ctrl-C (SIGINT)", 128 + signal.SIGINT
