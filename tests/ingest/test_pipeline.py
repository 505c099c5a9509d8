import csv
import io
from pathlib import Path

import pytest
from flask import current_app
from sqlalchemy import func, select

from bulkapp.extensions import db
from bulkapp.ingest.pipeline import import_file
from bulkapp.ingest.progress import Progress
from bulkapp.jobs.attempts import JobRecorder, attempt_upload, import_request, run_import
from bulkapp.jobs.rejections import error_report
from bulkapp.jobs.state import job_state
from bulkapp.models import ENTITY_TABLES, ImportJob, RejectedRow, RejectedRowProblem, StoredFile
from bulkapp.storage import UPLOADS, stored_file_exists
from tests.conftest import BOTH_FILE_STORES, DATA_DIR
from tests.ingest.conftest import MECHANICS_HEADER, create_job, mechanic_rows

pytestmark = BOTH_FILE_STORES

TABLE = ENTITY_TABLES["mechanics"]
BAD_ROW = '=HYPERLINK("http://x"),Doe,not-an-email,082 123 4567,5,Pretoria,Gauteng\n'


def stored_rows():
    return db.session.execute(
        select(TABLE.c.organisation_id, TABLE.c.email, TABLE.c.first_name).order_by(TABLE.c.email)
    ).all()


def count_rows() -> int:
    return db.session.scalar(select(func.count()).select_from(TABLE))


class Crash(Exception):
    """The process running the import died."""


class CrashAfter(JobRecorder):
    """The job system's recorder, for a process that dies right after ``chunks`` chunks."""

    def __init__(self, job: ImportJob, attempt: int, chunks: int) -> None:
        super().__init__(job, attempt)
        self.chunks_left, self.checkpoint, self.chunk_recorded = chunks, None, False

    def record(self, progress: Progress) -> None:
        super().record(progress)
        new = progress.checkpoint is not None and progress.checkpoint is not self.checkpoint
        self.checkpoint, self.chunk_recorded = progress.checkpoint, new

    def commit(self) -> None:
        super().commit()
        if self.chunk_recorded:
            self.chunks_left -= 1
            if not self.chunks_left:
                raise Crash


def interrupted_run(job: ImportJob, chunks: int) -> None:
    """Run ``chunks`` chunks of ``job`` and stop, as a worker killed after a commit would."""
    attempt = job.start_attempt()
    with pytest.raises(Crash), attempt_upload(job) as upload:
        import_file(import_request(job, upload), db.session, CrashAfter(job, attempt, chunks))


def report_bytes(job: ImportJob) -> bytes:
    report = error_report(job)
    assert report is not None, "the job has no error report"
    return b"".join(report)


def report_lines(job: ImportJob) -> list[list[str]]:
    text = report_bytes(job).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline="")))


def kept_rows(job: ImportJob) -> list[tuple]:
    """The job's rejected rows as kept: row number, cells, messages, natural key."""
    rows = db.session.scalars(
        select(RejectedRow).where(RejectedRow.import_job_id == job.id).order_by("row_number")
    )
    return [
        (row.row_number, row.cells, [e["message"] for e in row.errors], row.natural_key)
        for row in rows
    ]


def messy_file() -> str:
    """45 rows: 40 valid, a bad row, and duplicates of row 3 on both sides of chunk edges."""
    return (
        MECHANICS_HEADER
        + mechanic_rows(12)
        + BAD_ROW
        + mechanic_rows(1, start=3)
        + mechanic_rows(20, start=12)
        + mechanic_rows(1, start=15)
        + mechanic_rows(8, start=32)
        + mechanic_rows(2, start=3)
    )


def test_partial_mode_stores_good_rows_and_reports_bad_ones(ctx, user_a, small_chunks):
    job = create_job(user_a, messy_file())
    summary = run_import(job.id)
    assert summary["status"] == "completed"
    assert job.validation_stats == {
        "total": 45,
        "valid": 40,
        "invalid": 5,
        "duplicates": 4,
        "warnings": 0,
    }
    assert job.database_stats == {"inserted": 40, "updated": 0, "unchanged": 0, "failed": 0}
    assert (job.total_rows, job.valid_rows, job.invalid_rows, job.inserted_rows) == (45, 40, 5, 40)
    assert count_rows() == 40
    assert job.progress == 100 and job.stage == "done" and job.processing_duration_ms >= 0
    assert not stored_file_exists(job.stored_path, UPLOADS), "the upload goes when the job ends"


def test_re_upload_counts_updated_and_unchanged_rows(ctx, user_a, small_chunks):
    run_import(create_job(user_a, MECHANICS_HEADER + mechanic_rows(25)).id)
    changed = (
        mechanic_rows(5, first_name="Jim") + mechanic_rows(20, start=5) + mechanic_rows(3, start=25)
    )
    job = create_job(user_a, MECHANICS_HEADER + changed)
    run_import(job.id)
    assert job.database_stats == {"inserted": 3, "updated": 5, "unchanged": 20, "failed": 0}
    assert count_rows() == 28


