"""The RQ worker class bulkapp runs under ``python worker.py`` (see ``bulkapp.jobs.supervisor``).

On top of RQ's ``Worker`` it:

* takes work tier by tier, highest first, but every Nth import job it looks at the lowest
  tier first, so a steady stream of high-priority uploads cannot starve members' uploads;
* notices a dead worker's import within seconds: it heartbeats a running job every
  ``JOB_MONITORING_INTERVAL`` seconds with a ``JOB_HEARTBEAT_TTL`` lease, and every
  maintenance run (``WORKER_MAINTENANCE_INTERVAL``) puts imports whose lease ran out back
  at the front of their queue (``bulkapp.jobs.maintenance.fail_over_abandoned_imports``);
* waits out Redis outages (its connection is patient, ``bulkapp.jobs.redis_patience``) while the
  running import carries on; after an outage, other workers' imports are left alone until
  their workers have had time to heartbeat again;
* on SIGTERM/SIGINT stops the running import at once instead of after the whole file: the
  work horse ends, its uncommitted chunk is rolled back, the committed chunks and the
  checkpoint stay, and the job is rescheduled without using up one of its retries;
* never leaves a process running unsupervised: on Linux a work horse dies with its worker,
  and so does the worker's retry scheduler (then another worker takes the scheduler over).
"""

from __future__ import annotations

import os
import signal
from datetime import datetime, timedelta
from typing import Any

from rq import Worker, worker_registration
from rq.defaults import DEFAULT_LOGGING_DATE_FORMAT, DEFAULT_LOGGING_FORMAT
from rq.group import Group
from rq.job import Job
from rq.queue import Queue
from rq.scheduler import RQScheduler
from rq.utils import now

from ..processes import signal_when_parent_dies
from . import maintenance, tasks
from .queues import JOB_HEARTBEAT_TTL, JOB_MONITORING_INTERVAL, import_queue_names
from .redis_patience import stop_waiting

# RQ waits ``worker_ttl - 15`` s for work before looking at maintenance again.
IDLE_WAKE_MARGIN = 15
# RQ's own clean-up of every registry (finished, failed, scheduled, ...) runs this often.
REGISTRY_CLEAN_INTERVAL = timedelta(seconds=60)


class SupervisedScheduler(RQScheduler):
    """RQ's retry scheduler, in a child process that ends with its worker.

    When its worker dies (even by SIGKILL) it is sent SIGTERM, releases its locks and exits,
    so a live worker can take the scheduler role over at its next maintenance run.
    """

    def work(self) -> None:
        """Run the scheduling loop in the forked scheduler process."""
        parent = os.getppid()
        signal_when_parent_dies(signal.SIGTERM)
        if os.getppid() != parent:  # the worker died before the request took effect
            return
        super().work()

    def request_stop(self, signum: Any = None, frame: Any = None) -> None:
        """Stop, without waiting for Redis if it is away."""
        stop_waiting()
        super().request_stop(signum, frame)


