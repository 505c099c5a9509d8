"""A record's history: the import that inserted it, then each import (or undo) that changed it,
field by field, old → new, with who uploaded which file and when; an undo that gave the
record its earlier values back is listed as "undone", with its undo job.

Read from the change log: an entity row's ``created_job_id`` names the import that inserted
it (at its ``created_at``), and ``record_changes`` holds, per import or undo that updated it,
``{field: [old, new]}`` with ``import_job_id`` and ``updated_at`` as ``[old, new]``. The log
follows its job's retention (``JOB_RETENTION_HOURS``): older changes are no longer listed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, select
from sqlalchemy.orm import selectinload

from ..entities import EntitySchema
from ..extensions import db
from ..models import UNDO, ImportJob, RecordChange
from ..models.record_change import UPDATE

# An undo that restored the record's values is listed as UNDONE, by its undo job.
INSERTED, UPDATED, UNDONE = "inserted", "updated", "undone"


@dataclass(frozen=True)
class FieldChange:
    """One field's value before and after (as the change log holds them: text, numbers)."""

    field: str  # the field's label
    old: Any
    new: Any


@dataclass(frozen=True)
class HistoryEntry:
    """One import (or undo) that inserted or changed the record."""

    action: str  # INSERTED, UPDATED or UNDONE
    job_id: str | None  # None: the job is gone (or the record predates the change log)
    job: ImportJob | None
    at: datetime | None
    changes: tuple[FieldChange, ...] = ()


def _when(changes: dict[str, Any]) -> datetime | None:
    """When an update was made: the new ``updated_at`` the log kept."""
    pair = changes.get("updated_at")
    try:
        return datetime.fromisoformat(str(pair[1])) if pair else None
    except (ValueError, TypeError, IndexError):
        return None


def _field_changes(schema: EntitySchema, changes: dict[str, Any]) -> tuple[FieldChange, ...]:
    """The changed fields, in the schema's order, by label."""
    return tuple(
        FieldChange(f.label, pair[0], pair[1])
        for f in schema.fields
        if isinstance(pair := changes.get(f.name), list) and len(pair) == 2
    )


def _logged_entry(
    schema: EntitySchema, change: RecordChange, job: ImportJob | None
) -> HistoryEntry:
    """The entry of one logged update: an import's, or an undo's (when it ran: the log's
    ``updated_at`` is the restored one)."""
    if job is not None and job.phase == UNDO:
        when = job.finished_at or job.started_at
        return HistoryEntry(
            UNDONE, change.import_job_id, job, when, _field_changes(schema, change.changes)
        )
    return HistoryEntry(
        UPDATED,
        change.import_job_id,
        job,
        _when(change.changes),
        _field_changes(schema, change.changes),
    )


def record_history(schema: EntitySchema, row: RowMapping) -> list[HistoryEntry]:
    """What inserted and changed the record ``row`` of ``schema``, newest first."""
    logged = list(
        db.session.scalars(
            select(RecordChange)
            .where(RecordChange.entity_type == schema.name, RecordChange.record_id == row["id"])
            .order_by(RecordChange.id.desc())
        )
    )
    job_ids = {c.import_job_id for c in logged} | {row["created_job_id"]} - {None}
    jobs = {
        job.id: job
        for job in db.session.scalars(
            select(ImportJob).where(ImportJob.id.in_(job_ids)).options(selectinload(ImportJob.user))
        )
    }
    entries = [
        _logged_entry(schema, change, jobs.get(change.import_job_id))
        for change in logged
        if change.action == UPDATE
    ]
    created_job = row["created_job_id"]
    entries.append(HistoryEntry(INSERTED, created_job, jobs.get(created_job), row["created_at"]))
    return entries
