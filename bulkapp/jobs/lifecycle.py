"""Actions on an import's life: cancel, retry, requeue, clean up, enqueue, and recording an
attempt that failed.

Every function works on ``ImportJob`` rows (the durable truth), through their state machine,
and keeps the RQ job in step. Views and the API check ``access.can_act`` first; these
functions check the job's state and explain a refusal in words for the user.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Iterable
from datetime import timedelta
from functools import partial
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy import or_, select
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from .. import audit
from ..errors import UseCaseError
from ..extensions import db, get_redis
from ..models import (
    CANCELED,
    COMPLETED,
    FAILED,
    FINISHED_STATUSES,
    NEEDS_REVIEW,
    PROCESSING,
    QUEUED,
    UNDO,
    ImportJob,
    User,
    utcnow,
)
from ..storage import REPORTS, UPLOADS, delete_stored, stored_file_exists
from ..unit_of_work import after_commit, use_case
from . import failures, queues
from .rejections import forget_rejected_rows

log = logging.getLogger(__name__)

MAX_GRACE_HOURS = 87_600  # ten years
MAX_ERROR_TEXT = 500  # characters of an error shown on the job page

LIVE_RQ_STATUSES = frozenset(
    {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED}
)


class JobActionError(UseCaseError):
    """An action the job's state does not allow (by default a conflict, 409)."""


@use_case
def cancel_job(job: ImportJob, actor: User | None = None) -> ImportJob:
    """Cancel ``job``: a waiting job ends ``canceled`` now; a running one stops at its next
    chunk boundary, keeping the chunks it committed. ``actor`` is audited.

    Raises:
        JobActionError: the job has already finished (409).
    """
    if job.is_finished:
        raise JobActionError(
            f"This job has already {_past(job.status)}; there is nothing to cancel.",
            code="job_finished",
        )
    job.cancel()
    audit.record("job_canceled", actor=actor, target=job.id, organisation_id=job.organisation_id)
    if job.status == CANCELED:
        after_commit(partial(_drop_queue_entry, job.id))
    return job


def _drop_queue_entry(job_id: str) -> None:
    """Effect of a cancel: take the canceled import's RQ job off its queue."""
    try:
        _cancel_rq_job(get_redis(), job_id)
    except RedisError as exc:
        log.warning("job %s canceled; its queue entry stays until Redis is back: %s", job_id, exc)


@use_case
def retry_job(job: ImportJob, actor: User | None = None) -> ImportJob:
    """Put a failed or canceled ``job`` back on its queue; it resumes from its checkpoint.
    ``actor`` is audited (None: part of a requeue, audited as a whole).

    When Redis is down the job stays ``queued`` and the sweeper enqueues it later.

    Raises:
        JobActionError: the job is waiting, running, in review or completed, failed in a way
            a retry cannot mend (a file to correct), or its file is gone (409).
    """
    if job.status == PROCESSING:
        raise JobActionError(
            "This job is running. It can be retried once it has failed or been canceled.",
            code="job_running",
        )
    if job.status == QUEUED:
        raise JobActionError("This job is already waiting for a worker.", code="job_queued")
    if job.status == NEEDS_REVIEW:
        raise JobActionError(
            "This file is waiting for its review: import or discard it on its review page.",
            code="job_in_review",
        )
    if job.status == COMPLETED:
        raise JobActionError(
            "This job completed. Upload the file again to import it again.", code="not_retryable"
        )
    if job.status == FAILED and failures.is_permanent(job.failure_kind):
        raise JobActionError(
            f"This file cannot be imported as it is ({failures.label(job.failure_kind)}), so a "
            "retry would fail the same way. Correct the file and upload it again.",
            code="needs_corrected_file",
        )
    if job.phase != UNDO and not stored_file_exists(job.stored_path, UPLOADS):
        raise JobActionError(
            "The uploaded file is no longer stored, so this job "
            "cannot be retried. Upload the file again.",
            code="file_gone",
        )
    job.requeue()
    if actor is not None:
        audit.record("job_retried", actor=actor, target=job.id, organisation_id=job.organisation_id)
    enqueue_after_commit(job)
    return job


@use_case
def requeue_failed(organisation_id: int | None, actor: User | None = None) -> int:
    """Retry every failed job of the organisation (``None``: of all) that a retry can
    mend; returns how many were queued again. ``actor`` is audited."""
    query = select(ImportJob).where(ImportJob.status == FAILED)
    if organisation_id is not None:
        query = query.where(ImportJob.organisation_id == organisation_id)
    requeued = 0
    for job in db.session.scalars(query.order_by(ImportJob.created_at)).all():
        try:
            retry_job(job)
        except JobActionError as exc:
            log.info("job %s not requeued: %s", job.id, exc)
            continue
        requeued += 1
    audit.record(
        "jobs_requeued", actor=actor, organisation_id=organisation_id, detail=f"{requeued} jobs"
    )
    return requeued


