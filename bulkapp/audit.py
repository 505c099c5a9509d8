"""The audit log: record who did what to whom, search it, export it, and forget old entries.

``record`` adds an entry to the current transaction: it is stored with the action it
describes, or not at all.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, cast

from flask import has_request_context, request
from sqlalchemy import CursorResult, Select, delete, func, select

from .extensions import db
from .ingest.report import escape_cell
from .models import AuditEntry, User, utcnow

# Every action the log records, with the words the audit page shows for it.
ACTIONS = {
    "sign_in": "signed in",
    "sign_in_failed": "failed to sign in",
    "sign_out": "signed out",
    "password_changed": "changed their password",
    "password_reset_requested": "asked for a password reset",
    "password_reset": "set a new password by e-mail link",
    "user_invited": "invited",
    "user_created": "created",
    "invitation_resent": "resent the invitation of",
    "role_changed": "changed the role of",
    "user_deactivated": "deactivated",
    "user_reactivated": "reactivated",
    "organisation_created": "created organisation",
    "organisation_renamed": "renamed organisation",
    "organisation_deactivated": "deactivated organisation",
    "organisation_reactivated": "reactivated organisation",
    "token_created": "created API token",
    "token_revoked": "revoked API token",
    "file_uploaded": "uploaded file",
    "import_committed": "imported reviewed file",
    "review_discarded": "discarded file",
    "mapping_saved": "saved mapping",
    "mapping_deleted": "deleted mapping",
    "job_canceled": "canceled job",
    "job_retried": "retried job",
    "jobs_requeued": "requeued failed jobs",
    "job_cleaned": "cleaned job",
    "import_undo_requested": "asked to undo import",
    "jobs_cleaned": "cleaned old jobs",
    "records_exported": "exported records",
    "rows_bulk_fixed": "fixed rejected rows in bulk of job",
}
CSV_COLUMNS = ("time_utc", "actor", "action", "target", "detail", "address")
MAX_FILTER_LENGTH = 254


def record(
    action: str,
    *,
    actor: User | None = None,
    target_user: User | None = None,
    target: str = "",
    organisation_id: int | None = None,
    detail: str = "",
) -> AuditEntry:
    """Add an entry for ``action`` to the session (the caller's commit stores it).

    The organisation defaults to the target user's, else the actor's; ``actor=None`` is the
    system (the nightly clean-up, say). The client address is taken from the request.
    """
    assert action in ACTIONS, f"unknown audit action {action!r}"
    if organisation_id is None:
        owner = target_user or actor
        organisation_id = owner.organisation_id if owner is not None else None
    entry = AuditEntry(
        action=action,
        actor_id=actor.id if actor is not None else None,
        actor_email=actor.email if actor is not None else "",
        target_user_id=target_user.id if target_user is not None else None,
        target=(target or (target_user.email if target_user is not None else ""))[:254],
        organisation_id=organisation_id,
        detail=detail[:500],
        address=(request.remote_addr or "")[:64] if has_request_context() else "",
        created_at=utcnow(),
    )
    db.session.add(entry)
    return entry


@dataclass(frozen=True)
class AuditFilters:
    """What the audit page and its CSV export are narrowed to."""

    actor: str = ""
    action: str = ""
    since: date | None = None
    until: date | None = None


def record_job(action: str, job: Any, actor: User | None, detail: str = "") -> AuditEntry:
    """Add an entry for ``action`` on the import job ``job`` (an ImportJob), in its
    organisation, naming its file unless ``detail`` says more."""
    return record(
        action,
        actor=actor,
        target=job.id,
        organisation_id=job.organisation_id,
        detail=detail or job.original_filename,
    )


def _date(raw: str, label: str, errors: list[str]) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors.append(f"{label} must be a date such as 2026-01-31.")
        return None


def parse_filters(args: Mapping[str, str]) -> tuple[AuditFilters, list[str]]:
    """Filters from query arguments, and a message for each one that was not understood."""
    errors: list[str] = []
    action = (args.get("action") or "").strip()
    if action and action not in ACTIONS:
        errors.append(f"Unknown action {action!r}.")
        action = ""
    filters = AuditFilters(
        actor=(args.get("actor") or "").strip().lower()[:MAX_FILTER_LENGTH],
        action=action,
        since=_date((args.get("since") or "").strip(), "From", errors),
        until=_date((args.get("until") or "").strip(), "To", errors),
    )
    return filters, errors


def entries_visible_to(user: User, filters: AuditFilters) -> Select:
    """``user``'s organisation's entries (every entry for ``super_admin``), newest first."""
    query = select(AuditEntry)
    if not user.is_super_admin:
        query = query.where(AuditEntry.organisation_id == user.organisation_id)
    if filters.actor:
        query = query.where(func.lower(AuditEntry.actor_email).contains(filters.actor))
    if filters.action:
        query = query.where(AuditEntry.action == filters.action)
    if filters.since:
        query = query.where(AuditEntry.created_at >= datetime.combine(filters.since, time.min))
    if filters.until:
        end = datetime.combine(filters.until + timedelta(days=1), time.min)
        query = query.where(AuditEntry.created_at < end)
    return query.order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())


def csv_lines(query: Select) -> Iterator[str]:
    """The entries ``query`` selects as CSV text, line by line (read from the database as
    they are written), every cell safe to open in a spreadsheet."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(cells: Iterable[object]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([escape_cell(cell) for cell in cells])
        return buffer.getvalue()

    yield line(CSV_COLUMNS)
    entry: AuditEntry
    for entry in db.session.scalars(query.execution_options(yield_per=500)):
        yield line(
            (
                f"{entry.created_at:%Y-%m-%d %H:%M:%S}",
                entry.actor_email or "system",
                entry.action,
                entry.target,
                entry.detail,
                entry.address,
            )
        )


def forget_entries_older_than(days: int) -> int:
    """Delete entries older than ``days`` days (the caller commits); returns how many."""
    # Session.execute is typed to return a Result; a DELETE's is always a CursorResult.
    result = cast(
        CursorResult[Any],
        db.session.execute(
            delete(AuditEntry)
            .where(AuditEntry.created_at < utcnow() - timedelta(days=days))
            .execution_options(synchronize_session=False)
        ),
    )
    return result.rowcount
