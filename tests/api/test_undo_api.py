"""Undo through the API: the preview, the 202 with the undo's own job, who may ask, once only,
and nothing to undo for a validate-only upload; another organisation's import is a 404."""

from __future__ import annotations

from sqlalchemy import select

from bulkapp.extensions import db
from bulkapp.models import AuditEntry
from tests.api.conftest import ApiClient, make_token
from tests.conftest import make_account, run_worker

RECORDS = [
    {
        "firstName": f"First{n}",
        "lastName": f"Last{n}",
        "email": f"user{n}@example.com",
        "mobileNumber": f"082{n:07d}",
    }
    for n in range(5)
]


def imported(app, api: ApiClient, mode: str = "partial") -> str:
    response = api.post(f"/bulk-upload/mechanics?mode={mode}", json=RECORDS)
    assert response.status_code == 202, response.get_json()
    run_worker(app)
    return response.get_json()["data"]["jobId"]


def error_code(response, status: int) -> str:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.get_json()["success"] is False
    return response.get_json()["error"]["code"]


def test_an_import_is_previewed_then_undone_once_by_its_own_job(app, api_a, api_b, user_a):
    job_id = imported(app, api_a)
    preview = api_a.get(f"/bulk-upload/{job_id}/undo")
    assert preview.status_code == 200, preview.get_json()
    data = preview.get_json()["data"]
    assert (data["removed"], data["restored"], data["kept"], data["conflicts"]) == (5, 0, 0, [])
    assert data["undoableUntil"].endswith("Z")
    assert error_code(api_b.get(f"/bulk-upload/{job_id}/undo"), 404) == "job_not_found"
    assert error_code(api_b.post(f"/bulk-upload/{job_id}/undo"), 404) == "job_not_found"

    accepted = api_a.post(f"/bulk-upload/{job_id}/undo")
    assert accepted.status_code == 202, accepted.get_json()
    undo = accepted.get_json()["data"]
    assert undo["undoesJobId"] == job_id and undo["jobId"] != job_id
    assert undo["status"] == "queued"
    run_worker(app)
    status = api_a.get(f"/bulk-upload/status/{undo['jobId']}").get_json()["data"]
    assert status["status"] == "completed"
    assert status["undo_counts"] == {"removed": 5, "restored": 0, "kept": 0}
    assert status["undoes_job_id"] == job_id
    original = api_a.get(f"/bulk-upload/status/{job_id}").get_json()["data"]
    assert original["undone_by_job_id"] == undo["jobId"]
    assert api_a.get(undo["statusUrl"]).get_json()["data"]["status"] == "completed"
    listed = {
        job["jobId"]: job for job in api_a.get("/bulk-upload/queue/jobs").get_json()["data"]["jobs"]
    }
    assert listed[job_id]["undoneByJobId"] == undo["jobId"]
    assert listed[undo["jobId"]]["undoesJobId"] == job_id

    assert error_code(api_a.post(f"/bulk-upload/{job_id}/undo"), 409) == "already_undone"
    assert error_code(api_a.get(f"/bulk-upload/{job_id}/undo"), 409) == "already_undone"
    assert error_code(api_a.post(f"/bulk-upload/{undo['jobId']}/undo"), 409) == "not_undoable"
    with app.app_context():
        audited = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "import_undo_requested")
        ).all()
        assert [(entry.target, entry.actor_id) for entry in audited] == [(job_id, user_a.id)]


def test_only_the_uploader_or_an_admin_undoes_and_validate_only_has_nothing_to_undo(
    app, api_a, api_admin_a
):
    job_id = imported(app, api_a)
    colleague = ApiClient(
        app.test_client(), make_token(app, make_account(app, "org-a", "colleague@a.example"))
    )
    assert colleague.get(f"/bulk-upload/{job_id}/undo").status_code == 200  # may see it
    assert error_code(colleague.post(f"/bulk-upload/{job_id}/undo"), 403) == "forbidden"
    assert api_admin_a.post(f"/bulk-upload/{job_id}/undo").status_code == 202
    checked = imported(app, api_a, mode="validate_only")
    assert error_code(api_a.post(f"/bulk-upload/{checked}/undo"), 409) == "nothing_to_undo"
    assert error_code(api_a.get(f"/bulk-upload/{checked}/undo"), 409) == "nothing_to_undo"
    queued = api_a.post("/bulk-upload/mechanics", json=RECORDS).get_json()["data"]["jobId"]
    assert error_code(api_a.post(f"/bulk-upload/{queued}/undo"), 409) == "not_completed"
