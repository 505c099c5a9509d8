"""Liveness and readiness probes (public: no token needed)."""

from __future__ import annotations

import logging

from flask import Blueprint
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ...extensions import db, get_redis
from ...storage import REPORTS, UPLOADS, configured_store
from ..helpers import public
from .errors import error_response, ok

bp = Blueprint("health", __name__)

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
    """Ready to serve: the database and Redis answer, and the file store takes uploads and
    reports (a folder each, or the database); else 503 naming what is wrong."""
    problems = {
        "database": None if database_reachable() else "unreachable",
        "redis": None if redis_reachable() else "unreachable",
        "uploads": None if configured_store(UPLOADS).check_writable() else "not writable",
        "reports": None if configured_store(REPORTS).check_writable() else "not writable",
    }
    report = {name: problem or "ok" for name, problem in problems.items()}
    failing = [f"{name} {problem}" for name, problem in problems.items() if problem]
    if failing:
        return error_response(
            503,
            f"Not ready: {'; '.join(failing)}.",
            "not_ready",
            {"Retry-After": "10"},
            {"checks": report},
        )
    return ok({"status": "ready", "checks": report})
