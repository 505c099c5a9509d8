"""Bulk fixes at any size: a small one is made in the request that asks for it, a large one
(more than ``BULK_FIX_SYNC_MAX_ROWS`` rows) is a ``BulkFixRun`` that a worker goes through
on the job's import queue, ``BULK_FIX_BATCH_ROWS`` rows per transaction.

Each batch commits its rows' changes with the row number it reached (``after_row``), so a
worker that dies loses its current batch only: the attempt that follows (RQ's retry, or
another worker's fail-over within seconds) goes on after the last committed row, and no row
is changed twice. While a run waits or goes on, nobody else changes the job's rows: edits,
sends and other bulk fixes are refused (``fixes.BulkFixRunning``, 409).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import select

from .. import audit
from ..errors import UseCaseError
from ..extensions import db, get_redis
from ..models import ACTIVE_BULK_FIX, BulkFixRun, ImportJob, User, utcnow
from ..unit_of_work import after_commit, use_case
from . import fixes, queues
from .lifecycle import discard_failed_transaction, rq_job_is_live

log = logging.getLogger(__name__)

QUEUE_DOWN = "the job queue was unavailable"


def _fix_of(run: BulkFixRun) -> tuple[fixes.BulkFix, fixes.RowFilter]:
    fix = fixes.BulkFix(run.action, run.file_column, run.value, run.find)  # type: ignore[arg-type]
    return fix, fixes.RowFilter(run.filter_reason, run.filter_column, run.filter_state)


@use_case
def start_bulk_fix(
    job: ImportJob,
    user: User,
    fix: fixes.BulkFix,
    filters: fixes.RowFilter = fixes.RowFilter(),
    rows: list[int] | None = None,
) -> int | BulkFixRun:
    """``user`` fixes a column of ``job``'s rows (``rows``, or every row ``filters`` lets
    through), audited: at once when it covers at most ``BULK_FIX_SYNC_MAX_ROWS`` rows (how
    many changed), else as a queued run, enqueued once this commits.

    Raises:
        NothingToFix, FixRefused: as ``fixes.bulk_fix``.
    """
    layout, column = fixes.checked_bulk_fix(job, fix)
    fixes.lock_rows(job)
    running = fixes.running_bulk_fix(job)
    if running is not None:
        raise fixes.BulkFixRunning(running)
    targets = fixes.bulk_targets(job, filters, rows)
    queued = targets > current_app.config["BULK_FIX_SYNC_MAX_ROWS"]
    audit.record_job(
        "rows_bulk_fixed",
        job,
        user,
        f"{job.original_filename}: {fix.action} {layout.headers[column]!r} in {targets:,} "
        f"rows{', by a worker' if queued else ''}",
    )
    if not queued:
        return fixes.bulk_fix(job, fix, filters, rows)
    run = BulkFixRun(
        import_job_id=job.id,
        user_id=user.id,
        action=fix.action,
        file_column=column,
        value=fix.value,
        find=fix.find,
        filter_reason=filters.reason,
        filter_column=filters.column,
        filter_state=filters.state,
        rows=None if rows is None else sorted(set(rows)),
        rows_expected=targets,
    )
    db.session.add(run)
    db.session.flush()
    run_id, queue_name = run.id, queues.queue_name_for(job.entity_type, user.role)
    after_commit(lambda: _enqueue(run_id, queue_name))
    return run


def requeue_lost_bulk_fixes(connection: Redis, grace_seconds: int) -> int:
    """Enqueue again every bulk fix waiting or running for longer than ``grace_seconds`` whose
    RQ job Redis no longer holds (it lost its data); the attempt goes on from its cursor."""
    cutoff = utcnow() - timedelta(seconds=grace_seconds)
    lost = db.session.execute(
        select(BulkFixRun.id, User.role, ImportJob.entity_type)
        .join(ImportJob, ImportJob.id == BulkFixRun.import_job_id)
        .join(User, User.id == BulkFixRun.user_id)
        .where(BulkFixRun.status.in_(ACTIVE_BULK_FIX), BulkFixRun.created_at <= cutoff)
    ).all()
    requeued = 0
    for run_id, role, entity_type in lost:
        if not rq_job_is_live(connection, run_id):
            log.warning("bulk fix %s lost its place in the queue; queueing it again", run_id)
            queues.enqueue_bulk_fix(connection, queues.queue_name_for(entity_type, role), run_id)
            requeued += 1
    return requeued


def _enqueue(run_id: str, queue_name: str) -> None:
    """Put the run on its queue; when Redis is away it fails at once, saying so, and the
    rows are free to edit again."""
    try:
        queues.enqueue_bulk_fix(get_redis(), queue_name, run_id)
    except RedisError as exc:
        log.warning("bulk fix %s could not be queued: %s", run_id, exc)
        record_bulk_fix_failure(run_id, QUEUE_DOWN)


def find_run(job: ImportJob, run_id: str) -> BulkFixRun:
    """Queued bulk fix ``run_id`` of ``job``.

    Raises:
        fixes.FixRefused: ``job`` has no such run (404).
    """
    run = db.session.get(BulkFixRun, run_id) if len(run_id) <= 36 else None
    if run is None or run.import_job_id != job.id:
        raise fixes.FixRefused(
            f"Job {job.id!r} has no bulk fix {run_id!r}.", code="bulk_fix_not_found", status=404
        )
    return run


def latest_run(job: ImportJob) -> BulkFixRun | None:
    """``job``'s most recent queued bulk fix, if it had one."""
    return db.session.scalar(
        select(BulkFixRun)
        .where(BulkFixRun.import_job_id == job.id)
        .order_by(BulkFixRun.created_at.desc())
        .limit(1)
    )


def run_bulk_fix(run_id: str) -> BulkFixRun | None:
    """A worker's attempt at queued bulk fix ``run_id``: batch after batch from the row after
    the last one committed, each batch with its progress in one transaction. A run that can
    no longer be made (its rows were cleaned up) fails, saying why; any other error is
    raised for RQ to retry the attempt."""
    run = db.session.get(BulkFixRun, run_id)
    if run is None or run.finished:
        return run
    run.start()
    db.session.commit()
    fix, filters = _fix_of(run)
    batch_rows = current_app.config["BULK_FIX_BATCH_ROWS"]
    try:
        while True:
            job = run.job
            fixes.lock_rows(job)
            db.session.refresh(run)  # its cursor as committed last, by this attempt or another
            if run.finished:
                db.session.commit()
                return run
            batch = fixes.fix_batch(
                job, fix, filters, run.rows, after=run.after_row, limit=batch_rows
            )
            if batch.last_row is None:
                run.complete()
                db.session.commit()
                return run
            run.record_batch(batch.last_row, batch.done, batch.changed)
            db.session.commit()
    except UseCaseError as exc:
        record_bulk_fix_failure(run_id, str(exc))
        return db.session.get(BulkFixRun, run_id)


def record_bulk_fix_failure(run_id: str, reason: str) -> None:
    """Queued bulk fix ``run_id`` stopped for good (``reason``): the rows it committed stay
    changed, the others not; the job's rows are free to edit again. Commits, on a fresh
    transaction (the one of the attempt may be what broke)."""
    discard_failed_transaction()
    run = db.session.get(BulkFixRun, run_id)
    if run is None or run.finished:
        return
    run.fail(
        f"The bulk fix stopped after {run.rows_done:,} of {run.rows_expected:,} rows "
        f"({reason.rstrip('.')}). The rows it went through keep their change; apply it "
        "again to go through the others."
    )
    db.session.commit()
