"""The route every client polls: requests/s and the web's CPU per request of 20 pollers.

gunicorn serves the application as the Procfile's ``web`` line does (one worker, four
threads, an access log); 20 pollers in processes of their own ask for one job's status
(``GET /api/v1/jobs/<queue>/<id>/status`` with a Bearer token) over keep-alive connections,
as fast as they are answered, for a fixed time. The web's CPU is read from /proc for the
gunicorn processes only, so the pollers' own work does not count.
"""

from __future__ import annotations

import http.client
import multiprocessing
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
POLLERS = 20
POLLER_PROCESSES = 4
SECONDS = 10.0
WARM_UP_SECONDS = 2.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_redis(data_dir: Path) -> tuple[subprocess.Popen, str]:
    """A private redis-server (the rate limiter's store); returns it and its URL."""
    from bulkapp.devtools import redis_server_args

    port = free_port()
    args = redis_server_args(data_dir=data_dir, port=port, appendonly=False)
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    return process, f"redis://127.0.0.1:{port}/0"


def start_web(environ: dict[str, str], log: Path) -> tuple[subprocess.Popen, int]:
    """gunicorn as in the Procfile, on a free port; returns it once it answers."""
    port = free_port()
    with open(log, "ab") as out:
        web = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("gunicorn")),
                "wsgi:app",
                "--bind",
                f"127.0.0.1:{port}",
                "--threads",
                "4",
                "--timeout",
                "60",
                "--access-logfile",
                "-",
                "--no-control-socket",
            ],
            cwd=ROOT,
            env=environ,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/api/v1/healthz")
            if connection.getresponse().status == 200:
                return web, port
        except OSError:
            time.sleep(0.2)
    web.kill()
    raise RuntimeError(f"gunicorn did not start; see {log}")


def web_cpu_seconds(web: subprocess.Popen) -> float:
    """CPU seconds used so far by gunicorn's master and workers."""
    total = 0.0
    master = psutil.Process(web.pid)
    for process in [master, *master.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def _poll(port: int, path: str, token: str, threads: int, start: float, stop: float, out) -> None:
    """One poller process: ``threads`` keep-alive clients; puts its count of answers."""
    import threading

    counts = [0] * threads
    failures: list[str] = []

    def client(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Authorization": f"Bearer {token}"}
        while time.time() < start:
            time.sleep(0.01)
        while time.time() < stop:
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                failures.append(str(response.status))
                return
            counts[index] += 1

    workers = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    out.put((sum(counts), failures))


def measure_pollers(
    port: int, path: str, token: str, web: subprocess.Popen, access_log: Path
) -> dict:
    """Run the pollers for SECONDS after a warm-up; requests/s and CPU ms per request (the
    requests counted in gunicorn's ``access_log``)."""
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    start = time.time() + 1.0
    warm = start + WARM_UP_SECONDS
    stop = warm + SECONDS
    per_process = POLLERS // POLLER_PROCESSES
    # The warm-up runs the same pollers; it is not counted.
    pollers = [
        context.Process(target=_poll, args=(port, path, token, per_process, start, stop, results))
        for _ in range(POLLER_PROCESSES)
    ]
    for poller in pollers:
        poller.start()
    while time.time() < warm:
        time.sleep(0.005)
    cpu, counted_from = web_cpu_seconds(web), time.time()
    answered_before = _answered(access_log)
    while time.time() < stop:
        time.sleep(0.005)
    cpu = web_cpu_seconds(web) - cpu
    seconds = time.time() - counted_from
    answered = _answered(access_log) - answered_before
    totals = [results.get() for _ in pollers]
    for poller in pollers:
        poller.join()
    failures = [f for _, fs in totals for f in fs]
    if failures:
        raise RuntimeError(f"pollers got answers other than 200: {failures[:5]}")
    return {
        "requests": answered,
        "seconds": seconds,
        "requests_per_second": answered / seconds,
        "cpu_ms_per_request": 1000 * cpu / max(answered, 1),
    }


def _answered(access_log: Path) -> int:
    """Requests gunicorn has answered so far (lines of its access log)."""
    with open(access_log, "rb") as log:
        return sum(chunk.count(b'"GET /api/v1/') for chunk in iter(lambda: log.read(1 << 20), b""))


def poll(url: str, import_file: str | None) -> dict:
    """Measure 20 pollers on the application at ``url``; with ``import_file``, while that file
    is imported in another process (the pipeline bench's child)."""
    from bench.child import make_app
    from bulkapp.extensions import db
    from bulkapp.models import ImportJob
    from bulkapp.people.organisations import create_organisation, find_organisation
    from bulkapp.people.users import create_user
    from bulkapp.tokens import create_token

    workdir = Path(tempfile.mkdtemp(prefix="bulkapp-bench-poll-"))
    redis, redis_url = start_redis(workdir)
    web = None
    importer = None
    try:
        app = make_app(url)
        with app.app_context():
            organisation = find_organisation("bench-poll") or create_organisation(
                "Bench Poll", "bench-poll"
            )
            user, _ = create_user(
                organisation=organisation,
                email=f"poller-{os.getpid()}@bench.example",
                role="member",
                password="bench-poller-password",
            )
            db.session.commit()
            _, token = create_token(user, "bench poller")
            job = ImportJob(
                organisation_id=organisation.id,
                user_id=user.id,
                entity_type="mechanics",
                original_filename="polled.csv",
                queue_name="bulk-upload-mechanics",
            )
            db.session.add(job)
            db.session.commit()
            path = f"/api/v1/jobs/bulk-upload-mechanics/{job.id}/status"
        environ = {
            **os.environ,
            "BULKAPP_ENV": "development",
            "DATABASE_URL": url,
            "REDIS_URL": redis_url,
            "INSTANCE_DIR": str(workdir),
            "LOG_LEVEL": "WARNING",
        }
        access_log = workdir / "gunicorn.log"
        web, port = start_web(environ, access_log)
        if import_file:
            importer = subprocess.Popen(
                [
                    sys.executable,
                    str(ROOT / "bench" / "child.py"),
                    "pipeline",
                    url,
                    import_file,
                    "bench-org",
                ],
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(3.0)  # past the import's start-up, into its chunks
        result = measure_pollers(port, path, token, web, access_log)
        if importer is not None:
            result["import_still_running"] = importer.poll() is None
        return result
    finally:
        for process in (importer, web, redis):
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
