"""Upkeep: fail-over, sweeper, orphans, registry trimming, nightly clean-up, the cron process."""

import sys
import time
from datetime import timedelta
from pathlib import Path

from rq import Queue
from rq.job import Job
from rq.registry import StartedJobRegistry
from sqlalchemy import func, select

from bulkapp.extensions import db, get_redis
from bulkapp.jobs.maintenance import (
    fail_over_abandoned_imports,
    nightly_clean_up,
    requeue_orphaned_imports,
    sweep_queued_jobs,
    trim_job_registries,
)
from bulkapp.jobs.queues import MAINTENANCE_QUEUE, enqueue_import, get_queue
from bulkapp.jobs.rejections import error_report
from bulkapp.jobs.state import job_state
from bulkapp.models import ImportJob, RejectedRow, RejectedRowProblem, utcnow
from tests.conftest import run_worker
from tests.jobs.conftest import fetch, mechanics_csv, stored_count, upload
from tests.processes import wait_for


def age(job_id: str, seconds: int, **fields) -> None:
    """Make the job look ``seconds`` old (and set ``fields``), as time passing would."""
    job = db.session.get(ImportJob, job_id)
    for name, value in fields.items():
        setattr(job, name, value)
    db.session.flush()
    db.session.execute(
        db.update(ImportJob)
        .where(ImportJob.id == job_id)
        .values(updated_at=utcnow() - timedelta(seconds=seconds))
    )
    db.session.commit()


def test_sweeper_enqueues_queued_jobs_that_never_reached_redis(app, ctx, user_a):
    lost = upload(app, user_a, mechanics_csv(2))
    fresh = upload(app, user_a, mechanics_csv(2))
    get_redis().flushdb()  # as if Redis was down at upload, or lost its data
    age(lost, 120)

    assert sweep_queued_jobs(grace_seconds=60) == 1
    assert Queue("bulk-upload-mechanics", connection=get_redis()).job_ids == [lost]
    assert fetch(app, fresh).status == "queued", "young jobs are left to the web process"
    assert sweep_queued_jobs(grace_seconds=60) == 0, "a job with a live RQ job is left alone"
    run_worker(app)
    assert fetch(app, lost).status == "completed"


def started_by_a_worker_that_vanished(job_id: str, status: str = "processing"):
    """The job as a worker left it when it died: RQ says started, its lease ran out."""
    connection = get_redis()
    queue = get_queue("bulk-upload-mechanics", connection)
    rq_job = queue.fetch_job(job_id)
    queue.remove(rq_job)
    age(job_id, 0, status=status, attempts=1)
    rq_job.set_status("started")
    connection.zadd(StartedJobRegistry(queue=queue).key, {f"{job_id}:lost": time.time() - 1})
    return rq_job


def test_fail_over_puts_an_import_whose_worker_stopped_heartbeating_back_at_once(app, ctx, user_a):
    job_id = upload(app, user_a, mechanics_csv(2))
    waiting = upload(app, user_a, mechanics_csv(2))
    started_by_a_worker_that_vanished(job_id)

    assert fail_over_abandoned_imports(get_redis()) == 1
    assert fail_over_abandoned_imports(get_redis()) == 0, "each lost lease is acted on once"
    job = fetch(app, job_id)
    assert (job.status, job.stage) == ("queued", "retrying")
    assert "the worker running it stopped responding" in job.error_message
    rq_job = Job.fetch(job_id, connection=get_redis())
    assert rq_job.get_status() == "queued" and rq_job.retries_left == 2
    queue = Queue("bulk-upload-mechanics", connection=get_redis())
    assert queue.job_ids == [job_id, waiting], "it goes first, not after a retry's backoff"
    run_worker(app)
    assert fetch(app, job_id).status == "completed"


def test_fail_over_without_retries_left_fails_the_import(app, ctx, user_a):
    job_id = upload(app, user_a, mechanics_csv(2))
    rq_job = started_by_a_worker_that_vanished(job_id)
    rq_job.retries_left = 0
    rq_job.save()
    assert fail_over_abandoned_imports(get_redis()) == 0
    job = fetch(app, job_id)
    assert job.status == "failed" and "stopped responding" in job.error_message
    assert Job.fetch(job_id, connection=get_redis()).get_status() == "failed"


