"""Idempotent uploads: the same idempotency key from the same user returns the same job.

The key is stored on the job (unique per organisation and user). A short Redis lock keeps two
simultaneous requests with one key from both creating a job; if Redis is down the database's
unique constraint, checked in the same commit that records the job, is the last guard.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from redis.exceptions import RedisError

from ..errors import UseCaseError
from ..extensions import db, get_redis
from ..models import ImportJob, User
from .access import jobs_visible_to
from .imports import IdempotencyKeyUsed, start_import

log = logging.getLogger(__name__)

LOCK_SECONDS = 60


class IdempotencyConflict(UseCaseError):
    """Another request with the same key is still being handled; retry in a moment."""

    code = "idempotency_conflict"
    retry_after_seconds = 1

    def __init__(self, key: str) -> None:
        super().__init__(
            "A request with this Idempotency-Key is still being handled. Retry in a moment.",
            headers={"Retry-After": str(self.retry_after_seconds)},
        )
        self.key = key


def _job_with_key(user: User, key: str) -> ImportJob | None:
    return db.session.scalar(
        jobs_visible_to(user).where(
            ImportJob.organisation_id == user.organisation_id,
            ImportJob.user_id == user.id,
            ImportJob.idempotency_key == key,
        )
    )


def lock_name(user: User, key: str) -> str:
    """The Redis key that is held while ``user``'s request with ``key`` is being handled."""
    return f"bulkapp:idempotency:{user.id}:{hashlib.sha256(key.encode()).hexdigest()}"


def _acquire(name: str) -> bool | None:
    """True when locked, False when someone else holds it, None when Redis is unreachable."""
    try:
        return bool(get_redis().set(name, "1", nx=True, ex=LOCK_SECONDS))
    except RedisError as exc:
        log.warning("idempotency lock unavailable (%s); relying on the unique key", exc)
        return None


def _release(name: str) -> None:
    try:
        get_redis().delete(name)
    except RedisError:
        log.warning("could not release idempotency lock %s; it expires by itself", name)


def start_import_once(
    *, user: User, key: str | None, **upload: Any
) -> tuple[ImportJob, bool, bool]:
    """``start_import`` unless ``user`` already sent ``key``.

    Returns:
        (job, enqueued, replayed): ``replayed`` is True when the job already existed.

    Raises:
        IdempotencyConflict: another request with the same key is still being handled.
        UnknownEntity, UploadRejected: as ``start_import``.
    """
    if key is None:
        job, enqueued = start_import(user=user, **upload)
        return job, enqueued, False
    existing = _job_with_key(user, key)
    if existing is not None:
        return existing, True, True
    lock = lock_name(user, key)
    locked = _acquire(lock)
    if locked is False:
        raise IdempotencyConflict(key)
    try:
        existing = _job_with_key(user, key)
        if existing is not None:
            return existing, True, True
        try:
            job, enqueued = start_import(user=user, idempotency_key=key, **upload)
        except IdempotencyKeyUsed:  # a request raced this one while Redis (the lock) was down
            raced = _job_with_key(user, key)
            assert raced is not None, "the unique key was taken by a job that was committed"
            return raced, True, True
        return job, enqueued, False
    finally:
        if locked:
            _release(lock)
