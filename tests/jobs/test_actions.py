"""Cancel, retry, requeue all failed and clean up: ImportJob rows and RQ jobs kept in step."""

import io
from datetime import timedelta
from pathlib import Path

import pytest
from rq import Queue
from rq.job import Job

from bulkapp.extensions import db, get_redis
from bulkapp.jobs.access import can_act
from bulkapp.jobs.lifecycle import (
    JobActionError,
    cancel_job,
    clean_jobs,
    record_attempt_failure,
    requeue_failed,
    retry_job,
)
from bulkapp.models import ImportJob, utcnow
from bulkapp.storage import REPORTS, UPLOADS, configured_store, delete_stored, stored_file_exists
from tests.conftest import BOTH_FILE_STORES, make_account, run_worker
from tests.jobs.conftest import fetch, mechanics_csv, stored_count, stored_emails, upload
from tests.processes import wait_for

ROWS = 6000


def outbox(app) -> list[str]:
    directory = Path(app.config["OUTBOX_DIR"])
    return sorted(p.read_text() for p in directory.glob("*.eml")) if directory.exists() else []


def set_status(job_id: str, status: str, **fields) -> ImportJob:
    """Put a job in ``status`` as a worker would have left it."""
    job = db.session.get(ImportJob, job_id)
    job.status = status
    for name, value in fields.items():
        setattr(job, name, value)
    db.session.commit()
    return job


def test_canceling_a_waiting_job_cancels_its_rq_job_and_nothing_is_imported(app, ctx, user_a):
    job_id = upload(app, user_a, mechanics_csv(5))
    job = cancel_job(db.session.get(ImportJob, job_id))
    assert (job.status, job.stage) == ("canceled", "done") and job.finished_at
    connection = get_redis()
    assert Job.fetch(job_id, connection=connection).get_status() == "canceled"
    assert job_id in Queue("bulk-upload-mechanics", connection=connection).canceled_job_registry
    run_worker(app)
    assert fetch(app, job_id).status == "canceled"
    assert stored_count(app) == 0
    assert any("was canceled" in mail for mail in outbox(app)), "the uploader is told"


@pytest.mark.parametrize("status", ["completed", "failed", "canceled"])
def test_a_finished_job_cannot_be_canceled(app, ctx, user_a, status):
    job = set_status(upload(app, user_a, mechanics_csv(1)), status)
    with pytest.raises(JobActionError) as error:
        cancel_job(job)
    assert (error.value.code, error.value.status) == ("job_finished", 409)
    assert "nothing to cancel" in str(error.value)


@BOTH_FILE_STORES
def test_canceling_a_running_job_stops_it_at_a_chunk_boundary_and_retry_resumes_it(
    app, user_a, processes
):
    processes.worker(IMPORT_CHUNK_ROWS="20")
    job_id = upload(app, user_a, mechanics_csv(ROWS))
    wait_for(lambda: fetch(app, job_id).processed_rows > 0, 90, "the import to be under way")
    with app.app_context():
        job = cancel_job(db.session.get(ImportJob, job_id))
        assert job.status == "processing" and job.cancel_requested

    stopped = wait_for(
        lambda: (job := fetch(app, job_id)).is_finished and job, 300, "the import to stop"
    )
    assert stopped.status == "canceled"
    assert 0 < stopped.processed_rows < ROWS
    assert stored_count(app) == stopped.inserted_rows, "committed chunks are kept and counted"

    with app.app_context():
        job = retry_job(db.session.get(ImportJob, job_id))
        # Read back after the commit: the worker may have taken it again already.
        assert job.status in ("queued", "processing", "completed")
        assert (job.cancel_requested, job.rq_job_id) == (False, job_id)
    done = wait_for(
        lambda: (job := fetch(app, job_id)).is_finished and job, 600, "the retried import to finish"
    )
    assert done.status == "completed" and done.attempts == 2
    assert (done.inserted_rows, done.unchanged_rows) == (ROWS, 0)
    assert stored_emails(app) == {f"user{i}@example.com" for i in range(ROWS)}


@pytest.mark.parametrize(
    "status, code",
    [("queued", "job_queued"), ("processing", "job_running"), ("completed", "not_retryable")],
)
def test_only_failed_or_canceled_jobs_can_be_retried(app, ctx, user_a, status, code):
    job = set_status(upload(app, user_a, mechanics_csv(1)), status)
    with pytest.raises(JobActionError) as error:
        retry_job(job)
    assert (error.value.code, error.value.status) == (code, 409)


@BOTH_FILE_STORES
def test_a_job_whose_file_is_gone_cannot_be_retried(app, ctx, user_a):
    job = set_status(upload(app, user_a, mechanics_csv(1)), "failed")
    assert delete_stored(job.stored_path, UPLOADS) == 1
    db.session.commit()
    with pytest.raises(JobActionError, match="Upload the file again") as error:
        retry_job(job)
    assert error.value.code == "file_gone"


