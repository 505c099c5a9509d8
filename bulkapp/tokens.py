"""API token service: create, list, revoke and authenticate personal Bearer tokens.

A token is ``bk_`` followed by 43 URL-safe characters (256 random bits). It is shown once,
when it is created; the database keeps only its SHA-256 hash and a short prefix for display.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import contains_eager

from . import audit
from .extensions import db
from .models import ApiToken, User, utcnow

TOKEN_PREFIX = "bk_"
DISPLAY_PREFIX_LENGTH = 10
MAX_NAME_LENGTH = 100
# Record use at most this often, so polling clients do not write on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class TokenError(ValueError):
    """The token request cannot be carried out; the message says why."""


def hash_token(raw_token: str) -> str:
    """The hex SHA-256 of ``raw_token`` (what the database stores)."""
    return hashlib.sha256(raw_token.encode("utf-8")).hexdigest()


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
    db.session.commit()
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


def revoke_token(user: User, token_id: int) -> ApiToken:
    """Revoke ``user``'s token ``token_id`` (revoking twice is harmless).

    Raises:
        TokenError: ``user`` has no such token.
    """
    token = db.session.scalar(
        select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id)
    )
    if token is None:
        raise TokenError("There is no such token.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(
            "token_revoked", actor=user, target_user=user, detail=f"{token.prefix}… {token.name}"
        )
        db.session.commit()
    return token


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
