"""Signing in by e-mail and password, in the same time whether the account exists or not."""

from __future__ import annotations

import logging
import secrets
from functools import cache

from flask import current_app, has_request_context, request
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from .. import audit
from ..extensions import db
from ..models import User, utcnow
from ..unit_of_work import use_case
from . import PeopleError

log = logging.getLogger(__name__)

SIGN_IN_REFUSED = "E-mail or password is incorrect."


@cache
def _dummy_hash(method: str) -> str:
    """A hash of a random password, checked when the account does not exist, so that an
    unknown address takes as long to refuse as a wrong password."""
    return generate_password_hash(secrets.token_urlsafe(16), method=method)


def find_user(email: str) -> User | None:
    """The user with ``email`` (any case)."""
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def sign_in(email: str, password: str) -> User:
    """The user whose e-mail and password these are, if they may sign in now.

    Every refusal is logged (never the password) and audited, and answers the same words.

    Raises:
        PeopleError: unknown account, wrong password, invitation not accepted yet, or the
            user or their organisation deactivated (401).
    """
    user = _attempt_sign_in(email, password)
    if user is None:
        raise PeopleError(SIGN_IN_REFUSED, status=401, code="sign_in_refused")
    return user


@use_case
def _attempt_sign_in(email: str, password: str) -> User | None:
    """Record a sign-in, or a refused one (so the refusal is audited too); the user, or None."""
    user = find_user(email)
    if user is None or user.password_hash is None:
        check_password_hash(_dummy_hash(current_app.config["PASSWORD_HASH_METHOD"]), password)
        correct = False
    else:
        correct = user.check_password(password)
    if not correct or user is None or not user.is_active:
        reason = (
            "unknown account"
            if user is None
            else ("wrong password" if not correct else "account not active")
        )
        address = request.remote_addr if has_request_context() else None
        log.warning("failed sign-in for %r from %s: %s", email.strip()[:254], address, reason)
        audit.record(
            "sign_in_failed",
            target_user=user,
            target=email.strip().lower(),
            detail=reason,
        )
        return None
    user.last_login_at = utcnow()
    audit.record("sign_in", actor=user, target_user=user)
    return user


@use_case
def sign_out(user: User) -> None:
    """Record that ``user`` signed out (the web ends the session)."""
    audit.record("sign_out", actor=user, target_user=user)
