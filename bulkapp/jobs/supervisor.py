"""``python worker.py``: start bulkapp's background processes and keep them running.

    python worker.py                    WORKER_CONCURRENCY import workers, every queue
    python worker.py --entity members   workers for members' imports only (repeatable)
    python worker.py --cron             the one cron process of the deployment

The supervisor itself touches neither Redis nor the database. It starts each process as a
child, restarts one that exits (after 1, 2, 4 … up to 30 s; back to 1 s once a process has
run for a minute) and logs how it ended. On SIGTERM or SIGINT it asks every child to stop
(a worker stops its import at a committed chunk; the import resumes elsewhere without
spending a retry), waits up to ``STOP_TIMEOUT`` seconds, and exits 0. As the "child
subreaper" of its children it also stops and reaps whatever a dead worker left behind, such
as the worker's retry scheduler. Its children end with it even if it is killed outright.

What the platform still has to do: restart ``python worker.py`` itself if it ever exits
(Heroku, systemd's ``Restart=always`` and Kubernetes all do), and give it 30 s to stop.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from functools import partial

from ..config import PROJECT_ROOT, ConfigError
from ..processes import adopt_orphans, children_of, signal_when_parent_dies

log = logging.getLogger("bulkapp.jobs.supervisor")

FIRST_RESTART_DELAY = 1.0
MAX_RESTART_DELAY = 30.0
STABLE_AFTER = 60.0  # a process that ran this long restarts after FIRST_RESTART_DELAY again
STOP_TIMEOUT = 25.0  # within the 30 s platforms give a stopping process
ORPHAN_STOP_TIMEOUT = 10.0
ORPHAN_CHECK_INTERVAL = 1.0
TICK = 0.2


def describe_exit(status: int) -> str:
    """A ``Popen.returncode`` for the log: ``status 1`` or ``signal 9 (SIGKILL)``."""
    if status >= 0:
        return f"status {status}"
    return f"signal {-status} ({signal.Signals(-status).name})"


@dataclass
class Child:
    """One supervised process: its command, the running process and its restart delay."""

    name: str
    command: list[str]
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    restart_at: float | None = None
    delay: float = FIRST_RESTART_DELAY

    def start(self) -> None:
        """Start the process in a session of its own; it gets SIGTERM if we die."""
        self.process = subprocess.Popen(
            self.command,
            cwd=PROJECT_ROOT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=partial(signal_when_parent_dies, signal.SIGTERM),
        )
        self.started_at, self.restart_at = time.monotonic(), None
        log.info("%s started (pid %d)", self.name, self.process.pid)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def exited(self, now: float) -> None:
        """Log how the process ended and when it comes back."""
        assert self.process is not None
        ran = now - self.started_at
        if ran >= STABLE_AFTER:
            self.delay = FIRST_RESTART_DELAY
        log.warning(
            "%s (pid %d) exited with %s after %.0f s; restarting in %.0f s",
            self.name,
            self.process.pid,
            describe_exit(self.process.returncode),
            ran,
            self.delay,
        )
        self.restart_at = now + self.delay
        self.delay = min(self.delay * 2, MAX_RESTART_DELAY)


@dataclass
class Supervisor:
    """Keeps ``children`` running until told to stop."""

    children: list[Child]
    stopping: bool = False
    orphans: dict[int, float] = field(default_factory=dict)  # pid → when it was told to stop
    orphans_checked: float = 0.0

    def request_stop(self, signum: int, frame: object) -> None:
        """SIGTERM/SIGINT: stop everything (the main loop does it)."""
        if not self.stopping:
            log.info("stopping on %s", signal.Signals(signum).name)
        self.stopping = True

    def run(self) -> int:
        """Start the children and watch them until stopped; returns the exit status."""
        adopt_orphans()
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)
        for child in self.children:
            child.start()
        while not self.stopping:
            self._watch(time.monotonic())
            time.sleep(TICK)
        self._stop_all()
        return 0

    def _watch(self, now: float) -> None:
        for child in self.children:
            if child.restart_at is None and not child.running:
                child.exited(now)
            if child.restart_at is not None and now >= child.restart_at:
                child.start()
        self._stop_orphans(now)

    def _stop_orphans(self, now: float) -> None:
        """Stop (SIGTERM, then SIGKILL) and reap processes adopted from dead children."""
        if now - self.orphans_checked < ORPHAN_CHECK_INTERVAL:
            return
        self.orphans_checked = now
        ours = {child.process.pid for child in self.children if child.process is not None}
        for pid in children_of(os.getpid()):
            if pid in ours:
                continue
            if _reaped(pid):
                self.orphans.pop(pid, None)
                continue
            told = self.orphans.setdefault(pid, now)
            if told == now:
                log.warning("stopping process %d, left behind by a worker that died", pid)
                _send(pid, signal.SIGTERM)
            elif now - told > ORPHAN_STOP_TIMEOUT:
                _send(pid, signal.SIGKILL)

    def _stop_all(self) -> None:
        running = [child for child in self.children if child.running]
        for child in running:
            assert child.process is not None  # a running child was started
            _send(child.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while any(child.running for child in running) and time.monotonic() < deadline:
            self._stop_orphans(time.monotonic())
            time.sleep(TICK)
        for child in running:
            if child.running:
                assert child.process is not None  # a running child was started
                log.warning("%s did not stop within %.0f s; killing it", child.name, STOP_TIMEOUT)
                _send(child.process.pid, signal.SIGKILL)
                child.process.wait()
        for pid in children_of(os.getpid()):
            _send(pid, signal.SIGKILL)
            _reaped(pid, block=True)
        log.info("stopped")


def _send(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def _reaped(pid: int, block: bool = False) -> bool:
    """Collect ``pid`` if it has exited; True when it is gone."""
    try:
        done, _ = os.waitpid(pid, 0 if block else os.WNOHANG)
    except ChildProcessError:
        return True
    return done == pid


def child_command(kind: str, *arguments: str) -> list[str]:
    """The command line of a supervised ``worker`` or ``cron`` process."""
    return [sys.executable, "-m", "bulkapp.jobs.runners", kind, *arguments]


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and supervise the processes it asks for."""
    parser = argparse.ArgumentParser(prog="worker.py", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--cron",
        action="store_true",
        help="run the cron process (one per deployment) instead of workers",
    )
    parser.add_argument(
        "--entity",
        action="append",
        default=[],
        metavar="TYPE",
        help="only take imports of this entity type (repeatable), e.g. members",
    )
    arguments = parser.parse_args(argv)
    from ..entities import UnknownEntity, get_entity

    try:
        entities = [get_entity(name).name for name in arguments.entity]
    except UnknownEntity as exc:
        parser.error(str(exc))
    from ..core import configuration

    try:
        config = configuration()
    except ConfigError as exc:
        print(f"worker.py: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=config["LOG_LEVEL"], format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if arguments.cron:
        children = [Child("cron", child_command("cron"))]
    else:
        count = max(1, config["WORKER_CONCURRENCY"])
        children = [
            Child(f"worker {number}", child_command("worker", *entities))
            for number in range(1, count + 1)
        ]
    return Supervisor(children).run()
