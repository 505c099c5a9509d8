"""API token service: create, list, revoke and authenticate personal Bearer tokens.

A token is ``bk_`` followed by 43 URL-safe characters (256 random bits). It is shown once,
when it is created; the database keeps only its SHA-256 hash and a short prefix for display.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import contains_eager

from . import audit
from .errors import UseCaseError
from .extensions import db
from .models import ApiToken, User, rows_matched, utcnow
from .unit_of_work import use_case

TOKEN_PREFIX = "bk_"
DISPLAY_PREFIX_LENGTH = 10
MAX_NAME_LENGTH = 100
# Record use at most this often, so polling clients do not write on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class TokenError(UseCaseError):
    """The token request cannot be carried out; the message says why (422, or 404 for a
    token the user does not have)."""

    status = 422
    code = "invalid_token_request"


def hash_token(raw_token: str) -> str:
    """The hex SHA-256 of ``raw_token`` (what the database stores)."""
    return hashlib.sha256(raw_token.encode("utf-8")).hexdigest()


@use_case
def create_token(user: User, name: str = "") -> tuple[ApiToken, str]:
    """Create a token for ``user``; returns the row and the raw token (shown once only)."""
    name = (name or "").strip() or f"Token created {utcnow():%Y-%m-%d %H:%M} UTC"
    if len(name) > MAX_NAME_LENGTH:
        raise TokenError(f"Token names have at most {MAX_NAME_LENGTH} characters.")
    raw_token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=hash_token(raw_token),
        prefix=raw_token[:DISPLAY_PREFIX_LENGTH],
    )
    db.session.add(token)
    audit.record("token_created", actor=user, target_user=user, detail=f"{token.prefix}… {name}")
    return token, raw_token


def list_tokens(user: User) -> list[ApiToken]:
    """``user``'s tokens, active ones first, newest first."""
    return list(
        db.session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user.id)
            .order_by(
                ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc(), ApiToken.id.desc()
            )
        )
    )


@use_case
def revoke_token(user: User, token_id: int) -> ApiToken:
    """Revoke ``user``'s token ``token_id`` (revoking twice is harmless).

    Raises:
        TokenError: ``user`` has no such token.
    """
    token = db.session.scalar(
        select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id)
    )
    if token is None:
        raise TokenError("There is no such token.", code="not_found", status=404)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(
            "token_revoked", actor=user, target_user=user, detail=f"{token.prefix}… {token.name}"
        )
    return token


def revoke_all_tokens(user: User) -> int:
    """Revoke every active token of ``user`` for good (the caller's use case commits and
    audits); returns how many. Used when a person is deactivated: reactivating them does
    not bring these back, they make new ones."""
    revoked = rows_matched(
        db.session(),
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False),
    )
    return revoked


# A token with its user and their organisation, in one query: every API request asks it, so
# the statement is built (and its cache key computed) once.
_TOKEN_WITH_ITS_USER = (
    select(ApiToken)
    .join(ApiToken.user)
    .join(User.organisation)
    .options(contains_eager(ApiToken.user).contains_eager(User.organisation))
    .where(ApiToken.token_hash == bindparam("token_hash"))
)


def authenticate(raw_token: str) -> User | None:
    """The active user owning the active token ``raw_token``, else None: a deactivated
    user's or organisation's tokens stop at once."""
    if not raw_token.startswith(TOKEN_PREFIX):
        return None
    token = db.session.scalar(_TOKEN_WITH_ITS_USER, {"token_hash": hash_token(raw_token)})
    if token is None or token.revoked_at is not None or not token.user.is_active:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        token.last_used_at = now
        db.session.commit()
    return token.user
