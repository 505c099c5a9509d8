"""Helpers for the job lifecycle tests: CSV files, uploads, and real worker processes."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import psutil
import pytest
from sqlalchemy import func, select

from bulkapp.extensions import db
from bulkapp.jobs.imports import start_import
from bulkapp.models import ENTITY_TABLES
from tests.conftest import fetch_job

PROJECT_ROOT = Path(__file__).resolve().parents[2]
HEADER = "firstName,lastName,email,mobileNumber\n"


def mechanics_csv(rows: int) -> bytes:
    """A valid mechanics file with ``rows`` distinct rows."""
    body = "".join(f"First{i},Last{i},user{i}@example.com,082{i:07d}\n" for i in range(rows))
    return (HEADER + body).encode()


def upload(app, account, data: bytes, filename: str = "mechanics.csv") -> str:
    """Start an import as ``account``; returns the job id."""
    with app.app_context():
        job, _ = start_import(user=account.load(), entity_type="mechanics",
                              stream=io.BytesIO(data), filename=filename)
        return job.id


fetch = fetch_job


def stored_emails(app) -> set[str]:
    """E-mails of every stored mechanic."""
    with app.app_context():
        return set(db.session.scalars(select(ENTITY_TABLES["mechanics"].c.email)))


def stored_count(app) -> int:
    """How many mechanics are stored."""
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(ENTITY_TABLES["mechanics"]))


def wait_for(condition: Callable[[], object], timeout: float, what: str,
             interval: float = 0.1) -> object:
    """Poll ``condition`` until it returns something true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


@dataclass
class WorkerProcess:
    """``python worker.py`` (or another command) as a real process in its own session."""

    args: list[str]
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen | None = None

    def start(self) -> "WorkerProcess":
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(self.args, cwd=PROJECT_ROOT, env=self.env, stdout=log,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True)
        return self

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def descendants(self) -> list[psutil.Process]:
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
        for child in family:
            try:
                child.kill()
            except psutil.NoSuchProcess:
                pass
        if self.process is not None:
            self.process.wait(10)
        psutil.wait_procs(family, timeout=10)

    def ensure_running(self) -> None:
        """Fail, showing its output, if the process has exited."""
        if not self.running:
            raise AssertionError(f"{self.args} exited with {self.process.returncode}:\n"
                                 f"{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class Processes:
    """Starts worker processes for one test and makes sure none outlives it."""

    app: object
    log_dir: Path
    started: list[WorkerProcess] = field(default_factory=list)
    orphans: list[psutil.Process] = field(default_factory=list)

    def env(self, **settings: str) -> dict[str, str]:
        config = self.app.config
        env = {key: value for key, value in os.environ.items() if not key.startswith("BULKAPP")}
        env.update({
            "BULKAPP_ENV": "testing",
            "INSTANCE_DIR": config["INSTANCE_DIR"],
            "DATABASE_URL": config["SQLALCHEMY_DATABASE_URI"],
            "REDIS_URL": config["REDIS_URL"],
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
        })
        env.update(settings)
        return env

    def start(self, args: list[str], **settings: str) -> WorkerProcess:
        number = len(self.started) + 1
        process = WorkerProcess(args, self.env(**settings), self.log_dir / f"process-{number}.log")
        self.started.append(process.start())
        return process

    def worker(self, **settings: str) -> WorkerProcess:
        """Start ``python worker.py`` with these settings (environment variables)."""
        return self.start([sys.executable, "worker.py"], **settings)

    def stop_all(self) -> None:
        for process in self.started:
            if process.running:
                process.signal(signal.SIGTERM)
        for process in self.started:
            try:
                if process.process is not None:
                    process.wait(20)
            except subprocess.TimeoutExpired:
                pass
            process.kill_everything()
        for orphan in self.orphans:
            try:
                orphan.kill()
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(self.orphans, timeout=10)

    def logs(self) -> str:
        return "\n".join(f"--- {p.args} ---\n{p.log_tail()}" for p in self.started)


@pytest.fixture
def processes(app, tmp_path):
    """Real processes for this test; all stopped (then killed) before the app is torn down."""
    started = Processes(app, tmp_path)
    yield started
    started.stop_all()
