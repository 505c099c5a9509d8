"""How long the change log is kept: as long as its job's files (``JOB_RETENTION_HOURS``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session, aliased

from ..models import FINISHED_STATUSES, ImportJob, RecordChange


def forget_expired_changes(session: Session, cutoff: datetime) -> int:
    """Delete the change log of every job that finished before ``cutoff``, but of one whose
    undo is still waiting or running (it reads the log); returns how many jobs' logs went (in
    the session's transaction)."""
    has_log = exists().where(RecordChange.import_job_id == ImportJob.id)
    undo = aliased(ImportJob)
    being_undone = exists().where(
        undo.undoes_job_id == ImportJob.id, undo.status.not_in(FINISHED_STATUSES)
    )
    expired = session.scalars(
        select(ImportJob.id).where(
            ImportJob.status.in_(FINISHED_STATUSES),
            ImportJob.finished_at < cutoff,
            has_log,
            ~being_undone,
        )
    ).all()
    for job_id in expired:
        session.execute(delete(RecordChange).where(RecordChange.import_job_id == job_id))
    return len(expired)
