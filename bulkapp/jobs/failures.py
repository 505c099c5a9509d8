"""Why imports fail: every failure kind, its words for people, and whether a retry can help.

A file that cannot be imported (empty, the wrong kind of file, unreadable, columns missing,
rows refused) fails the same way every time: those kinds are *permanent* and the user is
offered to upload a corrected file. An outage (database, Redis, a worker that died, a time
limit) is *transient*: retrying the same file can succeed.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import psycopg
from redis.exceptions import RedisError
from rq.exceptions import AbandonedJobError
from rq.timeouts import JobTimeoutException
from sqlalchemy import ColumnElement, func
from sqlalchemy.exc import SQLAlchemyError

from ..ingest.errors import (
    COLUMNS,
    EMPTY_FILE,
    FILE_GONE,
    INVALID_ROWS,
    UNREADABLE,
    VALUE_REFUSED,
    WRONG_TYPE,
)
from ..models import CANCELED, FAILED

DATABASE = "database"
REDIS = "redis"
WORKER_LOST = "worker_lost"
TIMEOUT = "timeout"
UNEXPECTED = "unexpected"

# Each kind in words, as the monitor groups failures ("12 jobs: database unavailable").
LABELS: dict[str, str] = {
    EMPTY_FILE: "empty file",
    WRONG_TYPE: "not a CSV, Excel or JSON file",
    UNREADABLE: "file cannot be read",
    COLUMNS: "missing or duplicate columns",
    INVALID_ROWS: "invalid rows (all or nothing)",
    VALUE_REFUSED: "a value the database refused",
    FILE_GONE: "uploaded file no longer stored",
    DATABASE: "database unavailable",
    REDIS: "job queue (Redis) unavailable",
    WORKER_LOST: "worker stopped or died",
    TIMEOUT: "took longer than its time limit",
    UNEXPECTED: "unexpected error",
}
PERMANENT = frozenset(
    {EMPTY_FILE, WRONG_TYPE, UNREADABLE, COLUMNS, INVALID_ROWS, VALUE_REFUSED, FILE_GONE}
)


def is_permanent(kind: str | None) -> bool:
    """Whether a failure of ``kind`` needs a corrected file rather than a retry."""
    return kind in PERMANENT


def retryable(status: str, kind: str | None) -> bool:
    """Whether a job in ``status`` that failed with ``kind`` may be retried: canceled, or
    failed by an outage."""
    return status == CANCELED or (status == FAILED and not is_permanent(kind))


def label(kind: str | None) -> str:
    """``kind`` in words (jobs that failed before kinds were recorded: "unexpected error")."""
    return LABELS.get(kind or UNEXPECTED, LABELS[UNEXPECTED])


def cause_of(jobs: Any) -> ColumnElement[str]:
    """SQL for the failure kind of ``jobs`` (ImportJob or a subquery's columns), jobs that
    failed before kinds were recorded counting as unexpected errors."""
    return func.coalesce(jobs.failure_kind, UNEXPECTED)


def kind_of(exc: BaseException) -> str:
    """The transient kind of an error that interrupted an attempt."""
    if isinstance(exc, (SQLAlchemyError, sqlite3.Error, psycopg.Error)):  # raw cursors too
        return DATABASE
    if isinstance(exc, RedisError):
        return REDIS
    if isinstance(exc, JobTimeoutException):
        return TIMEOUT
    if isinstance(exc, AbandonedJobError):
        return WORKER_LOST
    return UNEXPECTED
