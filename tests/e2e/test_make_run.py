"""``make run``'s process set (honcho with Procfile.dev: the embedded Redis, gunicorn, a
worker and the cron process) comes back by itself after its Redis dies: nobody presses
Ctrl-C, and an upload made afterwards is imported."""

from __future__ import annotations

import time

import psutil
import pytest
import requests
from redis import Redis

from tests.conftest import free_port
from tests.e2e.harness import VENV_BIN, ManagedProcess, answers, wait_until

pytestmark = pytest.mark.e2e

RECORDS = [{"firstName": "John", "lastName": "Doe", "email": "john@example.com",
            "mobileNumber": "0821234567"}]


def redis_servers(honcho: ManagedProcess) -> list[psutil.Process]:
    family = psutil.Process(honcho.process.pid).children(recursive=True)
    return [process for process in family if process.name() == "redis-server"]


def test_make_run_comes_back_after_its_redis_is_killed(e2e_root, e2e_env, e2e_accounts,
                                                       flask_cli):
    instance = e2e_root / "make-run"
    instance.mkdir()
    socket = instance / "redis.sock"
    port = free_port()
    env = {**e2e_env, "INSTANCE_DIR": str(instance), "REDIS_URL": f"unix://{socket}",
           "BULKAPP_PORT": str(port), "PATH": f"{VENV_BIN}:{e2e_env['PATH']}"}
    honcho = ManagedProcess("honcho", [str(VENV_BIN / "honcho"), "-f", "Procfile.dev", "start",
                                       "redis", "web", "worker", "scheduler"],
                            env, e2e_root / "logs" / "honcho.log")
    (e2e_root / "logs").mkdir(exist_ok=True)
    honcho.start()
    try:
        wait_until(lambda: answers(f"http://127.0.0.1:{port}/login"), honcho, "the web server")
        [first] = redis_servers(honcho)
        first.kill()
        wait_until(lambda: [p for p in redis_servers(honcho) if p.pid != first.pid], honcho,
                   "the embedded Redis to be started again")
        wait_until(lambda: _pings(socket), honcho, "Redis to answer on its socket")

        token = flask_cli("tokens", "create", "--email", e2e_accounts.member_email).strip()
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        base = f"http://127.0.0.1:{port}/api/v1"
        accepted = session.post(f"{base}/bulk-upload/mechanics", json=RECORDS, timeout=10)
        assert accepted.status_code == 202, accepted.text
        status_url = f"http://127.0.0.1:{port}{accepted.json()['data']['statusUrl']}"

        def completed() -> bool:
            return session.get(status_url, timeout=10).json()["data"]["status"] == "completed"

        wait_until(completed, honcho, "the upload to be imported", timeout=60)
        honcho.ensure_running()
    finally:
        honcho.stop()
        time.sleep(0.5)


def _pings(socket) -> bool:
    try:
        return bool(Redis(unix_socket_path=str(socket), socket_timeout=1).ping())
    except Exception:
        return False
