"""Redis going away, with real ``python worker.py`` processes, the cron process and a
redis-server of the test's own that is killed and brought back on the same port.

Nothing may be lost and nobody may have to step in: running imports carry on or resume,
uploads made meanwhile are imported, every import runs once and is notified once.
"""

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from redis import Redis
from rq import Queue, Worker
from rq.cron import CronScheduler
from rq.job import Job
from sqlalchemy import select

from bulkapp.extensions import db
from bulkapp.models import ImportJob
from tests.conftest import (
    RedisServer,
    built_app,
    free_port,
    login,
    make_account,
    run_worker,
    web_upload,
)
from tests.jobs.conftest import Processes, fetch, mechanics_csv, stored_count, upload
from tests.processes import wait_for

ROWS = 40
OUTAGE_SECONDS = 20
# Every job must move again within a minute of Redis coming back: measured from the times the
# product recorded (the job's start, Redis's own start), while the test waits far longer, so
# that a busy machine slows the test down without failing it.
BACK_TO_WORK_SECONDS = 60
CEILING = 300
# The long import on SQLite outlasts the outage on a fast idle machine; on a busy one it takes
# many minutes.
LONG_IMPORT_CEILING = 1500
HOLD_TURN = 10  # seconds the test holds an import at a commit, at most, in one go
SLOW = {"IMPORT_CHUNK_ROWS": "20"}
# A commit every 10 rows: the long import outlasts a 20 s outage even on a fast, idle machine.
SLOWER = {"IMPORT_CHUNK_ROWS": "10"}

pytestmark = pytest.mark.e2e


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


def mails_about(app, job_id: str) -> list[Path]:
    """The e-mails written to the outbox about ``job_id``."""
    return sorted(Path(app.config["OUTBOX_DIR"]).glob(f"*-{job_id}.eml"))


def live_worker_pids(connection: Redis) -> set[int]:
    return {worker.pid for worker in Worker.all(connection=connection)}


def redis_started_at(connection: Redis) -> datetime:
    """When the redis-server started, by its own clock and uptime (naive UTC, as job rows
    keep their times; whole seconds, so never later than it was)."""
    info = connection.info("server")
    started = info["server_time_usec"] / 1e6 - info["uptime_in_seconds"]
    return datetime.fromtimestamp(started, UTC).replace(tzinfo=None)


def moved_again_after(app, job_id: str, redis_back: datetime) -> float:
    """Seconds from Redis's return to the start of ``job_id`` (queued during the outage)."""
    started = fetch(app, job_id).started_at
    assert started is not None and started >= redis_back, "the job started after the outage"
    return (started - redis_back).total_seconds()


@contextmanager
def held_at_its_next_commit(app, job_id: str, postgres: bool) -> Iterator[None]:
    """On PostgreSQL, hold the import at its next chunk's commit (its job row locked) until
    the block ends, so that it is still running then, however fast the machine; on SQLite,
    whose only lock would fail the import after its busy timeout, the file's size does it.
    A block must stay well within an attempt's lock_timeout (30 s)."""
    if not postgres:
        yield
        return
    with app.app_context(), db.engine.connect() as connection:
        with connection.begin():
            connection.execute(
                select(ImportJob.id).where(ImportJob.id == job_id).with_for_update()
            ).one()
            yield


