"""The seed-compatible response shapes, each built from the job's state (``job_state``)."""

from __future__ import annotations

from typing import Any

from flask import url_for

from ...entities import get_entity
from ...jobs.state import JobState, iso_timestamp, job_state
from ...jobs.undo import UndoPreview
from ...models import COMPLETED, QUEUED, ImportJob

# The members guide calls a queued job "pending"; the other shapes say "queued".
GUIDE_STATUS: dict[str, str] = {QUEUED: "pending"}


def guide_status(status: str) -> str:
    """``status`` as the members guide spells it."""
    return GUIDE_STATUS.get(status, status)


def _status_url(state: JobState) -> str:
    """Where a client polls the job (``/jobs/<queueName>/<jobId>/status``)."""
    queue_name = state["queue_name"] or get_entity(state["entity_type"]).queue_name
    return url_for("api.jobs.queue_job_status", queue_name=queue_name, job_id=state["id"])


def job_accepted(job: ImportJob, message: str) -> dict[str, Any]:
    """``POST /bulk-upload/<entity>``: the job that was created (or replayed)."""
    state = job_state(job)
    return {
        "jobId": state["id"],
        "status": state["status"],
        "queueName": state["queue_name"],
        "statusUrl": _status_url(state),
        "message": message,
    }


def process_accepted(job: ImportJob, message: str) -> dict[str, Any]:
    """``POST /bulk-upload/process`` as in the members guide."""
    state = job_state(job)
    return {
        "job_id": state["id"],
        "status": guide_status(state["status"]),
        "file_name": state["file_name"],
        "status_url": url_for("api.jobs.upload_status", job_id=state["id"]),
        "message": message,
    }


def action_result(job: ImportJob, message: str) -> dict[str, Any]:
    """The answer to a retry or cancel: where the job stands now."""
    state = job_state(job)
    return {
        "jobId": state["id"],
        "status": state["status"],
        "attempts": state["import_attempts"],
        "analyses": state["attempts"] - state["import_attempts"],
        "statusUrl": _status_url(state),
        "message": message,
    }


def undo_accepted(undo: ImportJob, message: str) -> dict[str, Any]:
    """The answer to an undo request: the undo job, queued, and the import it undoes."""
    return {**action_result(undo, message), "undoesJobId": undo.undoes_job_id}


def undo_preview(job: ImportJob, preview: UndoPreview) -> dict[str, Any]:
    """``GET /bulk-upload/<jobId>/undo``: what undoing the import would do now."""
    plan = preview.plan
    return {
        "jobId": job.id,
        "undoableUntil": iso_timestamp(preview.deadline),
        "removed": plan.removed,
        "restored": plan.restored,
        "kept": plan.kept,
        "conflicts": [
            {
                "key": conflict.key,
                "reason": conflict.reason,
                "changedByJobId": conflict.changed_by.id if conflict.changed_by else None,
            }
            for conflict in preview.conflicts
        ],
    }


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
        "failure_kind": state["failure_kind"],
        "retryable": state["retryable"],
        "needs_corrected_file": state["needs_corrected_file"],
        "errors_url": (
            url_for("api.files.error_report", job_id=state["id"])
            if state["has_error_report"]
            else None
        ),
        "created_at": state["created_at"],
        "started_at": state["started_at"],
        "finished_at": state["finished_at"],
        "undoes_job_id": state["undoes_job_id"],
        "undone_by_job_id": state["undone_by_job_id"],
        "undo_counts": state["undo_counts"],
    }


def _result(state: JobState) -> dict[str, Any] | None:
    if not state["finished"]:
        return None
    counts = state["counts"]
    uploaded = counts["inserted"] + counts["updated"] + counts["unchanged"]
    completed = state["status"] == COMPLETED
    message = state["error_message"] or (
        f"Stored {uploaded} of {counts['total']} records; {counts['invalid']} rejected."
        if completed
        else f"The job was {state['status']}."
    )
    # A job that stored nothing because every row was rejected did not succeed.
    success = completed and not 0 < counts["total"] == counts["invalid"]
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
        "attempts": state["import_attempts"],
        "analyses": state["attempts"] - state["import_attempts"],
        "createdAt": state["created_at"],
        "completedAt": state["finished_at"],
        "statusUrl": _status_url(state),
        "undoesJobId": state["undoes_job_id"],
        "undoneByJobId": state["undone_by_job_id"],
    }
