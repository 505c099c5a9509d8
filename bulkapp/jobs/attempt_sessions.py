"""The database sessions of import attempts: named after their attempt, bounded, and ended
when their attempt is given up for dead.

A worker that freezes (SIGSTOP, a paused VM, a partition) while its session is inside a
chunk's transaction keeps that chunk's row locks, and the attempt that takes the import over
would wait on them until the frozen session dies. So on PostgreSQL every transaction of an
attempt names itself in ``application_name`` (``bulkapp import <job id> #<attempt>``, shown
in ``pg_stat_activity``), and the fail-over ends the sessions so named before it queues the
import again (``end_attempt_sessions``). As a second line, should that fail, each attempt
transaction also bounds its own lock waits and idle time and turns on TCP keepalives, so
that a session nobody ends still dies on its own. All of it is ``SET LOCAL``: a connection
goes back to the pool as it came.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ..extensions import db

log = logging.getLogger(__name__)

LABEL_PREFIX = "bulkapp import "
# A statement of an attempt waits at most this long for a lock before it fails (the attempt is
# then retried): longer than any chunk of another import holds the rows it shares.
LOCK_TIMEOUT = "30s"
# A session idle inside an attempt's transaction this long is ended by the server: longer
# than an attempt ever pauses between two statements of one transaction.
IDLE_IN_TRANSACTION_TIMEOUT = "60s"
# The server probes a silent client after 15 s, every 5 s, and gives up after 4 probes or
# 40 s of unacknowledged data: a partitioned or paused worker machine is noticed within ~40 s.
KEEPALIVES = {
    "tcp_keepalives_idle": "15",
    "tcp_keepalives_interval": "5",
    "tcp_keepalives_count": "4",
    "tcp_user_timeout": "40000",
}
# How long the fail-over waits for an ended session to be gone (its locks released).
TERMINATE_WAIT_MS = 5000


def attempt_label(job_id: str, attempt: int) -> str:
    """The ``application_name`` of attempt ``attempt`` at import ``job_id``."""
    return f"{LABEL_PREFIX}{job_id} #{attempt}"


def _settings(job_id: str, attempt: int) -> dict[str, str]:
    return {
        "application_name": attempt_label(job_id, attempt),
        "lock_timeout": LOCK_TIMEOUT,
        "idle_in_transaction_session_timeout": IDLE_IN_TRANSACTION_TIMEOUT,
        **KEEPALIVES,
    }


@contextmanager
def attempt_transactions(session: Session, job_id: str, attempt: int) -> Iterator[None]:
    """Within the block, every transaction ``session`` begins on PostgreSQL carries attempt
    ``attempt``'s name and bounds (see the module's docstring)."""
    if session.get_bind().dialect.name != "postgresql":
        yield
        return
    settings = _settings(job_id, attempt)
    assignments = ", ".join(f"set_config('{name}', :{name}, true)" for name in settings)
    statement = text(f"SELECT {assignments}")

    def name_the_transaction(_session, _transaction, connection) -> None:
        connection.execute(statement, settings)

    event.listen(session, "after_begin", name_the_transaction)
    try:
        yield
    finally:
        event.remove(session, "after_begin", name_the_transaction)


def end_attempt_sessions(job_id: str) -> int:
    """End the PostgreSQL sessions of every attempt at import ``job_id`` (their transactions
    roll back, their locks go), waiting until they are gone; returns how many there were.

    For an import whose attempt was given up for dead, before another attempt starts. Nothing
    to do on SQLite. Runs in the caller's transaction; a refusal (the sessions belong to
    another database role) is logged, leaving the bounds of the second line to end them.
    """
    if db.session.get_bind().dialect.name != "postgresql":
        return 0
    try:
        with db.session.begin_nested():
            ended = db.session.execute(
                text(
                    "SELECT pid, pg_terminate_backend(pid, :wait) FROM pg_stat_activity "
                    "WHERE application_name LIKE :attempts AND pid <> pg_backend_pid()"
                ),
                {"attempts": attempt_label(job_id, 0)[:-1] + "%", "wait": TERMINATE_WAIT_MS},
            ).all()
    except DBAPIError as exc:
        log.warning("import %s: could not end its dead attempt's sessions: %s", job_id, exc)
        return 0
    for pid, gone in ended:
        log.warning(
            "import %s: ended database session %d of an attempt given up for dead%s",
            job_id,
            pid,
            "" if gone else " (it had not exited yet)",
        )
    return len(ended)
