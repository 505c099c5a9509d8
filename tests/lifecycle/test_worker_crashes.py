"""Workers that die or are stopped mid-import, with real ``python worker.py`` processes."""

import signal
import time

import psutil

from redis import Redis
from rq import Worker
from rq.job import Job

from bulkapp.queues import worker_queue_names
from tests.lifecycle.conftest import (fetch, mechanics_csv, stored_count, stored_emails, upload,
                                      wait_for)

ROWS = 6000
# Small chunks make the import slow enough to interrupt mid-way.
SLOW = {"IMPORT_CHUNK_ROWS": "20"}
EVERY_ROW = {f"user{i}@example.com" for i in range(ROWS)}


def running_mid_way(app, job_id: str, worker):
    """Wait until the import has committed some chunks but not all; the job then."""
    def under_way():
        worker.ensure_running()
        job = fetch(app, job_id)
        return job.status == "processing" and 0 < job.processed_rows < ROWS and job

    return wait_for(under_way, 90, "the import to be under way")


def assert_completed_exactly_once(app, job_id: str, attempts: int) -> None:
    """Completed with every row, none counted twice: the second attempt resumed, not restarted."""
    job = wait_for(lambda: (job := fetch(app, job_id)).is_finished and job, 240,
                   "the import to finish")
    assert job.status == "completed", job.error_message
    assert job.attempts == attempts
    assert stored_emails(app) == EVERY_ROW
    assert (job.total_rows, job.valid_rows, job.inserted_rows) == (ROWS, ROWS, ROWS)
    assert job.unchanged_rows == 0 and job.updated_rows == 0


def test_machine_dying_mid_import_is_recovered_by_another_worker_within_two_minutes(
        app, user_a, processes):
    doomed = processes.worker(**SLOW)
    job_id = upload(app, user_a, mechanics_csv(ROWS))
    at_kill = running_mid_way(app, job_id, doomed)
    assert at_kill.checkpoint, "the pipeline saves a checkpoint with every chunk"
    doomed.kill_everything()  # kill -9 the worker, its work horse and its scheduler

    processes.worker(**SLOW)
    wait_for(lambda: fetch(app, job_id).attempts == 2, 120,
             "another worker to take the abandoned job up again")
    assert_completed_exactly_once(app, job_id, attempts=2)


def test_a_worker_killed_with_sigkill_takes_its_work_horse_with_it(app, user_a, processes):
    doomed = processes.worker(**SLOW)
    job_id = upload(app, user_a, mechanics_csv(ROWS))
    running_mid_way(app, job_id, doomed)
    children = doomed.descendants()
    processes.orphans.extend(children)  # RQ's scheduler process outlives its worker
    horse = max(children, key=lambda child: child.create_time())  # forked for the job
    doomed.signal(signal.SIGKILL)
    doomed.wait(10)

    gone, _ = psutil.wait_procs([horse], timeout=10)
    assert gone, "the work horse must not go on importing unsupervised"
    stopped = fetch(app, job_id)
    assert stopped.status == "processing", "nothing finished the import behind our back"
    assert 0 < stopped.processed_rows < ROWS
    assert stored_count(app) == stopped.inserted_rows, "only committed chunks are stored"


def test_sigterm_checkpoints_the_running_import_and_the_worker_exits_promptly(
        app, user_a, processes):
    worker = processes.worker(**SLOW)
    job_id = upload(app, user_a, mechanics_csv(ROWS))
    running_mid_way(app, job_id, worker)
    worker.signal(signal.SIGTERM)
    assert worker.wait(30) == 0  # the stop timeout operators should allow: 30 s

    stopped = fetch(app, job_id)
    assert (stopped.status, stopped.stage) == ("queued", "retrying")
    assert 0 < stopped.processed_rows < ROWS
    assert stored_count(app) == stopped.inserted_rows, "committed chunks are kept and counted"
    rq_job = Job.fetch(job_id, connection=Redis.from_url(app.config["REDIS_URL"]))
    assert rq_job.get_status() in ("scheduled", "queued")
    assert rq_job.retries_left == 3, "being stopped does not use up a retry"

    processes.worker(**SLOW)
    assert_completed_exactly_once(app, job_id, attempts=2)


def test_worker_concurrency_runs_a_pool_listening_in_priority_order(app, user_a, processes):
    pool = processes.worker(WORKER_CONCURRENCY="2")
    connection = Redis.from_url(app.config["REDIS_URL"])
    workers = wait_for(lambda: len(found := Worker.all(connection=connection)) == 2 and found, 60,
                       "two pool workers to register")
    assert all(worker.queue_names() == worker_queue_names() for worker in workers)
    job_ids = [upload(app, user_a, mechanics_csv(50)) for _ in range(2)]
    for job_id in job_ids:
        wait_for(lambda: fetch(app, job_id).status == "completed", 60, "the pool to import")
    pool.signal(signal.SIGTERM)
    assert pool.wait(30) == 0
    time.sleep(0.5)
    assert wait_for(lambda: not Worker.all(connection=connection), 10, "workers to unregister")
