"""Monitor figures from real Redis registries and from the database."""

import re
import time
from datetime import timedelta

from rq import Worker
from rq.registry import StartedJobRegistry
from rq.suspension import resume, suspend

from bulkapp.extensions import db, get_redis
from bulkapp.jobs import monitor
from bulkapp.jobs.queues import enqueue_import, get_queue
from bulkapp.models import ImportJob, utcnow
from tests.conftest import run_worker
from tests.jobs.conftest import mechanics_csv, upload

BASE = "bulk-upload-mechanics"


def fill_queues(app) -> None:
    """Completed 2, failed 1, then waiting 2 (+1 critical), delayed 1, canceled 1, active 1."""
    connection = get_redis()
    base = get_queue(BASE, connection)
    enqueue_import(connection, BASE, "done-1")
    enqueue_import(connection, BASE, "done-2")
    base.enqueue("bulkapp.no_such_module.function", job_id="broken")
    run_worker(app)
    enqueue_import(connection, BASE, "waiting-1")
    enqueue_import(connection, BASE, "waiting-2")
    enqueue_import(connection, f"{BASE}-critical", "urgent")
    base.enqueue_in(timedelta(hours=1), "bulkapp.jobs.sweep", job_id="later")
    enqueue_import(connection, BASE, "dropped").cancel()
    # A job a worker is running, whose heartbeat has already expired: reading the figures
    # must not clean it up (that would run its failure callback in the web process).
    connection.zadd(StartedJobRegistry(queue=base).key, {"running:exec": time.time() - 60})


def test_queue_stats_count_every_state_of_one_base_queue_and_its_tiers(ctx):
    fill_queues(ctx)
    connection = get_redis()
    expected = {
        "waiting": 3,
        "active": 1,
        "delayed": 1,
        "paused": 0,
        "completed": 2,
        "failed": 1,
        "canceled": 1,
        "total": 9,
    }
    assert monitor.queue_stats(BASE) == expected
    assert monitor.queue_stats(f"{BASE}-critical")["waiting"] == 1
    assert monitor.queue_stats()["total"] >= 9
    assert StartedJobRegistry(BASE, connection=connection).get_job_count(cleanup=False) == 1

    by_base = monitor.all_queue_stats()
    assert {k: v for k, v in by_base[BASE].items() if k != "tiers"} == expected
    assert by_base[BASE]["tiers"][f"{BASE}-critical"]["waiting"] == 1
    assert by_base[BASE]["tiers"][BASE]["waiting"] == 2
    assert set(by_base) == {
        "bulk-upload-mechanics",
        "bulk-upload-members",
        "bulk-upload-policies",
        "bulk-upload-service-providers",
        "notifications",
        "exports",
        "maintenance",
    }


def test_waiting_jobs_count_as_paused_while_workers_are_suspended(ctx):
    connection = get_redis()
    enqueue_import(connection, BASE, "waiting")
    suspend(connection)
    try:
        stats = monitor.queue_stats(BASE)
    finally:
        resume(connection)
    assert (stats["waiting"], stats["paused"]) == (0, 1)


def test_workers_show_name_host_queues_state_current_job_and_heartbeat(ctx):
    connection = get_redis()
    worker = Worker([get_queue(BASE, connection)], connection=connection, name="worker-one")
    worker.register_birth()
    try:
        worker.set_state("busy")
        worker.set_current_job_id("job-42")
        worker.heartbeat()
        [found] = monitor.workers()
    finally:
        worker.register_death()
    assert found["name"] == "worker-one" and found["hostname"] and found["pid"]
    assert (found["queues"], found["state"], found["current_job_id"]) == ([BASE], "busy", "job-42")
    # As every timestamp the app emits: UTC with milliseconds, as JavaScript writes it.
    for timestamp in (found["last_heartbeat"], found["birth"]):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", timestamp), timestamp


def test_organisation_figures_come_from_its_own_jobs(app, ctx, user_a, user_b):
    now = utcnow()
    states = [
        ("queued", "queued", None),
        ("queued", "retrying", None),
        ("processing", "saving", None),
        ("completed", "done", now),
        ("failed", "done", now - timedelta(hours=30)),
    ]
    for status, stage, finished_at in states:
        job = db.session.get(ImportJob, upload(app, user_a, mechanics_csv(1)))
        job.status, job.stage, job.finished_at = status, stage, finished_at
        db.session.commit()
    db.session.get(ImportJob, upload(app, user_b, mechanics_csv(1))).status = "processing"
    db.session.commit()
    mine = monitor.organisation_queue_stats(user_a.organisation_id)[BASE]
    assert {k: mine[k] for k in ("waiting", "delayed", "active", "completed", "failed")} == {
        "waiting": 1,
        "delayed": 1,
        "active": 1,
        "completed": 1,
        "failed": 0,
    }
    assert mine["tiers"][BASE]["total"] == 4 and mine["tiers"][f"{BASE}-critical"]["total"] == 0
