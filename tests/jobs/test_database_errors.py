"""A database that refuses writes mid-job: retries with backoff, then failed; `rq requeue`
brings the job back once the database is fixed. Real ``python worker.py`` and ``rq`` CLI."""

import subprocess
import sys
from pathlib import Path

import pytest
from redis import Redis
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job
from sqlalchemy import make_url, text

from bulkapp.extensions import db
from bulkapp.jobs.attempt_sessions import LABEL_PREFIX
from tests.conftest import login
from tests.jobs.conftest import fetch, mechanics_csv, stored_count, upload
from tests.processes import wait_for

ROWS = 3000
ALLOWED = 100  # the database accepts this many rows, then refuses every write
WORKER = {"IMPORT_CHUNK_ROWS": "50"}
BACKOFF = (1, 2, 3)  # seconds; the process that enqueues a job sets its retries
CEILING = 300  # seconds to wait for an event: generous, for a busy machine
SQLITE_TRIGGER = f"""
CREATE TRIGGER refuse_writes BEFORE INSERT ON mechanics
WHEN (SELECT count(*) FROM mechanics) >= {ALLOWED}
BEGIN SELECT RAISE(ABORT, 'database refuses writes: disk quota exceeded'); END
"""
POSTGRES_FUNCTION = f"""
CREATE OR REPLACE FUNCTION refuse_writes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (SELECT count(*) FROM mechanics) >= {ALLOWED} THEN
    RAISE EXCEPTION 'database refuses writes: disk quota exceeded';
  END IF;
  RETURN NEW;
END $$
"""
POSTGRES_TRIGGER = (
    "CREATE TRIGGER refuse_writes BEFORE INSERT ON mechanics "
    "FOR EACH ROW EXECUTE FUNCTION refuse_writes()"
)


@pytest.fixture
def refusing_database(app):
    """Make the mechanics table refuse inserts beyond ALLOWED rows; yields a repair function."""
    with app.app_context():
        postgres = db.engine.dialect.name == "postgresql"
        statements = [POSTGRES_FUNCTION, POSTGRES_TRIGGER] if postgres else [SQLITE_TRIGGER]
        with db.engine.begin() as connection:
            for statement in statements:
                connection.execute(text(statement))

    def repair():
        with app.app_context(), db.engine.begin() as connection:
            connection.execute(
                text(
                    "DROP TRIGGER refuse_writes ON mechanics"
                    if postgres
                    else "DROP TRIGGER refuse_writes"
                )
            )

    yield repair
    # The schema outlives the test (the test process's tables are only emptied).
    with app.app_context(), db.engine.begin() as connection:
        connection.execute(
            text(
                "DROP FUNCTION IF EXISTS refuse_writes() CASCADE"
                if postgres
                else "DROP TRIGGER IF EXISTS refuse_writes"
            )
        )


def rq_status(connection: Redis, job_id: str) -> str | None:
    try:
        return Job.fetch(job_id, connection=connection).get_status()
    except NoSuchJobError:
        return None


def fail_for_good(app, user_a, processes) -> tuple[str, set[str]]:
    """Run an import against the refusing database until its retries are used up."""
    connection = Redis.from_url(app.config["REDIS_URL"])
    app.config["IMPORT_RETRY_INTERVALS"] = BACKOFF
    worker = processes.worker(**WORKER)
    job_id = upload(app, user_a, mechanics_csv(ROWS))
    seen: set[str] = set()

    def failed():
        worker.ensure_running()
        seen.add(rq_status(connection, job_id))
        return fetch(app, job_id).status == "failed"

    wait_for(failed, CEILING, "the job to fail after its retries", interval=0.05)
    registry = Queue("bulk-upload-mechanics", connection=connection).failed_job_registry
    wait_for(lambda: job_id in registry, CEILING, "RQ to record the failure")
    return job_id, seen


def test_database_error_is_retried_with_backoff_then_fails_keeping_committed_chunks(
    app, user_a, processes, refusing_database
):
    job_id, seen = fail_for_good(app, user_a, processes)

    job = fetch(app, job_id)
    assert job.attempts == 4, "one attempt and three retries"
    assert "scheduled" in seen, "retries wait out their backoff in the scheduled registry"
    assert "refuses writes" in job.error_message
    assert job.error_traceback
    assert job.failure_kind == "database", "an outage: retrying can help"
    assert stored_count(app) == ALLOWED
    assert (job.processed_rows, job.inserted_rows) == (ALLOWED, ALLOWED)


