"""The periodic jobs, as data, for the one ``rq cron`` process:

    rq cron --url "$REDIS_URL" bulkapp.cron_config

Each entry is enqueued on the maintenance queue at its interval (seconds) or cron time
(UTC); workers run it like any other job. Run exactly one ``rq cron`` per Redis.
"""

from __future__ import annotations

from rq import cron

from . import jobs
from .queues import MAINTENANCE_QUEUE

SCHEDULE = (
    # (entry point, when, seconds one run may take)
    (jobs.sweep, {"interval": 60}, 300),
    (jobs.reap, {"interval": 60}, 300),
    (jobs.trim, {"interval": 600}, 300),
    (jobs.clean_up, {"cron": "30 2 * * *"}, 3600),
)
# Results of maintenance runs are kept for a day, for rq-dashboard and `rq info`.
RESULT_TTL = 86400

for function, when, timeout in SCHEDULE:
    cron.register(function, MAINTENANCE_QUEUE, job_timeout=timeout, result_ttl=RESULT_TTL,
                  failure_ttl=RESULT_TTL, **when)
