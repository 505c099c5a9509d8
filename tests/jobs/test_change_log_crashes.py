"""The change log survives kill -9 exactly like the rows it describes: a chunk and its log
commit together, so a resumed import logs every record it updated once, with real
``python worker.py`` processes."""

from redis import Redis
from sqlalchemy import func, select

from bulkapp.extensions import db
from bulkapp.models import ENTITY_TABLES, RecordChange
from tests.jobs.conftest import fetch, mechanics_csv, upload
from tests.jobs.test_worker_crashes import ROWS, SLOW, running_mid_way, worker_process_of
from tests.processes import wait_for

TABLE = ENTITY_TABLES["mechanics"]


def renamed_mechanics_csv(rows: int) -> bytes:
    """The mechanics of ``mechanics_csv(rows)``, every one with another first name."""
    return mechanics_csv(rows).replace(b"\nFirst", b"\nRenamed")


def test_an_import_killed_mid_way_resumes_with_its_log_exact(app, user_a, processes):
    first = upload(app, user_a, mechanics_csv(ROWS))
    worker = processes.worker(**SLOW)
    wait_for(lambda: fetch(app, first).status == "completed", 240, "the first import")

    second = upload(app, user_a, renamed_mechanics_csv(ROWS))
    running_mid_way(app, second, worker)
    worker_process_of(Redis.from_url(app.config["REDIS_URL"]), second).kill()
    job = wait_for(
        lambda: (job := fetch(app, second)).is_finished and job, 240, "the import to resume"
    )
    assert (job.status, job.updated_rows) == ("completed", ROWS)
    assert job.attempts == 2, "killed once, resumed once"
    with app.app_context():
        logged = db.session.execute(
            select(TABLE.c.email, RecordChange.changes)
            .join(TABLE, TABLE.c.id == RecordChange.record_id)
            .where(RecordChange.import_job_id == second)
        ).all()
        assert len(logged) == ROWS
        assert len({email for email, _ in logged}) == ROWS, "one row per record"
        for email, changes in logged:
            number = email.removeprefix("user").removesuffix("@example.com")
            assert changes["first_name"] == [f"First{number}", f"Renamed{number}"]
        assert (
            db.session.scalar(select(func.count()).where(TABLE.c.created_job_id == first)) == ROWS
        )
