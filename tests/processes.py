"""Real processes for the tests (workers, gunicorn, honcho): each runs in its own session with
its output in a log file, is stopped with SIGTERM then SIGKILL, children included, and shows
the end of its log when it fails."""

from __future__ import annotations

import re
import shlex
import signal
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import psutil

PROJECT_ROOT = Path(__file__).resolve().parents[1]
STOP_TIMEOUT = 20.0  # how long a SIGTERM-ed process gets before SIGKILL
# The start of a line logged with bulkapp's format ("%(asctime)s %(levelname)s …").
LOG_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ")
LOG_TIME_FORMAT = "%Y-%m-%d %H:%M:%S,%f"


@dataclass
class ManagedProcess:
    """One command running as a real process in its own session, its output in ``log_path``."""

    name: str
    args: list[str]
    env: dict[str, str] = field(repr=False)
    log_path: Path
    process: subprocess.Popen | None = None

    def start(self) -> ManagedProcess:
        """Start the command in the project root (output appended to the log file)."""
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.args,
                cwd=PROJECT_ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        return self

    @property
    def command(self) -> str:
        return shlex.join([Path(self.args[0]).name, *self.args[1:]])

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def descendants(self) -> list[psutil.Process]:
        """Every process this one started (and theirs), while it runs."""
        try:
            return psutil.Process(self.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def wait(self, timeout: float) -> int:
        return self.process.wait(timeout)

    def kill_everything(self) -> None:
        """SIGKILL the process and every process it started (a machine dying)."""
        family = self.descendants()
        if self.running:
            self.process.kill()
        kill_all(family)
        if self.process is not None:
            self.process.wait(10)

    def ensure_running(self) -> None:
        """Fail, showing the end of its log, when the process has exited."""
        if not self.running:
            code = self.process.returncode if self.process else None
            raise AssertionError(
                f"{self.name} ({self.command}) exited with {code}; its log ends:\n{self.log_tail()}"
            )

    def logged_at(self, message: str) -> list[datetime]:
        """When the process logged a line containing ``message``, by the timestamps its
        logging wrote (``2026-01-31 12:00:00,123 INFO …``), oldest first."""
        if not self.log_path.exists():
            return []
        return [
            datetime.strptime(line[:23], LOG_TIME_FORMAT)
            for line in self.log_path.read_text(errors="replace").splitlines()
            if message in line and LOG_TIME.match(line)
        ]

    def log_tail(self, lines: int = 60) -> str:
        """The last ``lines`` lines of the process's output."""
        if not self.log_path.exists():
            return "(no output)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def still_running(processes: Iterable[psutil.Process]) -> list[psutil.Process]:
    """Those of ``processes`` that still run (one that exited and awaits reaping does not)."""
    running = []
    for process in processes:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                running.append(process)
        except psutil.NoSuchProcess:
            pass
    return running


def wait_until_gone(processes: list[psutil.Process], deadline: float) -> list[psutil.Process]:
    """Wait until ``processes`` have exited or ``deadline`` has passed; those still running."""
    while (running := still_running(processes)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return running


def kill_all(processes: list[psutil.Process]) -> None:
    """SIGKILL ``processes`` and wait until they are gone."""
    for process in still_running(processes):
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass
    wait_until_gone(processes, time.monotonic() + 10)


class ProcessGroup:
    """Processes started for a test (or a test session), all stopped when it ends."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.started: list[ManagedProcess] = []
        # Processes that may outlive the ones started here (a killed worker's work horse).
        self.orphans: list[psutil.Process] = []

    def start(self, args: list[str], name: str | None = None, **settings: str) -> ManagedProcess:
        """Start ``args`` with the group's environment plus ``settings``."""
        name = name or f"process-{len(self.started) + 1}"
        process = ManagedProcess(name, args, {**self.env, **settings}, self.log_dir / f"{name}.log")
        self.started.append(process.start())
        return process

    def stop_all(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM every process, then SIGKILL whatever of them, their children and the
        orphans is still alive ``timeout`` seconds later."""
        running = [process for process in self.started if process.running]
        family = [child for process in running for child in process.descendants()]
        for process in running:
            process.signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for process in running:
            try:
                process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill_everything()
        kill_all(wait_until_gone(family + self.orphans, deadline))

    def log_tails(self) -> list[tuple[str, str]]:
        """(title, last lines) of every process's log, for a failure report."""
        return [
            (f"{process.name} log, last lines ({process.log_path})", process.log_tail())
            for process in self.started
        ]


def wait_for(
    condition: Callable[[], object],
    timeout: float,
    what: str,
    interval: float = 0.1,
    watching: Iterable[ManagedProcess] = (),
) -> object:
    """Poll ``condition`` until it returns something true, and return that. Fail after
    ``timeout`` seconds, or at once when one of the ``watching`` processes has exited."""
    watching = list(watching)
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        for process in watching:
            process.ensure_running()
        if time.monotonic() > deadline:
            logs = "".join(f"\n{process.name} log:\n{process.log_tail()}" for process in watching)
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}{logs}")
        time.sleep(interval)
