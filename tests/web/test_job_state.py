"""A job's state: one serializer for the job page, the monitor and the API; one timestamp format."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from bulkapp.extensions import db
from bulkapp.jobs import monitor
from bulkapp.jobs.state import JobState, iso_timestamp, job_state
from bulkapp.models import ImportJob
from tests.conftest import login, run_worker, uploaded_job_id, web_upload

CSV = b"firstName,lastName,email,mobileNumber\nJohn,Doe,john@example.com,0821234567\n"


def test_timestamps_are_utc_with_milliseconds_as_javascript_writes_them():
    assert iso_timestamp(datetime(2024, 1, 1, 10, 0)) == "2024-01-01T10:00:00.000Z"
    assert iso_timestamp(datetime(2024, 1, 1, 10, 0, 0, 999999)) == "2024-01-01T10:00:00.999Z"
    assert iso_timestamp(datetime(2024, 1, 1, 10, 0, tzinfo=UTC)) == "2024-01-01T10:00:00.000Z"
    two_hours_east = timezone(timedelta(hours=2))
    assert (
        iso_timestamp(datetime(2024, 1, 1, 1, 30, 0, 5000, tzinfo=two_hours_east))
        == "2023-12-31T23:30:00.005Z"
    )
    assert iso_timestamp(None) is None


def test_the_job_pages_state_is_the_whole_job_state(app, client_a):
    job_id = uploaded_job_id(web_upload(client_a, CSV))
    run_worker(app)
    state = client_a.get(f"/jobs/{job_id}/state").get_json()
    assert set(state) == set(JobState.__annotations__)
    assert state["id"] == job_id and state["status"] == "completed"
    assert state["counts"]["inserted"] == 1 and state["cancel_requested"] is False
    with app.app_context():
        job = db.session.get(ImportJob, job_id)
        assert state == job_state(job)
        assert state["created_at"] == iso_timestamp(job.created_at)
        assert state["finished_at"] == iso_timestamp(job.finished_at)
        assert state["finished_at"].endswith("Z") and len(state["finished_at"]) == 24


def test_the_monitors_job_figures_are_taken_from_the_job_state(app, admin_a, client_a):
    job_id = uploaded_job_id(web_upload(client_a, CSV))
    with app.app_context():
        job = db.session.get(ImportJob, job_id)
        job.status, job.stage, job.progress = "processing", "saving", 40
        job.processed_rows, job.total_rows, job.cancel_requested = 400, 1000, True
        db.session.commit()
        state = job_state(job)
        assert monitor.job_progress([job]) == {
            job_id: {
                "status": "processing",
                "stage": "saving",
                "progress": 40,
                "processed": 400,
                "total": 1000,
                "finished": False,
                "cancel_requested": True,
                "retryable": False,
            }
        }
        assert monitor.job_progress([job])[job_id]["processed"] == state["counts"]["processed"]
    admin = login(app.test_client(), admin_a.email)
    figures = admin.get(f"/admin/monitor.json?jobs={job_id}").get_json()
    assert figures["jobs"][job_id]["cancel_requested"] is True
    generated_at = figures["generated_at"]
    assert len(generated_at) == 24 and generated_at.endswith("Z"), generated_at
    assert datetime.fromisoformat(generated_at).tzinfo == UTC
