"""The live stack of the end-to-end tests (tests/e2e and tests/api/test_live.py), built once
per test session: a database made by the real migrations, an organisation with an admin and
a member made with the real CLI, and gunicorn with one ``rq worker`` as real processes.

tests/conftest.py loads this module as a plugin, so every test module shares its fixtures.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from redis import Redis
from rq import Queue, Worker
from rq.worker import WorkerStatus

from bulkapp.jobs.queues import worker_queue_names
from tests.conftest import PASSWORD, free_port
from tests.databases import database_name, drop_database, postgres_url, recreate_database
from tests.processes import PROJECT_ROOT, ManagedProcess, ProcessGroup, wait_for

# The virtualenv running the tests also holds the flask, gunicorn and rq commands.
VENV_BIN = Path(sys.executable).parent
START_TIMEOUT = 60.0
E2E_REDIS_DB = 1  # the in-process tests use db 0 and flush it per test
E2E_DATABASE = "e2e"  # on PostgreSQL, the live stack's database is <test database>_e2e
# What the tests sharing the stack need: schemathesis must reach the upload logic instead of
# mostly hearing 429, and the monitor test must see a long import's progress move.
LIVE_SETTINGS = {"API_UPLOAD_RATE_LIMIT": "6000 per minute", "IMPORT_CHUNK_ROWS": "20"}


@contextmanager
def migrated_environment(root: Path, redis_url: str, name: str) -> Iterator[dict[str, str]]:
    """Environment for live processes on a freshly migrated database of their own: a SQLite
    file under ``root``, or the PostgreSQL database ``<this test process's>_<name>``,
    dropped afterwards."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("FLASK_APP", "TEST_DATABASE_URL")
    }
    env.update(
        {
            "BULKAPP_ENV": "development",
            "SECRET_KEY": secrets.token_hex(32),
            "REDIS_URL": redis_url,
            "INSTANCE_DIR": str(root / "instance"),
            "UPLOAD_DIR": str(root / "uploads"),
            "REPORT_DIR": str(root / "reports"),
            "PYTHONUNBUFFERED": "1",
        }
    )
    if postgres_url() is None:
        env["DATABASE_URL"] = f"sqlite:///{root / 'e2e.db'}"
        run_flask(env, "db", "upgrade")
        yield env
        return
    database = database_name(name)
    env["DATABASE_URL"] = recreate_database(database)
    try:
        run_flask(env, "db", "upgrade")
        yield env
    finally:
        drop_database(database)


def run_flask(env: dict[str, str], *args: str) -> str:
    """Run ``flask --app wsgi ARGS`` in the project root; its output, or an error showing it."""
    command = [str(VENV_BIN / "flask"), "--app", "wsgi", *args]
    result = subprocess.run(
        command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} exited with {result.returncode}:\n"
            f"{result.stdout}\n{result.stderr}"
        )
    return result.stdout