@use_case
def clean_jobs(
    grace_period_hours: float, organisation_id: int | None, actor: User | None = None
) -> dict[str, int]:
    """Remove what jobs finished more than ``grace_period_hours`` ago left behind: their RQ
    jobs, stored uploads and error reports (their rejected rows, with the fixes made to them).
    The ImportJob rows stay as the audit trail.
    ``actor`` (None: the nightly clean-up) is audited.

    Raises:
        JobActionError: the grace period is negative or absurd (400).
    """
    if not (math.isfinite(grace_period_hours) and 0 <= grace_period_hours <= MAX_GRACE_HOURS):
        raise JobActionError(
            f"The grace period must be between 0 and {MAX_GRACE_HOURS:,} hours.",
            code="invalid_grace_period",
            status=400,
        )
    cutoff = utcnow() - timedelta(hours=grace_period_hours)
    query = select(ImportJob).where(
        ImportJob.status.in_(FINISHED_STATUSES),
        ImportJob.finished_at <= cutoff,
        or_(
            ImportJob.stored_path.is_not(None),
            ImportJob.report_path.is_not(None),
            ImportJob.rejected_rows_kept > 0,
            ImportJob.rq_job_id.is_not(None),
        ),
    )
    if organisation_id is not None:
        query = query.where(ImportJob.organisation_id == organisation_id)
    counts = {"jobs": 0, "rq_jobs_removed": 0, "files_deleted": 0, "reports_deleted": 0}
    connection = get_redis()
    for job in db.session.scalars(query).all():
        counts["jobs"] += 1
        for key, removed in _clean(connection, job).items():
            counts[key] += removed
    audit.record(
        "jobs_cleaned",
        actor=actor,
        organisation_id=organisation_id,
        detail=f"finished over {grace_period_hours:g} h ago: {counts}",
    )
    return counts


@use_case
def clean_job(job: ImportJob, actor: User | None = None) -> ImportJob:
    """Remove what the finished ``job`` left behind (upload, error report and rejected rows,
    RQ job); the row stays. ``actor`` is audited.

    Raises:
        JobActionError: the job is still waiting or running, or there is nothing to remove.
    """
    if not job.is_finished:
        raise JobActionError("Only finished jobs can be cleaned.", code="job_not_finished")
    if not (job.stored_path or job.report_path or job.rejected_rows_kept or job.rq_job_id):
        raise JobActionError("This job has nothing left to clean.", code="nothing_to_clean")
    _clean(get_redis(), job)
    audit.record("job_cleaned", actor=actor, target=job.id, organisation_id=job.organisation_id)
    return job


def _clean(connection: Redis, job: ImportJob) -> dict[str, int]:
    """Delete ``job``'s RQ job, upload and error report (a stored file, or its rejected rows)
    (uncommitted); what went."""
    removed = {"rq_jobs_removed": 0}
    try:
        removed["rq_jobs_removed"] = delete_rq_job(connection, job.id)
        job.rq_job_id = None
    except RedisError as exc:
        log.warning("clean-up left RQ job %s in place: %s", job.id, exc)
    removed["files_deleted"] = delete_stored(job.stored_path, UPLOADS)
    removed["reports_deleted"] = delete_stored(job.report_path, REPORTS)
    if forget_rejected_rows(job):
        removed["reports_deleted"] = 1
    job.stored_path = job.report_path = None
    return removed


# What each bulk action does to one job, and the statuses it applies to.
BULK_ACTIONS = {
    "retry": (retry_job, (FAILED, CANCELED)),
    "cancel": (cancel_job, (QUEUED, PROCESSING, NEEDS_REVIEW)),
    "clean": (clean_job, tuple(FINISHED_STATUSES)),
}


def act_on_jobs(
    action: str, jobs: Iterable[ImportJob], actor: User | None = None
) -> dict[str, Any]:
    """Apply ``action`` (``retry``, ``cancel`` or ``clean``) to each of ``jobs`` through
    the same use case as a single job, so each follows the state machine and its rules and
    is audited as ``actor``'s.

    Returns:
        ``done``: how many it applied to; ``skipped``: how many it did not, by reason.
    """
    use_case, _ = BULK_ACTIONS[action]
    done, skipped = 0, Counter[str]()
    for job in jobs:
        try:
            use_case(job, actor)
        except JobActionError as exc:
            skipped[str(exc)] += 1
            continue
        done += 1
    return {"done": done, "skipped": dict(skipped)}


def enqueue_after_commit(job: ImportJob) -> None:
    """Put ``job`` on its queue once the current transaction has committed it (``enqueue``);
    afterwards ``job.rq_job_id`` says whether it reached the queue."""
    after_commit(partial(enqueue, job))


