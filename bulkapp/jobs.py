"""RQ entry points and callbacks. Thin: find an application, then call a service.

Workers import these by name (``bulkapp.jobs.import_job``); an import job's only argument
is the ImportJob id. ``rq cron`` enqueues the maintenance entry points (``bulkapp.cron_config``).
"""

from __future__ import annotations

import os
import signal
from contextlib import contextmanager
from typing import Any, Iterator

from flask import Flask, has_app_context
from redis import Redis
from rq.job import Job

from . import maintenance, notifications
from .extensions import db
from .ingest.service import run_import
from .lifecycle import record_attempt_failure
from .models import ImportJob

_app: Flask | None = None
_app_pid: int | None = None


def _application() -> Flask:
    """The Flask app for this process, rebuilt after a fork so no connection is shared."""
    global _app, _app_pid
    if _app is None:
        from .app import create_app

        _app = create_app()
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


def import_job(job_id: str) -> dict:
    """Run the import recorded as ImportJob ``job_id``; returns its summary."""
    with app_context():
        return run_import(job_id)


def import_succeeded(job: Job, connection: Redis, result: Any, *args: Any, **kwargs: Any) -> None:
    """RQ ``on_success``: the import ran to its end (completed, rejected or canceled)."""
    with app_context():
        import_job_row = db.session.get(ImportJob, job.id)
        if import_job_row is not None:
            notifications.notify_job_finished(import_job_row)


def import_failed(job: Job, connection: Redis, exc_type: type, exc_value: BaseException,
                  traceback: Any) -> None:
    """RQ ``on_failure``, also run when a dead worker's job is found abandoned."""
    message = f"The worker running this import stopped unexpectedly ({exc_type.__name__})."
    with app_context():
        record_attempt_failure(job.id, will_retry=job.should_retry, message=message)


def horse_killed(job: Job, pid: int, status: int, rusage: Any) -> None:
    """The work horse died (stopped by a shutdown, killed, out of memory): record it."""
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGTERM:
        message = "The worker was stopped; the import resumes from its last saved chunk."
    else:
        how = f"signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status) else f"status {status}"
        message = f"The import process ended unexpectedly ({how})."
    with app_context():
        record_attempt_failure(job.id, will_retry=job.should_retry, message=message)


def send_job_email(job_id: str) -> str:
    """Notification job: e-mail the uploader of ImportJob ``job_id``."""
    with app_context():
        return notifications.send_job_email(job_id)


def post_job_webhook(job_id: str) -> int:
    """Notification job: POST ImportJob ``job_id``'s summary to its organisation's webhook."""
    with app_context():
        return notifications.post_job_webhook(job_id)


def sweep() -> int:
    """Cron: enqueue queued imports that have no RQ job (Redis was down or lost them)."""
    with app_context():
        return maintenance.sweep_queued_jobs()


def reap() -> dict:
    """Cron: find imports whose worker died, now rather than at the next worker maintenance."""
    with app_context():
        return maintenance.reap_abandoned_jobs()


def trim() -> dict:
    """Cron: keep only the most recent completed and failed RQ jobs per queue."""
    with app_context():
        return maintenance.trim_job_registries()


def clean_up() -> dict:
    """Cron, nightly: delete old jobs' files, reports and RQ jobs; keep their rows."""
    with app_context():
        return maintenance.nightly_clean_up()
