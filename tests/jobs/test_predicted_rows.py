"""The rows the review's dry run predicts will be rejected: kept once per dry run, replaced
by the next one with the edits kept, read as edited by the import, and replaced by the
import's own rejected rows — with a real RQ worker."""

from __future__ import annotations

import pytest
from redis import Redis
from sqlalchemy import select

from bulkapp.extensions import db
from bulkapp.jobs import fixes
from bulkapp.jobs.rejections import error_report
from bulkapp.jobs.review import change_mapping, commit_review
from bulkapp.models import ImportJob, RejectedRow, RejectedRowProblem, ReviewPolicy
from tests.conftest import fetch_job, run_worker
from tests.jobs.conftest import mechanics_csv, stored_emails
from tests.jobs.test_review import REVIEWED, start, stored_mechanics
from tests.jobs.test_worker_crashes import (
    ROWS,
    SLOW,
    registered_workers,
    rejected_rows_of,
    running_mid_way,
    worker_process_of,
)
from tests.processes import wait_for

EMAIL, PROVINCE = 2, 5  # REVIEWED's columns


@pytest.fixture
def small_chunks(app):
    """Chunks of 4 rows, so the file's 9 rows span three chunks."""
    app.config["IMPORT_CHUNK_ROWS"] = 4


def kept(app, job_id: str) -> list[tuple[int, bool, str, list | None]]:
    """Every kept row of the job: number, predicted, state, edited cells."""
    with app.app_context():
        rows = db.session.execute(
            select(
                RejectedRow.row_number,
                RejectedRow.predicted,
                RejectedRow.state,
                RejectedRow.fixed_cells,
            )
            .where(RejectedRow.import_job_id == job_id)
            .order_by(RejectedRow.predicted, RejectedRow.row_number)
        ).all()
        return [tuple(row) for row in rows]


def indexed(app, job_id: str) -> list[tuple[int, str]]:
    with app.app_context():
        return sorted(
            db.session.execute(
                select(RejectedRowProblem.row_number, RejectedRowProblem.reason).where(
                    RejectedRowProblem.import_job_id == job_id
                )
            ).all()
        )


def edit(app, job_id: str, row: int, cells: dict[int, str]) -> str:
    with app.app_context():
        return fixes.edit_row(db.session.get(ImportJob, job_id), row, cells).state


def reviewed(app, user_a) -> str:
    job_id = start(app, user_a, REVIEWED)
    run_worker(app)
    assert fetch_job(app, job_id).status == "needs_review"
    return job_id


def test_the_dry_run_keeps_each_row_it_predicts_will_be_rejected_once(app, user_a, small_chunks):
    job_id = reviewed(app, user_a)
    assert kept(app, job_id) == [
        (8, True, "invalid", None),
        (9, True, "invalid", None),
        (10, True, "invalid", None),
    ]
    assert [row for row, _ in indexed(app, job_id)] == [8, 9, 10]
    job = fetch_job(app, job_id)
    assert job.analysis["predicted_rows"] == 3 and job.rejected_rows_kept == 0
    with app.app_context():
        job = db.session.get(ImportJob, job_id)
        page = fixes.rejected_page(job)
        assert [row.row_number for row in page.rows] == [8, 9, 10]
        assert page.rows[2].cells[PROVINCE] == "Atlantis"
        assert fixes.fix_counts(job) == {"invalid": 3, "fixed": 0, "sent": 0}
        assert error_report(job) is None, "the report is the import's"


def test_a_new_dry_run_replaces_the_rows_and_checks_the_edits_again(app, user_a, small_chunks):
    job_id = reviewed(app, user_a)
    assert edit(app, job_id, 8, {EMAIL: "gus@example.com"}) == "fixed"
    assert edit(app, job_id, 10, {0: "Ivan"}) == "invalid", "Atlantis is still unknown"
    with app.app_context():
        job = db.session.get(ImportJob, job_id)
        mapping = {
            "columns": {"Cell Number": "mobile_number", "Favourite colour": None},
            "values": {"province": {"Atlantis": "Gauteng"}},
        }
        change_mapping(job, mapping)
    run_worker(app)
    job = fetch_job(app, job_id)
    assert job.status == "needs_review"
    assert job.analysis["counts"]["rejected"] == 1, "Gus is fixed, Atlantis is Gauteng"
    rows = kept(app, job_id)
    assert [(number, state) for number, _, state, _ in rows] == [
        (8, "fixed"),
        (9, "invalid"),
        (10, "fixed"),
    ]
    assert rows[0][3][EMAIL] == "gus@example.com" and rows[2][3][0] == "Ivan"
    assert rows[1][3] is None
    assert [row for row, _ in indexed(app, job_id)] == [9]


