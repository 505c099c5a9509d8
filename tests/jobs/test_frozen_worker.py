"""A worker frozen inside a chunk's upsert (SIGSTOP of its whole process tree: a paused VM,
a partition) with real ``python worker.py`` processes on PostgreSQL: its session holds the
chunk's row locks, and the worker that takes the import over must not wait on them."""

import signal
from datetime import timedelta

import psutil
import pytest
from redis import Redis
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from bulkapp.extensions import db
from bulkapp.jobs.attempt_sessions import (
    attempt_label,
    attempt_transactions,
    end_attempt_sessions,
)
from bulkapp.jobs.maintenance import REDIS_RESTART_GRACE_SECONDS
from bulkapp.models import utcnow
from tests.jobs.conftest import fetch, mechanics_csv, stored_emails, upload
from tests.jobs.test_worker_crashes import (
    assert_completed_exactly_once,
    redis_settled,
    registered_workers,
    running_mid_way,
    worker_process_of,
)
from tests.processes import wait_for

ROWS = 6000
SMALL_CHUNKS = {"IMPORT_CHUNK_ROWS": "200"}
# The bound: the attempt that takes over commits its first chunk this soon after the
# freeze (a dead lease is noticed within 10 + 5 s).
FIRST_COMMIT_AFTER_FREEZE = timedelta(seconds=20)


def session_of(app, job_id: str, attempt: int, **state: str) -> int | None:
    """The pid of attempt ``attempt``'s database session, if it is in ``state``."""
    conditions = "".join(f" AND {column} = :{column}" for column in state)
    with app.app_context():
        return db.session.scalar(
            text(f"SELECT pid FROM pg_stat_activity WHERE application_name = :label{conditions}"),
            {"label": attempt_label(job_id, attempt), **state},
        )


@pytest.fixture
def postgres(app):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("frozen sessions' locks are PostgreSQL's (run with TEST_DATABASE_URL)")


def test_the_fail_over_ends_every_session_of_the_import_it_gives_up_and_no_other(ctx, postgres):
    with Session(db.engine) as dead, Session(db.engine) as other, Session(db.engine) as idle:
        with attempt_transactions(dead, "job-1", 1), attempt_transactions(other, "job-2", 1):
            dead.execute(text("SELECT 1"))
            other.execute(text("SELECT 1"))
            assert dead.scalar(text("SHOW lock_timeout")) == "30s"
        idle.execute(text("SELECT 1"))
        assert end_attempt_sessions("job-1") == 1
        db.session.commit()
        with pytest.raises(OperationalError):
            dead.execute(text("SELECT 1"))
        label = other.scalar(text("SELECT current_setting('application_name')"))
        assert label == attempt_label("job-2", 1)
        other.commit()  # the attempt's settings end with its transaction
        assert other.scalar(text("SHOW lock_timeout")) == "0"
        assert idle.scalar(text("SELECT 1")) == 1


def test_a_worker_frozen_inside_the_upsert_does_not_hold_up_its_successor(
    app, user_a, processes, postgres
):
    first, second = processes.worker(**SMALL_CHUNKS), processes.worker(**SMALL_CHUNKS)
    connection = Redis.from_url(app.config["REDIS_URL"])
    wait_for(lambda: len(registered_workers(connection)) == 2, 60, "both workers to start")
    wait_for(lambda: redis_settled(connection), REDIS_RESTART_GRACE_SECONDS, "Redis to settle")
    job_id = upload(app, user_a, mechanics_csv(ROWS))
    running_mid_way(app, job_id, first, second)

    with app.app_context():
        # Another session holds the table, so the next chunk's upsert waits inside the
        # database; once the worker is frozen, letting go lets the upsert take its rows.
        db.session.execute(text("LOCK TABLE mechanics IN SHARE MODE"))
        wait_for(
            lambda: session_of(app, job_id, 1, wait_event_type="Lock"),
            60,
            "the import's upsert to wait for the table",
        )
        running = worker_process_of(connection, job_id)
        doomed, survivor = (first, second) if running.ppid() == first.pid else (second, first)
        tree = [psutil.Process(doomed.pid), *doomed.descendants()]
        for process in tree:
            process.send_signal(signal.SIGSTOP)
        frozen_at = utcnow()
        db.session.rollback()
    wait_for(
        lambda: session_of(app, job_id, 1, state="idle in transaction"),
        30,
        "the frozen worker's session to hold the chunk's rows",
    )
    stored_at_freeze = fetch(app, job_id).processed_rows
    assert 0 < stored_at_freeze < ROWS

    def resumed_past_the_freeze():
        survivor.ensure_running()
        job = fetch(app, job_id)
        return job.attempts == 2 and job.processed_rows > stored_at_freeze and job

    resumed = wait_for(resumed_past_the_freeze, 120, "the other worker to commit a chunk")
    # The job row's time of the successor's latest commit: its first came at or before it.
    print(
        f"the successor committed {(resumed.updated_at - frozen_at).total_seconds():.1f} s "
        "after the freeze"
    )
    assert resumed.updated_at - frozen_at <= FIRST_COMMIT_AFTER_FREEZE
    assert session_of(app, job_id, 1) is None, "the frozen attempt's session was ended"

    for process in tree:  # the frozen machine wakes up: it must not write beside its successor
        process.send_signal(signal.SIGCONT)
    assert_completed_exactly_once(app, job_id, attempts=2)
    assert len(stored_emails(app)) == ROWS
    wait_for(
        lambda: "took the job over" in doomed.log_tail(200),
        60,
        "the woken worker to stop its attempt",
        watching=[doomed],
    )
    assert fetch(app, job_id).status == "completed"
