"""An undo killed with -9 mid-way resumes from its last step and ends exact: every step's
removals and restores commit with its checkpoint and its change log, with real
``python worker.py`` processes."""

from collections import Counter

from redis import Redis
from sqlalchemy import select

from bulkapp.extensions import db
from bulkapp.jobs.undo import request_undo
from bulkapp.models import ENTITY_TABLES, ImportJob, RecordChange
from tests.jobs.conftest import HEADER, fetch, mechanics_csv, upload
from tests.jobs.test_worker_crashes import ROWS, SLOW, running_mid_way, worker_process_of
from tests.processes import wait_for

TABLE = ENTITY_TABLES["mechanics"]
HALF = ROWS // 2


def later_csv() -> bytes:
    """The first half of ``mechanics_csv(ROWS)`` renamed, and as many new mechanics."""
    numbers = [*range(HALF), *range(ROWS, ROWS + HALF)]
    body = "".join(f"Renamed{i},Last{i},user{i}@example.com,082{i:07d}\n" for i in numbers)
    return (HEADER + body).encode()


def table_now(app) -> list[tuple]:
    with app.app_context():
        return [tuple(row) for row in db.session.execute(select(TABLE).order_by(TABLE.c.id))]


def finished(app, job_id: str, what: str):
    return wait_for(lambda: (job := fetch(app, job_id)).is_finished and job, 300, what)


def test_an_undo_killed_mid_way_resumes_and_ends_exact(app, user_a, processes):
    worker = processes.worker(**SLOW)
    first = upload(app, user_a, mechanics_csv(ROWS), "a.csv")
    assert finished(app, first, "the first import").status == "completed"
    after_first = table_now(app)
    second = upload(app, user_a, later_csv(), "b.csv")
    job = finished(app, second, "the second import")
    assert (job.status, job.updated_rows, job.inserted_rows) == ("completed", HALF, HALF)

    with app.app_context():
        undo_id = request_undo(db.session.get(ImportJob, second), user_a.load()).id
    running_mid_way(app, undo_id, worker)
    worker_process_of(Redis.from_url(app.config["REDIS_URL"]), undo_id).kill()
    undo = finished(app, undo_id, "the undo to resume")
    assert undo.status == "completed", undo.error_message
    assert undo.attempts == 2, "killed once, resumed once"
    assert undo.database_stats == {"removed": HALF, "restored": HALF, "kept": 0}
    assert table_now(app) == after_first
    with app.app_context():
        logged = db.session.execute(
            select(RecordChange.action, RecordChange.record_id).where(
                RecordChange.import_job_id == undo_id
            )
        ).all()
    assert Counter(action for action, _ in logged) == {"update": HALF, "delete": HALF}
    assert len({record for _, record in logged}) == ROWS, "each record logged once"
