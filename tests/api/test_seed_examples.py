"""Seed compatibility: the request examples of the seed documents, sent as written, through
the API and a real worker, store every row; the answers carry the seeds' top-level message.
An everyday file (other headers, codes for values) is understood the same way."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from bulkapp.extensions import db
from bulkapp.models import ENTITY_TABLES
from bulkapp.web.api.uploads import QUEUED_HEADLINE, REPLAYED_HEADLINE
from tests.conftest import run_worker

# Verbatim from the seed documents: 000 ("Submit Bulk Upload Jobs") has a JSON example per
# entity type. The members guide (001) uploads an Excel file without showing its rows, so
# members are sent as that guide's file upload with the template's example row.
SEED_EXAMPLES = {
    "mechanics": [
        {
            "firstName": "John",
            "lastName": "Doe",
            "email": "john@example.com",
            "mobileNumber": "1234567890",
        }
    ],
    "service-providers": [{"name": "Provider Name", "email": "provider@example.com"}],
    "policies": [{"policyNumber": "POL123", "type": "auto"}],
}
# What the seed examples are stored as.
STORED = {
    "mechanics": {"email": "john@example.com", "mobile_number": "1234567890"},
    "service-providers": {"name": "Provider Name", "email": "provider@example.com"},
    "policies": {"policy_number": "POL123", "type": "motor"},
}
MEMBERS_CSV = (
    "firstName,lastName,idNumber,dateOfBirth,gender,mobileNumber,province\n"
    "Thandi,Nkosi,8001015009087,1980-01-01,F,082 123 4567,GP\n"
)


def stored_rows(app, entity: str) -> list[dict]:
    with app.app_context():
        return [dict(row._mapping) for row in db.session.execute(select(ENTITY_TABLES[entity]))]


@pytest.mark.parametrize("entity", sorted(SEED_EXAMPLES))
def test_each_seed_json_example_is_stored_with_no_row_rejected(app, api_a, entity):
    response = api_a.post(f"/bulk-upload/{entity}", json=SEED_EXAMPLES[entity])
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    assert (body["success"], body["message"]) == (True, QUEUED_HEADLINE)
    accepted = body["data"]
    run_worker(app)

    status = api_a.get(f"/bulk-upload/status/{accepted['jobId']}").get_json()["data"]
    assert status["status"] == "completed", status
    assert status["validation_stats"]["invalid"] == 0, status["warnings"]
    assert status["database_stats"]["inserted"] == len(SEED_EXAMPLES[entity])
    [row] = stored_rows(app, entity)
    assert {name: row[name] for name in STORED[entity]} == STORED[entity]
    result = api_a.get(accepted["statusUrl"]).get_json()["data"]["result"]
    assert (result["success"], result["uploaded"]) == (True, 1)


def test_a_members_file_through_the_guides_endpoint_is_stored_with_its_synonyms(app, api_a):
    response = api_a.post(
        "/bulk-upload/process",
        content_type="multipart/form-data",
        data={"file": (io.BytesIO(MEMBERS_CSV.encode()), "members.csv")},
    )
    assert response.status_code == 202
    body = response.get_json()
    assert (body["success"], body["message"]) == (True, QUEUED_HEADLINE)
    assert body["data"]["message"]
    run_worker(app)
    [row] = stored_rows(app, "members")
    assert (row["gender"], row["province"], row["mobile_number"]) == (
        "female",
        "Gauteng",
        "0821234567",
    )


EVERYDAY_MEMBERS_CSV = (
    "Members list,,,,,,\n"
    "First Names,Surname,ID No.,Cell Number,Sex,Province,Shoe Size\n"
    "Thandi,Nkosi,8001015009087,082 123 4567,F,KZN,5\n"
    "Sipho,Dlamini,8501015800088,0831234567,m,Wes-Kaap,9\n"
)


def test_a_members_file_with_everyday_headers_and_values_stores_every_row(app, api_a):
    response = api_a.post(
        "/bulk-upload/process",
        content_type="multipart/form-data",
        data={"file": (io.BytesIO(EVERYDAY_MEMBERS_CSV.encode()), "members.csv")},
    )
    assert response.status_code == 202
    run_worker(app)
    status = api_a.get(f"/bulk-upload/status/{response.get_json()['data']['job_id']}")
    data = status.get_json()["data"]
    assert (data["status"], data["validation_stats"]["invalid"]) == ("completed", 0), data
    assert data["warnings"] == ["Unknown column 'Shoe Size' was ignored."]
    rows = sorted(stored_rows(app, "members"), key=lambda row: row["last_name"])
    assert [(r["mobile_number"], r["gender"], r["province"]) for r in rows] == [
        ("0831234567", "male", "Western Cape"),
        ("0821234567", "female", "KwaZulu-Natal"),
    ]


def test_a_replayed_upload_says_it_was_queued_before(api_a):
    headers = {"Idempotency-Key": "seed-replay-1"}
    api_a.post("/bulk-upload/policies", json=SEED_EXAMPLES["policies"], headers=headers)
    again = api_a.post("/bulk-upload/policies", json=SEED_EXAMPLES["policies"], headers=headers)
    assert again.get_json()["message"] == REPLAYED_HEADLINE


def test_a_job_that_stored_nothing_because_every_row_was_rejected_is_no_success(app, api_a):
    records = [{"policyNumber": "POL9", "type": "boat"}, {"policyNumber": "POL8", "type": "?"}]
    accepted = api_a.post("/bulk-upload/policies", json=records).get_json()["data"]
    run_worker(app)
    done = api_a.get(accepted["statusUrl"]).get_json()["data"]
    assert done["status"] == "completed"
    assert done["result"] == {
        "success": False,
        "uploaded": 0,
        "message": "Stored 0 of 2 records; 2 rejected.",
    }


def test_a_dry_run_with_some_rows_rejected_is_still_a_success(app, api_a):
    records = [{"policyNumber": "POL7", "type": "car"}, {"policyNumber": "POL6", "type": "boat"}]
    accepted = api_a.post("/bulk-upload/policies?mode=validate_only", json=records).get_json()
    run_worker(app)
    result = api_a.get(accepted["data"]["statusUrl"]).get_json()["data"]["result"]
    assert result["success"] is True
