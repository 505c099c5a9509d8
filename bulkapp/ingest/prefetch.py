"""Run an iterator ahead in a forked child process, so reading and validating the next chunk
runs on another core while this process saves the current one.

A thread cannot do that: reading and validating is Python code that holds the GIL, and a
thread holding it stalls every row the saving thread hands to the database.
"""

from __future__ import annotations

import os
import pickle
import signal
import traceback
from collections.abc import Iterable, Iterator
from multiprocessing.connection import Connection, Pipe
from typing import Generic, TypeVar

from ..processes import signal_when_parent_dies

T = TypeVar("T")

_ITEM, _END, _ERROR = "item", "end", "error"


class Prefetcher(Generic[T]):
    """Iterate ``source`` in a forked child process, one item ahead of the consumer.

    The child gets the parent's memory as it is when the prefetcher is made (open readers,
    the schema, the keys seen so far) and must not touch the parent's database connection.
    Items and exceptions come back pickled; an exception raised by ``source`` is raised again
    by ``next()``, with the child's traceback as a note. Use as a context manager or call
    ``close()``: leaving early stops the child.
    """

    def __init__(self, source: Iterable[T]) -> None:
        self._items, sender = Pipe(duplex=False)
        parent = os.getpid()
        try:
            self._pid: int | None = os.fork()
        except OSError:
            self._items.close()
            sender.close()
            raise
        if self._pid == 0:  # the child never returns from here
            status = 1
            try:
                self._items.close()
                status = _produce(iter(source), sender, parent)
            finally:
                os._exit(status)
        sender.close()
        self._finished = False

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        if self._finished:
            raise StopIteration
        try:
            kind, payload = self._items.recv()
        except EOFError:
            self._finished = True
            raise RuntimeError(
                f"The reading process ended unexpectedly ({self._reap()})."
            ) from None
        if kind == _ITEM:
            return payload
        self._finished = True
        self._reap()
        if kind == _ERROR:
            raise payload
        raise StopIteration

    def _reap(self) -> str:
        """Wait for the child; describe how it ended."""
        if self._pid is None:
            return "already reaped"
        _, status = os.waitpid(self._pid, 0)
        self._pid = None
        if os.WIFSIGNALED(status):
            return f"signal {os.WTERMSIG(status)}"
        return f"exit status {os.waitstatus_to_exitcode(status)}"

    def close(self) -> None:
        """Stop the child if it is still running, and wait for it."""
        if self._pid is not None:
            os.kill(self._pid, signal.SIGKILL)
            self._reap()
        self._items.close()

    def __enter__(self) -> Prefetcher[T]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _produce(source: Iterator, sender: Connection, parent: int) -> int:
    """In the child: send every item of ``source``, then the end or the error; exit status."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the parent, which stops us
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal_when_parent_dies(signal.SIGKILL)
    if os.getppid() != parent:
        return 1
    try:
        for item in source:
            sender.send((_ITEM, item))
        sender.send((_END, None))
        return 0
    except (BrokenPipeError, ConnectionResetError):  # the parent stopped listening
        return 1
    except BaseException as exc:  # handed to the parent, who raises it
        sender.send((_ERROR, _portable(exc)))
        return 1


def _portable(exc: BaseException) -> BaseException:
    """``exc`` with the child's traceback as a note, or a RuntimeError if it cannot be pickled."""
    note = "In the reading process:\n" + "".join(traceback.format_exception(exc))
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        exc = RuntimeError(f"{type(exc).__name__}: {exc}")
    exc.add_note(note)
    return exc
