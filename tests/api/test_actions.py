"""Job actions through the API: retry, cancel, requeue failed and clean (admins)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rq import Queue

from bulkapp.extensions import db, get_redis
from bulkapp.models import FAILED, PROCESSING, ImportJob
from tests.api.conftest import ApiClient, make_token
from tests.conftest import make_account, run_worker

RECORDS = [
    {
        "firstName": "John",
        "lastName": "Doe",
        "email": "john@example.com",
        "mobileNumber": "0821234567",
    }
]


def upload(api) -> str:
    response = api.post("/bulk-upload/mechanics", json=RECORDS)
    assert response.status_code == 202, response.get_json()
    return response.get_json()["data"]["jobId"]


def set_status(app, job_id: str, status: str) -> None:
    """Put the job in ``status`` as a worker would have (the test's starting point)."""
    with app.app_context():
        db.session.get(ImportJob, job_id).status = status
        db.session.commit()


def load(app, job_id: str) -> ImportJob:
    with app.app_context():
        job = db.session.get(ImportJob, job_id)
        db.session.expunge(job)
        return job


def error_code(response, status: int) -> str:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.get_json()["success"] is False
    return response.get_json()["error"]["code"]


def test_cancel_a_queued_job(app, api_a):
    job_id = upload(api_a)
    response = api_a.post(f"/bulk-upload/cancel/{job_id}")
    assert response.status_code == 200
    data = response.get_json()["data"]
    assert data["jobId"] == job_id and data["status"] == "canceled"
    assert load(app, job_id).status == "canceled"
    assert error_code(api_a.post(f"/bulk-upload/cancel/{job_id}"), 409) == "job_finished"


def test_cancel_a_running_job_asks_it_to_stop(app, api_a):
    job_id = upload(api_a)
    set_status(app, job_id, PROCESSING)
    data = api_a.post(f"/bulk-upload/cancel/{job_id}").get_json()["data"]
    assert data["status"] == "processing" and "next chunk" in data["message"]
    assert load(app, job_id).cancel_requested is True


def test_retry_a_canceled_job_runs_it_to_completion(app, api_a):
    job_id = upload(api_a)
    api_a.post(f"/bulk-upload/cancel/{job_id}")
    response = api_a.post(f"/bulk-upload/queue/retry/{job_id}")
    assert response.status_code == 202
    data = response.get_json()["data"]
    assert data["status"] == "queued" and data["statusUrl"].endswith(f"{job_id}/status")
    with app.app_context():
        assert job_id in Queue("bulk-upload-mechanics", connection=get_redis()).job_ids
    run_worker(app)
    assert api_a.get(f"/bulk-upload/status/{job_id}").get_json()["data"]["status"] == "completed"


def test_retry_of_a_running_job_is_409(app, api_a):
    job_id = upload(api_a)
    set_status(app, job_id, PROCESSING)
    assert error_code(api_a.post(f"/bulk-upload/queue/retry/{job_id}"), 409) == "job_running"


def test_retry_of_a_queued_or_completed_job_is_409(app, api_a):
    job_id = upload(api_a)
    assert error_code(api_a.post(f"/bulk-upload/queue/retry/{job_id}"), 409) == "job_queued"
    run_worker(app)
    assert error_code(api_a.post(f"/bulk-upload/queue/retry/{job_id}"), 409) == "not_retryable"


def test_actions_on_another_organisations_job_are_404(app, api_a, api_b):
    job_id = upload(api_a)
    for path in (f"/bulk-upload/cancel/{job_id}", f"/bulk-upload/queue/retry/{job_id}"):
        assert error_code(api_b.post(path), 404) == "job_not_found"
    assert load(app, job_id).status == "queued"


def test_a_colleague_may_see_but_not_act_on_a_members_job(app, api_a):
    colleague = make_account(app, "org-a", "colleague@a.example")
    api_colleague = ApiClient(app.test_client(), make_token(app, colleague))
    job_id = upload(api_a)
    assert api_colleague.get(f"/bulk-upload/status/{job_id}").status_code == 200
    assert error_code(api_colleague.post(f"/bulk-upload/cancel/{job_id}"), 403) == "forbidden"
    assert load(app, job_id).status == "queued"


def test_an_admin_may_act_on_a_members_job(app, api_a, api_admin_a):
    job_id = upload(api_a)
    assert api_admin_a.post(f"/bulk-upload/cancel/{job_id}").status_code == 200


def test_requeue_failed_is_for_admins_and_stays_in_the_organisation(app, api_a, api_b, api_admin_a):
    job_a, job_b = upload(api_a), upload(api_b)
    for api, job_id in ((api_a, job_a), (api_b, job_b)):
        api.post(f"/bulk-upload/cancel/{job_id}")
        set_status(app, job_id, FAILED)
    assert error_code(api_a.post("/bulk-upload/queue/requeue"), 403) == "forbidden"
    response = api_admin_a.post("/bulk-upload/queue/requeue")
    assert response.status_code == 202
    assert response.get_json()["data"] == {"requeued": 1}
    assert load(app, job_a).status == "queued"
    assert load(app, job_b).status == "failed"


def test_clean_is_for_admins(api_a):
    assert (
        error_code(api_a.post("/bulk-upload/queue/clean", json={"gracePeriodHours": 0}), 403)
        == "forbidden"
    )


def test_clean_removes_old_files_of_the_admins_organisation_only(app, api_a, api_b, api_admin_a):
    job_a, job_b = upload(api_a), upload(api_b)
    api_a.post(f"/bulk-upload/cancel/{job_a}")
    api_b.post(f"/bulk-upload/cancel/{job_b}")
    response = api_admin_a.post("/bulk-upload/queue/clean", json={"gracePeriodHours": 0})
    assert response.status_code == 200
    data = response.get_json()["data"]
    assert data["gracePeriodHours"] == 0 and data["jobs"] == 1 and data["files_deleted"] == 1
    assert load(app, job_a).stored_path is None
    assert Path(load(app, job_b).stored_path).is_file()


def test_clean_defaults_to_24_hours(app, api_a, api_admin_a):
    job_id = upload(api_a)
    api_a.post(f"/bulk-upload/cancel/{job_id}")
    data = api_admin_a.post("/bulk-upload/queue/clean").get_json()["data"]
    assert data["gracePeriodHours"] == 24 and data["jobs"] == 0
    assert Path(load(app, job_id).stored_path).is_file()


@pytest.mark.parametrize(
    "body, content_type, status, code",
    [
        ('{"gracePeriodHours": ', "application/json", 400, "malformed_json"),
        ("[24]", "application/json", 422, "not_an_object"),
        ('{"gracePeriodHours": -1}', "application/json", 422, "invalid_grace_period"),
        ('{"gracePeriodHours": "24"}', "application/json", 422, "invalid_grace_period"),
        ('{"gracePeriodHours": true}', "application/json", 422, "invalid_grace_period"),
        ("gracePeriodHours=24", "text/plain", 415, "unsupported_media_type"),
    ],
)
def test_clean_explains_a_bad_body(api_admin_a, body, content_type, status, code):
    response = api_admin_a.post("/bulk-upload/queue/clean", data=body, content_type=content_type)
    assert error_code(response, status) == code


def test_retry_of_a_job_that_failed_on_its_file_is_409_and_its_status_says_why(app, api_a):
    response = api_a.post(
        "/bulk-upload/mechanics",
        content_type="multipart/form-data",
        data={"file": (io.BytesIO(b"firstName,shoeSize\nAnn,9\n"), "short.csv")},
    )
    job_id = response.get_json()["data"]["jobId"]
    run_worker(app)
    assert error_code(api_a.post(f"/bulk-upload/queue/retry/{job_id}"), 409) == (
        "needs_corrected_file"
    )
    status = api_a.get(f"/bulk-upload/status/{job_id}").get_json()["data"]
    assert (
        status["failure_kind"] == "columns"
        and "Missing required column" in (status["error_message"])
    )
    assert (status["retryable"], status["needs_corrected_file"]) == (False, True)