def test_an_import_that_finished_in_the_database_is_settled_not_run_again(app, ctx, user_a):
    job_id = upload(app, user_a, mechanics_csv(2))
    started_by_a_worker_that_vanished(job_id, status="completed")
    assert fail_over_abandoned_imports(get_redis()) == 0
    rq_job = Job.fetch(job_id, connection=get_redis())
    assert rq_job.get_status() == "finished" and rq_job.retries_left == 3
    assert job_id in Queue("bulk-upload-mechanics", connection=get_redis()).finished_job_registry
    job = fetch(app, job_id)
    assert (job.status, job.attempts) == ("completed", 1)


def test_an_import_left_processing_without_an_rq_job_is_queued_again(app, ctx, user_a):
    job_id = upload(app, user_a, mechanics_csv(2))
    get_redis().flushdb()
    age(job_id, 600, status="processing")
    assert requeue_orphaned_imports(get_redis()) == 1
    run_worker(app)
    assert fetch(app, job_id).status == "completed" and stored_count(app) == 2


def test_trimming_keeps_the_newest_completed_and_failed_rq_jobs(ctx):
    connection = get_redis()
    for number in range(5):
        enqueue_import(connection, "bulk-upload-mechanics", f"done-{number}")
    queue = get_queue("bulk-upload-mechanics", connection)
    for number in range(3):
        queue.enqueue("bulkapp.no_such_module.function", job_id=f"broken-{number}")
    run_worker(ctx)
    assert trim_job_registries(keep_completed=2, keep_failed=1) == {"completed": 3, "failed": 2}
    assert sorted(queue.finished_job_registry.get_job_ids(cleanup=False)) == ["done-3", "done-4"]
    assert queue.failed_job_registry.get_job_ids(cleanup=False) == ["broken-2"]
    assert not Job.exists("done-0", connection=connection)


def test_nightly_clean_up_uses_the_retention_setting(app, ctx, user_a):
    job_id = upload(app, user_a, mechanics_csv(1))
    ctx.config["JOB_RETENTION_HOURS"] = 48
    job = db.session.get(ImportJob, job_id)
    job.status, job.finished_at = "completed", utcnow() - timedelta(hours=49)
    db.session.commit()
    stored = Path(job.stored_path)
    assert nightly_clean_up()["files_deleted"] == 1
    assert not stored.exists() and fetch(app, job_id).status == "completed"


def rejected_rows_of(job_id: str) -> tuple[int, int]:
    """How many rejected rows, and problems of them, the job keeps."""
    return tuple(
        db.session.scalar(
            select(func.count()).select_from(model).where(model.import_job_id == job_id)
        )
        for model in (RejectedRow, RejectedRowProblem)
    )


def test_rejected_rows_follow_the_jobs_retention(app, ctx, user_a):
    bad = mechanics_csv(3).replace(b"user1@example.com", b"not-an-email")
    old, recent = upload(app, user_a, bad), upload(app, user_a, bad)
    run_worker(app)
    ctx.config["JOB_RETENTION_HOURS"] = 48
    for job_id, hours in ((old, 49), (recent, 47)):
        job = db.session.get(ImportJob, job_id)
        assert job.rejected_rows_kept == 1 and rejected_rows_of(job_id) == (1, 1)
        job.finished_at = utcnow() - timedelta(hours=hours)
    db.session.commit()

    assert nightly_clean_up()["reports_deleted"] == 1
    assert rejected_rows_of(old) == (0, 0) and rejected_rows_of(recent) == (1, 1)
    cleaned = db.session.get(ImportJob, old)
    assert cleaned.rejected_rows_kept == 0 and cleaned.invalid_rows == 1, "the counts stay"
    assert not job_state(cleaned)["has_error_report"] and error_report(cleaned) is None


def test_the_cron_process_enqueues_the_maintenance_jobs(app, processes):
    processes.start([sys.executable, "worker.py", "--cron"])
    with app.app_context():
        queue = get_queue(MAINTENANCE_QUEUE, get_redis())
        functions = wait_for(
            lambda: len(names := {job.func_name for job in queue.jobs}) >= 3 and names,
            30,
            "the cron process to enqueue its interval jobs",
        )
    assert functions == {
        "bulkapp.jobs.tasks.recover",
        "bulkapp.jobs.tasks.trim",
        "bulkapp.jobs.tasks.roll_up_metrics",
    }
