"""What organisation admins do to their people: list, invite, change roles, deactivate and
reactivate. ``super_admin`` may do the same in every organisation, and the command line
(``flask users create``: an ``actor`` of None, audited as the system) creates people with a
password.

The rules, the same on the pages and in the API:

- only admins manage people; another organisation's people are invisible (404) except to
  ``super_admin``;
- nobody acts on themselves (their own role, their own deactivation);
- nobody acts on a person whose role is above their own, nor gives a role above their own
  (so ``super_admin`` is given only by a ``super_admin``).
"""

from __future__ import annotations

import re
import secrets

from sqlalchemy import func, select

from .. import audit
from ..extensions import db
from ..models import ROLES, Organisation, User, is_storable_id, role_rank
from ..tokens import revoke_all_tokens
from ..unit_of_work import use_case
from . import PeopleError
from .passwords import check_password_policy, send_invitation

# One @, something on each side, no spaces: what a mail server needs to try delivering.
EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+")


def create_user(
    *,
    organisation: Organisation,
    email: str,
    role: str,
    password: str | None = None,
    name: str = "",
    invited: bool = False,
) -> tuple[User, str]:
    """Add a user (flushed, not audited: ``invite`` and ``create_with_password`` are the use
    cases, and test fixtures use this); returns it and the password (generated when none is
    given). An ``invited`` user gets no password: they set one through their invitation link.

    Raises:
        PeopleError: an unknown role, a bad or taken address (422, 409), a refused password.
    """
    if role not in ROLES:
        raise PeopleError(
            f"Unknown role {role!r}. Choose one of: {', '.join(ROLES)}.",
            status=422,
            code="invalid_role",
        )
    email = email.strip().lower()
    if not EMAIL_PATTERN.fullmatch(email):
        raise PeopleError(f"{email!r} is not an e-mail address.", status=422, code="invalid_person")
    if db.session.scalar(select(User.id).where(func.lower(User.email) == email)):
        raise PeopleError(
            f"A user with e-mail {email} already exists.", status=409, code="email_taken"
        )
    user = User(organisation=organisation, email=email, role=role, name=name.strip())
    if invited:
        password = ""
    else:
        password = password or secrets.token_urlsafe(12)
        check_password_policy(password, email)
        user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user, password


def remember_import_preference(user: User, import_when_certain: bool) -> None:
    """Remember the upload form's "import straight away when the mapping is certain" (with
    the upload: the caller commits)."""
    if user.import_when_certain != import_when_certain:
        user.import_when_certain = import_when_certain


def require_admin(actor: User) -> None:
    """Raises PeopleError (403) unless ``actor`` is an administrator."""
    if not actor.is_admin:
        raise PeopleError("Only administrators manage people.")


def _check_role(actor: User, role: str) -> None:
    if role not in ROLES:
        raise PeopleError(
            f"Unknown role {role!r}. Choose one of: {', '.join(ROLES)}.",
            status=422,
            code="invalid_role",
        )
    if role_rank(role) < role_rank(actor.role):
        raise PeopleError("You cannot give a role above your own.")


def roles_grantable_by(actor: User) -> list[str]:
    """The roles ``actor`` may give: their own and every lower one (none for non-admins)."""
    if not actor.is_admin:
        return []
    return [role for role in ROLES if role_rank(role) >= role_rank(actor.role)]


def may_manage(actor: User, person: User) -> bool:
    """Whether ``actor`` may change ``person``'s role or (de)activate them."""
    return (
        actor.is_admin
        and actor.id != person.id
        and (actor.is_super_admin or actor.organisation_id == person.organisation_id)
        and role_rank(person.role) >= role_rank(actor.role)
    )


def people_visible_to(actor: User, organisation_id: int | None = None) -> list[User]:
    """The people of ``actor``'s organisation (of ``organisation_id``, or everyone, for a
    ``super_admin``), by e-mail.

    Raises:
        PeopleError: ``actor`` is not an admin (403).
    """
    require_admin(actor)
    query = select(User).order_by(User.email)
    if not actor.is_super_admin:
        query = query.where(User.organisation_id == actor.organisation_id)
    elif organisation_id is not None:
        query = query.where(User.organisation_id == organisation_id)
    return list(db.session.scalars(query))