def test_error_report_has_row_numbers_original_cells_errors_and_escaped_formulas(
    ctx, user_a, small_chunks
):
    job = create_job(user_a, messy_file())
    run_import(job.id)
    lines = report_lines(job)
    assert lines[0] == [
        "row",
        "firstName",
        "lastName",
        "email",
        "mobileNumber",
        "yearsExperience",
        "city",
        "province",
        "errors",
    ]
    assert [line[0] for line in lines[1:]] == ["14", "15", "36", "45", "46"]
    bad = lines[1]
    assert bad[1] == '\'=HYPERLINK("http://x")'
    assert bad[3] == "not-an-email" and bad[4] == "082 123 4567"
    assert bad[-1] == "email is not a valid e-mail address."
    assert "Duplicate email 'm3@example.com'" in lines[2][-1]


def test_the_report_built_from_the_kept_rows_equals_the_report_files_of_before(
    ctx, user_a, small_chunks
):
    job = create_job(user_a, (DATA_DIR / "messy_mechanics.csv").read_bytes())
    run_import(job.id)
    assert job.invalid_rows == job.rejected_rows_kept == 9
    assert report_bytes(job) == (DATA_DIR / "messy_mechanics-errors.csv").read_bytes()
    assert job.report_path is None
    assert not list(Path(current_app.config["REPORT_DIR"]).glob("*"))
    assert db.session.scalar(select(func.count()).select_from(StoredFile)) == 0


def test_rejected_rows_keep_their_cells_messages_key_and_problems(ctx, user_a, small_chunks):
    job = create_job(user_a, messy_file())
    run_import(job.id)
    rows = kept_rows(job)
    assert [row[0] for row in rows] == [14, 15, 36, 45, 46]
    assert rows[0] == (
        14,
        [
            '=HYPERLINK("http://x")',
            "Doe",
            "not-an-email",
            "082 123 4567",
            "5",
            "Pretoria",
            "Gauteng",
        ],
        ["email is not a valid e-mail address."],
        None,
    )
    assert rows[1][3] == "m3@example.com", "a duplicate's key is its normalised e-mail"
    [stored] = db.session.scalars(select(RejectedRow).where(RejectedRow.row_number == 14))
    assert stored.errors == [
        {"column": "email", "field": "email", "message": "email is not a valid e-mail address."}
    ]
    problems = db.session.execute(
        select(
            RejectedRowProblem.row_number, RejectedRowProblem.file_column, RejectedRowProblem.reason
        )
        .where(RejectedRowProblem.import_job_id == job.id)
        .order_by(RejectedRowProblem.row_number)
    ).all()
    assert problems[0] == (14, 2, "email is not a valid e-mail address.")
    assert problems[1] == (
        15,
        2,
        "Duplicate email: an earlier row of this file has the same value.",
    )
    assert job.file_layout["headers"] == MECHANICS_HEADER.strip().split(",")
    assert job.file_layout["positions"]["email"] == 2


def test_a_clean_file_leaves_no_error_report(ctx, user_a):
    job = create_job(user_a, MECHANICS_HEADER + mechanic_rows(3))
    run_import(job.id)
    assert job.report_path is None and job.rejected_rows_kept == 0
    assert error_report(job) is None and kept_rows(job) == []
    assert not list(Path(current_app.config["REPORT_DIR"]).glob(f"{job.id}*"))
    assert db.session.scalar(select(func.count()).select_from(StoredFile)) == 0


def test_unknown_columns_are_warnings_on_the_job(ctx, user_a):
    job = create_job(
        user_a,
        "firstName,lastName,email,mobile,Favourite colour\nAnn,Lee,ann@x.com,0821234567,blue\n",
    )
    run_import(job.id)
    assert job.status == "completed"
    assert job.warnings == ["Unknown column 'Favourite colour' was ignored."]
    assert job.validation_stats["warnings"] == 1


def test_all_or_nothing_with_a_bad_row_writes_nothing_and_reports_it(ctx, user_a, small_chunks):
    job = create_job(user_a, messy_file(), mode="all_or_nothing")
    run_import(job.id)
    assert job.status == "failed"
    assert "5 of 45 rows are invalid, so nothing was saved" in job.error_message
    assert count_rows() == 0
    assert len(report_lines(job)) == 6
    assert job.database_stats == {"inserted": 0, "updated": 0, "unchanged": 0, "failed": 40}


def test_all_or_nothing_with_a_clean_file_writes_everything(ctx, user_a, small_chunks):
    job = create_job(user_a, MECHANICS_HEADER + mechanic_rows(35), mode="all_or_nothing")
    run_import(job.id)
    assert job.status == "completed" and count_rows() == 35
    assert job.database_stats["inserted"] == 35 and job.validation_stats["valid"] == 35


