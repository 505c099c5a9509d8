"""RQ entry points and callbacks. Thin: find an application, then call a service.

Workers import these by name (``bulkapp.jobs.import_job``); an import job's only argument
is the ImportJob id. The cron process (``python worker.py --cron``) enqueues the maintenance
entry points (``bulkapp.jobs.cron``).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from traceback import format_exception
from types import TracebackType
from typing import TYPE_CHECKING, Any

from flask import Flask, has_app_context
from redis import Redis
from rq.exceptions import AbandonedJobError
from rq.job import Job, get_current_job
from rq.utils import now

from ..extensions import db, get_redis
from ..models import FAILED
from . import (
    bulk_fixes,
    exports,
    failures,
    mailing,
    maintenance,
    metrics,
    notifications,
    queues,
)
from .attempt_sessions import end_attempt_sessions
from .attempts import run_import
from .lifecycle import describe_error, record_attempt_failure, record_stopped

if TYPE_CHECKING:
    from .state import JobState

_app: Flask | None = None
_app_pid: int | None = None


def _application() -> Flask:
    """The Flask app for this process, rebuilt after a fork so no connection is shared."""
    global _app, _app_pid
    if _app is None:
        from .app import create_worker_app

        _app = create_worker_app()
        _app_pid = os.getpid()
    elif _app_pid != os.getpid():
        with _app.app_context():
            db.engine.dispose(close=False)
        _app_pid = os.getpid()
    return _app


def use_app(app: Flask) -> None:
    """Let a worker process that built its app already (worker.py) share it with its jobs."""
    global _app, _app_pid
    _app, _app_pid = app, os.getpid()


@contextmanager
def app_context() -> Iterator[None]:
    """An application context: the current one, or this process's app."""
    if has_app_context():  # a SimpleWorker inside a process that pushed its app context
        yield
        return
    with _application().app_context():
        yield


class ImportEndedFailed(Exception):
    """The import failed for good (a file to correct); raised after its state was recorded,
    so that RQ files the job as failed, as the job page shows it, without retrying it."""


def import_job(job_id: str) -> JobState | None:
    """Run an attempt at the import recorded as ImportJob ``job_id``; returns its state.

    Raises:
        ImportEndedFailed: the import failed (recorded on the job already).
    """
    with app_context():
        state = run_import(job_id)
    if state is not None and state["status"] == FAILED:
        rq_job = get_current_job()
        if rq_job is not None:
            rq_job.retries_left = 0  # the same file would fail the same way
        raise ImportEndedFailed(state["error_message"] or "the import failed")
    return state


def import_succeeded(job: Job, connection: Redis, result: Any, *args: Any, **kwargs: Any) -> None:
    """RQ ``on_success`` of imports enqueued by releases before notifications were sent by
    the import's own end (``ImportJob.finish``): nothing is left to do."""


def import_failed(
    job: Job,
    connection: Redis,
    exc_type: type[BaseException],
    exc_value: BaseException,
    traceback: Any,
) -> None:
    """RQ ``on_failure``: an attempt raised; also run by RQ's own registry clean-up when a
    worker stopped heartbeating (``AbandonedJobError``)."""
    if issubclass(exc_type, ImportEndedFailed):
        return
    abandoned = issubclass(exc_type, AbandonedJobError)
    if abandoned:
        reason, details = maintenance.WORKER_LOST, None
    else:
        reason = describe_error(exc_value)
        details = (
            "".join(format_exception(exc_type, exc_value, traceback))
            if isinstance(traceback, TracebackType)
            else None
        )
    with app_context():
        if abandoned:  # as the fail-over does: a frozen worker's session may hold rows
            end_attempt_sessions(job.id)
        record_attempt_failure(
            job.id,
            will_retry=job.should_retry,
            reason=reason,
            kind=failures.kind_of(exc_value),
            traceback=details,
            retry_in=_retry_in(job),
            seconds=_seconds_running(job),
        )


