"""Run bulkapp's RQ worker(s): every queue in priority order, with the scheduler.

Usage: ``python worker.py`` (reads the same environment as the web app).
``WORKER_CONCURRENCY=N`` runs N worker processes under one pool process. Start as many of
these, on as many machines, as you like against the same Redis and database.

The equivalent rq command line (one worker):

    rq worker --url "$REDIS_URL" --with-scheduler --worker-class bulkapp.workers.ImportWorker \\
        --maintenance-interval 15 --worker-ttl 30 --job-monitoring-interval 10 \\
        $(python -c "from bulkapp.queues import worker_queue_names; print(*worker_queue_names())")
"""

from __future__ import annotations

import logging
import sys
import time

from redis import Redis
from redis.exceptions import RedisError
from rq.worker_pool import WorkerPool

from bulkapp import create_app
from bulkapp.extensions import redis_from_url
from bulkapp.jobs import use_app
from bulkapp.queues import get_queue, worker_queue_names
from bulkapp.workers import ImportWorker

log = logging.getLogger("bulkapp.worker")


def wait_for_redis(url: str, timeout: float = 30.0) -> Redis:
    """Connect to Redis, retrying for ``timeout`` seconds (it may still be starting)."""
    deadline = time.monotonic() + timeout
    while True:
        connection = redis_from_url(url)
        try:
            connection.ping()
            return connection
        except RedisError as exc:
            if time.monotonic() > deadline:
                raise SystemExit(f"Redis at {url} is not reachable: {exc}") from exc
            time.sleep(0.5)


def main() -> None:
    """Start one worker, or a pool of WORKER_CONCURRENCY workers, until told to stop."""
    app = create_app()
    use_app(app)
    config = app.config
    ImportWorker.configure(low_priority_every=config["WORKER_LOW_PRIORITY_EVERY"],
                           maintenance_interval=config["WORKER_MAINTENANCE_INTERVAL"])
    connection = wait_for_redis(config["REDIS_URL"])
    names = worker_queue_names()
    log.info("listening on %s", ", ".join(names))
    if config["WORKER_CONCURRENCY"] > 1:
        pool = WorkerPool(names, connection=connection, num_workers=config["WORKER_CONCURRENCY"],
                          worker_class=ImportWorker)
        pool.start(logging_level=config["LOG_LEVEL"])
        return
    worker = ImportWorker([get_queue(name, connection) for name in names], connection=connection)
    worker.work(with_scheduler=True, logging_level=config["LOG_LEVEL"])


if __name__ == "__main__":
    sys.exit(main())
