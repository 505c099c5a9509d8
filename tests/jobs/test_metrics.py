"""The metrics history: imports rolled up per hour and queue, idempotently, kept for
METRICS_RETENTION_DAYS, and read back per organisation for the monitor's chart."""

from datetime import datetime, timedelta

from sqlalchemy import select

from bulkapp.extensions import db
from bulkapp.jobs import metrics
from bulkapp.models import ImportJob, QueueHour
from tests.jobs.conftest import mechanics_csv, upload

NOON = datetime(2024, 5, 31, 12)


def ended(app, account, status, finished_at, *, waited_s, ran_ms, stored=10, queue=None):
    """An import of ``account`` that ended ``status`` at ``finished_at``."""
    job = db.session.get(ImportJob, upload(app, account, mechanics_csv(1)))
    job.status, job.finished_at = status, finished_at
    job.started_at = finished_at - timedelta(milliseconds=ran_ms)
    job.created_at = job.started_at - timedelta(seconds=waited_s)
    job.processing_duration_ms, job.inserted_rows, job.updated_rows = ran_ms, stored, 0
    if queue:
        job.queue_name = queue
    db.session.commit()
    return job


def hour_rows(hour, organisation_id="all"):
    query = select(QueueHour).where(QueueHour.hour == hour)
    if organisation_id != "all":
        query = query.where(
            QueueHour.organisation_id.is_(None)
            if organisation_id is None
            else QueueHour.organisation_id == organisation_id
        )
    return db.session.scalars(query.order_by(QueueHour.queue_name)).all()


def test_imports_are_counted_in_the_hour_they_ended_across_an_hour_boundary(
    app, ctx, user_a, user_b
):
    before = NOON - timedelta(seconds=30)  # 11:59:30
    after = NOON + timedelta(seconds=30)  # 12:00:30
    for waited in (1, 2, 3, 4, 100):
        ended(app, user_a, "completed", before, waited_s=waited, ran_ms=waited * 1000)
    ended(app, user_a, "failed", after, waited_s=5, ran_ms=500, stored=0)
    ended(app, user_a, "completed", after, waited_s=7, ran_ms=700, stored=3)
    ended(app, user_b, "completed", after, waited_s=9, ran_ms=900, stored=4)
    ended(
        app, user_a, "completed", after, waited_s=1, ran_ms=100, queue="bulk-upload-mechanics-high"
    )

    assert metrics.roll_up_recent(now=NOON + timedelta(minutes=5))["rows"] == 2 + 5, (
        "11:00: organisation A and everyone; 12:00: A's two queues, B's, everyone's two"
    )

    [eleven] = hour_rows(NOON - timedelta(hours=1), user_a.organisation_id)
    assert (eleven.queue_name, eleven.completed, eleven.failed, eleven.rows_stored) == (
        "bulk-upload-mechanics",
        5,
        0,
        50,
    )
    assert (eleven.wait_p50_ms, eleven.wait_p95_ms) == (3000, 100_000)
    assert (eleven.run_p50_ms, eleven.run_p95_ms) == (3000, 100_000)

    plain, high = hour_rows(NOON, user_a.organisation_id)
    assert (plain.completed, plain.failed, plain.rows_stored) == (1, 1, 3)
    assert (high.queue_name, high.completed) == ("bulk-upload-mechanics-high", 1)
    everyone = {row.queue_name: row for row in hour_rows(NOON, None)}
    assert everyone["bulk-upload-mechanics"].completed == 2, "both organisations"
    assert everyone["bulk-upload-mechanics"].wait_p95_ms == 9000


def test_rolling_an_hour_up_again_replaces_it(app, ctx, user_a):
    job = ended(app, user_a, "completed", NOON + timedelta(minutes=10), waited_s=1, ran_ms=10)
    metrics.roll_up(NOON)
    metrics.roll_up(NOON)
    rows = hour_rows(NOON)
    assert sorted((r.organisation_id is None, r.completed) for r in rows) == [(False, 1), (True, 1)]
    job.status = "failed"
    db.session.commit()
    metrics.roll_up(NOON)
    assert sorted((r.completed, r.failed) for r in hour_rows(NOON)) == [(0, 1), (0, 1)]


def test_hours_older_than_the_retention_are_deleted(app, ctx, user_a):
    app.config["METRICS_RETENTION_DAYS"] = 2
    old = NOON - timedelta(days=3)
    db.session.add(
        QueueHour(
            hour=old, queue_name="bulk-upload-mechanics", completed=1, failed=0, rows_stored=0
        )
    )
    db.session.add(
        QueueHour(
            hour=NOON - timedelta(days=1),
            queue_name="bulk-upload-mechanics",
            completed=1,
            failed=0,
            rows_stored=0,
        )
    )
    db.session.commit()
    assert metrics.roll_up_recent(now=NOON)["deleted"] == 1
    assert db.session.scalars(select(QueueHour.hour)).all() == [NOON - timedelta(days=1)]


def test_the_history_is_per_organisation_and_per_period(app, ctx, user_a, user_b):
    ended(app, user_a, "completed", NOON - timedelta(hours=2), waited_s=1, ran_ms=10)
    ended(app, user_a, "failed", NOON - timedelta(days=3), waited_s=1, ran_ms=10)
    ended(app, user_b, "completed", NOON - timedelta(hours=2), waited_s=1, ran_ms=10)
    for hour in (NOON - timedelta(hours=2), NOON - timedelta(days=3)):
        metrics.roll_up(hour)

    day = metrics.history(user_a.organisation_id, "24h", now=NOON)
    assert len(day["buckets"]) == 24 and day["buckets"][-1]["start"] == NOON
    assert [b["completed"] for b in day["buckets"]][-3] == 1
    assert sum(b["failed"] for b in day["buckets"]) == 0, "three days ago is outside 24 h"
    week = metrics.history(user_a.organisation_id, "7d", now=NOON)
    assert len(week["buckets"]) == 28 and sum(b["failed"] for b in week["buckets"]) == 1
    quarter = metrics.history(None, "90d", now=NOON)
    assert len(quarter["buckets"]) == 90
    assert quarter["queues"]["bulk-upload-mechanics"]["completed"] == 2, "everyone"
