"""Undo an import: the records it inserted go, the ones it updated get their values back, and
a record changed since by a later import is kept and named; an import is undone once, while
its change log is kept, and only one that stored rows."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from bulkapp.extensions import db
from bulkapp.jobs.attempts import run_import
from bulkapp.jobs.imports import start_import
from bulkapp.jobs.lifecycle import cancel_job, retry_job
from bulkapp.jobs.notifications import build_email
from bulkapp.jobs.undo import UndoRefused, preview_undo, request_undo
from bulkapp.models import ENTITY_TABLES, ImportJob, RecordChange, utcnow
from bulkapp.records.retention import forget_expired_changes
from tests.conftest import fetch_job, run_worker

TABLE = ENTITY_TABLES["mechanics"]
HEADER = "firstName,lastName,email,mobileNumber,city,yearsExperience\n"


def mechanics(numbers, city: str = "Pretoria", years: int = 3) -> bytes:
    """Mechanics ``numbers`` living in ``city`` with ``years`` of experience."""
    return (
        HEADER
        + "".join(
            f"First{n},Last{n},user{n}@example.com,082{n:07d},{city},{years}\n" for n in numbers
        )
    ).encode()


def imported(app, account, data: bytes, filename: str, mode: str = "partial") -> str:
    """Upload ``data`` as ``account`` and run its import; the job id."""
    with app.app_context():
        job, _ = start_import(
            user=account.load(),
            entity_type="mechanics",
            stream=io.BytesIO(data),
            filename=filename,
            mode=mode,
        )
        job_id = job.id
        run_import(job_id)
    return job_id


def table_now(app) -> list[tuple]:
    """Every mechanic, every column, in id order."""
    with app.app_context():
        return [tuple(row) for row in db.session.execute(select(TABLE).order_by(TABLE.c.id))]


def undone(app, account, job_id: str) -> ImportJob:
    """Request the undo of ``job_id`` as ``account``, let a real RQ worker run it; the undo."""
    with app.app_context():
        undo_id = request_undo(db.session.get(ImportJob, job_id), account.load()).id
    run_worker(app)
    return fetch_job(app, undo_id)


@pytest.fixture
def a_then_b(app, user_a):
    """Import A (40 mechanics), then B: the first 20 again, moved to Durban, and 20 new; the
    table after A, and both job ids."""
    app.config["IMPORT_CHUNK_ROWS"] = 7  # several steps, log rows of one record across them
    first = imported(app, user_a, mechanics(range(40)), "a.csv")
    after_a = table_now(app)
    second = imported(app, user_a, mechanics([*range(20), *range(40, 60)], "Durban", 5), "b.csv")
    assert (fetch_job(app, second).updated_rows, fetch_job(app, second).inserted_rows) == (20, 20)
    return first, second, after_a


def test_undoing_the_later_import_gives_back_exactly_the_table_after_the_first(
    app, user_a, a_then_b
):
    first, second, after_a = a_then_b
    with app.app_context():
        plan = preview_undo(db.session.get(ImportJob, second)).plan
    assert (plan.removed, plan.restored, plan.kept, plan.conflicts) == (20, 20, 0, ())
    undo = undone(app, user_a, second)
    assert undo.status == "completed", undo.error_message
    assert undo.database_stats == {"removed": 20, "restored": 20, "kept": 0}
    assert (undo.processed_rows, undo.total_rows, undo.progress) == (40, 40, 100)
    # Every column of every row, ids, timestamps and the jobs that wrote them included.
    assert table_now(app) == after_a
    with app.app_context():
        logged = db.session.execute(
            select(RecordChange.action, RecordChange.changes).where(
                RecordChange.import_job_id == undo.id
            )
        ).all()
        assert sorted(action for action, _ in logged) == ["delete"] * 20 + ["update"] * 20
        restored = [changes for action, changes in logged if action == "update"]
        assert all(c["city"] == ["Durban", "Pretoria"] for c in restored)
        assert all(c["import_job_id"] == [second, first] for c in restored)
        removed = [changes for action, changes in logged if action == "delete"]
        assert {c["email"] for c in removed} == {f"user{n}@example.com" for n in range(40, 60)}
        assert fetch_job(app, second).status == "completed"
        assert db.session.get(ImportJob, second).undone_by.id == undo.id
        mail = build_email(db.session.get(ImportJob, undo.id))
        assert mail["Subject"] == "Undo of the import of b.csv completed"
        assert "Records: 20 removed · 20 restored · 0 kept" in mail.get_content()
    # Then the first import: nothing of B is left to conflict with, so all of A goes.
    assert undone(app, user_a, first).database_stats == {"removed": 40, "restored": 0, "kept": 0}
    assert table_now(app) == []


def test_undoing_the_earlier_import_keeps_and_names_what_the_later_one_changed(
    app, user_a, a_then_b
):
    first, second, after_a = a_then_b
    with app.app_context():
        preview = preview_undo(db.session.get(ImportJob, first))
        uploaded = db.session.get(ImportJob, second).created_at
    assert (preview.plan.removed, preview.plan.restored, preview.plan.kept) == (20, 0, 20)
    assert {c.key for c in preview.conflicts} == {f"user{n}@example.com" for n in range(20)}
    assert {c.reason for c in preview.conflicts} == {
        f"kept: changed by the upload of {uploaded:%-d %b} (b.csv)"
    }
    undo = undone(app, user_a, first)
    assert undo.database_stats == {"removed": 20, "restored": 0, "kept": 20}
    assert len(undo.checkpoint["conflicts"]) == 20
    left = {row[TABLE.c.keys().index("email")]: row for row in table_now(app)}
    assert set(left) == {f"user{n}@example.com" for n in [*range(20), *range(40, 60)]}
    assert {row[TABLE.c.keys().index("city")] for row in left.values()} == {"Durban"}


def refusal(app, job_id: str) -> str:
    with app.app_context():
        with pytest.raises(UndoRefused) as refused:
            preview_undo(db.session.get(ImportJob, job_id))
        return refused.value.code


def test_an_import_is_undone_once_and_only_one_that_stored_rows_in_time(app, user_a):
    job = imported(app, user_a, mechanics(range(3)), "a.csv")
    checked = imported(app, user_a, mechanics(range(3, 6)), "v.csv", mode="validate_only")
    assert refusal(app, checked) == "nothing_to_undo"
    undo = undone(app, user_a, job)
    assert refusal(app, job) == "already_undone"
    with app.app_context():
        with pytest.raises(UndoRefused, match="at most once"):
            request_undo(db.session.get(ImportJob, job), user_a.load())
        assert db.session.scalar(select(ImportJob).where(ImportJob.undoes_job_id == job)).id == (
            undo.id
        )
    assert refusal(app, undo.id) == "not_undoable"
    late = imported(app, user_a, mechanics(range(6, 9)), "late.csv")
    with app.app_context():
        hours = app.config["JOB_RETENTION_HOURS"]
        db.session.execute(
            update(ImportJob)
            .where(ImportJob.id == late)
            .values(finished_at=utcnow() - timedelta(hours=hours, minutes=1))
        )
        db.session.commit()
    assert refusal(app, late) == "undo_expired"
    with app.app_context():
        waiting, _ = start_import(
            user=user_a.load(),
            entity_type="mechanics",
            stream=io.BytesIO(mechanics(range(9, 12))),
            filename="w.csv",
        )
        waiting_id = waiting.id
    assert refusal(app, waiting_id) == "not_completed"


def test_a_canceled_undo_is_retried_and_its_import_keeps_its_log_meanwhile(app, user_a):
    imported(app, user_a, mechanics(range(3)), "a.csv")
    after_a = table_now(app)
    job = imported(app, user_a, mechanics(range(3), "Durban"), "b.csv")
    with app.app_context():
        undo = request_undo(db.session.get(ImportJob, job), user_a.load())
        undo_id = undo.id
        cancel_job(undo, user_a.load())
    with app.app_context():
        with pytest.raises(UndoRefused, match="retry that job to finish it"):
            preview_undo(db.session.get(ImportJob, job))
        retry_job(db.session.get(ImportJob, undo_id), user_a.load())
        # The import's log is past its retention, but its undo still waits: it stays.
        assert forget_expired_changes(db.session(), utcnow() + timedelta(days=365)) == 0
        db.session.commit()
        logged = select(func.count()).where(RecordChange.import_job_id == job)
        assert db.session.scalar(logged) == 3
    run_worker(app)
    assert fetch_job(app, undo_id).status == "completed"
    assert fetch_job(app, undo_id).database_stats == {"removed": 0, "restored": 3, "kept": 0}
    assert table_now(app) == after_a


POLICIES = "policyNumber,type,holderName,startDate,endDate,premium,sumInsured,status\n"


def policies(numbers, premium: str, end: str) -> bytes:
    """Policies ``numbers`` with ``premium`` and end date ``end`` (amounts, dates, choices)."""
    return (
        POLICIES
        + "".join(
            f"POL-{n:04d},motor,Holder {n},2026-01-01,{end},{premium},250000.50,active\n"
            for n in numbers
        )
    ).encode()


def test_amounts_and_dates_are_restored_exactly(app, user_a):
    table = ENTITY_TABLES["policies"]

    def policies_now() -> list[tuple]:
        with app.app_context():
            return [tuple(r) for r in db.session.execute(select(table).order_by(table.c.id))]

    def import_policies(data: bytes, filename: str) -> str:
        with app.app_context():
            job, _ = start_import(
                user=user_a.load(),
                entity_type="policies",
                stream=io.BytesIO(data),
                filename=filename,
            )
            job_id = job.id
            run_import(job_id)
        assert fetch_job(app, job_id).status == "completed"
        return job_id

    import_policies(policies(range(6), "450.00", "2026-12-31"), "a.csv")
    after_a = policies_now()
    later = import_policies(policies(range(3, 9), "475.25", "2027-06-30"), "b.csv")
    assert fetch_job(app, later).updated_rows == 3
    assert undone(app, user_a, later).database_stats == {"removed": 3, "restored": 3, "kept": 0}
    assert policies_now() == after_a
