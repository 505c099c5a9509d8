"""Review before commit through the API: review=true stops at needs_review, GET the review,
PUT a mapping (analysed again), commit or discard; saved and inline mappings on upload; the
saved mappings list and its organisation scoping. The round trip runs on a real worker."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import select

from bulkapp.extensions import db
from bulkapp.models import ENTITY_TABLES
from tests.api.conftest import ApiClient
from tests.conftest import fetch_job, run_worker, save_mapping
from tests.jobs.conftest import Processes
from tests.processes import wait_for

CSV = (
    b"Given name,Surname,Email address,Cell Number,Shoe size,Province\n"
    b"Ann,One,ann@example.com,0821000001,7,Gauteng\n"
    b"Ben,Two,ben@example.com,0821000002,9,Gautengg\n"
)


def upload(api: ApiClient, query: str = "review=true", data: bytes = CSV, **form):
    return api.post(
        f"/bulk-upload/mechanics?{query}",
        data={"file": (io.BytesIO(data), "people.csv"), **form},
        content_type="multipart/form-data",
    )


def job_id_of(response) -> str:
    assert response.status_code == 202, response.get_json()
    return response.get_json()["data"]["jobId"]


def put(api: ApiClient, path: str, body: object):
    return api.open("PUT", path, json=body)


@pytest.fixture
def processes(app, tmp_path):
    started = Processes(app, tmp_path)
    yield started
    started.stop_all()


def status_of(app, job_id: str) -> str:
    return fetch_job(app, job_id).status


def test_the_review_round_trip_on_a_real_worker(app, api_a, processes):
    worker = processes.worker()
    job_id = job_id_of(upload(api_a))
    wait_for(
        lambda: status_of(app, job_id) == "needs_review", 60, "the analysis", watching=[worker]
    )

    review = api_a.get(f"/jobs/{job_id}/review").get_json()["data"]
    assert review["status"] == "needs_review" and review["counts"]["rejected"] == 1
    assert review["mapping"]["columns"]["Cell Number"] == "mobile_number"
    assert review["unknownValues"] == {"province": {"Gautengg": 1}}
    assert len(review["preview"]["rows"]) == 2

    mapping = {
        "columns": {**review["mapping"]["columns"], "Shoe size": None},
        "values": {"province": {"Gautengg": "Gauteng"}},
    }
    changed = put(api_a, f"/jobs/{job_id}/mapping", mapping)
    assert changed.status_code == 202 and changed.get_json()["data"]["status"] == "queued"
    wait_for(
        lambda: status_of(app, job_id) == "needs_review", 60, "the new analysis", watching=[worker]
    )
    review = api_a.get(f"/jobs/{job_id}/review").get_json()["data"]
    assert review["counts"]["rejected"] == 0 and review["unknownValues"] == {}

    committed = api_a.post(f"/jobs/{job_id}/commit")
    assert committed.status_code == 202, committed.get_json()
    wait_for(lambda: status_of(app, job_id) == "completed", 60, "the import", watching=[worker])
    with app.app_context():
        table = ENTITY_TABLES["mechanics"]
        stored = dict(db.session.execute(select(table.c.email, table.c.province)).all())
    assert stored == {"ann@example.com": "Gauteng", "ben@example.com": "Gauteng"}
    assert api_a.post(f"/jobs/{job_id}/commit").status_code == 409

    saved = api_a.get("/mappings").get_json()["data"]["mappings"]
    assert [m["mapping"]["values"] for m in saved] == [{"province": {"Gautengg": "Gauteng"}}]


def test_wrong_states_and_bad_mappings_are_refused(app, api_a):
    job_id = job_id_of(upload(api_a, query=""))
    refused = api_a.get(f"/jobs/{job_id}/review")
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "not_in_review"
    assert api_a.post(f"/jobs/{job_id}/discard").status_code == 409
    review_id = job_id_of(upload(api_a))
    run_worker(app)
    bad = put(api_a, f"/jobs/{review_id}/mapping", {"columns": {"Cell Number": "shoe"}})
    assert bad.status_code == 422 and "not a field" in bad.get_json()["error"]["message"]
    assert api_a.open("PUT", f"/jobs/{review_id}/mapping", data="{").status_code in (400, 415)
    discarded = api_a.post(f"/jobs/{review_id}/discard")
    assert discarded.status_code == 200 and status_of(app, review_id) == "canceled"


def test_uploads_without_review_import_at_once_with_a_saved_or_inline_mapping(app, api_a):
    inline = {"columns": {"Shoe size": None}, "values": {"province": {"Gautengg": "Gauteng"}}}
    job_id = job_id_of(upload(api_a, query="", mapping=json.dumps(inline)))
    run_worker(app)
    job = fetch_job(app, job_id)
    assert (job.status, job.phase, job.inserted_rows, job.invalid_rows) == (
        "completed",
        "import",
        2,
        0,
    )
    saved_id = save_mapping(app, job.organisation_id, inline)
    again = job_id_of(upload(api_a, query=f"mapping_id={saved_id}"))
    assert fetch_job(app, again).saved_mapping_id == saved_id
    both = upload(api_a, query=f"mapping_id={saved_id}", mapping=json.dumps(inline))
    assert both.status_code == 422
    wrong = upload(api_a, query="", mapping=json.dumps({"columns": {"Cell Number": "nope"}}))
    assert wrong.status_code == 422


def test_saved_mappings_are_scoped_and_only_admins_delete(app, api_a, api_b, api_admin_a, admin_a):
    saved_id = save_mapping(app, admin_a.organisation_id)
    assert api_b.get("/mappings").get_json()["data"]["mappings"] == []
    assert api_b.open("DELETE", f"/mappings/{saved_id}").status_code == 404
    assert upload(api_b, query=f"mapping_id={saved_id}").status_code == 422
    assert api_a.open("DELETE", f"/mappings/{saved_id}").status_code == 403
    assert api_admin_a.open("DELETE", f"/mappings/{saved_id}").status_code == 200
    assert api_admin_a.open("DELETE", f"/mappings/{saved_id}").status_code == 404


def test_a_mapping_id_beyond_the_databases_integers_names_nothing(api_admin_a, api_a):
    """PostgreSQL's integer keys stop at 2**31 - 1: a larger id is a 404, never a 500."""
    assert api_admin_a.open("DELETE", f"/mappings/{2**31}").status_code == 404
    assert upload(api_a, query=f"mapping_id={2**53}").status_code == 422


def test_a_json_array_can_be_reviewed_before_it_is_imported(app, api_a):
    records = [{"policyNumber": "POL123", "type": "auto"}, {"policyNumber": "POL124"}]
    job_id = job_id_of(api_a.post("/bulk-upload/policies?review=true", json=records))
    run_worker(app)
    review = api_a.get(f"/jobs/{job_id}/review").get_json()["data"]
    assert (review["entity"], review["counts"]["inserted"], review["counts"]["rejected"]) == (
        "policies",
        1,
        1,
    )
    assert review["preview"]["rows"][0]["values"][:2] == ["POL123", "motor"]
    assert api_a.post(f"/jobs/{job_id}/commit").status_code == 202
    run_worker(app)
    job = fetch_job(app, job_id)
    assert (job.status, job.inserted_rows, job.invalid_rows) == ("completed", 1, 1)
