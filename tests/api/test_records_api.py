"""/api/v1/records: an entity type's records a page at a time, and one record by its key,
within the user's organisation (a super admin names one)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from urllib.parse import quote

import pytest

from tests.api.conftest import API, ApiClient, make_token
from tests.api.test_jobs import upload
from tests.conftest import run_worker
from tests.records.conftest import add_records, mechanic
from tests.web.test_record_history import imported


def test_an_upload_reads_back_by_label_with_its_job(app, api_a):
    job_id = upload(
        api_a,
        [
            {
                "firstName": "Ann",
                "lastName": "Lee",
                "email": "Ann@X.com",
                "mobileNumber": "082 123 4567",
                "yearsExperience": "12",
                "province": "GP",
            }
        ],
    )
    run_worker(app)
    response = api_a.get("/records/mechanics")
    assert response.status_code == 200
    data = response.get_json()["data"]
    assert data["limit"] == 50 and data["nextCursor"] is None and data["total"] is None
    (record,) = data["records"]
    assert record == {
        "firstName": "Ann",
        "lastName": "Lee",
        "email": "ann@x.com",
        "mobileNumber": "0821234567",
        "specialisation": None,
        "yearsExperience": 12,
        "workshopName": None,
        "city": None,
        "province": "Gauteng",
        "createdAt": record["createdAt"],
        "updatedAt": record["updatedAt"],
        "lastImportJobId": job_id,
        "url": f"{API}/records/mechanics/ann@x.com",
    }
    assert record["createdAt"].endswith("Z")
    detail = api_a.get(record["url"]).get_json()["data"]
    assert detail["record"] == record


def test_policies_read_back_with_dates_and_decimals_as_text(app, api_a, user_a):
    add_records(
        app,
        user_a.organisation_id,
        "policies",
        [
            {
                "policy_number": "P/1 2",
                "type": "motor",
                "start_date": date(2024, 2, 29),
                "premium": Decimal("1500.05"),
            }
        ],
    )
    (record,) = api_a.get("/records/policies").get_json()["data"]["records"]
    assert record["startDate"] == "2024-02-29" and record["premium"] == "1500.05"
    assert record["url"] == f"{API}/records/policies/P%2F1%202"
    assert api_a.get(record["url"]).status_code == 200
    assert api_a.get(f"/records/policies/{quote('P/1 2', safe='')}").status_code == 200


def test_pages_follow_the_cursor_with_search_filters_and_sort(app, api_a, user_a):
    add_records(app, user_a.organisation_id, "mechanics", [mechanic(i) for i in range(60)])
    query = {"q": "jo", "sort": "-email", "limit": "7", "province": "Gauteng"}
    seen, cursor = [], None
    while True:
        response = api_a.get("/records/mechanics", query_string={**query, "cursor": cursor or ""})
        data = response.get_json()["data"]
        seen += [r["email"] for r in data["records"]]
        cursor = data["nextCursor"]
        if cursor is None:
            break
    expected = sorted(
        (f"john.{i}@example.com" for i in range(60) if i % 8 == 0 and i % 4 == 0), reverse=True
    )
    assert seen == expected and data["total"] == len(expected)


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({"limit": "0"}, "invalid_limit"),
        ({"limit": "201"}, "invalid_limit"),
        ({"cursor": "nonsense"}, "invalid_cursor"),
        ({"sort": "city"}, "invalid_parameter"),
        ({"province": "Atlantis"}, "invalid_parameter"),
        ({"startDateFrom": "yesterday"}, "invalid_parameter"),
    ],
)
def test_parameters_that_make_no_sense_are_422(api_a, query, code):
    entity = "policies" if "startDateFrom" in query else "mechanics"
    response = api_a.get(f"/records/{entity}", query_string=query)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["code"] == code


def test_unstorable_characters_never_reach_the_database(app, api_a, user_a):
    add_records(app, user_a.organisation_id, "mechanics", [mechanic(1)])
    # NUL, which PostgreSQL text cannot hold, is refused by the request guard
    # (tests/api/test_bad_bytes.py); bytes that are no UTF-8 (a lone surrogate's) find nothing.
    for query in ("q=jo%00", "q=0%00821", "lastName=%00"):
        assert api_a.get(f"/records/mechanics?{query}").status_code == 400
    response = api_a.get("/records/mechanics?city=%ED%A0%80")
    assert response.status_code == 200 and response.get_json()["data"]["records"] == []
    assert api_a.get("/records/mechanics/a%00b@x.com").status_code == 400
    too_long = api_a.get("/records/mechanics", query_string={"q": "j" * 201})
    assert too_long.status_code == 422 and "at most 200" in too_long.get_json()["error"]["message"]


def test_another_organisations_records_are_404(app, api_a, api_b, user_a, user_b):
    add_records(app, user_a.organisation_id, "mechanics", [mechanic(1)])
    assert api_a.get("/records/mechanics/joan.1@example.com").status_code == 200
    missing = api_b.get("/records/mechanics/joan.1@example.com")
    assert missing.status_code == 404
    assert missing.get_json()["error"]["code"] == "record_not_found"
    assert api_b.get("/records/mechanics").get_json()["data"]["records"] == []
    for path in ("/records/mechanics", "/records/mechanics/joan.1@example.com"):
        named = api_b.get(path, query_string={"organisation": "org-a"})
        assert named.status_code == 404
        assert named.get_json()["error"]["code"] == "organisation_not_found"
    assert api_a.get("/records/boats").status_code == 404


def test_a_super_admin_reads_any_organisation_by_slug(app, super_admin, user_a):
    add_records(
        app,
        user_a.organisation_id,
        "members",
        [{"first_name": "Ann", "last_name": "Lee", "id_number": "8001015009087"}],
    )
    api = ApiClient(app.test_client(), make_token(app, super_admin))
    assert api.get("/records/members").get_json()["data"]["records"] == []
    org_a = api.get("/records/members", query_string={"organisation": "org-a"})
    (record,) = org_a.get_json()["data"]["records"]
    assert record["idNumber"] == "8001015009087"
    detail = api.get("/records/members/800101 5009 087", query_string={"organisation": "org-a"})
    assert detail.status_code == 200
    assert api.get("/records/members/8001015009087").status_code == 404


def test_every_signed_in_role_reads_records_and_no_token_reads_none(
    app, api_a, api_admin_a, api_anonymous, user_a
):
    add_records(app, user_a.organisation_id, "mechanics", [mechanic(1)])
    for api in (api_a, api_admin_a):
        assert len(api.get("/records/mechanics").get_json()["data"]["records"]) == 1
    assert api_anonymous.get("/records/mechanics").status_code == 401


def test_the_api_gives_the_history_with_the_record(app, api_a, client_a, user_a):
    imported(app, client_a, "first.csv", b"Ann,Lee,ann@x.com,0821234567,Pretoria,3\n")
    second = imported(app, client_a, "second.csv", b"Ann,Lee,ann@x.com,0821234567,Durban,3\n")
    data = api_a.get("/records/mechanics/ann@x.com").get_json()["data"]
    assert data["record"]["city"] == "Durban"
    changed, added = data["history"]
    assert changed == {
        "action": "updated",
        "at": changed["at"],
        "jobId": second,
        "fileName": "second.csv",
        "uploadedBy": user_a.email,
        "uploadedAt": changed["uploadedAt"],
        "jobUrl": f"/api/v1/bulk-upload/status/{second}",
        "changes": [{"field": "city", "old": "Pretoria", "new": "Durban"}],
    }
    assert changed["at"].endswith("Z") and changed["at"] >= added["at"]
    assert (added["action"], added["fileName"], added["changes"]) == ("inserted", "first.csv", [])
