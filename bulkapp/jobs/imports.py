"""Starting imports: the use cases the upload page, the API and ``flask bulk import`` call.

The upload is stored, its ImportJob recorded and committed, then its id enqueued (never the
other way round); when Redis is away the job waits as ``queued`` for the sweeper.
"""

from __future__ import annotations

import logging
import traceback
from pathlib import Path
from typing import IO

from sqlalchemy.exc import IntegrityError

from ..entities import get_entity
from ..extensions import db
from ..models import MODES, ImportJob, Organisation, User
from ..storage import store_upload
from . import failures, queues
from .attempts import run_import
from .lifecycle import describe_error, enqueue, record_attempt_failure

log = logging.getLogger(__name__)

ALLOWED_EXTENSIONS = (".csv", ".xlsx", ".json")
MAX_FILENAME_LENGTH = 255


class IdempotencyKeyUsed(Exception):
    """The user already has a job with this idempotency key; nothing new was stored."""


class UploadRejected(ValueError):
    """The upload cannot become a job; the message is meant for the user."""


def display_name(filename: str) -> str:
    """The name an upload is shown and stored under: its last path part, without control
    characters or halves of surrogate pairs (which no database stores), at most 255 long."""
    name = "".join(ch for ch in Path(filename or "").name if ch.isprintable()).strip()
    return name[:MAX_FILENAME_LENGTH] or "upload"


def _extension(filename: str) -> str:
    ext = Path(filename or "").suffix.lower()
    if ext not in ALLOWED_EXTENSIONS:
        allowed = ", ".join(ALLOWED_EXTENSIONS)
        raise UploadRejected(f"{filename or 'The file'} is not a supported file type ({allowed}).")
    return ext


def start_import(
    *,
    user: User,
    entity_type: str,
    stream: IO[bytes],
    filename: str,
    mode: str = "partial",
    idempotency_key: str | None = None,
) -> tuple[ImportJob, bool]:
    """Store an upload, record its ImportJob, commit, then enqueue it.

    Returns:
        The job and whether it reached the queue. When Redis is unreachable the job stays
        ``queued`` and is enqueued later; the upload is never lost.

    Raises:
        UnknownEntity, UploadRejected: the request cannot become a job.
        IdempotencyKeyUsed: ``user`` already has a job with ``idempotency_key``.
    """
    schema = get_entity(entity_type)
    if mode not in MODES:
        raise UploadRejected(f"Unknown mode {mode!r}. Choose one of: {', '.join(MODES)}.")
    path, size = store_upload(stream, _extension(filename))
    job = ImportJob(
        organisation_id=user.organisation_id,
        user_id=user.id,
        entity_type=schema.name,
        mode=mode,
        original_filename=display_name(filename),
        stored_path=str(path),
        file_size=size,
        queue_name=queues.queue_name_for(schema.name, user.role),
        idempotency_key=idempotency_key,
    )
    db.session.add(job)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        path.unlink(missing_ok=True)
        if idempotency_key is None:
            raise
        raise IdempotencyKeyUsed(idempotency_key) from None
    return job, enqueue(job)


def import_inline(
    *, organisation: Organisation, entity_type: str, path: Path, mode: str = "partial"
) -> ImportJob:
    """Import the file at ``path`` for ``organisation`` in this process (no queue).

    The file is copied into ``UPLOAD_DIR`` first, so the caller's file is never deleted. Any
    failure is recorded on the returned job.

    Raises:
        UnknownEntity, UploadRejected: as ``start_import``.
    """
    schema = get_entity(entity_type)
    if mode not in MODES:
        raise UploadRejected(f"Unknown mode {mode!r}. Choose one of: {', '.join(MODES)}.")
    with open(path, "rb") as source:
        stored, size = store_upload(source, _extension(path.name))
    job = ImportJob(
        organisation_id=organisation.id,
        user_id=None,
        entity_type=schema.name,
        mode=mode,
        original_filename=display_name(path.name),
        stored_path=str(stored),
        file_size=size,
        queue_name=None,
    )
    db.session.add(job)
    db.session.commit()
    try:
        run_import(job.id)
    except Exception as exc:  # nothing retries an inline import: it fails here and now
        log.exception("inline import %s failed", job.id)
        record_attempt_failure(
            job.id,
            will_retry=False,
            reason=describe_error(exc),
            kind=failures.kind_of(exc),
            traceback=traceback.format_exc(),
        )
    db.session.refresh(job)
    return job
