"""Permanent failures (the file must be corrected) are told apart from transient ones (an
outage: retry): recorded on the job, shown by its state, honoured by retry, and RQ files a
failed import as failed, as the job page shows it."""

import pytest
from rq.job import Job

from bulkapp.extensions import db, get_redis
from bulkapp.jobs.lifecycle import JobActionError, record_attempt_failure, requeue_failed, retry_job
from bulkapp.jobs.state import job_state
from bulkapp.models import ImportJob
from tests.conftest import run_worker
from tests.jobs.conftest import fetch, mechanics_csv, upload

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"


@pytest.mark.parametrize(
    ("data", "filename", "kind"),
    [
        (b"", "empty.csv", "empty_file"),
        (b"firstName,lastName,email,mobileNumber\n", "header.csv", "empty_file"),
        (PNG, "photo.csv", "wrong_type"),
        (b"firstName,shoeSize\nAnn,9\n", "short.csv", "columns"),
    ],
)
def test_a_file_that_cannot_be_imported_fails_for_good_and_asks_for_a_corrected_file(
    app, ctx, user_a, data, filename, kind
):
    job_id = upload(app, user_a, data, filename)
    run_worker(app)
    job = fetch(app, job_id)
    assert (job.status, job.failure_kind, job.attempts) == ("failed", kind, 1), "never retried"
    state = job_state(db.session.get(ImportJob, job_id))
    assert state["needs_corrected_file"] and not state["retryable"]
    assert state["failure_label"]
    assert Job.fetch(job_id, connection=get_redis()).get_status() == "failed", "RQ agrees"
    with pytest.raises(JobActionError) as refused:
        retry_job(db.session.get(ImportJob, job_id))
    assert refused.value.code == "needs_corrected_file"
    assert "Correct the file and upload it again" in str(refused.value)


def test_a_transient_failure_can_be_retried_and_requeue_all_skips_permanent_ones(app, ctx, user_a):
    broken = upload(app, user_a, b"", "empty.csv")
    run_worker(app)
    outage = upload(app, user_a, mechanics_csv(3))
    job = db.session.get(ImportJob, outage)
    job.start_attempt()
    db.session.commit()  # the attempt's claim, as run_import commits it
    record_attempt_failure(
        outage, will_retry=False, reason="OperationalError: server closed", kind="database"
    )
    state = job_state(db.session.get(ImportJob, outage))
    assert state["retryable"] and not state["needs_corrected_file"]
    assert state["failure_label"] == "database unavailable"
    assert requeue_failed(user_a.organisation_id) == 1
    assert fetch(app, outage).status == "queued" and fetch(app, broken).status == "failed"
    run_worker(app)
    done = fetch(app, outage)
    assert (done.status, done.failure_kind) == ("completed", None)


def test_the_job_page_offers_a_corrected_upload_instead_of_a_retry(app, client_a, user_a):
    job_id = upload(app, user_a, PNG, "photo.csv")
    run_worker(app)
    page = client_a.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert 'href="/upload?entity_type=mechanics&amp;mode=partial"' in page
    assert "Upload a corrected file" in page and '<p id="job-corrected">' in page
    assert 'id="retry-form" data-when="retryable" hidden>' in page
