"""Account services: organisations and users (used by the CLI, the people use cases and
tests)."""

from __future__ import annotations

import re
import secrets

from sqlalchemy import func, select

from .extensions import db
from .models import ROLES, Organisation, User
from .people import PeopleError
from .people.passwords import check_password_policy

# One @, something on each side, no spaces: what a mail server needs to try delivering.
EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+")


class AccountError(ValueError):
    """The request cannot be carried out; the message says why."""


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
    """Create an organisation; its slug must be new."""
    slug = slugify(slug or name)
    if find_organisation(slug) or find_organisation(name):
        raise AccountError(f"Organisation {name!r} already exists.")
    organisation = Organisation(name=name.strip(), slug=slug)
    db.session.add(organisation)
    db.session.commit()
    return organisation


def create_user(
    *,
    organisation: Organisation,
    email: str,
    role: str,
    password: str | None = None,
    name: str = "",
    invited: bool = False,
) -> tuple[User, str]:
    """Create a user; returns it and the password (generated when none is given).

    An ``invited`` user gets no password: they set one through their invitation link.
    """
    if role not in ROLES:
        raise AccountError(f"Unknown role {role!r}. Choose one of: {', '.join(ROLES)}.")
    email = email.strip().lower()
    if not EMAIL_PATTERN.fullmatch(email):
        raise AccountError(f"{email!r} is not an e-mail address.")
    if db.session.scalar(select(User).where(func.lower(User.email) == email)):
        raise AccountError(f"A user with e-mail {email} already exists.")
    user = User(organisation=organisation, email=email, role=role, name=name.strip())
    if invited:
        password = ""
    else:
        password = password or secrets.token_urlsafe(12)
        try:
            check_password_policy(password, email)
        except PeopleError as exc:
            raise AccountError(str(exc)) from exc
        user.set_password(password)
    db.session.add(user)
    db.session.commit()
    return user, password


def remember_import_preference(user: User, import_when_certain: bool) -> None:
    """Remember the upload form's "import straight away when the mapping is certain"."""
    if user.import_when_certain != import_when_certain:
        user.import_when_certain = import_when_certain
        db.session.commit()
