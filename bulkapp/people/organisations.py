"""What a ``super_admin`` (or the command line) does to organisations: create, rename,
deactivate, reactivate.

A deactivated organisation's users cannot sign in, their sessions end and their API tokens
stop working; its jobs and records stay. An ``actor`` of None is the command line (``flask
orgs create``), which the deployment's operator runs: audited as the system.
"""

from __future__ import annotations

import re

from sqlalchemy import func, or_, select

from .. import audit
from ..extensions import db
from ..models import Organisation, User, is_storable_id
from ..unit_of_work import use_case
from . import PeopleError

MAX_NAME_LENGTH = 200


def slugify(name: str) -> str:
    """``"Acme Insurance Ltd"`` → ``"acme-insurance-ltd"``."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "org"


def find_organisation(name_or_slug: str) -> Organisation | None:
    """The organisation with that slug or (case-insensitive) name."""
    key = name_or_slug.strip()
    return db.session.scalar(
        select(Organisation).where(
            (Organisation.slug == key.lower()) | (func.lower(Organisation.name) == key.lower())
        )
    )


def create_organisation(name: str, slug: str | None = None) -> Organisation:
    """Add an organisation (flushed, not audited: ``add_organisation`` is the use case, and
    test fixtures use this); its name and slug must be new.

    Raises:
        PeopleError: the organisation exists (409).
    """
    slug = slugify(slug or name)
    if find_organisation(slug) or find_organisation(name):
        raise PeopleError(
            f"Organisation {name!r} already exists.", status=409, code="organisation_exists"
        )
    organisation = Organisation(name=name.strip(), slug=slug)
    db.session.add(organisation)
    db.session.flush()
    return organisation


def _require_super_admin(actor: User | None) -> None:
    if actor is not None and not actor.is_super_admin:
        raise PeopleError("Only super admins manage organisations.")


def _clean_name(name: str) -> str:
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME_LENGTH:
        raise PeopleError(
            f"An organisation's name has 1 to {MAX_NAME_LENGTH} characters.",
            status=422,
            code="invalid_name",
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
        raise PeopleError("There is no such organisation.", status=404, code="not_found")
    return organisation


@use_case
def add_organisation(actor: User | None, name: str, slug: str | None = None) -> Organisation:
    """Create an organisation named ``name`` (its slug from ``slug``, else from the name).

    Raises:
        PeopleError: not a ``super_admin`` (403), a bad name (422) or one taken (409).
    """
    _require_super_admin(actor)
    organisation = create_organisation(_clean_name(name), slug)
    audit.record(
        "organisation_created",
        actor=actor,
        target=organisation.name,
        organisation_id=organisation.id,
    )
    return organisation


@use_case
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
        raise PeopleError(
            f"Organisation {name!r} already exists.", status=409, code="organisation_exists"
        )
    if organisation.name != name:
        audit.record(
            "organisation_renamed",
            actor=actor,
            target=name,
            organisation_id=organisation.id,
            detail=f"was {organisation.name}",
        )
        organisation.name = name
    return organisation


@use_case
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
    return organisation
