"""The change log follows its job's retention: the nightly clean-up forgets the log of jobs
that finished JOB_RETENTION_HOURS ago, and keeps the others'."""

from datetime import timedelta

from sqlalchemy import func, select

from bulkapp.extensions import db
from bulkapp.jobs.attempts import run_import
from bulkapp.jobs.maintenance import nightly_clean_up
from bulkapp.models import ENTITY_TABLES, ImportJob, RecordChange, utcnow
from tests.ingest.conftest import MECHANICS_HEADER, create_job, mechanic_rows

TABLE = ENTITY_TABLES["mechanics"]


def logged(job_id: str) -> int:
    return db.session.scalar(select(func.count()).where(RecordChange.import_job_id == job_id))


def test_the_nightly_clean_up_forgets_the_change_log_of_expired_jobs_only(ctx, user_a):
    ctx.config["JOB_RETENTION_HOURS"] = 48
    first = create_job(user_a, MECHANICS_HEADER + mechanic_rows(4))
    run_import(first.id)
    old = create_job(user_a, MECHANICS_HEADER + mechanic_rows(2, first_name="Jane"))
    run_import(old.id)
    recent = create_job(user_a, MECHANICS_HEADER + mechanic_rows(4, first_name="Lerato"))
    run_import(recent.id)
    assert (logged(old.id), logged(recent.id)) == (2, 4)
    db.session.get(ImportJob, old.id).finished_at = utcnow() - timedelta(hours=49)
    db.session.get(ImportJob, recent.id).finished_at = utcnow() - timedelta(hours=47)
    db.session.commit()

    assert nightly_clean_up()["change_logs_deleted"] == 1
    assert (logged(old.id), logged(recent.id)) == (0, 4)
    created = db.session.scalars(select(TABLE.c.created_job_id)).all()
    assert created == [first.id] * 4, "which import inserted a record stays known"
