"""The processes ``python worker.py`` supervises: ``python -m bulkapp.jobs.runners worker
[ENTITY ...]`` and ``python -m bulkapp.jobs.runners cron``.

Both use a patient Redis connection (``bulkapp.jobs.redis_patience``): through a Redis outage
they wait instead of exiting, and carry on when it is back.
"""

from __future__ import annotations

import sys
from typing import Any

from rq.cron import CronScheduler

from .app import create_worker_app
from .cron import register_schedule
from .logs import quiet_routine_logs
from .queues import get_queue, worker_queue_names
from .redis_patience import patient_redis, stop_waiting
from .tasks import use_app
from .worker import ImportWorker


class PatientCronScheduler(CronScheduler):
    """RQ's cron scheduler that stops promptly on SIGTERM even while Redis is away."""

    def _request_stop(self, signum: Any, frame: Any) -> None:
        stop_waiting()
        super()._request_stop(signum, frame)


def run_worker(*entities: str) -> int:
    """One import worker with RQ's retry scheduler: every queue in priority order, or only
    the imports of ``entities`` (and the maintenance and notification jobs)."""
    app = create_worker_app()
    use_app(app)
    config = app.config
    ImportWorker.configure(
        low_priority_every=config["WORKER_LOW_PRIORITY_EVERY"],
        maintenance_interval=config["WORKER_MAINTENANCE_INTERVAL"],
    )
    connection = patient_redis(config["REDIS_URL"])
    quiet_routine_logs()
    worker = ImportWorker(
        [get_queue(name, connection) for name in worker_queue_names(entities)],
        connection=connection,
    )
    worker.work(with_scheduler=True, logging_level=config["LOG_LEVEL"])
    return 0


def run_cron() -> int:
    """The cron process: enqueues the periodic maintenance jobs of ``bulkapp.jobs.cron``."""
    app = create_worker_app()
    use_app(app)
    quiet_routine_logs()
    scheduler = PatientCronScheduler(
        connection=patient_redis(app.config["REDIS_URL"]), logging_level=app.config["LOG_LEVEL"]
    )
    register_schedule(scheduler)
    scheduler.start()
    return 0


RUNNERS = {"worker": run_worker, "cron": run_cron}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in RUNNERS:
        sys.exit("usage: python -m bulkapp.jobs.runners worker [ENTITY ...] | cron")
    sys.exit(RUNNERS[sys.argv[1]](*sys.argv[2:]))
