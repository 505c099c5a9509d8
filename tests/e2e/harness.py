"""Process plumbing for the end-to-end tests: run the real ``flask``, ``gunicorn`` and
``rq worker`` commands as subprocesses, wait until they are ready, stop them cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import psutil
from redis import Redis
from rq import Worker
from sqlalchemy import MetaData, create_engine

from bulkapp.jobs.queues import worker_queue_names

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# The virtualenv running the tests also holds the flask, gunicorn and rq commands.
VENV_BIN = Path(sys.executable).parent
START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0


def drop_all_tables(database_url: str) -> None:
    """Drop every table in the database, ``alembic_version`` included."""
    engine = create_engine(database_url)
    try:
        metadata = MetaData()
        metadata.reflect(engine)
        metadata.drop_all(engine)
    finally:
        engine.dispose()


def run_flask(env: dict[str, str], *args: str) -> str:
    """Run ``flask --app wsgi ARGS`` in the project root; its output, or an error showing it."""
    command = [str(VENV_BIN / "flask"), "--app", "wsgi", *args]
    result = subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited with {result.returncode}:\n"
                           f"{result.stdout}\n{result.stderr}")
    return result.stdout


@dataclass
class ManagedProcess:
    """A long-running subprocess in its own session, its output written to ``log_path``."""

    name: str
    args: list[str]
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen | None = None

    def start(self) -> None:
        """Start the process (output appended to the log file)."""
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(self.args, cwd=PROJECT_ROOT, env=self.env,
                                            stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds; also ends any child left behind."""
        if not self.running:
            return
        try:
            children = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            children = []
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        _, alive = psutil.wait_procs(children, timeout=timeout)
        for child in alive:
            child.kill()

    def log_tail(self, lines: int = 60) -> str:
        """The last ``lines`` lines of the process's output."""
        if not self.log_path.exists():
            return "(no output)"
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def ensure_running(self) -> None:
        """Raise, showing the log, when the process has exited."""
        if not self.running:
            code = self.process.returncode if self.process else None
            raise RuntimeError(f"{self.name} exited with {code}; its log ends:\n{self.log_tail()}")


def wait_until(ready, process: ManagedProcess, what: str, timeout: float = START_TIMEOUT) -> None:
    """Poll ``ready()`` until it is true; fail early when ``process`` dies, or after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not ready():
        process.ensure_running()
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} not ready after {timeout:.0f} s; {process.name} log:\n"
                               f"{process.log_tail()}")
        time.sleep(0.2)


def answers(url: str) -> bool:
    """True when ``url`` answers 200."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


@dataclass
class LiveStack:
    """gunicorn and rq workers serving one migrated database, as real processes."""

    url: str
    redis_url: str
    env: dict[str, str]
    log_dir: Path
    processes: list[ManagedProcess] = field(default_factory=list)

    def start_web(self, port: int) -> ManagedProcess:
        """Start gunicorn (two workers) on ``port`` and wait until it serves /login."""
        args = [str(VENV_BIN / "gunicorn"), "wsgi:app", "--bind", f"127.0.0.1:{port}",
                "--workers", "2", "--timeout", "60", "--graceful-timeout", "5",
                "--access-logfile", "-", "--no-control-socket"]
        web = ManagedProcess("gunicorn", args, self.env, self.log_dir / "gunicorn.log")
        self.processes.append(web)
        web.start()
        wait_until(lambda: answers(f"{self.url}/login"), web, "gunicorn")
        return web

    def start_worker(self) -> ManagedProcess:
        """Start one more ``rq worker`` on every bulkapp queue and wait until it registers."""
        number = sum(1 for p in self.processes if p.name.startswith("rq-worker")) + 1
        name = f"rq-worker-{number}-{os.getpid()}"
        worker = ManagedProcess(name, [
            str(VENV_BIN / "rq"), "worker", "--url", self.redis_url, "--with-scheduler",
            "--name", name, *worker_queue_names()], self.env, self.log_dir / f"{name}.log")
        self.processes.append(worker)
        worker.start()
        connection = Redis.from_url(self.redis_url)
        try:
            wait_until(lambda: any(w.name == name for w in Worker.all(connection=connection)),
                       worker, "rq worker")
        finally:
            connection.close()
        return worker

    def stop(self) -> None:
        """Stop every process, workers first."""
        for process in reversed(self.processes):
            process.stop()

    def log_tails(self) -> list[tuple[str, str]]:
        """(title, last lines) of every process's log, for a failure report."""
        return [(f"{p.name} log, last lines ({p.log_path})", p.log_tail())
                for p in self.processes]


@contextmanager
def running_stack(env: dict[str, str], log_dir: Path) -> Iterator[LiveStack]:
    """gunicorn on a free port and one ``rq worker`` with ``env``; both stopped on exit."""
    from tests.conftest import free_port

    log_dir.mkdir()
    port = free_port()
    stack = LiveStack(url=f"http://127.0.0.1:{port}", redis_url=env["REDIS_URL"], env=env,
                      log_dir=log_dir)
    try:
        stack.start_web(port)
        stack.start_worker()
        yield stack
    finally:
        stack.stop()
