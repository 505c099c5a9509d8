"""The periodic jobs, as data, for the one cron process (``python worker.py --cron``).

Each entry is enqueued on the maintenance queue at its interval (seconds) or cron time
(UTC); workers run it like any other job. Run exactly one cron process per Redis.
"""

from __future__ import annotations

from rq.cron import CronScheduler

from . import tasks
from .queues import MAINTENANCE_QUEUE

SCHEDULE = (
    # (entry point, when, seconds one run may take)
    (tasks.recover, {"interval": 30}, 300),
    (tasks.trim, {"interval": 600}, 300),
    (tasks.roll_up_metrics, {"interval": 300}, 300),
    (tasks.clean_up, {"cron": "30 2 * * *"}, 3600),
)
# Results of maintenance runs are kept for a day, for rq-dashboard and `rq info`.
RESULT_TTL = 86400


def register_schedule(scheduler: CronScheduler) -> None:
    """Register every periodic job of ``SCHEDULE`` with ``scheduler``."""
    for function, when, timeout in SCHEDULE:
        scheduler.register(
            function,
            MAINTENANCE_QUEUE,
            job_timeout=timeout,
            result_ttl=RESULT_TTL,
            failure_ttl=RESULT_TTL,
            **when,
        )
