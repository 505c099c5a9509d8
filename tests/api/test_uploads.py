"""Job creation through the API: shapes, every error code, idempotency, rate limit, Redis down."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rq import Queue
from sqlalchemy import select

from bulkapp.extensions import db, get_redis
from bulkapp.models import ImportJob
from tests.api.conftest import API
from tests.conftest import fetch_job, run_worker

RECORDS = [
    {
        "firstName": "John",
        "lastName": "Doe",
        "email": "john@example.com",
        "mobileNumber": "0821234567",
    }
]
CSV = b"firstName,lastName,email,mobileNumber\nJane,Roe,jane@example.com,0831234567\n"


def jobs_in_db(app) -> list[ImportJob]:
    with app.app_context():
        jobs = db.session.scalars(select(ImportJob).order_by(ImportJob.created_at)).all()
        db.session.expunge_all()
        return jobs


def queued_ids(app, queue_name: str) -> list[str]:
    with app.app_context():
        return Queue(queue_name, connection=get_redis()).job_ids


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["success"] is False and body["error"]["message"]
    if code:
        assert body["error"]["code"] == code
    return body["error"]


def test_json_array_upload_is_accepted_stored_and_enqueued(app, api_a, user_a):
    response = api_a.post("/bulk-upload/mechanics", json=RECORDS)
    assert response.status_code == 202
    body = response.get_json()
    assert body["success"] is True
    data = body["data"]
    assert data["status"] == "queued" and data["queueName"] == "bulk-upload-mechanics"
    assert data["statusUrl"] == f"{API}/jobs/bulk-upload-mechanics/{data['jobId']}/status"
    assert response.headers["Location"] == data["statusUrl"]
    [job] = jobs_in_db(app)
    assert job.id == data["jobId"] and job.user_id == user_a.id
    assert job.organisation_id == user_a.organisation_id and job.mode == "partial"
    assert job.original_filename == "mechanics.json"
    assert json.loads(Path(job.stored_path).read_bytes()) == RECORDS
    assert queued_ids(app, "bulk-upload-mechanics") == [job.id]


@pytest.mark.parametrize("entity", ["mechanics", "service-providers", "policies", "members"])
def test_each_entity_route_feeds_its_own_queue(app, api_a, entity):
    response = api_a.post(f"/bulk-upload/{entity}", json=[{"name": "x"}])
    assert response.status_code == 202
    job_id = response.get_json()["data"]["jobId"]
    assert queued_ids(app, f"bulk-upload-{entity}") == [job_id]
    assert jobs_in_db(app)[0].entity_type == entity


def test_multipart_file_upload_with_a_mode(app, api_a):
    response = api_a.post(
        "/bulk-upload/mechanics",
        content_type="multipart/form-data",
        data={"file": (io.BytesIO(CSV), "people.csv"), "mode": "validate_only"},
    )
    assert response.status_code == 202, response.get_json()
    [job] = jobs_in_db(app)
    assert job.mode == "validate_only" and job.original_filename == "people.csv"
    assert Path(job.stored_path).read_bytes() == CSV


def test_json_upload_takes_its_mode_from_the_query_string(app, api_a):
    assert api_a.post("/bulk-upload/mechanics?mode=all_or_nothing", json=RECORDS).status_code == 202
    assert jobs_in_db(app)[0].mode == "all_or_nothing"


def test_process_endpoint_answers_like_the_members_guide(app, api_a):
    response = api_a.post(
        "/bulk-upload/process",
        content_type="multipart/form-data",
        data={"file": (io.BytesIO(CSV), "members.csv")},
    )
    assert response.status_code == 202
    data = response.get_json()["data"]
    assert data["status"] == "pending" and data["file_name"] == "members.csv"
    assert data["message"] and data["status_url"] == f"{API}/bulk-upload/status/{data['job_id']}"
    [job] = jobs_in_db(app)
    assert job.id == data["job_id"] and job.entity_type == "members"


def test_process_endpoint_takes_an_entity(app, api_a):
    response = api_a.post(
        "/bulk-upload/process",
        content_type="multipart/form-data",
        data={"file": (io.BytesIO(CSV), "m.csv"), "entity": "mechanics"},
    )
    assert response.status_code == 202
    assert jobs_in_db(app)[0].entity_type == "mechanics"


def test_malformed_json_is_400(app, api_a):
    response = api_a.post(
        "/bulk-upload/mechanics", data=b'[{"firstName": "John",', content_type="application/json"
    )
    assert_error(response, 400, "malformed_json")
    assert jobs_in_db(app) == []


@pytest.mark.parametrize(
    "body, code",
    [
        ({"firstName": "John"}, "not_an_array"),
        ([], "empty_array"),
        (["John", "Doe"], "invalid_record"),
        ([{"firstName": "John"}, {}], "invalid_record"),
        ([{"firstName": {"nested": "object"}}], "invalid_record"),
        ([{"tags": ["a", "b"]}], "invalid_record"),
    ],
)
def test_wrong_shapes_are_422(app, api_a, body, code):
    assert_error(api_a.post("/bulk-upload/mechanics", json=body), 422, code)
    assert jobs_in_db(app) == []


def test_deeply_nested_json_is_refused_cleanly(app, api_a):
    body = "[" * 100_000 + "]" * 100_000
    response = api_a.post("/bulk-upload/mechanics", data=body, content_type="application/json")
    assert response.status_code in (400, 422)
    assert response.get_json()["success"] is False


def test_unsupported_content_type_is_415(api_a):
    response = api_a.post(
        "/bulk-upload/mechanics", data="firstName\nJohn", content_type="text/plain"
    )
    assert_error(response, 415, "unsupported_media_type")
    response = api_a.post("/bulk-upload/process", json=RECORDS)
    assert_error(response, 415, "unsupported_media_type")


def test_unsupported_file_type_is_415(app, api_a):
    response = api_a.post(
        "/bulk-upload/mechanics",
        content_type="multipart/form-data",
        data={"file": (io.BytesIO(b"\x89PNG...."), "photo.png")},
    )
    error = assert_error(response, 415, "unsupported_file_type")
    assert "photo.png" in error["message"] and ".csv" in error["message"]
    assert jobs_in_db(app) == []


def test_multipart_without_a_file_is_422(api_a):
    response = api_a.post(
        "/bulk-upload/mechanics", content_type="multipart/form-data", data={"mode": "partial"}
    )
    assert_error(response, 422, "missing_file")


def test_an_empty_file_becomes_a_failed_job_like_every_unreadable_file(app, api_a):
    response = api_a.post(
        "/bulk-upload/mechanics",
        content_type="multipart/form-data",
        data={"file": (io.BytesIO(b""), "empty.csv")},
    )
    assert response.status_code == 202, response.get_json()
    run_worker(app)
    [job] = jobs_in_db(app)
    assert (job.status, job.failure_kind) == ("failed", "empty_file")
    assert "empty.csv is empty" in job.error_message


def test_an_unknown_mode_is_422(api_a):
    error = assert_error(
        api_a.post("/bulk-upload/mechanics?mode=fast", json=RECORDS), 422, "invalid_mode"
    )
    assert "validate_only" in error["message"]


def test_an_unknown_entity_is_404_on_its_route_and_422_on_process(api_a):
    error = assert_error(api_a.post("/bulk-upload/spaceships", json=RECORDS), 404, "unknown_entity")
    assert "mechanics" in error["message"]
    response = api_a.post(
        "/bulk-upload/process",
        content_type="multipart/form-data",
        data={"file": (io.BytesIO(CSV), "m.csv"), "entity": "spaceships"},
    )
    assert_error(response, 422, "unknown_entity")


def test_too_large_is_413_json(app, api_a):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    big = [{"firstName": "x" * 200}] * 20
    error = assert_error(api_a.post("/bulk-upload/mechanics", json=big), 413, "payload_too_large")
    assert "too large" in error["message"]
    response = api_a.post(
        "/bulk-upload/process",
        content_type="multipart/form-data",
        data={"file": (io.BytesIO(CSV * 100), "m.csv")},
    )
    assert_error(response, 413, "payload_too_large")
    assert jobs_in_db(app) == []


def test_repeated_idempotency_key_returns_the_same_job(app, api_a):
    headers = {"Idempotency-Key": "order-2024-0001"}
    first = api_a.post("/bulk-upload/mechanics", json=RECORDS, headers=headers)
    second = api_a.post("/bulk-upload/mechanics", json=RECORDS, headers=headers)
    assert first.status_code == second.status_code == 202
    assert first.get_json()["data"]["jobId"] == second.get_json()["data"]["jobId"]
    assert "Idempotent-Replayed" not in first.headers
    assert second.headers["Idempotent-Replayed"] == "true"
    assert len(jobs_in_db(app)) == 1
    assert len(queued_ids(app, "bulk-upload-mechanics")) == 1
    other = api_a.post(
        "/bulk-upload/mechanics", json=RECORDS, headers={"Idempotency-Key": "order-2024-0002"}
    )
    assert other.get_json()["data"]["jobId"] != first.get_json()["data"]["jobId"]
    assert len(jobs_in_db(app)) == 2


def test_idempotency_keys_belong_to_one_user(app, api_a, api_b):
    headers = {"Idempotency-Key": "same-key"}
    job_a = api_a.post("/bulk-upload/mechanics", json=RECORDS, headers=headers)
    job_b = api_b.post("/bulk-upload/mechanics", json=RECORDS, headers=headers)
    assert job_a.get_json()["data"]["jobId"] != job_b.get_json()["data"]["jobId"]
    assert "Idempotent-Replayed" not in job_b.headers


def test_idempotency_key_on_process_replays_too(app, api_a):
    def send():
        return api_a.post(
            "/bulk-upload/process",
            content_type="multipart/form-data",
            headers={"Idempotency-Key": "k1"},
            data={"file": (io.BytesIO(CSV), "members.csv")},
        )

    assert send().get_json()["data"]["job_id"] == send().get_json()["data"]["job_id"]
    assert len(jobs_in_db(app)) == 1


@pytest.mark.parametrize("key", ["has space", "x" * 201, "tab\tkey"])
def test_invalid_idempotency_keys_are_422(api_a, key):
    response = api_a.post("/bulk-upload/mechanics", json=RECORDS, headers={"Idempotency-Key": key})
    assert_error(response, 422, "invalid_idempotency_key")


def test_a_key_still_in_flight_is_409(app, api_a, user_a):
    from bulkapp.jobs.idempotency import lock_name

    with app.app_context():
        get_redis().set(lock_name(user_a.load(), "busy-key"), "1", ex=60)
    response = api_a.post(
        "/bulk-upload/mechanics", json=RECORDS, headers={"Idempotency-Key": "busy-key"}
    )
    assert_error(response, 409, "idempotency_conflict")
    assert response.headers["Retry-After"] == "1"
    assert jobs_in_db(app) == []


def test_job_creation_is_rate_limited_per_user_with_retry_after(app, api_a, api_b):
    app.config["API_UPLOAD_RATE_LIMIT"] = "2 per minute"
    assert api_a.post("/bulk-upload/mechanics", json=RECORDS).status_code == 202
    assert (
        api_a.post(
            "/bulk-upload/process",
            content_type="multipart/form-data",
            data={"file": (io.BytesIO(CSV), "m.csv")},
        ).status_code
        == 202
    )
    response = api_a.post("/bulk-upload/policies", json=[{"policyNumber": "P1"}])
    error = assert_error(response, 429, "rate_limited")
    assert "2 per minute" in error["message"]
    assert 0 < int(response.headers["Retry-After"]) <= 60
    assert len(jobs_in_db(app)) == 2
    assert api_b.post("/bulk-upload/mechanics", json=RECORDS).status_code == 202
    assert api_a.get("/bulk-upload/queue/jobs").status_code == 200, "reads are not limited"


def test_rate_limit_can_be_switched_off(make_api_app):
    app, api = make_api_app(RATELIMIT_ENABLED=False, API_UPLOAD_RATE_LIMIT="1 per minute")
    for _ in range(3):
        assert api.post("/bulk-upload/mechanics", json=RECORDS).status_code == 202


def test_a_malformed_rate_limit_setting_stops_the_app_with_a_clear_message():
    from bulkapp.config import ConfigError, load_config

    environ = {"BULKAPP_ENV": "testing"}
    assert load_config(environ)["API_UPLOAD_RATE_LIMIT"] == "60 per minute"
    assert (
        load_config({**environ, "API_UPLOAD_RATE_LIMIT": "5/second;100/hour"})[
            "API_UPLOAD_RATE_LIMIT"
        ]
        == "5/second;100/hour"
    )
    with pytest.raises(ConfigError, match="API_UPLOAD_RATE_LIMIT must be a rate"):
        load_config({**environ, "API_UPLOAD_RATE_LIMIT": "lots"})


def test_the_limiter_counts_in_the_apps_redis(app, api_a, user_a):
    from bulkapp.extensions import limiter_storage_uri

    assert app.config["RATELIMIT_STORAGE_URI"] == app.config["REDIS_URL"]
    api_a.post("/bulk-upload/mechanics", json=RECORDS)
    with app.app_context():
        counters = [key.decode() for key in get_redis().keys("LIMITS*")]
    assert any(f"user:{user_a.id}" in key for key in counters), counters
    assert limiter_storage_uri("unix:///run/redis.sock") == "redis+unix:///run/redis.sock"
    assert limiter_storage_uri("rediss://h:6380/0") == "rediss://h:6380/0"


def test_upload_while_redis_is_down_is_accepted_and_kept(make_api_app):
    app, api = make_api_app(REDIS_URL="redis://127.0.0.1:1/0")
    response = api.post("/bulk-upload/mechanics", json=RECORDS)
    assert response.status_code == 202
    data = response.get_json()["data"]
    assert data["status"] == "queued"
    assert "processing will start automatically" in data["message"]
    [job] = jobs_in_db(app)
    assert job.rq_job_id is None and json.loads(Path(job.stored_path).read_bytes()) == RECORDS


def test_database_down_is_503(make_api_app):
    app, api = make_api_app(
        SQLALCHEMY_DATABASE_URI="postgresql+psycopg://postgres@127.0.0.1:1/none",
        SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"connect_timeout": 1}},
        create_tables=False,
    )
    response = api.post("/bulk-upload/mechanics", json=RECORDS)
    assert_error(response, 503, "database_unavailable")
    assert response.headers["Retry-After"]


def test_unstorable_characters_in_a_json_body_reject_their_record_not_the_request(app, api_a):
    body = (
        '[{"firstName": "Jo\\ud800", "lastName": "Doe", "email": "jo@example.com", '
        '"mobileNumber": "0821234567", "yearsExperience": ' + "9" * 5000 + "},"
        ' {"firstName": "Ann", "lastName": "Lee", "email": "ann@example.com", '
        '"mobileNumber": "0821234568"}]'
    )
    response = api_a.post("/bulk-upload/mechanics", data=body, content_type="application/json")
    assert response.status_code == 202, response.get_json()
    run_worker(app)
    job = fetch_job(app, response.get_json()["data"]["jobId"])
    assert (job.status, job.valid_rows, job.invalid_rows) == ("completed", 1, 1)


def test_control_characters_in_the_file_name_are_dropped_from_the_name_shown(app, api_a):
    response = api_a.post(
        "/bulk-upload/mechanics",
        content_type="multipart/form-data",
        data={"file": (io.BytesIO(CSV), "mech\x00anics\u0007.csv")},
    )
    assert response.status_code == 202, response.get_json()
    job = fetch_job(app, response.get_json()["data"]["jobId"])
    assert job.original_filename == "mechanics.csv"
