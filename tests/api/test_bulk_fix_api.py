"""Bulk fixes through the API at any size: a small one answers at once (200), a larger one
is queued (202) and followed at its status address until a worker has made it; meanwhile
the job's rows refuse edits, sends and other bulk fixes (409)."""

from __future__ import annotations

from bulkapp.extensions import db, get_redis
from bulkapp.jobs.bulk_fixes import requeue_lost_bulk_fixes
from bulkapp.models import AuditEntry, BulkFixRun, ImportJob
from tests.api.conftest import ApiClient, make_token
from tests.api.test_fixes_api import BAD, GOOD, imported_job, rejected
from tests.conftest import make_account, run_worker

SET_TYRES = {"action": "set", "column": "specialisation", "value": "Tyres"}


def test_a_small_bulk_fix_answers_at_once(app, api_a):
    job_id = imported_job(app, api_a)
    app.config["BULK_FIX_SYNC_MAX_ROWS"] = 4  # the job has 4 rejected rows
    response = api_a.post(f"/bulk-upload/{job_id}/rejected/bulk", json=SET_TYRES)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["data"]["changed"] == 2  # rows 5 and 6 were not Tyres
    with app.app_context():
        assert db.session.query(BulkFixRun).count() == 0
        entry = db.session.query(AuditEntry).filter_by(action="rows_bulk_fixed").one()
        assert (entry.target, entry.detail) == (
            job_id,
            "mechanics.json: set 'specialisation' in 4 rows",
        )


def test_a_large_bulk_fix_is_queued_followed_and_locks_the_rows_until_it_ends(app, api_a):
    job_id = imported_job(app, api_a)
    app.config["BULK_FIX_SYNC_MAX_ROWS"] = 3
    url = f"/bulk-upload/{job_id}/rejected/bulk"
    queued = api_a.post(url, json=SET_TYRES)
    assert queued.status_code == 202, queued.get_json()
    fix = queued.get_json()["data"]
    assert (fix["status"], fix["rowsExpected"], fix["rowsDone"]) == ("queued", 4, 0)
    assert fix["statusUrl"] == f"/api/v1{url}/{fix['bulkFixId']}"

    edit = api_a.open(
        "PATCH", f"/bulk-upload/{job_id}/rejected/3", json={"cells": {"email": "a@b.co"}}
    )
    assert edit.status_code == 409, edit.get_json()
    error = edit.get_json()["error"]
    assert error["code"] == "bulk_fix_running" and "0 of 4 done" in error["message"]
    for refused in (api_a.post(url, json=SET_TYRES), api_a.post(f"/bulk-upload/{job_id}/resubmit")):
        assert (
            refused.status_code == 409 and refused.get_json()["error"]["code"] == "bulk_fix_running"
        )
    assert {row["cells"]["specialisation"] for row in rejected(api_a, job_id)["rows"]} == {
        "Tyres",
        "Gearboxes",
        "Brakes",
    }, "nothing changed before a worker takes it"

    with app.app_context():
        entry = db.session.query(AuditEntry).filter_by(action="rows_bulk_fixed").one()
        assert entry.detail.endswith("set 'specialisation' in 4 rows, by a worker")
    run_worker(app)
    done = api_a.get(fix["statusUrl"].removeprefix("/api/v1"))
    assert done.status_code == 200
    state = done.get_json()["data"]
    assert (state["status"], state["progress"], state["rowsDone"], state["changed"]) == (
        "completed",
        100,
        4,
        2,
    )
    assert state["finishedAt"] is not None and state["errorMessage"] is None
    assert {row["cells"]["specialisation"] for row in rejected(api_a, job_id)["rows"]} == {"Tyres"}
    fixed = api_a.open(
        "PATCH", f"/bulk-upload/{job_id}/rejected/3", json={"cells": {"email": "bad@example.com"}}
    )
    assert fixed.status_code == 200 and fixed.get_json()["data"]["state"] == "fixed"


def test_only_the_organisation_follows_a_bulk_fix_and_only_its_uploader_or_admins_make_one(
    app, api_a, api_b
):
    job_id = imported_job(app, api_a)
    app.config["BULK_FIX_SYNC_MAX_ROWS"] = 1
    url = f"/bulk-upload/{job_id}/rejected/bulk"
    fix = api_a.post(url, json=SET_TYRES).get_json()["data"]
    status = f"{url}/{fix['bulkFixId']}"
    colleague = ApiClient(
        app.test_client(), make_token(app, make_account(app, "org-a", "c@a.example"))
    )
    assert colleague.get(status).status_code == 200
    assert colleague.post(url, json=SET_TYRES).status_code == 403
    assert api_b.get(status).status_code == 404
    assert api_b.post(url, json=SET_TYRES).status_code == 404
    unknown = api_a.get(f"{url}/not-a-fix")
    assert (
        unknown.status_code == 404 and unknown.get_json()["error"]["code"] == "bulk_fix_not_found"
    )


def test_a_review_waits_for_a_bulk_fix_of_its_predicted_rows(app, api_a):
    response = api_a.post("/bulk-upload/mechanics?review=true", json=GOOD + BAD)
    job_id = response.get_json()["data"]["jobId"]
    run_worker(app)
    app.config["BULK_FIX_SYNC_MAX_ROWS"] = 3
    queued = api_a.post(f"/bulk-upload/{job_id}/rejected/bulk", json=SET_TYRES)
    assert queued.status_code == 202, queued.get_json()
    refused = api_a.post(f"/jobs/{job_id}/commit")
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "bulk_fix_running"
    run_worker(app)
    assert (
        api_a.get(queued.get_json()["data"]["statusUrl"].removeprefix("/api/v1")).get_json()[
            "data"
        ]["status"]
        == "completed"
    )
    assert api_a.post(f"/jobs/{job_id}/commit").status_code == 202
    run_worker(app)
    with app.app_context():
        job = db.session.get(ImportJob, job_id)
        assert (job.status, job.inserted_rows, job.invalid_rows) == ("completed", 2, 4)
    assert {row["cells"]["specialisation"] for row in rejected(api_a, job_id)["rows"]} == {"Tyres"}


def test_a_bulk_fix_that_redis_lost_is_queued_again(app, api_a):
    job_id = imported_job(app, api_a)
    app.config["BULK_FIX_SYNC_MAX_ROWS"] = 3
    fix = api_a.post(f"/bulk-upload/{job_id}/rejected/bulk", json=SET_TYRES).get_json()["data"]
    with app.app_context():
        connection = get_redis()
        assert requeue_lost_bulk_fixes(connection, grace_seconds=0) == 0, "its job is queued"
        connection.flushdb()  # Redis comes back without its data
        assert requeue_lost_bulk_fixes(connection, grace_seconds=0) == 1
    run_worker(app)
    state = api_a.get(fix["statusUrl"].removeprefix("/api/v1")).get_json()["data"]
    assert (state["status"], state["rowsDone"], state["changed"]) == ("completed", 4, 2)
    with app.app_context():
        assert requeue_lost_bulk_fixes(get_redis(), grace_seconds=0) == 0, "it ended"
