"""Upkeep of the job system, run between jobs by every worker (``ImportWorker``) and by the
cron process (``bulkapp.jobs.cron``) on the maintenance queue.

* ``recover_imports``: what keeps imports moving with nobody watching —
  ``fail_over_abandoned_imports`` (a worker died: its import goes back to the front of its
  queue within seconds), ``requeue_orphaned_imports`` (Redis lost a running import's job),
  ``sweep_queued_jobs`` (an upload reached the database while Redis was away),
  ``requeue_lost_bulk_fixes`` (Redis lost a queued bulk fix of rejected rows) and
  ``send_pending_notifications`` (an import finished while Redis was away), and
  ``expire_reviews`` (files nobody reviewed within ``REVIEW_EXPIRY_HOURS`` are discarded).
* ``trim_job_registries``: at most N completed and M failed RQ jobs are kept per queue.
* ``nightly_clean_up``: files, reports and change logs of long-finished jobs go (from
  whichever store holds them); their rows stay.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import cast

from flask import current_app
from redis import Redis
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.registry import BaseRegistry, StartedJobRegistry
from rq.utils import current_timestamp, parse_composite_key
from sqlalchemy import select

from ..audit import forget_entries_older_than
from ..extensions import db, get_redis
from ..models import CANCELED, COMPLETED, PROCESSING, QUEUED, ImportJob, utcnow
from ..records.export import forget_exports_older_than
from ..records.retention import forget_expired_changes
from ..storage import DatabaseStore
from ..unit_of_work import use_case
from . import failures, queues
from .attempt_sessions import end_attempt_sessions
from .bulk_fixes import record_bulk_fix_failure, requeue_lost_bulk_fixes
from .lifecycle import clean_jobs, enqueue, record_attempt_failure, rq_job_is_live
from .mailing import send_unsent_mails
from .notifications import send_pending_notifications
from .queues import JOB_HEARTBEAT_TTL, get_queue, import_queue_names, worker_queue_names
from .redis_patience import failed_within
from .review import expire_reviews

log = logging.getLogger(__name__)

# A processing import whose RQ job is gone is only judged once it has been quiet this long.
PROCESSING_GRACE_SECONDS = 120
# Running imports are not judged until Redis has been up this long, nor until this long
# after this process last failed to reach Redis: after an outage their workers need a moment
# to reconnect (at most MAX_WAIT_SECONDS) and heartbeat (every JOB_MONITORING_INTERVAL).
REDIS_RESTART_GRACE_SECONDS = 15
OUTAGE_GRACE_SECONDS = 3 * JOB_HEARTBEAT_TTL
WORKER_LOST = "the worker running it stopped responding"


def recover_imports(connection: Redis) -> dict[str, int]:
    """Get every import that lost its worker, its queue entry or its notification moving, and
    every mail that lost its way to the mail server; discard reviews nobody finished in
    time."""
    counts = {"failed_over": 0, "orphaned": 0, "bulk_fixes": 0}
    if _may_judge_running_imports(connection):
        counts["failed_over"] = fail_over_abandoned_imports(connection)
        counts["orphaned"] = requeue_orphaned_imports(connection)
        counts["bulk_fixes"] = requeue_lost_bulk_fixes(connection, PROCESSING_GRACE_SECONDS)
    counts["swept"] = sweep_queued_jobs(connection=connection)
    counts["notified"] = send_pending_notifications()
    counts["mails"] = send_unsent_mails(connection)
    counts["reviews_expired"] = expire_reviews()
    if any(counts.values()):
        log.info("recovered imports: %s", counts)
    return counts


def _may_judge_running_imports(connection: Redis) -> bool:
    """False right after a Redis outage, while running imports' leases may look expired only
    because their workers could not renew them."""
    if failed_within(OUTAGE_GRACE_SECONDS):
        return False
    uptime = int(connection.info("server").get("uptime_in_seconds", 0))
    return uptime >= REDIS_RESTART_GRACE_SECONDS


def fail_over_abandoned_imports(connection: Redis) -> int:
    """Put imports whose worker stopped heartbeating back at the front of their queue.

    An import's lease in RQ's started registry runs out ``JOB_HEARTBEAT_TTL`` seconds after
    its worker's last heartbeat. Each expired entry is taken by removing it (so two workers
    never both act on it); the dead attempt's database sessions are ended (a frozen worker's
    would hold its chunk's locks for its successor to wait on), the attempt is recorded on
    the ImportJob and the job is queued again at once, spending one retry, or failed when
    none is left. An import that had already finished in the database only has its RQ job
    brought in line.
    """
    taken_over = 0
    for name in import_queue_names():
        queue = get_queue(name, connection)
        registry = StartedJobRegistry(queue=queue)
        # Without scores the reply holds the members only (redis-py types it as either shape).
        expired = cast(
            list[bytes | str], connection.zrangebyscore(registry.key, 0, current_timestamp())
        )
        for entry in expired:
            if not connection.zrem(registry.key, entry):
                continue  # another worker took this one
            job_id, _ = parse_composite_key(entry.decode() if isinstance(entry, bytes) else entry)
            try:
                rq_job = Job.fetch(job_id, connection=connection)
            except NoSuchJobError:
                continue
            taken_over += _fail_over(rq_job, queue)
    return taken_over


def _fail_over(rq_job: Job, queue) -> int:
    """Requeue (or fail) the RQ job of an import whose worker died; 1 when it was requeued."""
    import_job = db.session.get(ImportJob, rq_job.id)
    if import_job is not None and import_job.is_finished:
        _settle(rq_job, queue, import_job.status)
        return 0
    end_attempt_sessions(rq_job.id)
    will_retry = rq_job.should_retry
    log.warning(
        "import %s lost its worker %s; %s",
        rq_job.id,
        rq_job.worker_name,
        "queueing it again" if will_retry else "no retries left",
    )
    record_attempt_failure(
        rq_job.id, will_retry=will_retry, reason=WORKER_LOST, kind=failures.WORKER_LOST
    )
    if will_retry:
        assert rq_job.retries_left is not None  # should_retry: some retries are left
        rq_job.retries_left -= 1
        queue.enqueue_job(rq_job, at_front=True)
        return 1
    if rq_job.func_name == queues.BULK_FIX_FUNCTION:
        record_bulk_fix_failure(rq_job.id, WORKER_LOST)
    _settle(rq_job, queue, "failed")
    return 0


def _settle(rq_job: Job, queue, status: str) -> None:
    """Record in RQ how an import ended without its worker: finished, or failed."""
    if status in (COMPLETED, CANCELED):
        rq_job.set_status(JobStatus.FINISHED)
        queue.finished_job_registry.add(rq_job, ttl=rq_job.result_ttl or 0)
    else:
        rq_job.set_status(JobStatus.FAILED)
        queue.failed_job_registry.add(
            rq_job, ttl=rq_job.failure_ttl, exc_string=f"The import failed: {WORKER_LOST}."
        )


def requeue_orphaned_imports(
    connection: Redis, grace_seconds: int = PROCESSING_GRACE_SECONDS
) -> int:
    """Put back imports left ``processing`` with no RQ job (Redis lost its data): quiet for
    ``grace_seconds``, they are queued again (or recorded failed if RQ failed them)."""
    cutoff = utcnow() - timedelta(seconds=grace_seconds)
    quiet = db.session.scalars(
        select(ImportJob).where(ImportJob.status == PROCESSING, ImportJob.updated_at <= cutoff)
    ).all()
    requeued = 0
    for job in quiet:
        if rq_job_is_live(connection, job.id):
            continue
        if _rq_job_failed(connection, job.id):
            record_attempt_failure(
                job.id, will_retry=False, reason=WORKER_LOST, kind=failures.WORKER_LOST
            )
            continue
        job.retry_later(
            "Redis lost this import's place in the queue; it resumes from its last saved chunk.",
            kind=failures.REDIS,
        )
        db.session.commit()
        requeued += enqueue(job, connection)
    return requeued


def _rq_job_failed(connection: Redis, job_id: str) -> bool:
    try:
        status = Job.fetch(job_id, connection=connection).get_status()
    except NoSuchJobError:
        return False
    return status in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED)


def sweep_queued_jobs(grace_seconds: int | None = None, connection: Redis | None = None) -> int:
    """Enqueue every ``queued`` import older than the grace period with no live RQ job."""
    grace = current_app.config["SWEEP_GRACE_SECONDS"] if grace_seconds is None else grace_seconds
    connection = connection or get_redis()
    cutoff = utcnow() - timedelta(seconds=grace)
    stale = db.session.scalars(
        select(ImportJob).where(ImportJob.status == QUEUED, ImportJob.updated_at <= cutoff)
    ).all()
    enqueued = 0
    for job in stale:
        if not rq_job_is_live(connection, job.id) and enqueue(job, connection):
            log.info("sweeper enqueued job %s", job.id)
            enqueued += 1
    return enqueued


def trim_job_registries(
    keep_completed: int | None = None, keep_failed: int | None = None
) -> dict[str, int]:
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


@use_case
def nightly_clean_up() -> dict[str, int]:
    """Clean jobs finished more than JOB_RETENTION_HOURS ago and forget their change logs
    (their imports can no longer be undone), delete records exports made that long ago,
    remove uploads to the database whose writer died, trim the registries and forget audit
    entries older than AUDIT_RETENTION_DAYS."""
    retention = current_app.config["JOB_RETENTION_HOURS"]
    counts = clean_jobs(retention, None)
    counts["change_logs_deleted"] = forget_expired_changes(
        db.session(), utcnow() - timedelta(hours=retention)
    )
    counts["abandoned_uploads_deleted"] = DatabaseStore().remove_abandoned_uploads()
    counts["exports_deleted"] = forget_exports_older_than(retention)
    counts.update({f"trimmed_{key}": value for key, value in trim_job_registries().items()})
    counts["audit_entries_deleted"] = forget_entries_older_than(
        current_app.config["AUDIT_RETENTION_DAYS"]
    )
    log.info("nightly clean-up: %s", counts)
    return counts
