"""Job actions: retry, cancel, undo (and its preview), requeue all failed, clean old jobs (the
last two for admins)."""

from __future__ import annotations

import json

from flask import Blueprint, request

from ...jobs import lifecycle, undo
from ...jobs.access import require_job, scope_of
from .auth import admin_required, api_user
from .errors import ApiError, ok
from .shapes import action_result, undo_accepted, undo_preview

bp = Blueprint("actions", __name__)

DEFAULT_GRACE_PERIOD_HOURS = 24
MAX_GRACE_PERIOD_HOURS = 24 * 365 * 10


@bp.post("/bulk-upload/queue/retry/<job_id>")
def retry_job(job_id: str):
    """Run a failed or canceled job again (same job; it resumes from its checkpoint)."""
    job = require_job(api_user(), job_id, "act")
    lifecycle.retry_job(job, api_user())
    return ok(action_result(job, "The job was queued again."), 202)


@bp.post("/bulk-upload/cancel/<job_id>")
def cancel_job(job_id: str):
    """Cancel a queued job, or stop a running one at its next chunk boundary."""
    job = require_job(api_user(), job_id, "act")
    lifecycle.cancel_job(job, api_user())
    message = (
        "The job was canceled."
        if job.is_finished
        else "Cancellation was requested; the job stops at its next chunk boundary."
    )
    return ok(action_result(job, message))


@bp.get("/bulk-upload/<job_id>/undo")
def preview_undo(job_id: str):
    """What undoing a completed import would do now: records removed, restored and kept."""
    job = require_job(api_user(), job_id)
    return ok(undo_preview(job, undo.preview_undo(job)))


@bp.post("/bulk-upload/<job_id>/undo")
def undo_import(job_id: str):
    """Queue the undo of a completed import (the uploader or an administrator)."""
    job = require_job(api_user(), job_id, "act")
    queued = undo.request_undo(job, api_user())
    return ok(undo_accepted(queued, "The undo was queued; it is a job of its own."), 202)


@bp.post("/bulk-upload/queue/requeue")
@admin_required
def requeue_failed():
    """Queue every failed job of the admin's organisation (all, for ``super_admin``) again."""
    return ok({"requeued": lifecycle.requeue_failed(scope_of(api_user()), api_user())}, 202)


def _grace_period_hours() -> int:
    """``gracePeriodHours`` from an optional JSON object body (default 24)."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return DEFAULT_GRACE_PERIOD_HOURS
    if not request.is_json:
        raise ApiError(
            415, 'Send a JSON object such as {"gracePeriodHours": 24}.', "unsupported_media_type"
        )
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise ApiError(400, "The body is not valid JSON.", "malformed_json") from None
    if not isinstance(body, dict):
        raise ApiError(
            422, 'The body must be a JSON object such as {"gracePeriodHours": 24}.', "not_an_object"
        )
    hours = body.get("gracePeriodHours", DEFAULT_GRACE_PERIOD_HOURS)
    if (
        isinstance(hours, bool)
        or not isinstance(hours, int)
        or not 0 <= hours <= MAX_GRACE_PERIOD_HOURS
    ):
        raise ApiError(
            422,
            f"gracePeriodHours must be a whole number from 0 to {MAX_GRACE_PERIOD_HOURS}.",
            "invalid_grace_period",
        )
    return hours


@bp.post("/bulk-upload/queue/clean")
@admin_required
def clean_jobs():
    """Remove finished jobs' queue entries, stored files and old reports; rows stay."""
    hours = _grace_period_hours()
    return ok(
        {
            "gracePeriodHours": hours,
            **lifecycle.clean_jobs(hours, scope_of(api_user()), api_user()),
        }
    )
