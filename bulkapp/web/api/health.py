"""Liveness and readiness probes (public: no token needed)."""

from __future__ import annotations

import logging

from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ...extensions import db, get_redis
from .. import public
from . import bp
from .errors import error_response, ok

log = logging.getLogger(__name__)


def database_reachable() -> bool:
    """True when the database answers ``SELECT 1``."""
    try:
        db.session.execute(text("SELECT 1"))
        return True
    except SQLAlchemyError as exc:
        log.warning("readiness: database unreachable: %s", exc)
        db.session.rollback()
        return False


def redis_reachable() -> bool:
    """True when Redis answers PING."""
    try:
        return bool(get_redis().ping())
    except RedisError as exc:
        log.warning("readiness: Redis unreachable: %s", exc)
        return False


@bp.get("/healthz")
@public
def healthz():
    """The web process is up (checks nothing else)."""
    return ok({"status": "ok"})


@bp.get("/readyz")
@public
def readyz():
    """Ready to serve: the database and Redis both answer; 503 naming what is down."""
    checks = {"database": database_reachable(), "redis": redis_reachable()}
    report = {name: "ok" if up else "unreachable" for name, up in checks.items()}
    down = [name for name, up in checks.items() if not up]
    if down:
        return error_response(503, f"Not ready: {' and '.join(down)} unreachable.", "not_ready",
                              {"Retry-After": "10"}, {"checks": report})
    return ok({"status": "ready", "checks": report})
