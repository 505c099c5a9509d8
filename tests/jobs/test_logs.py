"""RQ's routine lines are logged at DEBUG only; real events keep their level."""

import logging

import pytest

from bulkapp.jobs.logs import quiet_routine_logs


@pytest.fixture
def rq_worker_log(caplog):
    logger = logging.getLogger("rq.worker")
    saved = logger.level, logger.filters[:]
    quiet_routine_logs()
    caplog.set_level(logging.INFO, logger="rq.worker")
    yield logger, caplog
    logger.setLevel(saved[0])
    logger.filters[:] = saved[1]


def test_routine_lines_are_dropped_at_info_and_real_events_stay(rq_worker_log):
    logger, caplog = rq_worker_log
    logger.info("Worker %s: cleaning registries for queue: %s", "w1", "bulk-upload-members")
    logger.info("Worker %s: %s: %s (%s)", "w1", "maintenance", "Job OK", "abc")
    logger.info("Worker %s: %s: %s (%s)", "w1", "bulk-upload-members", "Job OK", "job-1")
    logger.warning("Worker %s: maintenance: job failed", "w1")
    assert [record.getMessage() for record in caplog.records] == [
        "Worker w1: bulk-upload-members: Job OK (job-1)",
        "Worker w1: maintenance: job failed",
    ]


def test_routine_lines_show_at_debug(rq_worker_log):
    logger, caplog = rq_worker_log
    caplog.set_level(logging.DEBUG, logger="rq.worker")
    logger.info("Worker %s: cleaning registries for queue: %s", "w1", "notifications")
    assert len(caplog.records) == 1
