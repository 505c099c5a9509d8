"""Rule 5 of the service contract with real RQ jobs that carry a Retry (SimpleWorker)."""

import pytest
from sqlalchemy import func, select

from bulkapp.extensions import db, get_redis
from bulkapp.ingest import persist
from bulkapp.jobs import queues
from bulkapp.models import ENTITY_TABLES
from bulkapp.storage import UPLOADS, stored_file_exists
from tests.conftest import BOTH_FILE_STORES, run_worker
from tests.ingest.conftest import MECHANICS_HEADER, create_job, mechanic_rows

pytestmark = BOTH_FILE_STORES


@pytest.fixture
def flaky_database(monkeypatch):
    """Saves whose call number is in ``fail_on`` raise, as a dropped connection would."""
    calls = {"count": 0, "fail_on": set()}
    real_save = persist.Upserter.save

    def save(self, columns, count):
        calls["count"] += 1
        if calls["count"] in calls["fail_on"]:
            raise RuntimeError("server closed the connection unexpectedly")
        return real_save(self, columns, count)

    monkeypatch.setattr(persist.Upserter, "save", save)
    return calls


@pytest.fixture
def small_chunks(app):
    """Chunks of 10 rows, so the 25-row file spans three."""
    app.config["IMPORT_CHUNK_ROWS"] = 10


def enqueued_job(app, account, retry_intervals):
    """A 25-row import on its real queue, with one retry per interval."""
    job = create_job(account, MECHANICS_HEADER + mechanic_rows(25))
    job.queue_name = queues.queue_name_for("mechanics")
    db.session.commit()
    app.config["IMPORT_RETRY_INTERVALS"] = retry_intervals
    queues.enqueue_import(get_redis(), job.queue_name, job.id)
    return job


def stored() -> int:
    return db.session.scalar(select(func.count()).select_from(ENTITY_TABLES["mechanics"]))


def test_a_failed_attempt_with_retries_left_goes_back_to_queued(
    app, ctx, user_a, small_chunks, flaky_database
):
    flaky_database["fail_on"] = {2}
    job = enqueued_job(app, user_a, (60,))  # the retry waits for a scheduler: not in this burst
    run_worker(app)
    db.session.expire_all()
    assert job.status == "queued" and job.stage == "retrying"
    assert job.error_message == (
        "Attempt 1 failed: RuntimeError: server closed the connection "
        "unexpectedly. It is retried in 60 s and resumes from its last "
        "saved chunk."
    )
    assert "Traceback" in job.error_traceback
    assert stored_file_exists(job.stored_path, UPLOADS), "the upload is kept for the retry"
    assert stored() == 10 and job.checkpoint["rows_done"] == 10


def test_the_retry_resumes_from_the_checkpoint_and_completes(
    app, ctx, user_a, small_chunks, flaky_database
):
    flaky_database["fail_on"] = {2}
    job = enqueued_job(app, user_a, (0,))
    run_worker(app)
    db.session.expire_all()
    assert job.status == "completed", job.error_message
    assert job.attempts == 2 and stored() == 25
    assert job.database_stats == {"inserted": 25, "updated": 0, "unchanged": 0, "failed": 0}
    assert job.error_message is None
    assert flaky_database["count"] == 4  # 2 saves in attempt 1, then only the 2 chunks left


def test_without_retries_left_the_job_fails_with_a_message_and_traceback(
    app, ctx, user_a, small_chunks, flaky_database
):
    flaky_database["fail_on"] = set(range(1, 100))
    job = enqueued_job(app, user_a, (0,))
    run_worker(app)
    db.session.expire_all()
    assert job.status == "failed" and job.attempts == 2
    assert job.error_message.startswith(
        "The import stopped after 2 attempts: RuntimeError: "
        "server closed the connection unexpectedly."
    )
    assert "Traceback" in job.error_traceback
    assert stored() == 0