def hold_for(app, job_id: str, postgres: bool, seconds: float) -> None:
    """Keep the import from finishing for ``seconds``: held in turns of HOLD_TURN seconds,
    between which it commits a chunk or so."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        with held_at_its_next_commit(app, job_id, postgres):
            time.sleep(min(HOLD_TURN, left))


@pytest.mark.timeout(1800)  # the long import, on SQLite on a busy machine
def test_imports_running_through_a_redis_outage_finish_once_and_uploads_made_meanwhile_run(
    outage_app, own_redis, outage_processes
):
    member = make_account(outage_app, "org-a", "member@a.example")
    connection = Redis.from_url(own_redis.url)
    workers = [outage_processes.worker(**SLOWER) for _ in range(2)]
    cron = outage_processes.start([sys.executable, "worker.py", "--cron"])
    pids = wait_for(
        lambda: len(found := live_worker_pids(connection)) == 2 and found,
        CEILING,
        "both workers to start",
    )
    # The long import must still run when Redis is back: on PostgreSQL the test holds it; on
    # SQLite it is long enough to outlast the outage on a fast idle machine.
    postgres = outage_app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")
    long_rows = 10_000 if postgres else 300_000
    long_job = upload(outage_app, member, mechanics_csv(long_rows))
    wait_for(lambda: fetch(outage_app, long_job).processed_rows > 0, CEILING, "the import to start")

    own_redis.kill()
    down = time.monotonic()
    while_down = login(outage_app.test_client(), member.email)
    response = web_upload(while_down, mechanics_csv(ROWS), "during-the-outage.csv")
    assert response.status_code == 302
    during = response.headers["Location"].rsplit("/", 1)[-1]
    progress_when_down = fetch(outage_app, long_job).processed_rows
    wait_for(
        lambda: fetch(outage_app, long_job).processed_rows > progress_when_down,
        CEILING,
        "the running import to carry on without Redis",
        watching=[*workers, cron],
    )
    hold_for(outage_app, long_job, postgres, OUTAGE_SECONDS - (time.monotonic() - down))
    with held_at_its_next_commit(outage_app, long_job, postgres):
        for process in (*workers, cron):
            process.ensure_running()
        own_redis.start(appendonly=True)
        back = redis_started_at(connection)
        job = fetch(outage_app, long_job)
        assert job.status == "processing", "still running when Redis is back"

    def moving(job_id: str) -> bool:
        return fetch(outage_app, job_id).status in ("processing", "completed")

    wait_for(
        lambda: moving(long_job) and moving(during),
        CEILING,
        "every job to move again after Redis came back",
    )
    moved_after = moved_again_after(outage_app, during, back)
    print(f"the upload made during the outage started {moved_after:.1f} s after Redis came back")
    assert moved_after <= BACK_TO_WORK_SECONDS
    for job_id in (long_job, during):
        wait_for(
            lambda job_id=job_id: fetch(outage_app, job_id).is_finished,
            LONG_IMPORT_CEILING,
            "the imports to finish",
        )
    assert stored_count(outage_app) == long_rows, "the same addresses: the small file overlaps"
    # The page's upload is analysed first (its first attempt), then imported in the same run.
    for job_id, attempts in ((long_job, 1), (during, 2)):
        job = fetch(outage_app, job_id)
        assert (job.status, job.attempts) == ("completed", attempts), job.error_message
        wait_for(
            lambda job_id=job_id: (
                Job.fetch(job_id, connection=connection).get_status() == "finished"
            ),
            CEILING,
            "RQ to record the import as finished",
        )
        assert Job.fetch(job_id, connection=connection).retries_left == 3, "no retry spent"
        wait_for(lambda job_id=job_id: mails_about(outage_app, job_id), CEILING, "the e-mail")
    time.sleep(2)
    assert [len(mails_about(outage_app, job_id)) for job_id in (long_job, during)] == [1, 1]
    wait_for(
        lambda: live_worker_pids(connection) == pids,
        CEILING,  # a worker busy through the outage registers again at its next idle upkeep
        "the same two workers to be registered: they waited, none exited",
    )


def test_an_import_that_finishes_while_redis_is_down_is_settled_once_when_it_is_back(
    outage_app, own_redis, outage_processes
):
    member = make_account(outage_app, "org-a", "member@a.example")
    connection = Redis.from_url(own_redis.url)
    worker = outage_processes.worker(**SLOW)
    rows = 3000
    job_id = upload(outage_app, member, mechanics_csv(rows))
    wait_for(lambda: fetch(outage_app, job_id).processed_rows > 0, CEILING, "the import to start")

    own_redis.kill()
    wait_for(
        lambda: fetch(outage_app, job_id).status == "completed",
        CEILING,
        "the import to finish its database work without Redis",
    )
    assert not mails_about(outage_app, job_id), "no notification could be sent yet"
    time.sleep(5)
    own_redis.start(appendonly=True)

    wait_for(
        lambda job_id=job_id: Job.fetch(job_id, connection=connection).get_status() == "finished",
        CEILING,
        "RQ to record the import as finished",
    )
    wait_for(lambda: mails_about(outage_app, job_id), CEILING, "the e-mail")
    time.sleep(3 * 5)  # three maintenance runs: nothing may run it again or mail twice
    worker.ensure_running()
    job = fetch(outage_app, job_id)
    assert (job.status, job.attempts, job.inserted_rows) == ("completed", 1, rows)
    assert Job.fetch(job_id, connection=connection).retries_left == 3, "no retry was spent"
    assert len(mails_about(outage_app, job_id)) == 1


def test_idle_workers_and_the_cron_process_wait_out_an_outage_spanning_a_cron_tick(
    outage_app, own_redis, outage_processes
):
    member = make_account(outage_app, "org-a", "member@a.example")
    connection = Redis.from_url(own_redis.url)
    outage_processes.worker()
    cron = outage_processes.start([sys.executable, "worker.py", "--cron"])
    wait_for(lambda: CronScheduler.all(connection), CEILING, "the cron process to register")
    cron_pid = cron.descendants()[0].pid

    own_redis.kill()
    time.sleep(35)  # the cron process's 30-second tick falls inside the outage
    job_id = upload(outage_app, member, mechanics_csv(ROWS))
    assert fetch(outage_app, job_id).rq_job_id is None, "Redis is down: the job waits as queued"
    own_redis.start(appendonly=True)
    back = redis_started_at(connection)

    wait_for(
        lambda: fetch(outage_app, job_id).status == "completed",
        CEILING,
        "the upload made during the outage to be imported",
    )
    assert moved_again_after(outage_app, job_id, back) <= BACK_TO_WORK_SECONDS
    assert [child.pid for child in cron.descendants()] == [cron_pid], "cron did not exit"

    def cron_ran_again():
        recovers = [
            Job.fetch(i, connection=connection)
            for i in Queue("maintenance", connection=connection).finished_job_registry.get_job_ids(
                cleanup=False
            )
        ]
        return any(
            job.enqueued_at.replace(tzinfo=None) > back and job.func_name.endswith("recover")
            for job in recovers
        )

    wait_for(cron_ran_again, CEILING, "the cron process to enqueue its jobs again")


def test_upload_while_redis_is_down_is_kept_and_enqueued_when_redis_is_back(
    outage_app, own_redis, outage_processes
):
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
    worker = outage_processes.worker(SWEEP_GRACE_SECONDS="0")

    def completed():
        worker.ensure_running()
        return fetch(outage_app, job_id).status == "completed"

    wait_for(completed, CEILING, "a worker to enqueue the job and import it")
    assert stored_count(outage_app) == ROWS


def test_queued_jobs_survive_a_redis_restart_with_append_only_persistence(outage_app, own_redis):
    member = make_account(outage_app, "org-a", "member@a.example")
    job_id = upload(outage_app, member, mechanics_csv(ROWS))
    own_redis.kill()
    own_redis.start(appendonly=True)

    queue = Queue("bulk-upload-mechanics", connection=Redis.from_url(own_redis.url))
    assert queue.job_ids == [job_id]
    run_worker(outage_app)
    assert fetch(outage_app, job_id).status == "completed"
    assert stored_count(outage_app) == ROWS
