"""One serializer for a job's state, shared by pages, polling and the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..models import ImportJob


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() + "Z" if value else None


def job_state(job: ImportJob) -> dict[str, Any]:
    """Everything a page or client needs to show ``job``'s progress and outcome."""
    return {
        "id": job.id,
        "entity_type": job.entity_type,
        "mode": job.mode,
        "file_name": job.original_filename,
        "status": job.status,
        "stage": job.stage,
        "progress": job.progress,
        "finished": job.is_finished,
        "queue_name": job.queue_name,
        "attempts": job.attempts,
        "counts": {
            "total": job.total_rows,
            "processed": job.processed_rows,
            "valid": job.valid_rows,
            "invalid": job.invalid_rows,
            "inserted": job.inserted_rows,
            "updated": job.updated_rows,
            "unchanged": job.unchanged_rows,
        },
        "validation_stats": job.validation_stats or {},
        "database_stats": job.database_stats or {},
        "warnings": job.warnings or [],
        "error_message": job.error_message,
        "has_error_report": bool(job.report_path),
        "processing_duration_ms": job.processing_duration_ms,
        "stage_timings": job.stage_timings or {},
        "created_at": _iso(job.created_at),
        "started_at": _iso(job.started_at),
        "finished_at": _iso(job.finished_at),
    }
