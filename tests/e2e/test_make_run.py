"""``make run``'s process set (honcho with Procfile.dev: the embedded Redis, gunicorn, a
worker and the cron process) comes back by itself after its Redis dies: nobody presses
Ctrl-C, and an upload made afterwards is imported."""

from __future__ import annotations

import time
from collections.abc import Iterator

import psutil
import pytest
import requests
from redis import Redis

from tests.conftest import free_port
from tests.e2e.harness import (
    START_TIMEOUT,
    VENV_BIN,
    answers,
    create_accounts,
    migrated_environment,
    run_flask,
)
from tests.processes import ManagedProcess, ProcessGroup, wait_for

pytestmark = pytest.mark.e2e

RECORDS = [
    {
        "firstName": "John",
        "lastName": "Doe",
        "email": "john@example.com",
        "mobileNumber": "0821234567",
    }
]


@pytest.fixture
def make_run_env(tmp_path) -> Iterator[dict[str, str]]:
    """``make run``'s environment, on a migrated database of its own rather than the live
    stack's: its worker's upkeep enqueues every waiting import of its database, the ones
    other tests left behind included."""
    socket = tmp_path / "instance" / "redis.sock"
    socket.parent.mkdir()
    with migrated_environment(tmp_path, f"unix://{socket}", "e2e_make_run") as env:
        yield {**env, "BULKAPP_PORT": str(free_port()), "PATH": f"{VENV_BIN}:{env['PATH']}"}


def redis_servers(honcho: ManagedProcess) -> list[psutil.Process]:
    return [process for process in honcho.descendants() if process.name() == "redis-server"]


def test_make_run_comes_back_after_its_redis_is_killed(make_run_env, tmp_path):
    member_email = create_accounts(make_run_env).member_email
    socket = make_run_env["REDIS_URL"].removeprefix("unix://")
    base = f"http://127.0.0.1:{make_run_env['BULKAPP_PORT']}"
    make_run = ProcessGroup(make_run_env, tmp_path)
    honcho = make_run.start(
        [
            str(VENV_BIN / "honcho"),
            "-f",
            "Procfile.dev",
            "start",
            "redis",
            "web",
            "worker",
            "scheduler",
        ],
        name="honcho",
    )
    try:
        wait_for(
            lambda: answers(f"{base}/login"), START_TIMEOUT, "the web server", watching=[honcho]
        )
        [first] = redis_servers(honcho)
        first.kill()
        wait_for(
            lambda: [p for p in redis_servers(honcho) if p.pid != first.pid],
            START_TIMEOUT,
            "the embedded Redis to be started again",
            watching=[honcho],
        )
        wait_for(
            lambda: _pings(socket),
            START_TIMEOUT,
            "Redis to answer on its socket",
            watching=[honcho],
        )

        token = run_flask(make_run_env, "tokens", "create", "--email", member_email).strip()
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        accepted = session.post(f"{base}/api/v1/bulk-upload/mechanics", json=RECORDS, timeout=10)
        assert accepted.status_code == 202, accepted.text
        status_url = f"{base}{accepted.json()['data']['statusUrl']}"

        def completed() -> bool:
            return session.get(status_url, timeout=10).json()["data"]["status"] == "completed"

        wait_for(completed, 60, "the upload to be imported", watching=[honcho])
        honcho.ensure_running()
    finally:
        make_run.stop_all()
        time.sleep(0.5)


def _pings(socket) -> bool:
    try:
        return bool(Redis(unix_socket_path=str(socket), socket_timeout=1).ping())
    except Exception:
        return False
