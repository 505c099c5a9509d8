"""Tell people an import ended: an e-mail to the uploader and, when the organisation has a
webhook URL, a JSON summary POSTed to it. Both run as jobs on the ``notifications`` queue.

Without ``SMTP_HOST`` (development) e-mails are written to ``OUTBOX_DIR`` as ``.eml`` files.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from datetime import timedelta
from email.message import EmailMessage
from urllib.parse import urlsplit

from flask import current_app
from redis.exceptions import RedisError
from rq import Retry
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..extensions import db, get_redis
from ..mail import deliver
from ..models import (
    CANCELED,
    COMPLETED,
    FINISHED_STATUSES,
    ImportJob,
    on_ended,
    rows_matched,
    utcnow,
)
from .queues import NOTIFICATIONS_QUEUE, get_queue
from .state import job_state, undo_counts

log = logging.getLogger(__name__)

SEND_EMAIL = "bulkapp.jobs.send_job_email"
POST_WEBHOOK = "bulkapp.jobs.post_job_webhook"
EMAIL_RETRY_INTERVALS = [60, 300, 900]
NOTIFICATION_RESULT_TTL = 3600
# Jobs that finished longer ago than this are not notified late any more.
PENDING_NOTIFICATION_AGE = timedelta(days=1)


class WebhookDeliveryFailed(Exception):
    """The webhook did not accept the summary; the job is retried."""


def notify_when_imports_end() -> None:
    """Send the notifications of every import as it ends (the app factory wires this)."""
    if notify_ended not in on_ended:
        on_ended.append(notify_ended)


def notify_ended(job_id: str) -> None:
    """``on_ended`` listener: notify ImportJob ``job_id``, which a commit has just ended.

    Runs in a transaction of its own, after the one that ended the import; a failure here
    is logged and left to the next maintenance run, never raised into the committing code.
    """
    try:
        with Session(db.engine) as session:
            job = session.get(ImportJob, job_id)
            if job is not None:
                notify(session, job)
    except Exception:
        log.exception("notifications for job %s wait for the next maintenance run", job_id)


def notify(session: Session, job: ImportJob) -> bool:
    """Hand the notifications of a finished ``job`` to the notifications queue, once.

    The job is claimed in the database first (``notified_at``), so two processes finishing
    or sweeping the same job never both send it. When Redis is away the claim is undone and
    the next maintenance run (``send_pending_notifications``) sends them. Returns True when
    they were enqueued now.
    """
    if not job.is_finished:
        return False
    claimed = rows_matched(
        session,
        (
            update(ImportJob)
            .where(ImportJob.id == job.id, ImportJob.notified_at.is_(None))
            .values(notified_at=utcnow())
            .execution_options(synchronize_session=False)
        ),
    )
    session.commit()
    if not claimed:
        return False
    try:
        _enqueue_notifications(job)
    except RedisError as exc:
        log.warning("notifications for job %s wait until Redis is back: %s", job.id, exc)
        session.execute(
            update(ImportJob)
            .where(ImportJob.id == job.id)
            .values(notified_at=None)
            .execution_options(synchronize_session=False)
        )
        session.commit()
        return False
    return True


def _enqueue_notifications(job: ImportJob) -> None:
    queue = get_queue(NOTIFICATIONS_QUEUE, get_redis())
    if job.user is not None:
        queue.enqueue(
            SEND_EMAIL,
            job.id,
            result_ttl=NOTIFICATION_RESULT_TTL,
            retry=Retry(max=len(EMAIL_RETRY_INTERVALS), interval=EMAIL_RETRY_INTERVALS),
        )
    if job.organisation.webhook_url:
        intervals = list(current_app.config["WEBHOOK_RETRY_INTERVALS"])
        retry = Retry(max=len(intervals), interval=intervals) if intervals else None
        queue.enqueue(POST_WEBHOOK, job.id, result_ttl=NOTIFICATION_RESULT_TTL, retry=retry)


def send_pending_notifications(limit: int = 100) -> int:
    """Notify jobs that finished while Redis was away (within the last day); returns how many."""
    pending = db.session.scalars(
        select(ImportJob)
        .where(
            ImportJob.status.in_(FINISHED_STATUSES),
            ImportJob.notified_at.is_(None),
            ImportJob.finished_at >= utcnow() - PENDING_NOTIFICATION_AGE,
        )
        .order_by(ImportJob.finished_at)
        .limit(limit)
    ).all()
    return sum(notify(db.session(), job) for job in pending)


def _outcome(job: ImportJob) -> str:
    outcomes: dict[str, str] = {COMPLETED: "completed", CANCELED: "was canceled"}
    return outcomes.get(job.status, "failed")


def build_email(job: ImportJob) -> EmailMessage:
    """The e-mail telling ``job``'s uploader how the import ended."""
    assert job.user is not None, "only an import with an uploader is e-mailed (send_job_email)"
    config = current_app.config
    message = EmailMessage()
    undo = undo_counts(job)
    what = "undo of the import" if undo is not None else "import"
    message["Subject"] = f"{what.capitalize()} of {job.original_filename} {_outcome(job)}"
    message["From"] = config["MAIL_FROM"]
    message["To"] = job.user.email
    lines = [f"Your {what} of {job.original_filename} ({job.entity_type}) {_outcome(job)}.", ""]
    if undo is not None:
        lines.append(
            f"Records: {undo['removed']} removed · {undo['restored']} restored · "
            f"{undo['kept']} kept (changed since by a later import)"
        )
    else:
        lines += [
            f"Rows: {job.total_rows} · valid {job.valid_rows} · rejected {job.invalid_rows}",
            f"Stored: {job.inserted_rows} new · {job.updated_rows} updated · "
            f"{job.unchanged_rows} unchanged",
        ]
    if job.error_message:
        lines += ["", job.error_message]
    if config["PUBLIC_URL"]:
        lines += ["", f"Details: {config['PUBLIC_URL']}/jobs/{job.id}"]
    message.set_content("\n".join(lines) + "\n")
    return message


def send_job_email(job_id: str) -> str:
    """Send (or, without SMTP_HOST, write to the outbox) the e-mail about ImportJob ``job_id``."""
    job = db.session.get(ImportJob, job_id)
    if job is None or job.user is None:
        return "no recipient"
    return deliver(build_email(job), job.id)


def webhook_payload(job: ImportJob) -> dict:
    """The JSON summary a webhook receives."""
    return {
        "event": "import.finished",
        "organisation": job.organisation.slug,
        "job": job_state(job),
    }


def post_job_webhook(job_id: str) -> int:
    """POST ImportJob ``job_id``'s summary to its organisation's webhook; returns the status.

    Raises:
        WebhookDeliveryFailed: the endpoint is unreachable or did not answer 2xx (RQ retries).
    """
    job = db.session.get(ImportJob, job_id)
    if job is None or not job.organisation.webhook_url:
        return 0
    url = job.organisation.webhook_url
    if urlsplit(url).scheme not in ("http", "https"):
        log.warning("webhook of %s ignored: %r is not an http(s) URL", job.organisation.slug, url)
        return 0
    request = urllib.request.Request(
        url,
        data=json.dumps(webhook_payload(job)).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "bulkapp-webhook/1"},
    )
    timeout = current_app.config["WEBHOOK_TIMEOUT"]
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        raise WebhookDeliveryFailed(f"{url} answered {exc.code}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise WebhookDeliveryFailed(f"{url} unreachable: {exc}") from exc
