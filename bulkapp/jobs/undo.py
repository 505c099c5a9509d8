"""Undo an import: whether it can be undone (and until when), what undoing it would do, and
the use case that queues the undo as a job of its own.

An undo is an ``ImportJob`` in the ``undo`` phase whose ``undoes_job_id`` names the import;
it runs through the same queue, worker and state machine as imports (``attempts``), its
steps done by ``records.undo``. Only a completed import that stored its rows (not
validate-only) can be undone, once, while its change log is kept: ``JOB_RETENTION_HOURS``
after it finished.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import audit
from ..errors import UseCaseError
from ..extensions import db
from ..models import CANCELED, COMPLETED, FAILED, UNDO, ImportJob, User, utcnow
from ..records.undo import Kept, UndoPlan, plan_undo
from ..unit_of_work import use_case
from . import queues
from .lifecycle import enqueue_after_commit


class UndoRefused(UseCaseError):
    """The import cannot be undone (by default a conflict with its state, 409)."""

    code = "undo_refused"


@dataclass(frozen=True)
class Conflict:
    """A record the undo keeps, and why, in words: ``kept: changed by the upload of 4 Dec``."""

    key: str | None
    reason: str
    changed_by: ImportJob | None


@dataclass(frozen=True)
class UndoPreview:
    """What undoing an import would do now, and until when it can be undone."""

    plan: UndoPlan
    conflicts: tuple[Conflict, ...]
    deadline: datetime


@dataclass(frozen=True)
class UndoFacts:
    """What a job page says of undo: an import's undo (or why it cannot be undone, and until
    when it can), an undo's import and the records it kept."""

    refusal: UndoRefused | None
    deadline: datetime | None
    kept: tuple[Conflict, ...]


def undo_facts(job: ImportJob) -> UndoFacts:
    """The undo facts of ``job`` for its page."""
    if job.phase == UNDO:
        listed = (job.checkpoint or {}).get("conflicts", [])
        return UndoFacts(None, None, conflicts_of([Kept(**kept) for kept in listed]))
    return UndoFacts(undo_refusal(job), undo_deadline(job), ())


def undo_deadline(job: ImportJob) -> datetime | None:
    """Until when ``job`` can be undone: while its change log is kept (None: not finished)."""
    if job.finished_at is None:
        return None
    return job.finished_at + timedelta(hours=current_app.config["JOB_RETENTION_HOURS"])


def undo_refusal(job: ImportJob) -> UndoRefused | None:
    """Why ``job`` cannot be undone now, or None when it can."""
    if job.phase == UNDO:
        return UndoRefused(
            "This job is an undo; it cannot be undone itself. Upload the file again to "
            "import its records again.",
            code="not_undoable",
        )
    if job.mode == "validate_only":
        return UndoRefused(
            "This job only validated its file and stored nothing, so there is nothing to undo.",
            code="nothing_to_undo",
        )
    if job.status != COMPLETED:
        if job.is_finished:
            why = f"this one {'was canceled' if job.status == CANCELED else 'failed'}"
        else:
            why = "this one has not finished (it is waiting, running or in its review)"
        return UndoRefused(f"Only a completed import can be undone; {why}.", code="not_completed")
    if job.undone_by is not None:
        undo = job.undone_by
        if undo.status in (CANCELED, FAILED):
            done = f"has an undo that {'was canceled' if undo.status == CANCELED else 'failed'}"
            then = "retry that job to finish it"
        else:
            done = "was undone" if undo.status == COMPLETED else "is being undone"
            then = "an import is undone at most once"
        return UndoRefused(
            f"This import {done} already (job {undo.id}); {then}.", code="already_undone"
        )
    deadline = undo_deadline(job)
    if deadline is not None and utcnow() >= deadline:
        return UndoRefused(
            f"This import can no longer be undone: its change log was kept until "
            f"{deadline:%-d %b %Y %H:%M} UTC ({current_app.config['JOB_RETENTION_HOURS']} "
            "hours after it finished).",
            code="undo_expired",
        )
    return None


def _require_undoable(job: ImportJob) -> None:
    refusal = undo_refusal(job)
    if refusal is not None:
        raise refusal


def preview_undo(job: ImportJob) -> UndoPreview:
    """What undoing ``job`` would do now: records removed, restored and kept, the kept ones
    named with the job that changed them since.

    Raises:
        UndoRefused: ``job`` cannot be undone (409).
    """
    _require_undoable(job)
    plan = plan_undo(db.session(), job)
    deadline = undo_deadline(job)
    assert deadline is not None, "a completed job has finished"
    return UndoPreview(plan, conflicts_of(plan.conflicts), deadline)


def conflicts_of(kept: tuple[Kept, ...] | list[Kept]) -> tuple[Conflict, ...]:
    """The kept records in words, each with the job that changed it since."""
    ids = {k.changed_by for k in kept if k.changed_by}
    jobs = (
        {j.id: j for j in db.session.scalars(select(ImportJob).where(ImportJob.id.in_(ids)))}
        if ids
        else {}
    )
    return tuple(
        Conflict(k.key, _reason(k, jobs.get(k.changed_by or "")), jobs.get(k.changed_by or ""))
        for k in kept
    )


def _reason(kept: Kept, job: ImportJob | None) -> str:
    if kept.key is None:
        return "kept: the record no longer exists"
    if job is None:
        return "kept: changed since by an import whose job is no longer kept"
    what = "the undo" if job.phase == UNDO else "the upload"
    return f"kept: changed by {what} of {job.created_at:%-d %b} ({job.original_filename})"


@use_case
def request_undo(job: ImportJob, actor: User | None) -> ImportJob:
    """Queue the undo of ``job`` (a new job, returned); ``actor`` is audited and owns it.

    Raises:
        UndoRefused: ``job`` cannot be undone (409).
    """
    _require_undoable(job)
    role = actor.role if actor is not None else "member"
    undo = ImportJob(
        organisation_id=job.organisation_id,
        user_id=actor.id if actor is not None else None,
        entity_type=job.entity_type,
        mode=job.mode,
        original_filename=job.original_filename,
        queue_name=queues.queue_name_for(job.entity_type, role),
        phase=UNDO,
        undoes_job_id=job.id,
    )
    db.session.add(undo)
    try:
        db.session.flush()
    except IntegrityError:  # another request queued its undo meanwhile
        raise UndoRefused(
            "This import is being undone already; an import is undone at most once.",
            code="already_undone",
        ) from None
    audit.record_job("import_undo_requested", job, actor, f"undo job {undo.id}")
    enqueue_after_commit(undo)
    return undo
