"""E-mail through the queue: a use case stores its mail (``send_later``) in its own
transaction, the mail is handed to the notifications queue once that commits, and a worker
sends it (``send_mail``), retried with backoff (``MAIL_RETRY_INTERVALS``) while the mail
server is away. A mail whose retries ran out, or which could not reach the queue (Redis was
away), is handed over again by the maintenance run (``send_unsent_mails``), for up to
``UNSENT_MAIL_MAX_AGE``. So an outage delays a mail; it never loses it.
"""

from __future__ import annotations

import logging
import smtplib
from datetime import timedelta
from functools import partial

from flask import current_app
from redis import Redis
from redis.exceptions import RedisError
from rq import Retry
from sqlalchemy import select

from ..extensions import db, get_redis
from ..mail import deliver
from ..models import OutgoingMail, utcnow
from ..unit_of_work import after_commit
from .lifecycle import delete_rq_job, describe_error, rq_job_is_live
from .queues import NOTIFICATIONS_QUEUE, get_queue

log = logging.getLogger(__name__)

SEND_MAIL = "bulkapp.jobs.send_mail"
MAIL_RESULT_TTL = 3600
# Mails older than this are not handed over again (an invitation can be resent).
UNSENT_MAIL_MAX_AGE = timedelta(days=1)


def send_later(to: str, subject: str, body: str, name: str) -> OutgoingMail:
    """Store a plain-text mail from ``MAIL_FROM`` to ``to`` in the current transaction and
    have it sent once that commits; ``name`` ends its outbox file's name (``invite-7``)."""
    mail = OutgoingMail(
        recipient=to,
        sender=current_app.config["MAIL_FROM"],
        subject=subject,
        body=body,
        name=name,
    )
    db.session.add(mail)
    db.session.flush()
    after_commit(partial(hand_to_queue, mail.id))
    return mail


def rq_job_id(mail_id: int) -> str:
    """The RQ job id of mail ``mail_id``."""
    return f"mail-{mail_id}"


def hand_to_queue(mail_id: int, connection: Redis | None = None) -> bool:
    """Put mail ``mail_id`` on the notifications queue (an earlier RQ job of it is dropped
    first); False when Redis is away: the maintenance run hands it over later."""
    connection = connection or get_redis()
    intervals = list(current_app.config["MAIL_RETRY_INTERVALS"])
    try:
        delete_rq_job(connection, rq_job_id(mail_id))
        get_queue(NOTIFICATIONS_QUEUE, connection).enqueue(
            SEND_MAIL,
            mail_id,
            job_id=rq_job_id(mail_id),
            result_ttl=MAIL_RESULT_TTL,
            retry=Retry(max=len(intervals), interval=intervals) if intervals else None,
        )
    except RedisError as exc:
        log.warning("mail %s waits until Redis is back: %s", mail_id, exc)
        return False
    return True


def send_mail(mail_id: int) -> str:
    """Send mail ``mail_id`` (once: a mail already sent is left alone); where it went.

    Raises:
        OSError, smtplib.SMTPException: the mail server is away or refused it; the attempt
            and the error are recorded on the mail, and RQ retries it.
    """
    mail = db.session.get(OutgoingMail, mail_id)
    if mail is None or mail.sent_at is not None:
        return "already sent"
    mail.attempts += 1
    try:
        where = deliver(mail.message(), mail.name)
    except (OSError, smtplib.SMTPException) as exc:
        mail.last_error = describe_error(exc)
        db.session.commit()
        log.warning(
            "mail %s to %s not sent (attempt %d): %s",
            mail.id,
            mail.recipient,
            mail.attempts,
            mail.last_error,
        )
        raise
    mail.sent_at, mail.last_error = utcnow(), None
    db.session.commit()
    return where


def send_unsent_mails(connection: Redis, limit: int = 100) -> int:
    """Hand over again the mails of the last day that are not sent and have no RQ job that
    will send them (their retries ran out, or Redis was away when they were written);
    returns how many."""
    grace = timedelta(seconds=current_app.config["SWEEP_GRACE_SECONDS"])
    now = utcnow()
    unsent = db.session.scalars(
        select(OutgoingMail.id)
        .where(
            OutgoingMail.sent_at.is_(None),
            OutgoingMail.created_at <= now - grace,
            OutgoingMail.created_at >= now - UNSENT_MAIL_MAX_AGE,
        )
        .order_by(OutgoingMail.created_at)
        .limit(limit)
    ).all()
    handed = 0
    for mail_id in unsent:
        if not rq_job_is_live(connection, rq_job_id(mail_id)) and hand_to_queue(
            mail_id, connection
        ):
            handed += 1
    return handed
