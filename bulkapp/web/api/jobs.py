"""Reading jobs: status in the seeds' two shapes, and the cursor-paginated job list."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime

from flask import Blueprint, request
from sqlalchemy.orm import selectinload

from ...entities import UnknownEntity, get_entity
from ...extensions import db
from ...jobs.access import require_job
from ...jobs.filters import JobFilters, search_jobs
from ...models import QUEUED, STATUSES, ImportJob, ImportStatus
from .auth import api_user
from .errors import ApiError, ok
from .shapes import job_summary, queue_job_status, upload_status

bp = Blueprint("jobs", __name__)

DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 100
# The members guide calls a queued job "pending".
STATUS_FILTERS: dict[str, ImportStatus] = {**{s: s for s in STATUSES}, "pending": QUEUED}


@bp.get("/bulk-upload/status/<job_id>", endpoint="upload_status")
def upload_status_view(job_id: str):
    """A job's status, stage, progress and stats, as in the members guide."""
    return ok(upload_status(require_job(api_user(), job_id)))


@bp.get("/jobs/<queue_name>/<job_id>/status", endpoint="queue_job_status")
def queue_job_status_view(queue_name: str, job_id: str):
    """A job's status and result, as in the seed's queue API."""
    job = require_job(api_user(), job_id)
    if queue_name not in (job.queue_name, get_entity(job.entity_type).queue_name):
        raise ApiError(404, f"Job {job_id!r} is not on queue {queue_name!r}.", "job_not_found")
    return ok(queue_job_status(job))


def encode_cursor(job: ImportJob) -> str:
    """An opaque cursor pointing just after ``job`` in newest-first order."""
    raw = json.dumps([job.created_at.isoformat(), job.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The (created_at, id) inside ``cursor``; 422 when it was not made by ``encode_cursor``."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created_at, job_id = json.loads(base64.urlsafe_b64decode(padded))
        if not (isinstance(job_id, str) and job_id.isprintable()):  # NUL cannot be stored
            raise ValueError(job_id)
        return datetime.fromisoformat(created_at), job_id
    except (binascii.Error, ValueError, TypeError, RecursionError):
        raise ApiError(
            422,
            "The cursor is not valid: pass the nextCursor of the previous page.",
            "invalid_cursor",
        ) from None


def page_size(
    raw: str | None, default: int = DEFAULT_PAGE_SIZE, maximum: int = MAX_PAGE_SIZE
) -> int:
    """The ``limit`` argument of a list: ``default`` when absent; 422 outside 1..``maximum``."""
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise ApiError(422, f"limit must be a whole number from 1 to {maximum}.", "invalid_limit")
    return int(raw)


def _status(raw: str | None) -> str:
    """The status asked for ("" for any); 422 for one that does not exist."""
    if raw is None:
        return ""
    if raw not in STATUS_FILTERS:
        raise ApiError(
            422,
            f"Unknown status {raw!r}. Choose one of: {', '.join(STATUS_FILTERS)}.",
            "invalid_status",
        )
    return STATUS_FILTERS[raw]


def _entity(raw: str | None) -> str:
    """The entity type asked for ("" for any); 422 for an unknown one."""
    if raw is None:
        return ""
    try:
        return get_entity(raw).name
    except UnknownEntity as exc:
        raise ApiError(422, str(exc), "unknown_entity") from None


@bp.get("/bulk-upload/queue/jobs")
def list_jobs():
    """The jobs the user may see, newest first, filtered by status and entity."""
    limit = page_size(request.args.get("limit"))
    filters = JobFilters(
        status=_status(request.args.get("status")), entity=_entity(request.args.get("entity"))
    )
    cursor = request.args.get("cursor")
    after = decode_cursor(cursor) if cursor else None
    # Each completed import names its undo (if any): loaded for the page in one query.
    query = search_jobs(api_user(), filters, after).options(selectinload(ImportJob.undone_by))
    jobs = db.session.scalars(query.limit(limit + 1)).all()
    page, more = jobs[:limit], len(jobs) > limit
    return ok(
        {
            "jobs": [job_summary(job) for job in page],
            "limit": limit,
            "nextCursor": encode_cursor(page[-1]) if more else None,
        }
    )