def find_person(actor: User, user_id: int) -> User:
    """The person ``user_id`` if ``actor`` may see them.

    Raises:
        PeopleError: ``actor`` is not an admin (403), or there is no such person in their
            organisation (404).
    """
    require_admin(actor)
    person = db.session.get(User, user_id) if is_storable_id(user_id) else None
    if person is None or not (
        actor.is_super_admin or person.organisation_id == actor.organisation_id
    ):
        raise PeopleError(
            "There is no such person in your organisation.", status=404, code="not_found"
        )
    return person


def _require_manageable(actor: User, person: User, self_message: str) -> None:
    if actor.id == person.id:
        raise PeopleError(self_message)
    if not may_manage(actor, person):
        raise PeopleError("You cannot change a person whose role is above your own.")


@use_case
def invite(
    actor: User,
    email: str,
    role: str,
    name: str = "",
    organisation: Organisation | None = None,
) -> User:
    """Add a person who sets their own password through an e-mailed one-time link; until
    then they cannot sign in. Only a ``super_admin`` may invite into another organisation.

    Raises:
        PeopleError: not allowed (403), the role or address is invalid (422), or the address
            is taken (409).
    """
    require_admin(actor)
    _check_role(actor, role)
    organisation = organisation or actor.organisation
    if organisation.id != actor.organisation_id and not actor.is_super_admin:
        raise PeopleError("You can only invite people into your own organisation.")
    if not organisation.active:
        raise PeopleError(
            f"{organisation.name} is deactivated.", status=409, code="organisation_inactive"
        )
    if db.session.scalar(select(User.id).where(func.lower(User.email) == email.strip().lower())):
        raise PeopleError(
            f"{email.strip()} already has an account.", status=409, code="email_taken"
        )
    person, _ = create_user(
        organisation=organisation, email=email, role=role, name=name, invited=True
    )
    audit.record("user_invited", actor=actor, target_user=person, detail=f"as {role}")
    send_invitation(person, actor)
    return person


@use_case
def resend_invitation(actor: User, person: User) -> User:
    """Mail ``person`` a new invitation link (the earlier ones keep working until they
    expire): for an invitation that never arrived, or expired.

    Raises:
        PeopleError: not allowed (403), or ``person`` has set a password already or is
            deactivated (409).
    """
    _require_manageable(actor, person, "You cannot resend your own invitation.")
    if not person.invitation_pending:
        raise PeopleError(
            f"{person.email} has set a password already: there is no invitation to resend.",
            status=409,
            code="invitation_accepted",
        )
    if not (person.active and person.organisation.active):
        raise PeopleError(
            f"{person.email} is deactivated: reactivate them first.",
            status=409,
            code="person_inactive",
        )
    audit.record("invitation_resent", actor=actor, target_user=person)
    send_invitation(person, actor)
    return person


@use_case
def create_with_password(
    actor: User | None,
    organisation: Organisation,
    email: str,
    role: str,
    name: str = "",
    password: str | None = None,
) -> tuple[User, str]:
    """Add a person who signs in with ``password`` (generated when None; the caller shows it
    once). The command line's way in (``actor`` None); an admin would ``invite``.

    Raises:
        PeopleError: as ``create_user``, or a role above the ``actor``'s own (403).
    """
    if actor is not None:
        require_admin(actor)
        _check_role(actor, role)
    person, password = create_user(
        organisation=organisation, email=email, role=role, name=name, password=password
    )
    audit.record("user_created", actor=actor, target_user=person, detail=f"as {role}")
    return person, password


@use_case
def change_role(actor: User, person: User, role: str) -> User:
    """Give ``person`` another role.

    Raises:
        PeopleError: not allowed (403) or an unknown role (422).
    """
    _require_manageable(actor, person, "You cannot change your own role.")
    _check_role(actor, role)
    if person.role != role:
        audit.record(
            "role_changed", actor=actor, target_user=person, detail=f"{person.role} → {role}"
        )
        person.role = role
    return person


@use_case
def set_active(actor: User, person: User, active: bool) -> User:
    """Deactivate ``person`` (their sessions end and their API tokens are revoked for good:
    reactivated, they make new ones; their jobs and records stay) or reactivate them.

    Raises:
        PeopleError: not allowed (403).
    """
    _require_manageable(actor, person, "You cannot deactivate or reactivate yourself.")
    if person.active != active:
        person.active = active
        person.end_sessions()
        revoked = 0 if active else revoke_all_tokens(person)
        audit.record(
            "user_reactivated" if active else "user_deactivated",
            actor=actor,
            target_user=person,
            detail=f"{revoked} API token{'s' if revoked != 1 else ''} revoked" if revoked else "",
        )
    return person
