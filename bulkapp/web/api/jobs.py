"""Reading jobs: status in the seeds' two shapes, and the cursor-paginated job list."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime

from flask import request
from sqlalchemy import and_, or_

from ...jobs.access import find_job, jobs_visible_to
from ...entities import UnknownEntity, get_entity
from ...extensions import db
from ...models import QUEUED, STATUSES, ImportJob
from . import bp
from .auth import api_user
from .errors import ApiError, ok
from .shapes import job_summary, queue_job_status, upload_status

DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 100
STATUS_FILTERS = {**{s: s for s in STATUSES}, "pending": QUEUED}


def visible_job(job_id: str) -> ImportJob:
    """The job ``job_id`` if the token's user may see it; 404 otherwise."""
    job = find_job(api_user(), job_id)
    if job is None:
        raise ApiError(404, f"There is no job {job_id!r}, or you do not have access to it.",
                       "job_not_found")
    return job


@bp.get("/bulk-upload/status/<job_id>", endpoint="upload_status")
def upload_status_view(job_id: str):
    """A job's status, stage, progress and stats, as in the members guide."""
    return ok(upload_status(visible_job(job_id)))


@bp.get("/jobs/<queue_name>/<job_id>/status", endpoint="queue_job_status")
def queue_job_status_view(queue_name: str, job_id: str):
    """A job's status and result, as in the seed's queue API."""
    job = visible_job(job_id)
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
        return datetime.fromisoformat(created_at), str(job_id)
    except (binascii.Error, ValueError, TypeError, RecursionError):
        raise ApiError(422, "The cursor is not valid: pass the nextCursor of the previous page.",
                       "invalid_cursor") from None


def _page_size(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_PAGE_SIZE
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        raise ApiError(422, f"limit must be a whole number from 1 to {MAX_PAGE_SIZE}.",
                       "invalid_limit")
    return int(raw)


@bp.get("/bulk-upload/queue/jobs")
def list_jobs():
    """The jobs the user may see, newest first, filtered by status and entity."""
    limit = _page_size(request.args.get("limit"))
    query = jobs_visible_to(api_user())
    status = request.args.get("status")
    if status is not None:
        if status not in STATUS_FILTERS:
            raise ApiError(422, f"Unknown status {status!r}. Choose one of: "
                           f"{', '.join(STATUS_FILTERS)}.", "invalid_status")
        query = query.where(ImportJob.status == STATUS_FILTERS[status])
    entity = request.args.get("entity")
    if entity is not None:
        try:
            query = query.where(ImportJob.entity_type == get_entity(entity).name)
        except UnknownEntity as exc:
            raise ApiError(422, str(exc), "unknown_entity") from None
    cursor = request.args.get("cursor")
    if cursor:
        created_at, job_id = decode_cursor(cursor)
        query = query.where(or_(ImportJob.created_at < created_at,
                                and_(ImportJob.created_at == created_at, ImportJob.id < job_id)))
    jobs = db.session.scalars(
        query.order_by(ImportJob.created_at.desc(), ImportJob.id.desc()).limit(limit + 1)).all()
    page, more = jobs[:limit], len(jobs) > limit
    return ok({"jobs": [job_summary(job) for job in page], "limit": limit,
               "nextCursor": encode_cursor(page[-1]) if more else None})
