"""API token service: create, list, revoke and authenticate personal Bearer tokens.

A token is ``bk_`` followed by 43 URL-safe characters (256 random bits). It is shown once,
when it is created; the database keeps only its SHA-256 hash and a short prefix for display.

A token once verified is trusted for ``VERIFIED_SECONDS`` by the process that verified it,
so a client polling a job's status costs one query, not two. Any committed change to a token,
a user or an organisation bumps a generation counter in Redis that every request reads: every
web process then verifies its tokens again at once (revocation, deactivation and role changes
take effect on the next request). Without Redis, tokens are verified on every request.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import bindparam, event, inspect, select, update
from sqlalchemy.orm import (
    ORMExecuteState,
    Session,
    class_mapper,
    contains_eager,
    make_transient_to_detached,
)

from . import audit
from .errors import UseCaseError
from .extensions import db, get_redis
from .models import ApiToken, Organisation, User, rows_matched, utcnow
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
    token_hash = hash_token(raw_token)
    generation = _generation()
    if not isinstance(generation, _Unreadable):
        known = _verified.get(token_hash)
        if known is not None and known.valid_at(generation):
            return known.user_in(db.session())
    return _verify(token_hash, generation)


def _verify(token_hash: str, generation: Generation | _Unreadable) -> User | None:
    """The token's user, read from the database, if the token and its user are active
    (remembered under ``generation`` when it could be read); records the token's use."""
    token = db.session.scalar(_TOKEN_WITH_ITS_USER, {"token_hash": token_hash})
    if token is None or token.revoked_at is not None or not token.user.is_active:
        _verified.pop(token_hash, None)
        return None
    if not isinstance(generation, _Unreadable):
        _remember(token_hash, _Verified.of(token.user, generation))
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        token.last_used_at = now
        db.session.commit()
    return token.user


# -- tokens verified lately, and the generation that tells when to verify them again ---------

VERIFIED_SECONDS = 10.0  # the bound on trusting a token when a bump could not reach Redis
VERIFIED_MAX = 10_000  # tokens remembered per process (then forgotten all at once)
GENERATION_KEY = "bulkapp:api-token-generation"
REDIS_RETRY_SECONDS = 5.0  # after Redis failed, tokens are verified in the database this long


class _Unreadable:
    """The generation when Redis cannot be read."""


_UNKNOWN = _Unreadable()
Generation = bytes | str | None  # as Redis returns it; None before the first change
_CHANGES_PENDING = "bulkapp.api_token_generation_bump"
# Changes that never touch who a token lets in: a token's last use, its user's last sign-in.
_IGNORED_CHANGES = frozenset({"last_used_at", "last_login_at"})
_WATCHED = (ApiToken, User, Organisation)
log = logging.getLogger(__name__)


_USER_COLUMNS = tuple(class_mapper(User).column_attrs.keys())


@dataclass(frozen=True)
class _Verified:
    """A token's user as verified (active, in an active organisation), under a generation."""

    generation: Generation
    until: float
    user: dict[str, Any]

    @classmethod
    def of(cls, user: User, generation: Generation) -> _Verified:
        return cls(
            generation,
            time.monotonic() + VERIFIED_SECONDS,
            {key: getattr(user, key) for key in _USER_COLUMNS},
        )

    def valid_at(self, generation: Generation) -> bool:
        return generation == self.generation and time.monotonic() < self.until

    def user_in(self, session: Session) -> User:
        """The user in ``session`` as if loaded there (no query; its organisation is loaded
        when asked for)."""
        user = User(**self.user)
        make_transient_to_detached(user)
        return session.merge(user, load=False)


_verified: dict[str, _Verified] = {}
_lock = threading.Lock()
_REDIS_FAILED_AT = "bulkapp.api_token_redis_failed_at"  # per application, in its extensions


def _remember(token_hash: str, verified: _Verified) -> None:
    with _lock:
        if len(_verified) >= VERIFIED_MAX:
            _verified.clear()
        _verified[token_hash] = verified


def _generation() -> Generation | _Unreadable:
    """The generation counter in Redis (None before any change), or ``_UNKNOWN``."""
    extensions = current_app.extensions
    if time.monotonic() - extensions.get(_REDIS_FAILED_AT, float("-inf")) < REDIS_RETRY_SECONDS:
        return _UNKNOWN
    try:
        return get_redis().get(GENERATION_KEY)
    except RedisError:
        extensions[_REDIS_FAILED_AT] = time.monotonic()
        return _UNKNOWN


@event.listens_for(Session, "after_flush")
def _note_flushed_changes(session: Session, _context: object) -> None:
    """A flush that changed or deleted a token, user or organisation bumps the generation
    once its transaction commits."""
    if any(isinstance(row, _WATCHED) for row in session.deleted) or any(
        isinstance(row, _WATCHED) and _changes_access(row) for row in session.dirty
    ):
        session.info[_CHANGES_PENDING] = True


@event.listens_for(Session, "do_orm_execute")
def _note_bulk_changes(state: ORMExecuteState) -> None:
    """The same for an UPDATE or DELETE statement on their tables (``revoke_all_tokens``)."""
    mapper = state.bind_mapper
    if (state.is_update or state.is_delete) and mapper is not None and mapper.class_ in _WATCHED:
        state.session.info[_CHANGES_PENDING] = True


@event.listens_for(Session, "after_commit")
def _bump_generation(session: Session) -> None:
    if not session.info.pop(_CHANGES_PENDING, False):
        return
    _verified.clear()
    try:
        get_redis().incr(GENERATION_KEY)
    except RedisError:
        log.warning(
            "Redis is unreachable: other web processes may trust changed API tokens for up to %s s",
            VERIFIED_SECONDS,
        )
    except RuntimeError:  # no application: nothing verifies tokens here
        pass


@event.listens_for(Session, "after_rollback")
def _forget_changes(session: Session) -> None:
    session.info.pop(_CHANGES_PENDING, None)


def _changes_access(row: object) -> bool:
    state = inspect(row)
    return any(
        attribute.history.has_changes()
        for key, attribute in state.attrs.items()
        if key not in _IGNORED_CHANGES and key in state.mapper.column_attrs
    )
