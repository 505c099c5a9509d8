"""What a ``super_admin`` does to organisations: create, rename, deactivate, reactivate.

A deactivated organisation's users cannot sign in, their sessions end and their API tokens
stop working; its jobs and records stay.
"""

from __future__ import annotations

from sqlalchemy import func, or_, select

from .. import audit
from ..accounts import AccountError, create_organisation, slugify
from ..extensions import db
from ..models import Organisation, User, is_storable_id
from . import PeopleError

MAX_NAME_LENGTH = 200


def _require_super_admin(actor: User) -> None:
    if not actor.is_super_admin:
        raise PeopleError("Only super admins manage organisations.")


def _clean_name(name: str) -> str:
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME_LENGTH:
        raise PeopleError(
            f"An organisation's name has 1 to {MAX_NAME_LENGTH} characters.", 422, "invalid_name"
        )
    return name


def all_organisations(actor: User) -> list[Organisation]:
    """Every organisation, by name (``super_admin`` only)."""
    _require_super_admin(actor)
    return list(db.session.scalars(select(Organisation).order_by(Organisation.name)))


def find_organisation_for(actor: User, organisation_id: int) -> Organisation:
    """The organisation ``organisation_id``: any for a ``super_admin``, else only their own.

    Raises:
        PeopleError: there is no such organisation, or it is not theirs (404).
    """
    organisation = (
        db.session.get(Organisation, organisation_id) if is_storable_id(organisation_id) else None
    )
    if organisation is None or not (
        actor.is_super_admin or organisation.id == actor.organisation_id
    ):
        raise PeopleError("There is no such organisation.", 404, "not_found")
    return organisation


def add_organisation(actor: User, name: str) -> Organisation:
    """Create an organisation named ``name``.

    Raises:
        PeopleError: not a ``super_admin`` (403), a bad name (422) or one taken (409).
    """
    _require_super_admin(actor)
    try:
        organisation = create_organisation(_clean_name(name))
    except AccountError as exc:
        raise PeopleError(str(exc), 409, "organisation_exists") from exc
    audit.record(
        "organisation_created",
        actor=actor,
        target=organisation.name,
        organisation_id=organisation.id,
    )
    db.session.commit()
    return organisation


def rename(actor: User, organisation: Organisation, name: str) -> Organisation:
    """Rename ``organisation`` (its slug stays, so scripts using it keep working).

    Raises:
        PeopleError: not a ``super_admin`` (403), a bad name (422) or one taken (409).
    """
    _require_super_admin(actor)
    name = _clean_name(name)
    taken = db.session.scalar(
        select(Organisation.id).where(
            or_(func.lower(Organisation.name) == name.lower(), Organisation.slug == slugify(name)),
            Organisation.id != organisation.id,
        )
    )
    if taken:
        raise PeopleError(f"Organisation {name!r} already exists.", 409, "organisation_exists")
    if organisation.name != name:
        audit.record(
            "organisation_renamed",
            actor=actor,
            target=name,
            organisation_id=organisation.id,
            detail=f"was {organisation.name}",
        )
        organisation.name = name
        db.session.commit()
    return organisation


def set_organisation_active(actor: User, organisation: Organisation, active: bool) -> Organisation:
    """Deactivate or reactivate ``organisation``.

    Raises:
        PeopleError: not a ``super_admin``, or their own organisation (403).
    """
    _require_super_admin(actor)
    if organisation.id == actor.organisation_id:
        raise PeopleError("You cannot deactivate or reactivate your own organisation.")
    if organisation.active != active:
        organisation.active = active
        audit.record(
            "organisation_reactivated" if active else "organisation_deactivated",
            actor=actor,
            target=organisation.name,
            organisation_id=organisation.id,
        )
        db.session.commit()
    return organisation