def horse_killed(job: Job, pid: int, status: int, rusage: Any) -> None:
    """The work horse died (stopped by a shutdown, killed, out of memory): record it."""
    with app_context():
        if job.func_name == queues.EXPORT_FUNCTION:
            exports.record_export_failure(job.id, "the process writing it ended unexpectedly")
            return
        if job.func_name == queues.BULK_FIX_FUNCTION:
            if not job.should_retry:  # else RQ retries it, from its last committed batch
                bulk_fixes.record_bulk_fix_failure(job.id, "the process running it ended")
            return
        if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGTERM:
            record_stopped(job.id)
            return
        if os.WIFSIGNALED(status):
            how = f"signal {os.WTERMSIG(status)}"
            if os.WTERMSIG(status) == signal.SIGKILL:
                how += ", which is how a machine out of memory stops a process"
        else:
            how = f"exit status {os.waitstatus_to_exitcode(status)}"
        record_attempt_failure(
            job.id,
            will_retry=job.should_retry,
            reason=f"the process running it ended unexpectedly ({how})",
            kind=failures.WORKER_LOST,
            retry_in=_retry_in(job),
            seconds=_seconds_running(job),
        )


def _retry_in(job: Job) -> int | None:
    return job.get_retry_interval() if job.should_retry else None


def _seconds_running(job: Job) -> float | None:
    return (now() - job.started_at).total_seconds() if job.started_at else None


def export_records(export_id: str) -> dict[str, Any]:
    """Export job: write the records export ``export_id`` into the file store."""
    with app_context():
        export = exports.write_export(export_id)
        return {"status": export.status if export else None}


def export_failed(
    job: Job,
    connection: Redis,
    exc_type: type[BaseException],
    exc_value: BaseException,
    traceback: Any,
) -> None:
    """RQ ``on_failure`` of an export: its run raised (recorded already) or its worker died
    (``AbandonedJobError``, from RQ's registry clean-up)."""
    if issubclass(exc_type, AbandonedJobError):
        with app_context():
            exports.record_export_failure(job.id, maintenance.WORKER_LOST)


def bulk_fix_job(run_id: str) -> dict[str, Any]:
    """Bulk fix job: go through queued bulk fix ``run_id`` from its last committed batch."""
    with app_context():
        run = bulk_fixes.run_bulk_fix(run_id)
        return {"status": run.status if run else None}


def bulk_fix_failed(
    job: Job,
    connection: Redis,
    exc_type: type[BaseException],
    exc_value: BaseException,
    traceback: Any,
) -> None:
    """RQ ``on_failure`` of a bulk fix: an attempt raised, or its worker stopped heartbeating
    (``AbandonedJobError``); recorded once no retry is left."""
    if job.should_retry:
        return
    reason = (
        maintenance.WORKER_LOST
        if issubclass(exc_type, AbandonedJobError)
        else describe_error(exc_value)
    )
    with app_context():
        bulk_fixes.record_bulk_fix_failure(job.id, reason)


def send_job_email(job_id: str) -> str:
    """Notification job: e-mail the uploader of ImportJob ``job_id``."""
    with app_context():
        return notifications.send_job_email(job_id)


def post_job_webhook(job_id: str) -> int:
    """Notification job: POST ImportJob ``job_id``'s summary to its organisation's webhook."""
    with app_context():
        return notifications.post_job_webhook(job_id)


def send_mail(mail_id: int) -> str:
    """Notification job: send an invitation or password reset (``OutgoingMail`` ``mail_id``);
    RQ retries it while the mail server is away."""
    with app_context():
        return mailing.send_mail(mail_id)


def recover() -> dict:
    """Cron: fail over imports of dead workers, enqueue imports that never reached Redis and
    send notifications that waited for it (workers also do this between jobs)."""
    with app_context():
        return maintenance.recover_imports(get_redis())


def trim() -> dict:
    """Cron: keep only the most recent completed and failed RQ jobs per queue."""
    with app_context():
        return maintenance.trim_job_registries()


def roll_up_metrics() -> dict:
    """Cron: roll the last two hours up into the metrics history; drop expired hours."""
    with app_context():
        return metrics.roll_up_recent()


def clean_up() -> dict:
    """Cron, nightly: delete old jobs' files, reports and RQ jobs; keep their rows."""
    with app_context():
        return maintenance.nightly_clean_up()
