"""The import service: the only entry points the web, the CLI and the worker call."""

from __future__ import annotations

import logging
import time
import traceback
from pathlib import Path
from typing import BinaryIO

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError

from . import queues
from ..entities import UnknownEntity, get_entity
from ..extensions import db, get_redis
from ..models import (CANCELED, COMPLETED, FAILED, MODES, PROCESSING, ImportJob,
                      Organisation, User, utcnow)
from .lifecycle import (describe_error, discard_failed_transaction,
                         record_attempt_failure)
from ..storage import store_upload
from ..ingest.errors import ImportFailed, ImportSuperseded
from ..ingest.pipeline import import_file

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


def start_import(*, user: User, entity_type: str, stream: BinaryIO, filename: str,
                 mode: str = "partial", idempotency_key: str | None = None
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
    if size == 0:
        path.unlink(missing_ok=True)
        raise UploadRejected(f"{filename} is empty.")
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
    return job, enqueue_import(job)


def enqueue_import(job: ImportJob) -> bool:
    """Put ``job`` on its queue (RQ job id = ImportJob id). False when Redis is down."""
    try:
        queues.enqueue_import(get_redis(), job.queue_name, job.id)
    except RedisError as exc:
        log.warning("could not enqueue import %s: %s", job.id, exc)
        return False
    job.rq_job_id = job.id
    db.session.commit()
    return True


def import_inline(*, organisation: Organisation, entity_type: str, path: Path,
                  mode: str = "partial") -> ImportJob:
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
    job = ImportJob(organisation_id=organisation.id, user_id=None, entity_type=schema.name,
                    mode=mode, original_filename=display_name(path.name), stored_path=str(stored),
                    file_size=size, queue_name=None)
    db.session.add(job)
    db.session.commit()
    try:
        run_import(job.id)
    except Exception as exc:  # nothing retries an inline import: it fails here and now
        log.exception("inline import %s failed", job.id)
        record_attempt_failure(job.id, will_retry=False, reason=describe_error(exc),
                               traceback=traceback.format_exc())
    db.session.refresh(job)
    return job


def run_import(job_id: str) -> dict:
    """Run the import of ImportJob ``job_id`` to its end and record the outcome.

    A job that ran before resumes from its checkpoint. Bad input fails the job with a message
    for the user and returns normally (retrying cannot help); a cancel request stops it at
    the next chunk boundary. Any other error is re-raised, after rolling back, for the caller
    to record (``lifecycle.record_attempt_failure``) and retry.

    Each run claims the job by raising its attempt number; every commit of the run checks
    that the number is still its own, so a run whose worker was given up for dead (it
    reappeared after a network partition, say) stops at its next chunk instead of writing
    beside the run that took over.
    """
    job = db.session.get(ImportJob, job_id)
    if job is None:
        log.error("import job %s does not exist", job_id)
        return {"job_id": job_id, "status": "missing"}
    if job.status in (COMPLETED, CANCELED):
        return summarise(job)
    attempt = _claim(job)
    if attempt is None:
        log.warning("import %s was claimed by another run meanwhile; leaving it to that run",
                    job_id)
        return {"job_id": job_id, "status": "superseded"}
    started = time.monotonic()
    config = current_app.config
    try:
        outcome = import_file(job, get_entity(job.entity_type), Path(job.stored_path or ""),
                              chunk_rows=config["IMPORT_CHUNK_ROWS"],
                              report_dir=config["REPORT_DIR"],
                              commit=lambda: _commit_as(job_id, attempt))
        _finish(job, attempt, outcome, started)
    except ImportSuperseded:
        discard_failed_transaction()
        log.warning("import %s, attempt %d, stopped: a later attempt took the job over",
                    job_id, attempt)
        return {"job_id": job_id, "status": "superseded"}
    except (ImportFailed, UnknownEntity) as exc:
        db.session.rollback()
        _finish(job, attempt, FAILED, started, error=str(exc))
    except Exception:
        discard_failed_transaction()
        raise
    return summarise(job)


def _claim(job: ImportJob) -> int | None:
    """Mark ``job`` processing under the next attempt number; None if another run did first."""
    attempt = job.attempts + 1
    claimed = db.session.execute(
        update(ImportJob).where(ImportJob.id == job.id, ImportJob.attempts == job.attempts)
        .values(attempts=attempt, status=PROCESSING, stage="parsing", error_message=None,
                error_traceback=None, started_at=func.coalesce(ImportJob.started_at, utcnow()))
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return attempt if claimed else None


def _commit_as(job_id: str, attempt: int) -> None:
    """Commit the session's work if the job is still this attempt's, else roll it back.

    Raises:
        ImportSuperseded: a later attempt claimed the job.
    """
    still_ours = db.session.execute(
        update(ImportJob.__table__).where(ImportJob.id == job_id, ImportJob.attempts == attempt)
        .values(attempts=attempt)).rowcount
    if not still_ours:
        db.session.rollback()
        raise ImportSuperseded(job_id)
    db.session.commit()


def _elapsed_ms(job: ImportJob, started: float) -> int:
    """Processing time of every attempt so far, this one included."""
    return (job.processing_duration_ms or 0) + int((time.monotonic() - started) * 1000)


def _finish(job: ImportJob, attempt: int, status: str, started: float,
            error: str | None = None) -> None:
    job.status, job.stage = status, "done"
    job.progress = 100 if status == COMPLETED else job.progress
    job.error_message, job.error_traceback = error, None
    job.finished_at = utcnow()
    job.processing_duration_ms = _elapsed_ms(job, started)
    _commit_as(job.id, attempt)
    # A completed import has no further use for its upload; a failed or canceled one keeps it
    # for retry until the clean-up (JOB_RETENTION_HOURS) removes it.
    if status == COMPLETED and job.stored_path:
        Path(job.stored_path).unlink(missing_ok=True)


def summarise(job: ImportJob) -> dict:
    """The job's outcome as a plain dict (what the RQ job and ``flask bulk import`` return)."""
    return {
        "job_id": job.id,
        "status": job.status,
        "entity_type": job.entity_type,
        "mode": job.mode,
        "total_rows": job.total_rows,
        "valid_rows": job.valid_rows,
        "invalid_rows": job.invalid_rows,
        "inserted": job.inserted_rows,
        "updated": job.updated_rows,
        "unchanged": job.unchanged_rows,
        "validation_stats": job.validation_stats or {},
        "database_stats": job.database_stats or {},
        "warnings": job.warnings or [],
        "processing_duration_ms": job.processing_duration_ms,
        "has_error_report": bool(job.report_path),
        "error": job.error_message,
    }
