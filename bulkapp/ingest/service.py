"""The import service: the only entry points the web, the CLI and the worker call."""

from __future__ import annotations

import logging
import time
import traceback
from pathlib import Path
from typing import BinaryIO

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy.exc import IntegrityError
from rq import get_current_job

from .. import queues
from ..entities import UnknownEntity, get_entity
from ..extensions import db, get_redis
from ..models import (CANCELED, COMPLETED, FAILED, MODES, PROCESSING, QUEUED, ImportJob,
                      Organisation, User, utcnow)
from ..storage import store_upload
from .errors import ImportFailed
from .pipeline import import_file

log = logging.getLogger(__name__)

ALLOWED_EXTENSIONS = (".csv", ".xlsx", ".json")


class IdempotencyKeyUsed(Exception):
    """The user already has a job with this idempotency key; nothing new was stored."""


class UploadRejected(ValueError):
    """The upload cannot become a job; the message is meant for the user."""


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
        original_filename=Path(filename).name[:255],
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
                    mode=mode, original_filename=path.name[:255], stored_path=str(stored),
                    file_size=size, queue_name=None)
    db.session.add(job)
    db.session.commit()
    try:
        run_import(job.id)
    except Exception:  # recorded on the job as failed (nothing retries an inline import)
        log.exception("inline import %s failed", job.id)
    return job


def run_import(job_id: str) -> dict:
    """Run the import of ImportJob ``job_id`` to its end and record the outcome.

    A job that ran before resumes from its checkpoint. Bad input fails the job with a message
    for the user and returns normally (retrying cannot help); a cancel request stops it at
    the next chunk boundary. Any other error is recorded and re-raised so RQ can retry.
    """
    job = db.session.get(ImportJob, job_id)
    if job is None:
        log.error("import job %s does not exist", job_id)
        return {"job_id": job_id, "status": "missing"}
    if job.status in (COMPLETED, CANCELED):
        return summarise(job)

    job.status, job.stage, job.error_message, job.error_traceback = (
        PROCESSING, "parsing", None, None)
    job.attempts += 1
    job.started_at = job.started_at or utcnow()
    db.session.commit()
    started = time.monotonic()
    config = current_app.config
    try:
        outcome = import_file(job, get_entity(job.entity_type), Path(job.stored_path or ""),
                              chunk_rows=config["IMPORT_CHUNK_ROWS"],
                              report_dir=config["REPORT_DIR"])
    except (ImportFailed, UnknownEntity) as exc:
        db.session.rollback()
        _finish(job, FAILED, started, error=str(exc))
    except Exception as exc:
        db.session.rollback()
        _record_crash(job, exc, started)
        raise
    else:
        _finish(job, outcome, started)
    return summarise(job)


def _elapsed_ms(job: ImportJob, started: float) -> int:
    """Processing time of every attempt so far, this one included."""
    return (job.processing_duration_ms or 0) + int((time.monotonic() - started) * 1000)


def _record_crash(job: ImportJob, exc: Exception, started: float) -> None:
    """Record an unexpected error: back to the queue while RQ retries, else failed."""
    rq_job = get_current_job()
    if rq_job is not None and (rq_job.retries_left or 0) > 0:
        job.status, job.stage = QUEUED, "retrying"
        job.error_message = f"Attempt {job.attempts} failed: {exc}; retrying"
        job.processing_duration_ms = _elapsed_ms(job, started)
        db.session.commit()
        return
    _finish(job, FAILED, started,
            error=f"The import stopped after {job.attempts} attempt(s) because of an internal "
                  f"error ({type(exc).__name__}: {exc}). Rows saved before it are kept.",
            tb=traceback.format_exc())


def _finish(job: ImportJob, status: str, started: float, error: str | None = None,
            tb: str | None = None) -> None:
    job.status, job.stage = status, "done"
    job.progress = 100 if status == COMPLETED else job.progress
    job.error_message, job.error_traceback = error, tb
    job.finished_at = utcnow()
    job.processing_duration_ms = _elapsed_ms(job, started)
    db.session.commit()
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
