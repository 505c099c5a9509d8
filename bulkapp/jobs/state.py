"""A job's state as users and programs see it: the job page, the API, the webhook, the CLI.

Every other view of a job (the API's seed shapes, the monitor's live figures) is built from
``job_state``, and every timestamp the app emits is written by ``iso_timestamp``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TypedDict

from ..entities import get_entity
from ..models import (
    ANALYSIS,
    COMPLETED,
    FAILED,
    IMPORT,
    PROCESSING,
    UNDO,
    ImportJob,
    SavedMapping,
    utcnow,
)
from . import failures


class RowCounts(TypedDict):
    """Rows of the file so far: read, accepted or rejected, and what saving did to them."""

    total: int
    processed: int
    valid: int
    invalid: int
    inserted: int
    updated: int
    unchanged: int


class JobState(TypedDict):
    """Everything needed to show a job's progress and outcome."""

    id: str
    entity_type: str
    mode: str
    file_name: str
    status: str
    stage: str
    phase: str
    progress: int
    finished: bool
    mapping_note: str | None
    cancel_requested: bool
    queue_name: str | None
    attempts: int
    import_attempts: int  # attempts at the import itself, analyses left out
    counts: RowCounts
    validation_stats: dict[str, int]
    database_stats: dict[str, int]
    warnings: list[str]
    error_message: str | None
    failure_kind: str | None
    failure_label: str | None
    needs_corrected_file: bool
    retryable: bool
    estimated_rows: int | None
    rows_per_second: int | None
    seconds_left: int | None
    has_error_report: bool
    processing_duration_ms: int | None
    stage_timings: dict[str, float]
    created_at: str | None
    started_at: str | None
    finished_at: str | None
    undoes_job_id: str | None
    undone_by_job_id: str | None
    undo_counts: UndoCounts | None


class UndoCounts(TypedDict):
    """What an undo did (so far): records removed, restored, and kept as they were."""

    removed: int
    restored: int
    kept: int


def iso_timestamp(value: datetime | None) -> str | None:
    """``value`` in UTC as JavaScript's ``toISOString()`` writes it: ``2024-01-01T10:00:00.000Z``.

    Naive datetimes (the database's) are taken as UTC; aware ones are converted.
    """
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="milliseconds") + "Z"


def mapping_note(saved: SavedMapping | None) -> str | None:
    """ "Using the mapping saved on 3 Dec 2026 by ops@…", for the review and job pages."""
    if saved is None:
        return None
    who = saved.created_by.email if saved.created_by else "someone"
    return f"Using the mapping saved on {saved.created_at:%-d %b %Y} by {who}."


def _pace(job: ImportJob) -> tuple[int | None, int | None]:
    """Rows per second since the job started and the seconds it still needs at that pace,
    while it runs and its size is known or estimated (else None)."""
    if job.status != PROCESSING or not job.started_at or not job.processed_rows:
        return None, None
    elapsed = (utcnow() - job.started_at).total_seconds()
    if elapsed <= 0:
        return None, None
    rate = job.processed_rows / elapsed
    expected = job.estimated_rows or job.total_rows
    left = max(expected - job.processed_rows, 0) / rate if expected else None
    return round(rate), None if left is None else round(left)


def undo_counts(job: ImportJob) -> UndoCounts | None:
    """What the undo ``job`` did so far (None for an import)."""
    if job.phase != UNDO:
        return None
    stats = job.database_stats or {}
    return {
        "removed": stats.get("removed", 0),
        "restored": stats.get("restored", 0),
        "kept": stats.get("kept", 0),
    }


def _undone_by(job: ImportJob) -> str | None:
    """The undo of ``job``, if any (looked up for completed imports only: a polled job that
    is still running costs no query for it)."""
    if job.status != COMPLETED or job.phase != IMPORT or job.undone_by is None:
        return None
    return job.undone_by.id


def can_retry(job: ImportJob) -> bool:
    """Whether a retry of ``job`` can work: it is canceled or failed by an outage, and its
    upload is still stored (a discarded or expired review's is removed)."""
    upload_kept = job.phase == UNDO or job.stored_path is not None
    return upload_kept and failures.retryable(job.status, job.failure_kind)


def attempt_counts(job: ImportJob) -> tuple[int, int]:
    """How many of ``job``'s attempts were imports, and how many analyses (for its review)."""
    analyses = min((job.analysis or {}).get("analysis_attempts", 0), job.attempts)
    if job.phase == ANALYSIS:
        analyses = job.attempts
    return job.attempts - analyses, analyses


def review_seconds(job: ImportJob) -> float | None:
    """How long ``job`` waited for a person in its review (None: it did not wait)."""
    return (job.analysis or {}).get("review_seconds")


UNKNOWN_TYPE = "unknown type"


def type_shown(job: ImportJob) -> tuple[str, str | None]:
    """The type ``job`` is shown as and, for an upload whose type was detected from its
    headers, what was detected and why ("members: 11 of 12 columns"). A Detect upload whose
    headers fit no type (or that failed before they were read) is of an "unknown type"."""
    label = get_entity(job.entity_type).label
    if not job.detect_entity:
        return label, None
    fits = (job.analysis or {}).get("fits") or []
    best = fits[0] if fits else None
    if best is None or not best["matched"] or best["name"] != job.entity_type:
        return UNKNOWN_TYPE, None
    return label, f"{label.lower()}: {best['matched']} of {best['total']} columns"


def job_state(job: ImportJob) -> JobState:
    """The state of ``job`` now (an undo's counts in ``undo_counts``; an import that was
    undone names its undo in ``undone_by_job_id``)."""
    failed_for_good = job.status == FAILED and failures.is_permanent(job.failure_kind)
    rows_per_second, seconds_left = _pace(job)
    return {
        "id": job.id,
        "entity_type": job.entity_type,
        "mode": job.mode,
        "file_name": job.original_filename,
        "status": job.status,
        "stage": job.stage,
        "phase": job.phase,
        "progress": job.progress,
        "finished": job.is_finished,
        "mapping_note": mapping_note(job.saved_mapping),
        "cancel_requested": job.cancel_requested,
        "queue_name": job.queue_name,
        "attempts": job.attempts,
        "import_attempts": attempt_counts(job)[0],
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
        "failure_kind": job.failure_kind,
        "failure_label": failures.label(job.failure_kind) if job.status == FAILED else None,
        "needs_corrected_file": failed_for_good,
        "retryable": can_retry(job),
        "estimated_rows": job.estimated_rows if not job.is_finished else None,
        "rows_per_second": rows_per_second,
        "seconds_left": seconds_left,
        "has_error_report": bool(job.rejected_rows_kept or job.report_path),
        "processing_duration_ms": job.processing_duration_ms,
        "stage_timings": job.stage_timings or {},
        "created_at": iso_timestamp(job.created_at),
        "started_at": iso_timestamp(job.started_at),
        "finished_at": iso_timestamp(job.finished_at),
        "undoes_job_id": job.undoes_job_id,
        "undone_by_job_id": _undone_by(job),
        "undo_counts": undo_counts(job),
    }
