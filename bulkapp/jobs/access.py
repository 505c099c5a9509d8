"""Who may see and act on which jobs. Every query of jobs by a user goes through here."""

from __future__ import annotations

from typing import Literal

from sqlalchemy import Select, bindparam, select

from ..errors import NOTHING_HERE, Forbidden, NotFound
from ..extensions import db
from ..models import ImportJob, User

JobAction = Literal["view", "act"]


class JobNotFound(NotFound):
    """There is no such job, or it belongs to an organisation the user cannot see (a page
    says no more than it would of any missing page)."""

    code = "job_not_found"
    page_message = NOTHING_HERE

    def __init__(self, job_id: str) -> None:
        super().__init__(f"There is no job {job_id!r}, or you do not have access to it.")
        self.job_id = job_id


class NotAllowed(Forbidden):
    """The user may see the job but not cancel or retry it."""

    page_message = (
        "Only the person who uploaded this file and the organisation's admins can change this job."
    )

    def __init__(self, job_id: str) -> None:
        super().__init__("Only the uploader or an administrator may act on this job.")
        self.job_id = job_id


def jobs_visible_to(user: User) -> Select:
    """A query of the jobs ``user`` may see: their organisation's, or all for ``super_admin``."""
    query = select(ImportJob)
    if not user.is_super_admin:
        query = query.where(ImportJob.organisation_id == user.organisation_id)
    return query


def scope_of(user: User) -> int | None:
    """The organisation whose jobs and figures ``user`` works with; None (all) for a super
    admin."""
    return None if user.is_super_admin else user.organisation_id


def can_act(user: User, job: ImportJob) -> bool:
    """Whether ``user`` may cancel or retry ``job``: its uploader, its organisation's admins,
    or a super admin."""
    if user.is_super_admin:
        return True
    if job.organisation_id != user.organisation_id:
        return False
    return user.is_admin or job.user_id == user.id


# One job by id, as ``jobs_visible_to`` scopes it: every API client polls its job through
# these, so they are built (and their cache keys computed) once.
_ANY_JOB = select(ImportJob).where(ImportJob.id == bindparam("job_id"))
_ORGANISATION_JOB = _ANY_JOB.where(ImportJob.organisation_id == bindparam("organisation_id"))


def require_job(user: User, job_id: str, action: JobAction = "view") -> ImportJob:
    """The job ``job_id``, if ``user`` may view it or, with ``action="act"``, cancel or retry it.

    Raises:
        JobNotFound: ``user`` cannot see the job (or it does not exist).
        NotAllowed: ``user`` can see the job but not act on it.
    """
    job = db.session.scalar(
        _ANY_JOB if user.is_super_admin else _ORGANISATION_JOB,
        {"job_id": str(job_id), "organisation_id": user.organisation_id},
    )
    if job is None:
        raise JobNotFound(job_id)
    if action == "act" and not can_act(user, job):
        raise NotAllowed(job_id)
    return job