def enqueue(job: ImportJob, connection: Redis | None = None) -> bool:
    """Put the committed ``job`` on its queue, its RQ job id being its own id (an old RQ job
    of that id is dropped first), and record that on the job (a commit of its own: this is
    the effect after a use case's commit, or the sweeper's). False when Redis is down: the
    job then waits for the sweeper."""
    connection = connection or get_redis()
    try:
        delete_rq_job(connection, job.id)
        queues.enqueue_import(
            connection, job.queue_name or queues.queue_name_for(job.entity_type), job.id
        )
    except RedisError as exc:
        log.warning("job %s stays queued until Redis is back: %s", job.id, exc)
        job.rq_job_id = None
        db.session.commit()
        return False
    job.rq_job_id = job.id
    db.session.commit()
    return True


def rq_job_is_live(connection: Redis, job_id: str) -> bool:
    """Whether RQ still holds ``job_id`` waiting, scheduled or running."""
    try:
        return Job.fetch(job_id, connection=connection).get_status() in LIVE_RQ_STATUSES
    except NoSuchJobError:
        return False


def record_attempt_failure(
    job_id: str,
    *,
    will_retry: bool,
    reason: str,
    kind: str,
    traceback: str | None = None,
    retry_in: int | None = None,
    seconds: float | None = None,
) -> None:
    """Record an attempt that ended without the import recording its outcome: it raised, its
    process died, or its worker stopped responding (``reason`` says which, for the user;
    ``kind`` for grouping, one of ``failures``' transient kinds).

    A job still marked ``processing`` goes back to ``queued`` while a retry follows (in
    ``retry_in`` seconds), else it ends ``failed``; the message and ``traceback`` stay on the
    job either way, and ``seconds`` is added to its processing time. Works on a fresh
    database connection, since the one the attempt used may be what broke.
    """
    discard_failed_transaction()
    job = db.session.get(ImportJob, job_id)
    if job is None or job.status != PROCESSING:
        return
    reason = reason.rstrip(".")
    if will_retry:
        when = f"in {retry_in} s" if retry_in else "now"
        job.retry_later(
            f"Attempt {job.attempts} failed: {reason}. It is retried {when} and "
            "resumes from its last saved chunk.",
            traceback,
            seconds,
            kind,
        )
    else:
        attempts = f"{job.attempts} attempt{'s' if job.attempts != 1 else ''}"
        job.fail(
            f"The import stopped after {attempts}: {reason}. Rows saved before it are "
            "kept; retry the job once the cause is fixed.",
            traceback,
            seconds,
            kind,
        )
    db.session.commit()


def record_stopped(job_id: str) -> None:
    """Record a running import stopped by its worker's shutdown: back to the queue."""
    discard_failed_transaction()
    job = db.session.get(ImportJob, job_id)
    if job is not None and job.status == PROCESSING:
        job.retry_later(
            "The worker was stopped; the import resumes from its last saved chunk.",
            kind=failures.WORKER_LOST,
        )
        db.session.commit()


def discard_failed_transaction() -> None:
    """Roll back whatever the session was doing; drop its connection if even that fails
    (the database killed it), so the next statement runs on a new one."""
    try:
        db.session.rollback()
    except SQLAlchemyError as exc:
        log.warning("dropping a broken database connection: %s", exc)
        try:
            db.session.close()
        except SQLAlchemyError:
            pass


def describe_error(exc: BaseException) -> str:
    """``exc`` in one line for the job page: the database's own words for database errors."""
    cause = getattr(exc, "orig", None) if isinstance(exc, DBAPIError) else None
    shown = cause if cause is not None else exc
    text = " ".join(str(shown).split()) or "no details"
    if len(text) > MAX_ERROR_TEXT:
        text = text[: MAX_ERROR_TEXT - 1] + "…"
    return f"{type(shown).__name__}: {text}"


def _past(status: str) -> str:
    past: dict[str, str] = {CANCELED: "been canceled", COMPLETED: "completed", FAILED: "failed"}
    return past.get(status, status)


def _cancel_rq_job(connection: Redis, job_id: str) -> None:
    try:
        rq_job = Job.fetch(job_id, connection=connection)
    except NoSuchJobError:
        return
    if rq_job.get_status() in (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED):
        try:
            rq_job.cancel()
        except InvalidJobOperation:
            pass


def delete_rq_job(connection: Redis, job_id: str) -> int:
    """Delete the RQ job ``job_id`` and take it off its queue; 1 if there was one, else 0."""
    try:
        Job.fetch(job_id, connection=connection).delete(remove_from_queue=True)
    except NoSuchJobError:
        return 0
    return 1


def delete_upload(job: ImportJob) -> None:
    """Remove ``job``'s stored upload (a discarded or expired review); the row stays."""
    delete_stored(job.stored_path, UPLOADS)
    job.stored_path = None
