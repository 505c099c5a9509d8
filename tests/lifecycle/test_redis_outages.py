"""Redis going away: uploads are kept and enqueued later by the sweeper (run by a real
``rq cron`` process); with append-only persistence, queued jobs survive a restart."""

import sys
from pathlib import Path

import pytest
from redis import Redis
from rq import Queue
from sqlalchemy import select

from bulkapp.extensions import db
from bulkapp.models import ImportJob
from tests.conftest import (RedisServer, built_app, free_port, login,
                            make_account, run_worker, web_upload)
from tests.lifecycle.conftest import Processes, fetch, mechanics_csv, stored_count, upload, wait_for

ROWS = 40


@pytest.fixture
def own_redis(tmp_path_factory):
    """A redis-server of this test's own, with append-only persistence, that it may stop."""
    server = RedisServer(port=free_port(), data_dir=tmp_path_factory.mktemp("own-redis"))
    server.start(appendonly=True)
    yield server
    server.stop()


@pytest.fixture
def outage_app(tmp_path, own_redis):
    with built_app(tmp_path, own_redis.url) as app:
        yield app


@pytest.fixture
def outage_processes(outage_app, tmp_path):
    started = Processes(outage_app, tmp_path)
    yield started
    started.stop_all()




def test_upload_while_redis_is_down_is_kept_and_the_sweeper_enqueues_it_when_redis_is_back(
        outage_app, own_redis, outage_processes):
    member = make_account(outage_app, "org-a", "member@a.example")
    admin = make_account(outage_app, "ops", "root@ops.example", "super_admin")
    member_client = login(outage_app.test_client(), member.email)
    admin_client = login(outage_app.test_client(), admin.email)
    own_redis.stop()

    response = web_upload(member_client, mechanics_csv(ROWS))
    assert response.status_code == 302
    page = member_client.get(response.headers["Location"])
    assert page.status_code == 200
    assert "processing will start automatically" in page.get_data(as_text=True)
    with outage_app.app_context():
        job = db.session.scalars(select(ImportJob)).one()
        assert (job.status, job.rq_job_id) == ("queued", None)
        assert Path(job.stored_path).read_bytes() == mechanics_csv(ROWS)
        job_id = job.id
    assert member_client.get("/jobs").status_code == 200
    assert member_client.get(f"/jobs/{job_id}/state").get_json()["status"] == "queued"
    monitor = admin_client.get("/admin/")
    assert monitor.status_code == 200
    assert "not reachable" in monitor.get_data(as_text=True)
    assert admin_client.get("/admin/monitor.json").get_json()["redis_error"]

    own_redis.start(appendonly=True)
    outage_processes.start([str(Path(sys.executable).parent / "rq"), "cron", "--url",
                            own_redis.url, "bulkapp.cron_config"])
    worker = outage_processes.worker(SWEEP_GRACE_SECONDS="0")

    def completed():
        worker.ensure_running()
        return fetch(outage_app, job_id).status == "completed"

    wait_for(completed, 90, "the sweeper to enqueue the job and a worker to import it")
    assert stored_count(outage_app) == ROWS


def test_queued_jobs_survive_a_redis_restart_with_append_only_persistence(outage_app, own_redis):
    member = make_account(outage_app, "org-a", "member@a.example")
    job_id = upload(outage_app, member, mechanics_csv(ROWS))
    own_redis.stop()
    own_redis.start(appendonly=True)

    queue = Queue("bulk-upload-mechanics", connection=Redis.from_url(own_redis.url))
    assert queue.job_ids == [job_id]
    run_worker(outage_app)
    assert fetch(outage_app, job_id).status == "completed"
    assert stored_count(outage_app) == ROWS
