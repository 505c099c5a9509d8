"""Bad bytes never reach the database: NUL and other control characters in an address, a
query string, a header, a form field or a JSON body are refused by one guard with a 400 in
the right shape (the API's JSON envelope, a page elsewhere); an address too long is a 414
in the same shapes; a mapping naming a column the file lacks is a 422 naming it. Runs on
SQLite and on PostgreSQL (TEST_DATABASE_URL), whose text cannot hold NUL."""

from __future__ import annotations

import base64
import io
import json

import pytest

from bulkapp.extensions import db
from bulkapp.models import User
from tests.api.conftest import ApiClient
from tests.api.test_review_api import job_id_of, put, upload
from tests.conftest import run_worker


def assert_refused_as_json(response, status: int = 400, code: str = "invalid_characters"):
    assert response.status_code == status, response.data[:300]
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["success"] is False and body["error"]["code"] == code, body
    return body["error"]["message"]


def nul_cursor() -> str:
    raw = json.dumps(["2026-01-01T00:00:00+00:00", "\x00"]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/jobs/%00/review"),
        ("GET", "/bulk-upload/status/%00"),
        ("GET", "/bulk-upload/%00/errors"),
        ("POST", "/jobs/%00/commit"),
        ("POST", "/bulk-upload/queue/retry/a%00b"),
        ("GET", "/users?organisation=%00"),
        ("GET", "/records/mechanics?organisation=%00"),
        ("GET", "/records/mechanics?q=jo%00"),
        ("GET", "/bulk-upload/queue/jobs?status=%00"),
        ("GET", "/records/mechanics/a%00b@x.com"),
        ("GET", "/records/mechanics?%00=1"),
        ("GET", "/records/mechanics?q=bell%07"),
    ],
)
def test_a_control_character_in_the_address_is_a_json_400(api_admin_a, method, path):
    message = assert_refused_as_json(api_admin_a.open(method, path))
    assert "control character" in message


def test_a_job_list_cursor_holding_nul_is_a_422(api_a):
    response = api_a.get(f"/bulk-upload/queue/jobs?cursor={nul_cursor()}")
    assert_refused_as_json(response, 422, "invalid_cursor")


@pytest.mark.parametrize(
    "body",
    [
        {"email": "ann\x00@example.com", "name": "Ann", "role": "member"},
        {"email": "ann@example.com", "name": "A\x00nn", "role": "member"},
        {"email": "ann@example.com", "name": "Ann\ud800", "role": "member"},
        {"email\x00": "ann@example.com", "role": "member"},
    ],
)
def test_a_control_character_in_a_json_body_is_a_400(app, api_admin_a, body):
    response = api_admin_a.post("/users", data=json.dumps(body), content_type="application/json")
    assert_refused_as_json(response)
    with app.app_context():
        assert db.session.query(User).filter(User.email.like("ann%")).count() == 0


def test_a_control_character_in_a_header_or_form_field_is_a_400(api_a):
    header = api_a.get("/bulk-upload/queue/jobs", headers={"X-Note": "a\x01b"})
    assert "header X-Note" in assert_refused_as_json(header)
    form = api_a.post(
        "/bulk-upload/process",
        data={"file": (io.BytesIO(b"a,b\n1,2\n"), "m.csv"), "entity": "mem\x00bers"},
        content_type="multipart/form-data",
    )
    assert "form field entity" in assert_refused_as_json(form)


def test_a_bearer_token_holding_nul_is_a_400_not_a_lookup(api_anonymous):
    response = api_anonymous.get("/users", headers={"Authorization": "Bearer bk_\x00x"})
    assert "header Authorization" in assert_refused_as_json(response)


def test_an_uploaded_files_records_are_judged_by_the_import_not_refused_whole(app, api_a):
    """A JSON upload is a file: its NUL is a rejected cell, the other records imported."""
    records = [
        {
            "firstName": "A\x00n",
            "lastName": "One",
            "email": "a@example.com",
            "mobileNumber": "0821000001",
        },
        {
            "firstName": "Ben",
            "lastName": "Two",
            "email": "b@example.com",
            "mobileNumber": "0821000002",
        },
    ]
    response = api_a.post("/bulk-upload/mechanics", json=records)
    assert response.status_code == 202, response.get_json()
    run_worker(app)
    job_id = response.get_json()["data"]["jobId"]
    status = api_a.get(f"/bulk-upload/status/{job_id}").get_json()["data"]
    assert status["status"] == "completed"
    stats = status["validation_stats"]
    assert (stats["valid"], stats["invalid"]) == (1, 1), stats


def test_an_address_too_long_is_a_414_in_the_envelope(api_a):
    assert_refused_as_json(api_a.get("/bulk-upload/status/" + "x" * 5000), 414, "uri_too_long")
    assert api_a.get("/bulk-upload/status/" + "x" * 3000).status_code == 404


def test_pages_refuse_control_characters_with_a_page(client_a):
    for path in ("/jobs/%00", "/records/mechanics?q=%00", "/jobs?q=a%00"):
        response = client_a.get(path)
        assert response.status_code == 400, path
        assert response.mimetype == "text/html"
        assert b"Characters not allowed" in response.data
    long_one = client_a.get("/jobs/" + "x" * 5000)
    assert long_one.status_code == 414 and long_one.mimetype == "text/html"


def test_a_login_form_holding_nul_is_a_400_page(app):
    client = app.test_client()
    response = client.post("/login", data={"email": "a\x00@example.com", "password": "x"})
    assert response.status_code == 400 and b"Characters not allowed" in response.data


def test_a_mapping_naming_a_column_the_file_lacks_is_a_422_naming_it(app, api_a: ApiClient):
    job_id = job_id_of(upload(api_a))
    run_worker(app)
    review = api_a.get(f"/jobs/{job_id}/review").get_json()["data"]
    mapping = {"columns": {**review["mapping"]["columns"], "Shoe colour": None}}
    for response in (
        put(api_a, f"/jobs/{job_id}/mapping", mapping),
        api_a.post(f"/jobs/{job_id}/commit", json=mapping),
    ):
        message = assert_refused_as_json(response, 422, "unknown_column")
        assert "'Shoe colour'" in message and "'Cell Number'" in message
    assert api_a.get(f"/jobs/{job_id}/review").get_json()["data"]["status"] == "needs_review"
