"""Periodic upkeep, run by ``rq cron`` (see ``bulkapp.cron_config``) on the maintenance queue.

* ``sweep_queued_jobs``: queued imports with no live RQ job (Redis was down at upload, or
  lost its data) are enqueued.
* ``reap_abandoned_jobs``: jobs whose worker died are found now (RQ's own check waits for a
  worker's next maintenance), and imports left ``processing`` without an RQ job are put back.
* ``trim_job_registries``: at most N completed and M failed RQ jobs are kept per queue.
* ``nightly_clean_up``: files and reports of long-finished jobs go; their rows stay.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.registry import BaseRegistry, StartedJobRegistry
from sqlalchemy import select

from .extensions import db, get_redis
from .lifecycle import clean_jobs, enqueue_again, record_attempt_failure, rq_job_is_live
from .models import PROCESSING, QUEUED, ImportJob, utcnow
from .queues import get_queue, worker_queue_names

log = logging.getLogger(__name__)

# A processing import is only judged once it has been quiet this long.
PROCESSING_GRACE_SECONDS = 120


def sweep_queued_jobs(grace_seconds: int | None = None) -> int:
    """Enqueue every ``queued`` import older than the grace period with no live RQ job."""
    grace = current_app.config["SWEEP_GRACE_SECONDS"] if grace_seconds is None else grace_seconds
    cutoff = utcnow() - timedelta(seconds=grace)
    connection = get_redis()
    stale = db.session.scalars(select(ImportJob).where(
        ImportJob.status == QUEUED, ImportJob.updated_at <= cutoff)).all()
    enqueued = 0
    for job in stale:
        if not rq_job_is_live(connection, job.id) and enqueue_again(job):
            log.info("sweeper enqueued job %s", job.id)
            enqueued += 1
    return enqueued


def reap_abandoned_jobs(grace_seconds: int = PROCESSING_GRACE_SECONDS) -> dict[str, int]:
    """Fail over jobs of dead workers and put orphaned ``processing`` imports back.

    RQ moves a started job whose heartbeat expired to failed or, with retries left, back to
    its queue, running the import's failure callback, which records it on the ImportJob.
    """
    connection = get_redis()
    abandoned = 0
    for name in worker_queue_names():
        registry = StartedJobRegistry(queue=get_queue(name, connection))
        abandoned += len(registry.get_expired_job_ids())
        registry.cleanup()
    cutoff = utcnow() - timedelta(seconds=grace_seconds)
    quiet = db.session.scalars(select(ImportJob).where(
        ImportJob.status == PROCESSING, ImportJob.updated_at <= cutoff)).all()
    requeued = failed = 0
    for job in quiet:
        if rq_job_is_live(connection, job.id):
            continue
        if _rq_job_failed(connection, job.id):
            record_attempt_failure(job.id, will_retry=False,
                                   message="The worker running this import stopped unexpectedly.")
            failed += 1
        else:
            job.status, job.stage = QUEUED, "retrying"
            db.session.commit()
            enqueue_again(job)
            requeued += 1
    return {"abandoned": abandoned, "requeued": requeued, "failed": failed}


def _rq_job_failed(connection, job_id: str) -> bool:
    try:
        status = Job.fetch(job_id, connection=connection).get_status()
    except NoSuchJobError:
        return False
    return status in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED)


def trim_job_registries(keep_completed: int | None = None,
                        keep_failed: int | None = None) -> dict[str, int]:
    """Delete all but the newest ``keep_completed`` finished and ``keep_failed`` failed RQ
    jobs of each queue (defaults: KEEP_COMPLETED_JOBS, KEEP_FAILED_JOBS)."""
    config = current_app.config
    keep_completed = config["KEEP_COMPLETED_JOBS"] if keep_completed is None else keep_completed
    keep_failed = config["KEEP_FAILED_JOBS"] if keep_failed is None else keep_failed
    connection = get_redis()
    removed = {"completed": 0, "failed": 0}
    for name in worker_queue_names():
        queue = get_queue(name, connection)
        removed["completed"] += _trim(queue.finished_job_registry, keep_completed)
        removed["failed"] += _trim(queue.failed_job_registry, keep_failed)
    return removed


def _trim(registry: BaseRegistry, keep: int) -> int:
    """Delete the oldest jobs of ``registry`` beyond the newest ``keep``."""
    surplus = registry.get_job_count(cleanup=False) - keep
    if surplus <= 0:
        return 0
    for job_id in registry.get_job_ids(0, surplus - 1, cleanup=False):
        try:
            Job.fetch(job_id, connection=registry.connection).delete()
        except NoSuchJobError:
            registry.remove(job_id)
    return surplus


def nightly_clean_up() -> dict[str, int]:
    """Clean jobs finished more than JOB_RETENTION_HOURS ago and trim the registries."""
    counts = clean_jobs(current_app.config["JOB_RETENTION_HOURS"], None)
    counts.update({f"trimmed_{key}": value for key, value in trim_job_registries().items()})
    log.info("nightly clean-up: %s", counts)
    return counts
