"""Who may see what. Every query of jobs by a user goes through here."""

from __future__ import annotations

from sqlalchemy import Select, select

from ..models import ImportJob, User


def jobs_visible_to(user: User) -> Select:
    """A query of the jobs ``user`` may see: their organisation's, or all for ``super_admin``."""
    query = select(ImportJob)
    if not user.is_super_admin:
        query = query.where(ImportJob.organisation_id == user.organisation_id)
    return query


def find_job(user: User, job_id: str) -> ImportJob | None:
    """The job ``job_id`` if ``user`` may see it, else None (callers answer 404)."""
    from ..extensions import db

    return db.session.scalar(jobs_visible_to(user).where(ImportJob.id == str(job_id)))


def can_act(user: User, job: ImportJob) -> bool:
    """Whether ``user`` may cancel or retry ``job``: its uploader, its organisation's admins,
    or a super admin."""
    if user.is_super_admin:
        return True
    if job.organisation_id != user.organisation_id:
        return False
    return user.is_admin or job.user_id == user.id