def answers(url: str) -> bool:
    """True when ``url`` answers 200."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


class LiveStack(ProcessGroup):
    """gunicorn on a free port and ``rq worker`` processes, serving the e2e database."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        log_dir.mkdir(exist_ok=True)
        super().__init__(env, log_dir)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.redis_url = env["REDIS_URL"]

    def start_web(self) -> ManagedProcess:
        """Start gunicorn (two workers) and wait until it serves /login."""
        web = self.start(
            [
                str(VENV_BIN / "gunicorn"),
                "wsgi:app",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                "2",
                "--timeout",
                "60",
                "--graceful-timeout",
                "5",
                "--access-logfile",
                "-",
                "--no-control-socket",
            ],
            name="gunicorn",
        )
        wait_for(
            lambda: answers(f"{self.url}/login"),
            START_TIMEOUT,
            "gunicorn to serve /login",
            watching=[web],
        )
        return web

    def start_worker(self) -> ManagedProcess:
        """Start one more ``rq worker`` on every bulkapp queue and wait until it registers."""
        number = sum(1 for process in self.started if process.name.startswith("rq-worker")) + 1
        name = f"rq-worker-{number}-{os.getpid()}"
        worker = self.start(
            [
                str(VENV_BIN / "rq"),
                "worker",
                "--url",
                self.redis_url,
                "--with-scheduler",
                "--name",
                name,
                *worker_queue_names(),
            ],
            name=name,
        )
        connection = Redis.from_url(self.redis_url)
        try:
            wait_for(
                lambda: any(w.name == name for w in Worker.all(connection=connection)),
                START_TIMEOUT,
                "the rq worker to register",
                watching=[worker],
            )
        finally:
            connection.close()
        return worker

    def discard_waiting_jobs(self) -> None:
        """Empty every queue and retry schedule, then wait until the workers are idle: the
        jobs one test left waiting are not run while the next tests run."""
        connection = Redis.from_url(self.redis_url)
        queues = [Queue(name, connection=connection) for name in worker_queue_names()]

        def idle() -> bool:
            return not any(queue.count for queue in queues) and all(
                worker.get_state() == WorkerStatus.IDLE
                for worker in Worker.all(connection=connection)
            )

        try:
            for queue in queues:
                queue.empty()
                for job_id in queue.scheduled_job_registry.get_job_ids():
                    queue.scheduled_job_registry.remove(job_id, delete_job=True)
            wait_for(idle, START_TIMEOUT, "the workers to finish their jobs", watching=self.started)
        finally:
            connection.close()


@dataclass(frozen=True)
class E2EAccounts:
    """An organisation with a national admin and a member, made with the real CLI."""

    org_slug: str
    admin_email: str
    member_email: str
    password: str = PASSWORD


def create_accounts(env: dict[str, str]) -> E2EAccounts:
    """Create the E2E organisation, its admin and its member with ``flask orgs/users create``."""
    accounts = E2EAccounts("e2e-org", "admin@e2e.example", "member@e2e.example")
    run_flask(env, "orgs", "create", "E2E Organisation", "--slug", accounts.org_slug)
    for email, role in (
        (accounts.admin_email, "national_admin"),
        (accounts.member_email, "member"),
    ):
        run_flask(
            env,
            "users",
            "create",
            "--org",
            accounts.org_slug,
            "--email",
            email,
            "--role",
            role,
            "--password",
            accounts.password,
        )
    return accounts


@pytest.fixture(scope="session")
def e2e_root(tmp_path_factory) -> Path:
    """A directory for the live stack's database, uploads, reports and process logs."""
    return tmp_path_factory.mktemp("e2e")


@pytest.fixture(scope="session")
def e2e_env(e2e_root, redis_server) -> Iterator[dict[str, str]]:
    """Environment for the live stack: its own migrated database, and a Redis db of its own
    on the session's redis-server, emptied before and after."""
    redis_url = f"redis://127.0.0.1:{redis_server.port}/{E2E_REDIS_DB}"
    redis = Redis.from_url(redis_url)
    redis.flushdb()
    try:
        with migrated_environment(e2e_root, redis_url, E2E_DATABASE) as env:
            yield env
    finally:
        redis.flushdb()
        redis.close()


@pytest.fixture(scope="session")
def flask_cli(e2e_env) -> Callable[..., str]:
    """Run ``flask --app wsgi ARGS`` against the live stack's database; returns its output."""
    return lambda *args: run_flask(e2e_env, *args)


@pytest.fixture(scope="session")
def e2e_accounts(e2e_env) -> E2EAccounts:
    """The live stack's organisation, admin and member."""
    return create_accounts(e2e_env)


@pytest.fixture(scope="session")
def live_stack(e2e_root, e2e_env, e2e_accounts) -> Iterator[LiveStack]:
    """gunicorn and one ``rq worker`` with LIVE_SETTINGS, stopped when the session ends."""
    stack = LiveStack({**e2e_env, **LIVE_SETTINGS}, e2e_root / "logs")
    try:
        stack.start_web()
        stack.start_worker()
        yield stack
    finally:
        stack.stop_all()
