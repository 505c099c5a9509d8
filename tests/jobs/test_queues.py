"""Queues as data: tiers by role, job defaults, and a low tier that is never starved."""

from rq import SimpleWorker
from rq.job import Job

from bulkapp.extensions import get_redis
from bulkapp.jobs.queues import (
    NOTIFICATIONS_QUEUE,
    TIERS,
    enqueue_import,
    get_queue,
    queue_name_for,
    tier_of,
    worker_queue_names,
)
from bulkapp.jobs.worker import ImportWorker


class FairSimpleWorker(ImportWorker, SimpleWorker):
    """ImportWorker's queue order, running jobs in this process."""


def test_each_role_has_its_tier_and_members_use_the_base_queue():
    assert queue_name_for("mechanics", "super_admin") == "bulk-upload-mechanics-critical"
    assert queue_name_for("mechanics", "national_admin") == "bulk-upload-mechanics-high"
    assert queue_name_for("members", "province_admin") == "bulk-upload-members-medium"
    assert queue_name_for("members", "municipality_admin") == "bulk-upload-members-medium"
    assert queue_name_for("service_providers", "member") == "bulk-upload-service-providers"
    assert tier_of("bulk-upload-service-providers-high") == "high"
    assert tier_of("bulk-upload-policies") == "default"


def test_workers_listen_to_service_queues_then_tier_by_tier():
    names = worker_queue_names()
    assert names[:3] == ["maintenance", "notifications", "exports"]
    tiers = [tier_of(name) for name in names[3:]]
    assert tiers == sorted(tiers, key=[t.name for t in TIERS].index)
    assert len(names) == 3 + 4 * len(TIERS)


def test_import_jobs_carry_timeout_retries_retention_and_callbacks(ctx):
    ctx.config.update(IMPORT_JOB_TIMEOUTS={"members": 1800}, IMPORT_RETRY_INTERVALS=(5, 15))
    connection = get_redis()
    mechanics = enqueue_import(connection, "bulk-upload-mechanics-high", "job-1")
    members = enqueue_import(connection, "bulk-upload-members", "job-2")
    assert mechanics.timeout == 600 and members.timeout == 1800
    assert (mechanics.retries_left, mechanics.retry_intervals) == (2, [5, 15])
    assert (mechanics.result_ttl, mechanics.failure_ttl) == (3600, 86400)
    stored = Job.fetch("job-1", connection=connection)
    assert stored.args == ("job-1",) and stored.origin == "bulk-upload-mechanics-high"
    assert stored.success_callback is None, "an import's end notifies, not RQ's success"
    assert stored.failure_callback.__name__ == "import_failed"


def test_no_retry_intervals_means_no_retries(ctx):
    ctx.config["IMPORT_RETRY_INTERVALS"] = ()
    job = enqueue_import(get_redis(), "bulk-upload-mechanics", "job-1")
    assert job.retries_left is None


def _run_in_order(every: int, mails: int = 0) -> list[str]:
    """Enqueue one member upload, then a stream of super-admin uploads (and ``mails`` jobs on
    the notifications queue); the order in which the imports ran."""
    connection = get_redis()
    enqueue_import(connection, "bulk-upload-mechanics", "member-job")
    for number in range(12):
        enqueue_import(connection, "bulk-upload-mechanics-critical", f"urgent-{number}")
    notifications = get_queue(NOTIFICATIONS_QUEUE, connection)
    for number in range(mails):
        notifications.enqueue("bulkapp.jobs.send_job_email", f"no-such-job-{number}")
    worker = FairSimpleWorker(
        [get_queue(name, connection) for name in worker_queue_names()], connection=connection
    )
    worker.low_priority_every = every
    worker.work(burst=True)
    jobs = [
        Job.fetch(job_id, connection=connection)
        for job_id in ["member-job", *(f"urgent-{n}" for n in range(12))]
    ]
    return [job.id for job in sorted(jobs, key=lambda job: job.ended_at)]


def test_a_low_tier_job_is_taken_while_higher_tiers_still_have_work(ctx):
    order = _run_in_order(every=5)
    assert order.index("member-job") == 4, order
    assert order[5:] == [f"urgent-{n}" for n in range(4, 12)], "higher tiers keep their turn"


def test_only_import_jobs_count_towards_the_fairness_turn(ctx):
    order = _run_in_order(every=5, mails=7)
    assert order.index("member-job") == 4, order


def test_without_the_fairness_turn_the_low_tier_waits_for_every_higher_job(ctx):
    assert _run_in_order(every=0)[-1] == "member-job"