def test_the_import_reads_the_edited_rows_and_its_rejected_rows_replace_the_predicted(
    app, user_a, small_chunks
):
    job_id = reviewed(app, user_a)
    edit(app, job_id, 8, {EMAIL: "gus@example.com"})
    edit(app, job_id, 9, {EMAIL: "hal@example"})  # edited, still invalid
    with app.app_context():
        job = db.session.get(ImportJob, job_id)
        with pytest.raises(fixes.FixRefused, match="still in review"):
            fixes.send_fixed_rows(job, user_a.load())
        commit_review(job, user_a.load())
        with pytest.raises(fixes.NothingToFix):  # the edits are locked until the import ends
            fixes.edit_row(db.session.get(ImportJob, job_id), 9, {EMAIL: "x@example.com"})
    assert indexed(app, job_id) == [], "the predicted rows leave the index"
    run_worker(app)
    job = fetch_job(app, job_id)
    assert (job.status, job.total_rows, job.inserted_rows, job.invalid_rows) == (
        "completed",
        9,
        7,
        2,
    )
    assert stored_mechanics(app)["gus@example.com"] == ("0821000007", "Pretoria")
    assert kept(app, job_id) == [(9, False, "invalid", None), (10, False, "invalid", None)]
    with app.app_context():
        job = db.session.get(ImportJob, job_id)
        report = b"".join(error_report(job) or []).decode()
        assert "hal@example" in report and "not-an-email" not in report
        assert [row.row_number for row in fixes.rejected_page(job).rows] == [9, 10]


def test_all_or_nothing_fails_on_the_rows_still_invalid_and_keeps_the_edits_for_a_retry(
    app, user_a, small_chunks
):
    job_id = start(app, user_a, REVIEWED, mode="all_or_nothing")
    run_worker(app)
    edit(app, job_id, 8, {EMAIL: "gus@example.com"})
    with app.app_context():
        commit_review(db.session.get(ImportJob, job_id), user_a.load())
    run_worker(app)
    job = fetch_job(app, job_id)
    assert (job.status, job.invalid_rows) == ("failed", 2)
    assert [(n, predicted) for n, predicted, *_ in kept(app, job_id)] == [
        (9, False),
        (10, False),
        (8, True),
        (9, True),
        (10, True),
    ]
    assert stored_mechanics(app) == {}


def test_an_import_killed_mid_way_resumes_with_the_edits_made_in_review_exactly(
    app, user_a, processes
):
    """Two real workers; the one running the import is killed with kill -9 mid-chunk."""
    bad = [i for i in range(ROWS) if i % 97 == 5]
    data = mechanics_csv(ROWS).decode()
    for i in bad:
        data = data.replace(f",user{i}@example.com,", f",user{i} at example.com,")
    job_id = start(app, user_a, data)
    run_worker(app)  # the analysis
    assert fetch_job(app, job_id).analysis["predicted_rows"] == len(bad)
    mended = bad[::2]
    for i in mended:
        assert edit(app, job_id, i + 2, {2: f"user{i}@example.com"}) == "fixed"
    with app.app_context():
        commit_review(db.session.get(ImportJob, job_id), user_a.load())

    first, second = processes.worker(**SLOW), processes.worker(**SLOW)
    connection = Redis.from_url(app.config["REDIS_URL"])
    wait_for(lambda: len(registered_workers(connection)) == 2, 60, "both workers to start")
    running_mid_way(app, job_id, first, second)
    running = worker_process_of(connection, job_id)
    doomed, survivor = (first, second) if running.ppid() == first.pid else (second, first)
    doomed.kill_everything()  # kill -9 mid-chunk

    def finished():
        survivor.ensure_running()
        return (job := fetch_job(app, job_id)).is_finished and job

    job = wait_for(finished, 240, "the other worker to finish the import")
    still_bad = sorted(set(bad) - set(mended))
    assert (job.status, job.total_rows, job.invalid_rows) == ("completed", ROWS, len(still_bad))
    assert job.inserted_rows == ROWS - len(still_bad)
    assert stored_emails(app) == {f"user{i}@example.com" for i in range(ROWS)} - {
        f"user{i}@example.com" for i in still_bad
    }
    assert rejected_rows_of(app, job_id) == [i + 2 for i in still_bad], "each exactly once"
    assert all(not predicted for _, predicted, *_ in kept(app, job_id))


def test_a_file_imported_straight_after_its_analysis_keeps_only_the_imports_rows(
    app, user_a, small_chunks
):
    certain = (
        "firstName,lastName,email,mobileNumber,province\n"
        "Ann,One,ann@example.com,0821000001,Gauteng\n"
        "Gus,Seven,not-an-email,0821000007,Gauteng\n"
        "Ben,Two,ben@example.com,0821000002,Limpopo\n"
        "Hal,Eight,also bad,0821000008,Gauteng\n"
        "Eve,Five,eve@example.com,0821000005,Gauteng\n"
    )
    job_id = start(app, user_a, certain, review=ReviewPolicy.CERTAIN)
    run_worker(app)
    job = fetch_job(app, job_id)
    assert (job.status, job.inserted_rows, job.invalid_rows) == ("completed", 3, 2)
    assert job.analysis["predicted_rows"] == 2, "the dry run kept two; the import replaced them"
    assert kept(app, job_id) == [(3, False, "invalid", None), (5, False, "invalid", None)]
    assert [row for row, _ in indexed(app, job_id)] == [3, 5]
