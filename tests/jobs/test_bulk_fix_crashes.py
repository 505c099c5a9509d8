"""Queued bulk fixes made by real ``python worker.py`` processes: one worker goes through a
large fix a batch at a time; when it is killed with -9 mid-way, another goes on from the last
committed batch, and every row is changed exactly once."""

from __future__ import annotations

from redis import Redis
from sqlalchemy import select

from bulkapp.extensions import db
from bulkapp.jobs import bulk_fixes, fixes
from bulkapp.models import BulkFixRun, RejectedRow
from tests.jobs.conftest import fetch, mechanics_csv, upload
from tests.jobs.test_worker_crashes import (
    RESUMPTION_CEILING,
    redis_settled,
    registered_workers,
    worker_process_of,
)
from tests.processes import wait_for

ROWS = 8000
# Small batches make the fix slow enough to interrupt mid-way.
SMALL_BATCHES = {"BULK_FIX_BATCH_ROWS": "40"}
# Every e-mail lacks its @; the fix puts it back. Made twice, a row would read '@@'.
ADD_AT = fixes.BulkFix(action="replace", column=2, find="example.com", value="@example.com")


def job_of_rejected_rows(app, account, *workers) -> str:
    """An import whose every row was rejected for its e-mail, made by ``workers``."""
    data = mechanics_csv(ROWS).decode().replace("@example.com", "example.com")
    job_id = upload(app, account, data.encode())
    job = wait_for(
        lambda: (job := fetch(app, job_id)).is_finished and job,
        RESUMPTION_CEILING,
        "the import to finish",
        watching=workers,
    )
    assert (job.status, job.invalid_rows, job.rejected_rows_kept) == ("completed", ROWS, ROWS)
    return job_id


def queue_fix(app, account, job_id: str) -> str:
    """Ask for ADD_AT on every row of the job, as the fix page does; the queued run's id."""
    with app.app_context():
        job = fetch(app, job_id)
        run = bulk_fixes.start_bulk_fix(db.session.merge(job), account.load(), ADD_AT)
        assert isinstance(run, BulkFixRun), "more rows than a request changes: queued"
        return run.id


def run_of(app, run_id: str) -> BulkFixRun:
    with app.app_context():
        run = db.session.get(BulkFixRun, run_id)
        db.session.expunge(run)
        return run


def emails_and_states(app, job_id: str) -> list[tuple[int, str, str]]:
    with app.app_context():
        rows = db.session.scalars(
            select(RejectedRow)
            .where(RejectedRow.import_job_id == job_id)
            .order_by(RejectedRow.row_number)
        ).all()
        return [(row.row_number, row.current_cells[2], row.state) for row in rows]


def assert_every_row_fixed_once(app, job_id: str, run: BulkFixRun) -> None:
    assert (run.status, run.rows_expected, run.rows_done, run.rows_changed) == (
        "completed",
        ROWS,
        ROWS,
        ROWS,
    ), run.error_message
    expected = [(i + 2, f"user{i}@example.com", "fixed") for i in range(ROWS)]
    assert emails_and_states(app, job_id) == expected


def test_a_large_bulk_fix_is_made_by_a_worker(app, user_a, processes):
    worker = processes.worker()
    job_id = job_of_rejected_rows(app, user_a, worker)
    run_id = queue_fix(app, user_a, job_id)
    run = wait_for(
        lambda: (run := run_of(app, run_id)).finished and run,
        RESUMPTION_CEILING,
        "the bulk fix to finish",
        watching=[worker],
    )
    assert run.attempts == 1
    assert_every_row_fixed_once(app, job_id, run)


def test_a_bulk_fix_whose_worker_is_killed_goes_on_from_its_last_batch_on_another(
    app, user_a, processes
):
    first, second = processes.worker(**SMALL_BATCHES), processes.worker(**SMALL_BATCHES)
    connection = Redis.from_url(app.config["REDIS_URL"])
    wait_for(lambda: len(registered_workers(connection)) == 2, 60, "both workers to start")
    job_id = job_of_rejected_rows(app, user_a, first, second)
    wait_for(lambda: redis_settled(connection), 60, "Redis to settle")
    run_id = queue_fix(app, user_a, job_id)
    at_kill = wait_for(
        lambda: 0 < (run := run_of(app, run_id)).rows_done < ROWS // 2 and run,
        RESUMPTION_CEILING,
        "the bulk fix to be under way",
        interval=0.02,
        watching=[first, second],
    )
    running = worker_process_of(connection, run_id)
    doomed, survivor = (first, second) if running.ppid() == first.pid else (second, first)
    doomed.kill_everything()  # kill -9 the supervisor, its worker and work horse mid-batch
    assert at_kill.status == "running" and at_kill.after_row > 0

    def finished():
        survivor.ensure_running()
        return (run := run_of(app, run_id)).finished and run

    run = wait_for(finished, RESUMPTION_CEILING, "the other worker to finish the bulk fix")
    assert run.attempts == 2, "the second attempt went on from the first one's last batch"
    assert_every_row_fixed_once(app, job_id, run)
