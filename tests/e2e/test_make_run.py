"""``make run``'s process set (honcho with Procfile.dev: the embedded Redis, gunicorn, a
worker and the cron process) comes back by itself after its Redis dies: nobody presses
Ctrl-C, and an upload made afterwards is imported. Its runner announces the real port once
the web answers and stops quietly on Ctrl-C."""

from __future__ import annotations

import signal
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


def test_make_run_announces_its_real_port_once_the_web_answers_and_stops_with_status_0(
    make_run_env, tmp_path
):
    """``make run``'s runner (``python -m bulkapp.devtools run``) with its embedded Redis:
    one banner naming BULKAPP_PORT, printed after the web server answers; SIGINT (Ctrl-C)
    stops everything with status 0, and the Redis overcommit warning never shows."""
    env = {key: value for key, value in make_run_env.items() if key != "REDIS_URL"}
    port = env["BULKAPP_PORT"]
    run = ProcessGroup(env, tmp_path)
    runner = run.start(
        [str(VENV_BIN / "python"), "-m", "bulkapp.devtools", "run", "Procfile.dev"], name="run"
    )
    try:
        wait_for(
            lambda: "Press Ctrl-C" in runner.log_path.read_text(),
            START_TIMEOUT,
            "the banner",
            watching=[runner],
        )
        assert answers(f"http://127.0.0.1:{port}/login")
        runner.signal(signal.SIGINT)
        status = runner.wait(30)
    finally:
        run.stop_all()
    output = runner.log_path.read_text()
    assert status == 0
    assert output.count("Press Ctrl-C") == 1
    assert f"bulkapp is running at http://127.0.0.1:{port}/" in output
    assert "admin@demo.example" in output and "demo-admin-password" in output
    assert "127.0.0.1:5000" not in output or port == "5000"
    assert "overcommit" not in output
    assert "Redis is starting" in output, "the embedded Redis ran and its log was relayed"