def test_rq_requeue_on_the_command_line_brings_a_failed_job_back_and_the_page_follows(
    app, user_a, processes, refusing_database
):
    job_id, _ = fail_for_good(app, user_a, processes)
    refusing_database()
    client = login(app.test_client(), user_a.email)
    assert client.get(f"/jobs/{job_id}/state").get_json()["status"] == "failed"

    requeue = subprocess.run(
        [
            str(Path(sys.executable).parent / "rq"),
            "requeue",
            "--url",
            app.config["REDIS_URL"],
            "--queue",
            "bulk-upload-mechanics",
            "--all",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert requeue.returncode == 0, requeue.stderr
    statuses: list[str] = []

    def finished():
        state = client.get(f"/jobs/{job_id}/state").get_json()
        if not statuses or statuses[-1] != state["status"]:
            statuses.append(state["status"])
        return state["finished"] and state["status"] != "failed"

    wait_for(finished, CEILING, "the requeued job to finish", interval=0.05)
    assert statuses[-1] == "completed"
    assert "processing" in statuses, statuses
    assert stored_count(app) == ROWS
    job = fetch(app, job_id)
    assert job.attempts == 5 and job.inserted_rows == ROWS and job.error_message is None


def terminate_worker_connections(app) -> int:
    """Kill the database connections of the worker processes, as a restarting or failing-over
    PostgreSQL server would; returns how many were open. Inside an attempt's transactions a
    connection goes by the attempt's name (``attempt_sessions``)."""
    with app.app_context(), db.engine.begin() as connection:
        return len(
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE (application_name = :name OR application_name LIKE :attempts) "
                    "AND datname = current_database() "
                    "AND pid <> pg_backend_pid()"
                ),
                {"name": WORKER_APPLICATION_NAME, "attempts": LABEL_PREFIX + "%"},
            ).all()
        )


WORKER_APPLICATION_NAME = "bulkapp-test-worker"


@pytest.fixture
def worker_with_named_connections(app, processes):
    """Start a worker whose database connections PostgreSQL knows by a name of their own."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip(
            "only a database server has connections to kill (run with "
            "TEST_DATABASE_URL, as CI does)"
        )
    app.config["IMPORT_RETRY_INTERVALS"] = BACKOFF
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).update_query_dict(
        {"application_name": WORKER_APPLICATION_NAME}
    )
    return lambda: processes.worker(
        DATABASE_URL=url.render_as_string(hide_password=False), **WORKER
    )


def test_a_killed_database_connection_is_recorded_with_its_own_words_and_retried(
    app, user_a, worker_with_named_connections
):
    worker = worker_with_named_connections()
    job_id = upload(app, user_a, mechanics_csv(ROWS))
    wait_for(lambda: fetch(app, job_id).processed_rows > 0, CEILING, "the import to start")
    seen = []
    killed_at_rows = [0]

    def retried_then_completed():
        """Kill the connections whenever the first attempt has committed a chunk since the last
        kill (one idle between two chunks is replaced unnoticed: the pool checks a connection
        before handing it out), never while its failure is being recorded."""
        worker.ensure_running()
        job = fetch(app, job_id)
        if job.error_message:
            seen.append((job.error_message, job.error_traceback))
        elif (
            job.status == "processing"
            and job.attempts == 1
            and job.processed_rows > killed_at_rows[-1]
        ):
            terminate_worker_connections(app)
            killed_at_rows.append(job.processed_rows)
        return job.status == "completed"

    wait_for(
        retried_then_completed, CEILING, "the import to be retried and complete", interval=0.05
    )
    message, trace = seen[0]
    # The database's own words: which ones depends on where the connection was cut.
    assert message.startswith("Attempt 1 failed: "), message
    assert (
        "AdminShutdown: terminating connection due to administrator command" in message
        or "OperationalError: consuming input failed: server closed the connection" in message
    ), message
    assert trace.startswith("Traceback") and "connection" in trace
    job = fetch(app, job_id)
    assert job.attempts == 2 and stored_count(app) == ROWS and job.inserted_rows == ROWS


def test_a_connection_killed_on_every_attempt_fails_the_job_with_its_own_words(
    app, user_a, worker_with_named_connections
):
    worker = worker_with_named_connections()
    job_id = upload(app, user_a, mechanics_csv(ROWS))

    killed_at_rows = [0]

    def failed_for_good():
        """Kill the connections whenever an attempt has committed a chunk since the last kill:
        mid-import, never while a failed attempt is being recorded or the next one claimed."""
        worker.ensure_running()
        job = fetch(app, job_id)
        if job.status == "processing" and job.processed_rows > killed_at_rows[-1]:
            terminate_worker_connections(app)
            killed_at_rows.append(job.processed_rows)
        return job.status == "failed"

    wait_for(failed_for_good, CEILING, "the job to fail after its retries", interval=0.05)
    job = fetch(app, job_id)
    assert job.attempts == 4
    # The database's own words: which ones depends on where the connection was cut.
    assert job.error_message.startswith("The import stopped after 4 attempts: "), job.error_message
    assert (
        "terminating connection due to administrator command" in job.error_message
        or "server closed the connection unexpectedly" in job.error_message
    )
    assert job.error_traceback.startswith("Traceback")
    assert "AdminShutdown" in job.error_traceback or "OperationalError" in job.error_traceback
    assert stored_count(app) == job.inserted_rows, "the chunks committed before are kept"