class ImportWorker(Worker):
    """An RQ worker with a fairness turn, fast fail-over, patience for Redis outages and a
    prompt, lossless stop.

    Settings left out of the constructor come from the class attributes, which
    ``configure`` sets.
    """

    low_priority_every: int = 5
    maintenance_every: int = 5
    log_result_lifespan = False  # "result is kept for N seconds" after every job

    def __init__(self, queues: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("maintenance_interval", self.maintenance_every)
        kwargs["worker_ttl"] = kwargs.get("worker_ttl") or self.maintenance_every + IDLE_WAKE_MARGIN
        kwargs.setdefault("job_monitoring_interval", JOB_MONITORING_INTERVAL)
        kwargs.setdefault("work_horse_killed_handler", tasks.horse_killed)
        super().__init__(queues, *args, **kwargs)
        self._imports_taken = 0
        self._stopping_horse = False
        self._registries_cleaned_at: datetime | None = None

    @classmethod
    def configure(cls, *, low_priority_every: int, maintenance_interval: int) -> None:
        """Settings for every worker this process builds."""
        cls.low_priority_every = low_priority_every
        cls.maintenance_every = max(1, maintenance_interval)

    # -- taking work --------------------------------------------------------------------------

    def reorder_queues(self, reference_queue: Queue) -> None:
        """After each job: priority order, except that every Nth import job taken is followed
        by a look at the lowest tier first. Maintenance and notification jobs do not count."""
        if reference_queue.name in import_queue_names():
            self._imports_taken += 1
        every = self.low_priority_every
        if every > 1 and self._imports_taken % every == every - 1:
            self._ordered_queues = list(reversed(self.queues))
        else:
            self._ordered_queues = list(self.queues)

    def get_heartbeat_ttl(self, job: Job) -> int:
        """A running job's lease: renewed every JOB_MONITORING_INTERVAL seconds."""
        return JOB_HEARTBEAT_TTL

    def maintain_heartbeats(self, job: Job) -> None:
        """Renew the running job's lease and this worker's registration."""
        super().maintain_heartbeats(job)
        self._stay_registered()

    def _stay_registered(self) -> None:
        """Register this worker again if Redis lost it (its key expired during an outage, or
        Redis came back without its data), so monitors and ``rq info`` keep listing it."""
        if self.connection.sismember(worker_registration.REDIS_WORKER_KEYS, self.key):
            return
        with self.connection.pipeline() as pipeline:
            pipeline.hset(self.key, mapping=self.serialize())
            worker_registration.register(self, pipeline)
            pipeline.expire(self.key, self.worker_ttl + 60)
            pipeline.execute()
        self.log.info("Worker %s: registered again after Redis lost track of it", self.name)

    # -- maintenance --------------------------------------------------------------------------

    def run_maintenance_tasks(self) -> None:
        """Keep a scheduler running, fail over abandoned imports, enqueue what waits in the
        database; RQ's full registry clean-up once a minute."""
        first_run = self.last_cleaned_at is None
        self.last_cleaned_at = now()  # type: ignore[assignment]  # rq types it as None only
        self._stay_registered()
        if not first_run and self.scheduler is not None and not self._scheduler_alive():
            self.scheduler.acquire_locks(auto_start=True)
        with tasks.app_context():
            maintenance.recover_imports(self.connection)
        cleaned_at = self._registries_cleaned_at
        if cleaned_at is None or now() - cleaned_at >= REGISTRY_CLEAN_INTERVAL:
            self._registries_cleaned_at = now()
            self.clean_registries()
            Group.clean_registries(connection=self.connection)

    def _scheduler_alive(self) -> bool:
        process = self.scheduler._process if self.scheduler is not None else None
        return process is not None and process.is_alive()

    def _start_scheduler(
        self,
        burst: bool = False,
        logging_level: str | None = "INFO",
        date_format: str = DEFAULT_LOGGING_DATE_FORMAT,
        log_format: str = DEFAULT_LOGGING_FORMAT,
    ) -> None:
        """Start the retry scheduler in a child process that dies with this worker."""
        self.scheduler = SupervisedScheduler(
            self.queues,
            connection=self.connection,
            logging_level=logging_level if logging_level is not None else self.log.level,
            date_format=date_format,
            log_format=log_format,
            serializer=self.serializer,
        )
        self.scheduler.acquire_locks()
        if not self.scheduler.acquired_locks:
            return
        if burst:
            try:
                self.scheduler.enqueue_scheduled_jobs()
            finally:
                self.scheduler.release_locks()
            return
        self.scheduler.start()

    def handle_exception(self, job: Job, *exc_info: Any) -> None:
        """Log a failed job; an import that failed on its file in one line, as a warning
        (its state is recorded, the traceback would only repeat the job's message)."""
        exc_value = exc_info[1]
        if isinstance(exc_value, tasks.ImportEndedFailed):
            self.log.warning(
                "Worker %s: %s: import %s failed: %s", self.name, job.origin, job.id, exc_value
            )
            return
        super().handle_exception(job, *exc_info)

    # -- stopping -----------------------------------------------------------------------------

    def request_stop(self, signum: Any, frame: Any) -> None:
        """A stop request: stop waiting for Redis, stop the running import, then exit."""
        stop_waiting()
        super().request_stop(signum, frame)

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