def test_validate_only_writes_nothing_and_reports_everything(ctx, user_a, small_chunks):
    job = create_job(user_a, messy_file(), mode="validate_only")
    run_import(job.id)
    assert job.status == "completed" and count_rows() == 0
    assert job.validation_stats == {
        "total": 45,
        "valid": 40,
        "invalid": 5,
        "duplicates": 4,
        "warnings": 0,
    }
    assert job.database_stats == {"inserted": 0, "updated": 0, "unchanged": 0, "failed": 0}
    assert len(report_lines(job)) == 6


def test_progress_stage_and_checkpoint_are_committed_per_chunk(ctx, user_a, small_chunks):
    job = create_job(user_a, MECHANICS_HEADER + mechanic_rows(40))
    interrupted_run(job, chunks=2)
    db.session.expire_all()
    assert job.stage == "saving" and 0 < job.progress < 100
    assert job.checkpoint["rows_done"] == 20 and job.checkpoint["phase"] == "write"
    assert job.processed_rows == 20 and job.inserted_rows == 20 and count_rows() == 20
    run_import(job.id)
    assert job.progress == 100 and job.stage == "done" and job.checkpoint == {}
    assert list(job.stage_timings) == ["parsing", "validating", "saving", "finalizing"]


def test_the_total_is_estimated_from_the_bytes_read_while_the_rows_are_counted(ctx, user_a):
    current_app.config["IMPORT_CHUNK_ROWS"] = 10_000
    job = create_job(user_a, MECHANICS_HEADER + mechanic_rows(40_000))
    interrupted_run(job, chunks=2)
    db.session.expire_all()
    assert job.processed_rows == 20_000
    # The reader runs a buffer ahead of the rows handed over, so the estimate errs low.
    assert 30_000 <= job.estimated_rows <= 44_000
    run_import(job.id)
    assert job.total_rows == 40_000 and job_state(job)["estimated_rows"] is None


def uninterrupted(account, content, mode="partial"):
    job = create_job(account, content, mode=mode)
    run_import(job.id)
    return job


def outcome(job):
    return (job.status, job.validation_stats, job.database_stats, report_bytes(job))


def test_resume_after_a_crash_equals_an_uninterrupted_run(ctx, user_a, user_b, small_chunks):
    reference = uninterrupted(user_b, messy_file())
    job = create_job(user_a, messy_file())
    interrupted_run(job, chunks=2)
    assert [row[0] for row in kept_rows(job)] == [14, 15], "the two committed chunks' rows"
    run_import(job.id)
    assert outcome(job) == outcome(reference)
    assert kept_rows(job) == kept_rows(reference), "each rejected row kept exactly once"
    mine = [(email, name) for org, email, name in stored_rows() if org == user_a.organisation_id]
    theirs = [(email, name) for org, email, name in stored_rows() if org == user_b.organisation_id]
    assert mine == theirs and len(mine) == 40
    assert job.attempts == 2


def test_resume_in_all_or_nothing_and_validate_only(ctx, user_a, user_b, small_chunks):
    for mode, chunks in (("all_or_nothing", 2), ("validate_only", 3)):
        content = MECHANICS_HEADER + mechanic_rows(38) + mechanic_rows(1, start=4)
        reference = uninterrupted(user_b, content, mode)
        job = create_job(user_a, content, mode=mode)
        interrupted_run(job, chunks=chunks)
        run_import(job.id)
        assert outcome(job) == outcome(reference), (mode, chunks)
    assert count_rows() == 0


def test_a_resumed_all_or_nothing_write_pass_finishes_the_rows(ctx, user_a, small_chunks):
    job = create_job(user_a, MECHANICS_HEADER + mechanic_rows(35), mode="all_or_nothing")
    interrupted_run(job, chunks=6)  # 4 validation chunks, then 2 written
    assert count_rows() == 20 and job.checkpoint["phase"] == "write"
    run_import(job.id)
    assert job.status == "completed" and count_rows() == 35
    assert job.database_stats["inserted"] == 35 and job.validation_stats["total"] == 35


def test_cancel_stops_at_a_chunk_boundary_and_keeps_committed_chunks(ctx, user_a, small_chunks):
    job = create_job(user_a, MECHANICS_HEADER + mechanic_rows(40))
    interrupted_run(job, chunks=2)
    db.session.execute(
        ImportJob.__table__.update().where(ImportJob.id == job.id).values(cancel_requested=True)
    )
    db.session.commit()
    summary = run_import(job.id)
    assert summary["status"] == "canceled"
    assert count_rows() == 20 and job.inserted_rows == 20 and job.total_rows == 20
    assert run_import(job.id)["status"] == "canceled" and count_rows() == 20


def test_a_header_only_file_fails_with_a_clear_message(ctx, user_a):
    job = create_job(user_a, MECHANICS_HEADER)
    run_import(job.id)
    assert job.status == "failed" and "no data rows" in job.error_message
