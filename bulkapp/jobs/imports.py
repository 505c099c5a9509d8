"""Starting imports: the use cases the upload page, the API and ``flask bulk import`` call.

The upload is stored, its ImportJob recorded and committed, then its id enqueued (never the
other way round); when Redis is away the job waits as ``queued`` for the sweeper.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import IO

from sqlalchemy.exc import IntegrityError

from .. import audit
from ..entities import REGISTRY, get_entity
from ..errors import UseCaseError
from ..extensions import db
from ..models import ANALYSIS, IMPORT, MODES, ImportJob, Organisation, ReviewPolicy, User
from ..storage import UPLOADS, configured_store, delete_stored
from . import failures, queues
from .attempts import run_import
from .lifecycle import describe_error, enqueue_after_commit, record_attempt_failure
from .rejections import reported_job

log = logging.getLogger(__name__)

ALLOWED_EXTENSIONS = (".csv", ".xlsx", ".json")
DETECT = "detect"  # the entity type of an upload whose type is found from its headers
MAX_FILENAME_LENGTH = 255


class IdempotencyKeyUsed(Exception):
    """The user already has a job with this idempotency key; nothing new was stored."""


class UploadRejected(UseCaseError):
    """The upload cannot become a job; the message is meant for the user (422)."""

    status = 422
    code = "upload_rejected"


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
    review: ReviewPolicy | None = None,
    mapping: dict | None = None,
    saved_mapping_id: int | None = None,
    fixes: ImportJob | None = None,
    before_commit: Callable[[ImportJob], None] | None = None,
) -> tuple[ImportJob, bool]:
    """Store an upload, record its ImportJob, commit, then enqueue it (after the commit).

    Args:
        entity_type: what the file holds; ``DETECT`` to find out from its headers (the
            upload is then analysed first, as the entity type that fits best).
        review: analyse the file first; when it may go on to the import without a person.
            None imports at once.
        mapping: a checked mapping (``MappingChoice`` JSON) to use for the file's headers.
        saved_mapping_id: the saved mapping ``mapping`` came from.
        fixes: the job whose fixed rows the file holds (the new job is its follow-up, in its
            organisation). Without it, a file named as a job's signed error report
            (``rejections.report_name``) of ``user``'s organisation, uploaded as that job's
            type (or Detect), is a follow-up of that job, "fixes for <its file>".
        before_commit: adds what the new job needs beside it, in its transaction (before
            it can reach a worker).

    Returns:
        The job and whether it reached the queue. When Redis is unreachable the job stays
        ``queued`` and is enqueued later; the upload is never lost.

    Raises:
        UnknownEntity, UploadRejected: the request cannot become a job.
        IdempotencyKeyUsed: ``user`` already has a job with ``idempotency_key``.
    """
    detect = entity_type == DETECT
    schema = get_entity(next(iter(REGISTRY)) if detect else entity_type)
    if mode not in MODES:
        raise UploadRejected(f"Unknown mode {mode!r}. Choose one of: {', '.join(MODES)}.")
    name = display_name(filename)
    if fixes is None:
        fixes = reported_job(name, user.organisation_id)
        if fixes is not None and (detect or fixes.entity_type == schema.name):
            name = f"fixes for {Path(fixes.original_filename).stem}{Path(name).suffix}"
        else:
            fixes = None
    organisation_id = fixes.organisation_id if fixes is not None else user.organisation_id
    key, size = configured_store(UPLOADS).save_stream(stream, _extension(filename), organisation_id)
    job = ImportJob(
        organisation_id=organisation_id,
        user_id=user.id,
        entity_type=schema.name,
        mode=mode,
        original_filename=name,
        stored_path=key,
        file_size=size,
        queue_name=queues.queue_name_for(schema.name, user.role),
        idempotency_key=idempotency_key,
        phase=ANALYSIS if review is not None or detect else IMPORT,
        review_policy=review or ReviewPolicy.ALWAYS,
        detect_entity=detect,
        mapping=mapping,
        saved_mapping_id=saved_mapping_id,
        fixes_job_id=fixes.id if fixes is not None else None,
    )
    db.session.add(job)
    enqueue_after_commit(job)
    try:
        db.session.flush()  # the job's id, for its audit entry
        audit.record(
            "file_uploaded",
            actor=user,
            target=job.id,
            organisation_id=organisation_id,
            detail=f"{job.original_filename}: {'detect' if detect else schema.name}, {mode}",
        )
        if before_commit is not None:
            before_commit(job)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        _discard_upload(key)
        if idempotency_key is None:
            raise
        raise IdempotencyKeyUsed(idempotency_key) from None
    return job, job.rq_job_id is not None


def _discard_upload(key: str) -> None:
    """Remove an upload that did not become a job."""
    delete_stored(key, UPLOADS)
    db.session.commit()


def import_inline(
    *, organisation: Organisation, entity_type: str, path: Path, mode: str = "partial"
) -> ImportJob:
    """Import the file at ``path`` for ``organisation`` in this process (no queue).

    The file is copied into the file store first, so the caller's file is never deleted. Any
    failure is recorded on the returned job.

    Raises:
        UnknownEntity, UploadRejected: as ``start_import``.
    """
    schema = get_entity(entity_type)
    if mode not in MODES:
        raise UploadRejected(f"Unknown mode {mode!r}. Choose one of: {', '.join(MODES)}.")
    with open(path, "rb") as source:
        stored, size = configured_store(UPLOADS).save_stream(
            source, _extension(path.name), organisation.id
        )
    job = ImportJob(
        organisation_id=organisation.id,
        user_id=None,
        entity_type=schema.name,
        mode=mode,
        original_filename=display_name(path.name),
        stored_path=stored,
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
