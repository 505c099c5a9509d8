"""Whose records a user may see: their organisation's; a ``super_admin`` any organisation's."""

from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..models import Organisation, RecordExport, User, is_storable_id
from . import RecordsError

NO_SUCH_ORGANISATION = "There is no such organisation, or you do not have access to it."


def viewable_organisation(
    viewer: User, organisation_id: int | None = None, slug: str | None = None
) -> Organisation:
    """The organisation whose records ``viewer`` asked for (by id or slug; their own when
    neither is given).

    Raises:
        RecordsError: 404 for an organisation that does not exist or is not theirs.
    """
    if organisation_id is None and not slug:
        return viewer.organisation
    if slug:
        found = db.session.scalar(select(Organisation).where(Organisation.slug == slug))
    elif organisation_id is not None and is_storable_id(organisation_id):
        found = db.session.get(Organisation, organisation_id)
    else:
        found = None
    if found is None or not (viewer.is_super_admin or found.id == viewer.organisation_id):
        raise RecordsError(NO_SUCH_ORGANISATION, status=404, code="organisation_not_found")
    return found


def organisations_to_pick(viewer: User) -> list[Organisation]:
    """The organisations a ``super_admin`` may pick from (nobody else picks)."""
    if not viewer.is_super_admin:
        return []
    return list(db.session.scalars(select(Organisation).order_by(Organisation.name)))


def find_export(viewer: User, export_id: str) -> RecordExport:
    """The export ``export_id`` if ``viewer`` asked for it (a ``super_admin``: any).

    Raises:
        RecordsError: 404 for an export that does not exist or is someone else's.
    """
    export = db.session.get(RecordExport, str(export_id)[:36])
    if export is None or not (viewer.is_super_admin or export.user_id == viewer.id):
        raise RecordsError(
            "There is no such export, or it is not yours.", status=404, code="export_not_found"
        )
    return export


def recent_exports(viewer: User, organisation_id: int, limit: int = 5) -> list[RecordExport]:
    """The last exports ``viewer`` asked for of ``organisation_id``'s records, newest first."""
    return list(
        db.session.scalars(
            select(RecordExport)
            .where(
                RecordExport.user_id == viewer.id,
                RecordExport.organisation_id == organisation_id,
            )
            .order_by(RecordExport.created_at.desc())
            .limit(limit)
        )
    )
