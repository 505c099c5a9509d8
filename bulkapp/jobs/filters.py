"""Finding jobs: the filters of the admin jobs table and the API's job list, applied within
what a user may see."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Select, and_, or_, select

from ..entities import REGISTRY
from ..extensions import db
from ..models import FAILED, STATUSES, ImportJob, Organisation, User
from . import failures
from .access import jobs_visible_to

SEARCH_MAX_LENGTH = 200


@dataclass(frozen=True)
class JobFilters:
    """What the user asked to see; empty fields do not filter."""

    entity: str = ""
    status: str = ""
    organisation: int | None = None
    user: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    q: str = ""
    cause: str = ""  # a failure kind (``bulkapp.jobs.failures``)

    def as_args(self) -> dict[str, str]:
        """The filters as query-string arguments (for pagination links)."""
        return {key: str(value) for key, value in asdict(self).items() if value not in ("", None)}


def _int_or_none(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() else None


def _date(raw: str | None, label: str, errors: list[str]) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        errors.append(f"{label} must be a date such as 2024-05-31; it was ignored.")
        return None


def parse_job_filters(args: Mapping[str, str]) -> tuple[JobFilters, list[str]]:
    """Filters from request arguments, and messages about the ones that made no sense."""
    errors: list[str] = []
    entity = (args.get("entity") or "").strip()
    if entity and entity not in REGISTRY:
        errors.append(f"Unknown file type {entity!r}; it was ignored.")
        entity = ""
    status = (args.get("status") or "").strip()
    if status and status not in STATUSES:
        errors.append(f"Unknown status {status!r}; it was ignored.")
        status = ""
    cause = (args.get("cause") or "").strip()
    if cause and cause not in failures.LABELS:
        errors.append(f"Unknown failure cause {cause!r}; it was ignored.")
        cause = ""
    filters = JobFilters(
        cause=cause,
        entity=entity,
        status=status,
        organisation=_int_or_none(args.get("organisation")),
        user=_int_or_none(args.get("user")),
        date_from=_date(args.get("date_from"), "From", errors),
        date_to=_date(args.get("date_to"), "To", errors),
        q=(args.get("q") or "").strip()[:SEARCH_MAX_LENGTH],
    )
    return filters, errors


def search_jobs(
    viewer: User, filters: JobFilters, after: tuple[datetime, str] | None = None
) -> Select:
    """The jobs ``viewer`` may see that match ``filters``, newest first (ties by id).

    ``after`` is a (created_at, id) position in that order: only the jobs after it are kept
    (the API's cursor).
    """
    query = jobs_visible_to(viewer)
    if filters.entity:
        query = query.where(ImportJob.entity_type == filters.entity)
    if filters.status:
        query = query.where(ImportJob.status == filters.status)
    if filters.organisation is not None:
        # Within what the viewer may see: another organisation's id matches nothing.
        query = query.where(ImportJob.organisation_id == filters.organisation)
    if filters.user is not None:
        query = query.where(ImportJob.user_id == filters.user)
    if filters.date_from:
        query = query.where(
            ImportJob.created_at >= datetime.combine(filters.date_from, datetime.min.time())
        )
    if filters.date_to:
        query = query.where(
            ImportJob.created_at
            < datetime.combine(filters.date_to + timedelta(days=1), datetime.min.time())
        )
    if filters.cause:
        query = query.where(
            ImportJob.status == FAILED, failures.cause_of(ImportJob) == filters.cause
        )
    if filters.q:
        query = query.where(
            or_(
                ImportJob.id == filters.q,
                ImportJob.original_filename.icontains(filters.q, autoescape=True),
            )
        )
    if after is not None:
        created_at, job_id = after
        query = query.where(
            or_(
                ImportJob.created_at < created_at,
                and_(ImportJob.created_at == created_at, ImportJob.id < job_id),
            )
        )
    return query.order_by(ImportJob.created_at.desc(), ImportJob.id.desc())


def filter_choices(viewer: User) -> dict[str, list]:
    """Organisations and users the filter menus offer ``viewer``."""
    users = select(User).order_by(User.email)
    organisations: list[Organisation] = []
    if viewer.is_super_admin:
        organisations = list(db.session.scalars(select(Organisation).order_by(Organisation.name)))
    else:
        users = users.where(User.organisation_id == viewer.organisation_id)
    return {
        "organisations": organisations,
        "users": list(db.session.scalars(users)),
        "entities": sorted(REGISTRY),
        "statuses": list(STATUSES),
        "causes": sorted(failures.LABELS.items(), key=lambda item: item[1]),
    }
