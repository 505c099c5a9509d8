"""The RQ worker class bulkapp runs: ``python worker.py``, or
``rq worker --worker-class bulkapp.workers.ImportWorker ...``.

On top of RQ's ``Worker`` it:

* takes work tier by tier, highest first, but every Nth job it looks at the lowest tier
  first, so a steady stream of high-priority uploads cannot starve members' uploads;
* runs maintenance (abandoned-job detection) every few seconds instead of every 10 minutes;
* on SIGTERM/SIGINT stops the running import at once instead of after the whole file: the
  work horse ends, its uncommitted chunk is rolled back, the committed chunks and the
  checkpoint stay, and the job is rescheduled without using up one of its retries;
* never leaves an import running unsupervised: on Linux a work horse dies with its worker
  (then the job is found abandoned and resumed elsewhere).
"""

from __future__ import annotations

import os
import signal
from typing import Any

from rq import Worker
from rq.job import Job
from rq.queue import Queue

from . import jobs
from .processes import signal_when_parent_dies


# RQ waits ``worker_ttl - 15`` s for work before looking at maintenance again.
IDLE_WAKE_MARGIN = 15
# A dead worker's job counts as abandoned this + 60 s after its last heartbeat.
JOB_MONITORING_INTERVAL = 10


class ImportWorker(Worker):
    """An RQ worker with a fairness turn, prompt maintenance and a prompt, lossless stop.

    Settings left out of the constructor (as ``WorkerPool`` does) come from the class
    attributes, which ``configure`` sets. ``rq worker`` always passes its own, so give it
    ``--maintenance-interval 15 --worker-ttl 30 --job-monitoring-interval 10``.
    """

    low_priority_every: int = 5
    maintenance_every: int = 15

    def __init__(self, queues: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("maintenance_interval", self.maintenance_every)
        kwargs["worker_ttl"] = kwargs.get("worker_ttl") or self.maintenance_every + IDLE_WAKE_MARGIN
        kwargs.setdefault("job_monitoring_interval", JOB_MONITORING_INTERVAL)
        kwargs.setdefault("work_horse_killed_handler", jobs.horse_killed)
        super().__init__(queues, *args, **kwargs)
        self._dequeued = 0
        self._stopping_horse = False

    @classmethod
    def configure(cls, *, low_priority_every: int, maintenance_interval: int) -> None:
        """Settings for every worker this process builds (a pool's children included)."""
        cls.low_priority_every = low_priority_every
        cls.maintenance_every = max(1, maintenance_interval)

    def reorder_queues(self, reference_queue: Queue) -> None:
        """After each job: priority order, except every Nth dequeue starts at the lowest tier."""
        self._dequeued += 1
        every = self.low_priority_every
        if every > 1 and self._dequeued % every == every - 1:
            self._ordered_queues = list(reversed(self.queues))
        else:
            self._ordered_queues = list(self.queues)

    def handle_warm_shutdown_request(self) -> None:
        """Stop the work horse now; its import resumes from the last committed chunk."""
        super().handle_warm_shutdown_request()
        if self.horse_pid:
            self._stopping_horse = True
            self.kill_horse(signal.SIGTERM)

    def handle_work_horse_killed(self, job: Job, retpid: int, ret_val: int, rusage: Any) -> None:
        """A horse stopped for a shutdown is rescheduled without spending a retry."""
        if self._stopping_horse:
            self._stopping_horse = False
            job.retries_left = (job.retries_left or 0) + 1
        super().handle_work_horse_killed(job, retpid, ret_val, rusage)

    def setup_work_horse_signals(self) -> None:
        """In the horse: die with the worker rather than run on unsupervised."""
        parent = os.getppid()
        super().setup_work_horse_signals()
        signal_when_parent_dies(signal.SIGKILL)
        if os.getppid() != parent:  # the worker died before the request took effect
            os._exit(1)