@BOTH_FILE_STORES
def test_retrying_a_failed_job_runs_the_same_job_again(app, ctx, user_a):
    job_id = upload(app, user_a, mechanics_csv(3))
    set_status(job_id, "failed", error_message="boom", finished_at=utcnow())
    job = retry_job(db.session.get(ImportJob, job_id))
    assert (job.id, job.status, job.error_message) == (job_id, "queued", None)
    assert job.finished_at is None
    assert Queue("bulk-upload-mechanics", connection=get_redis()).job_ids == [job_id]
    run_worker(app)
    again = fetch(app, job_id)
    assert again.status == "completed" and again.attempts == 1
    assert stored_count(app) == 3


def test_requeue_failed_is_scoped_to_the_organisation(app, ctx, user_a, user_b):
    failed_a = [upload(app, user_a, mechanics_csv(1)) for _ in range(2)]
    failed_b = upload(app, user_b, mechanics_csv(1))
    done_a = upload(app, user_a, mechanics_csv(1))
    for job_id in (*failed_a, failed_b):
        set_status(job_id, "failed")
    set_status(done_a, "completed")
    assert requeue_failed(user_a.organisation_id) == 2
    assert [fetch(app, j).status for j in failed_a] == ["queued", "queued"]
    assert fetch(app, failed_b).status == "failed"
    assert requeue_failed(None) == 1
    assert fetch(app, failed_b).status == "queued" and fetch(app, done_a).status == "completed"


@BOTH_FILE_STORES
def test_clean_jobs_removes_files_reports_and_rq_jobs_of_old_jobs_but_keeps_their_rows(
    app, ctx, user_a, user_b
):
    old, recent, running, other_org = (
        upload(app, user, mechanics_csv(1)) for user in (user_a, user_a, user_a, user_b)
    )
    report, _ = configured_store(REPORTS).save_stream(
        io.BytesIO(b"row,column,message\n"), ".csv", user_a.organisation_id
    )
    week_ago = utcnow() - timedelta(days=7)
    old_job = set_status(old, "completed", finished_at=week_ago, report_path=report)
    old_file = old_job.stored_path
    set_status(recent, "failed", finished_at=utcnow() - timedelta(hours=1))
    set_status(running, "processing")
    set_status(other_org, "completed", finished_at=week_ago)

    counts = clean_jobs(24, user_a.organisation_id)

    assert counts == {"jobs": 1, "rq_jobs_removed": 1, "files_deleted": 1, "reports_deleted": 1}
    cleaned = fetch(app, old)
    assert cleaned.status == "completed" and cleaned.stored_path is None
    assert cleaned.report_path is None and cleaned.rq_job_id is None
    assert not stored_file_exists(old_file, UPLOADS) and not stored_file_exists(report, REPORTS)
    assert stored_file_exists(fetch(app, recent).stored_path, UPLOADS)
    assert stored_file_exists(fetch(app, running).stored_path, UPLOADS)
    assert stored_file_exists(fetch(app, other_org).stored_path, UPLOADS), (
        "other organisations are untouched"
    )
    assert not Job.exists(old, connection=get_redis())


@pytest.mark.parametrize("hours", [-1, float("nan"), float("inf"), 1e12])
def test_clean_jobs_refuses_a_nonsensical_grace_period(ctx, hours):
    with pytest.raises(JobActionError) as error:
        clean_jobs(hours, None)
    assert (error.value.code, error.value.status) == ("invalid_grace_period", 400)


def test_who_may_act_on_a_job(app, ctx, user_a, admin_a, user_b, super_admin):
    colleague = make_account(app, "org-a", "colleague@a.example")
    job = db.session.get(ImportJob, upload(app, user_a, mechanics_csv(1)))
    assert can_act(user_a.load(), job), "the uploader"
    assert can_act(admin_a.load(), job), "an admin of the organisation"
    assert can_act(super_admin.load(), job)
    assert not can_act(colleague.load(), job), "a member who did not upload it"
    assert not can_act(user_b.load(), job), "another organisation"


def test_an_attempt_whose_worker_died_is_recorded_on_the_job(app, ctx, user_a):
    retried = upload(app, user_a, mechanics_csv(1))
    given_up = upload(app, user_a, mechanics_csv(1))
    for job_id in (retried, given_up):
        set_status(job_id, "processing")
    record_attempt_failure(
        retried, will_retry=True, reason="the worker died", kind="worker_lost", retry_in=20
    )
    record_attempt_failure(
        given_up,
        will_retry=False,
        reason="the worker died",
        kind="worker_lost",
        traceback="Traceback: the worker died",
    )
    again = fetch(app, retried)
    assert (again.status, again.stage) == ("queued", "retrying")
    assert again.error_message == (
        "Attempt 0 failed: the worker died. It is retried in 20 s "
        "and resumes from its last saved chunk."
    )
    failed = fetch(app, given_up)
    assert failed.status == "failed" and failed.finished_at
    assert failed.error_message.startswith("The import stopped after 0 attempts: the worker died.")
    assert failed.error_traceback == "Traceback: the worker died"
    assert (again.failure_kind, failed.failure_kind) == ("worker_lost", "worker_lost")
