"""Passwords: the policy, changing one, and signed one-time links to set one (reset by
e-mail, invitations).

A link carries the user's id and a fingerprint of their password hash and session
generation, signed with ``SECRET_KEY`` (itsdangerous). Setting a password changes both, so
a link works once; it also expires (``PASSWORD_RESET_MAX_AGE``, ``INVITATION_MAX_AGE``).
"""

from __future__ import annotations

import hashlib
import logging
from functools import cache
from typing import Literal

from flask import current_app, request, url_for
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from .. import audit
from ..extensions import db
from ..jobs.mailing import send_later
from ..models import User
from ..unit_of_work import use_case
from . import PeopleError

log = logging.getLogger(__name__)

LinkPurpose = Literal["reset", "invite"]
MAX_PASSWORD_LENGTH = 200


class InvalidLink(PeopleError):
    """The link is forged, used, expired or its user deactivated."""

    status = 404
    code = "invalid_link"
    title = "Link not valid"


INVALID_LINK = (
    "This link is invalid, has already been used or has expired. "
    "Ask for a new one on the sign-in page (“Forgot your password?”)."
)


@cache
def common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords (zxcvbn's list, MIT licence), lower case."""
    return frozenset(FREQUENCY_LISTS["passwords"])


def check_password_policy(password: str, email: str = "") -> None:
    """Refuse a password that is too short, too long, very common or the e-mail address.

    Raises:
        PeopleError: the password is refused (422); the message says why.
    """
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password) < minimum:
        raise PeopleError(
            f"Passwords need at least {minimum} characters.", status=422, code="weak_password"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PeopleError(
            f"Passwords have at most {MAX_PASSWORD_LENGTH} characters.",
            status=422,
            code="weak_password",
        )
    lowered = password.lower()
    if lowered in common_passwords() or (email and lowered == email.lower()):
        raise PeopleError(
            "This password is one of the most common ones, which attackers try first. "
            "Choose another, e.g. a few unrelated words.",
            status=422,
            code="weak_password",
        )


def set_password(user: User, password: str) -> None:
    """Give ``user`` a new password and end their other sessions (the caller commits)."""
    check_password_policy(password, user.email)
    user.set_password(password)
    user.end_sessions()


@use_case
def change_password(user: User, current_password: str, new_password: str) -> None:
    """``user`` changes their own password; every other session of theirs ends.

    Raises:
        PeopleError: the current password is wrong, or the new one is refused (422).
    """
    if not user.check_password(current_password):
        raise PeopleError("The current password is not correct.", status=422, code="wrong_password")
    set_password(user, new_password)
    audit.record("password_changed", actor=user, target_user=user)


def _serializer(purpose: LinkPurpose) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"bulkapp-{purpose}")


def _fingerprint(user: User) -> str:
    """Changes whenever the password is set or the sessions are ended."""
    seed = f"{user.password_hash}:{user.session_generation}".encode()
    return hashlib.sha256(seed).hexdigest()[:32]


def make_link(user: User, purpose: LinkPurpose) -> str:
    """The full URL of a one-time link to set ``user``'s password."""
    token = _serializer(purpose).dumps([user.id, _fingerprint(user)])
    base = current_app.config["PUBLIC_URL"] or request.host_url.rstrip("/")
    return base + url_for("auth.set_password", purpose=purpose, token=token)


def user_for_link(token: str, purpose: LinkPurpose) -> User:
    """The user a still-valid link of ``purpose`` was made for.

    Raises:
        PeopleError: the link is forged, used, expired or its user deactivated (404).
    """
    max_age = current_app.config[
        "INVITATION_MAX_AGE" if purpose == "invite" else "PASSWORD_RESET_MAX_AGE"
    ]
    try:
        user_id, fingerprint = _serializer(purpose).loads(token, max_age=max_age)
        user = db.session.get(User, int(user_id))
    except (SignatureExpired, BadSignature, TypeError, ValueError):
        user = None
        fingerprint = None
    if (
        user is None
        or fingerprint != _fingerprint(user)
        or not user.active
        or not user.organisation.active
    ):
        raise InvalidLink(INVALID_LINK)
    return user


@use_case
def set_password_from_link(token: str, purpose: LinkPurpose, password: str) -> User:
    """Set a password through a one-time link; the link is spent and old sessions end.

    Raises:
        PeopleError: the link is not valid (404) or the password is refused (422).
    """
    user = user_for_link(token, purpose)
    set_password(user, password)
    audit.record("password_reset", actor=user, target_user=user, detail=purpose)
    return user


@use_case
def request_password_reset(email: str) -> None:
    """E-mail a reset link to ``email`` if it is an active account; otherwise do nothing.

    The caller answers the same either way, so the form tells nobody which addresses exist.
    """
    user = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None or not user.active or not user.organisation.active:
        log.info("password reset asked for %r: no active account", email[:254])
        return
    hours = max(1, current_app.config["PASSWORD_RESET_MAX_AGE"] // 3600)
    body = (
        "Someone (hopefully you) asked to reset your bulkapp password.\n\n"
        f"Set a new password here (the link works once, for {hours} hour(s)):\n"
        f"{make_link(user, 'reset')}\n\n"
        "If you did not ask for this, ignore this e-mail: your password stays as it is.\n"
    )
    send_later(user.email, "Reset your bulkapp password", body, f"reset-{user.id}")
    audit.record("password_reset_requested", actor=user, target_user=user)


def send_invitation(user: User, inviter: User) -> None:
    """Mail ``user`` the one-time link to set their first password (through the queue, once
    the caller's use case commits)."""
    days = max(1, current_app.config["INVITATION_MAX_AGE"] // 86400)
    body = (
        f"{inviter.email} invited you to {user.organisation.name} on bulkapp "
        f"as {user.role.replace('_', ' ')}.\n\n"
        f"Choose your password here (the link works once, for {days} day(s)):\n"
        f"{make_link(user, 'invite')}\n"
    )
    subject = f"You are invited to {user.organisation.name} on bulkapp"
    send_later(user.email, subject, body, f"invite-{user.id}")
