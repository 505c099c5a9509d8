"""The seed-compatible response shapes, each built from the one job serializer."""

from __future__ import annotations

from typing import Any

from flask import url_for

from ...entities import get_entity
from ...models import COMPLETED, QUEUED, ImportJob
from ...jobs.state import job_state

# The members guide calls a queued job "pending"; the other shapes say "queued".
GUIDE_STATUS = {QUEUED: "pending"}


def guide_status(status: str) -> str:
    """``status`` as the members guide spells it."""
    return GUIDE_STATUS.get(status, status)


def status_url(job: ImportJob) -> str:
    """Where a client polls ``job`` (``/jobs/<queueName>/<jobId>/status``)."""
    queue_name = job.queue_name or get_entity(job.entity_type).queue_name
    return url_for("api.queue_job_status", queue_name=queue_name, job_id=job.id)


def upload_status(job: ImportJob) -> dict[str, Any]:
    """``GET /bulk-upload/status/<jobId>`` as in the members guide."""
    state = job_state(job)
    return {
        "job_id": state["id"],
        "status": guide_status(state["status"]),
        "entity": state["entity_type"],
        "mode": state["mode"],
        "file_name": state["file_name"],
        "uploaded_by": job.user.email if job.user else None,
        "processing_duration_ms": state["processing_duration_ms"],
        "validation_stats": state["validation_stats"],
        "database_stats": state["database_stats"],
        "progress": state["progress"],
        "stage": state["stage"],
        "counts": state["counts"],
        "warnings": state["warnings"],
        "error_message": state["error_message"],
        "errors_url": (url_for("api.error_report", job_id=job.id)
                       if state["has_error_report"] else None),
        "created_at": state["created_at"],
        "started_at": state["started_at"],
        "finished_at": state["finished_at"],
    }


def _result(state: dict[str, Any]) -> dict[str, Any] | None:
    if not state["finished"]:
        return None
    counts = state["counts"]
    uploaded = counts["inserted"] + counts["updated"] + counts["unchanged"]
    success = state["status"] == COMPLETED
    message = state["error_message"] or (
        f"Stored {uploaded} of {counts['total']} records; {counts['invalid']} rejected."
        if success else f"The job was {state['status']}.")
    return {"success": success, "uploaded": uploaded, "message": message}


def queue_job_status(job: ImportJob) -> dict[str, Any]:
    """``GET /jobs/<queueName>/<jobId>/status`` as in the seed's queue API."""
    state = job_state(job)
    return {
        "jobId": state["id"],
        "queueName": state["queue_name"],
        "status": state["status"],
        "progress": state["progress"],
        "stage": state["stage"],
        "result": _result(state),
        "createdAt": state["created_at"],
        "completedAt": state["finished_at"],
    }


def job_summary(job: ImportJob) -> dict[str, Any]:
    """One job in ``GET /bulk-upload/queue/jobs``."""
    state = job_state(job)
    return {
        "jobId": state["id"],
        "queueName": state["queue_name"],
        "entity": state["entity_type"],
        "fileName": state["file_name"],
        "status": state["status"],
        "progress": state["progress"],
        "stage": state["stage"],
        "attempts": state["attempts"],
        "createdAt": state["created_at"],
        "completedAt": state["finished_at"],
        "statusUrl": status_url(job),
    }
