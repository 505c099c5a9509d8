"""Reading jobs through the API: both status shapes, the job list, the error report."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import event, select

from bulkapp.extensions import db
from bulkapp.jobs.rejections import error_report, forget_rejected_rows
from bulkapp.models import ImportJob
from tests.api.conftest import API
from tests.conftest import BOTH_FILE_STORES, login, run_worker

MECHANICS = [
    {
        "firstName": "John",
        "lastName": "Doe",
        "email": "john@example.com",
        "mobileNumber": "0821234567",
    },
    {
        "firstName": "Jane",
        "lastName": "Roe",
        "email": "jane@example.com",
        "mobileNumber": "0831234567",
    },
]
BAD_ROW = {
    "firstName": "No",
    "lastName": "Email",
    "email": "not-an-email",
    "mobileNumber": "0841234567",
}
# As the seeds and JavaScript's toISOString() write timestamps: UTC, milliseconds, "Z".
ISO_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def upload(api, records=MECHANICS, entity: str = "mechanics") -> str:
    response = api.post(f"/bulk-upload/{entity}", json=records)
    assert response.status_code == 202, response.get_json()
    return response.get_json()["data"]["jobId"]


def test_status_of_a_queued_job_says_pending(app, api_a, user_a):
    job_id = upload(api_a)
    response = api_a.get(f"/bulk-upload/status/{job_id}")
    assert response.status_code == 200
    data = response.get_json()["data"]
    assert data["job_id"] == job_id and data["status"] == "pending"
    assert data["file_name"] == "mechanics.json" and data["uploaded_by"] == user_a.email
    assert data["progress"] == 0 and data["stage"] == "queued"
    assert data["processing_duration_ms"] is None


def test_status_after_the_worker_has_the_seed_shape(app, api_a):
    job_id = upload(api_a, [*MECHANICS, BAD_ROW])
    run_worker(app)
    data = api_a.get(f"/bulk-upload/status/{job_id}").get_json()["data"]
    assert data["status"] == "completed" and data["progress"] == 100
    assert data["validation_stats"]["total"] == 3
    assert data["validation_stats"]["valid"] == 2 and data["validation_stats"]["invalid"] == 1
    assert data["database_stats"]["inserted"] == 2
    assert isinstance(data["processing_duration_ms"], int)
    assert data["errors_url"] == f"{API}/bulk-upload/{job_id}/errors"


def test_queue_status_shape_with_result(app, api_a):
    accepted = api_a.post("/bulk-upload/mechanics", json=MECHANICS).get_json()["data"]
    queued = api_a.get(accepted["statusUrl"]).get_json()["data"]
    assert queued["jobId"] == accepted["jobId"] and queued["status"] == "queued"
    assert queued["queueName"] == "bulk-upload-mechanics"
    assert queued["result"] is None and queued["completedAt"] is None
    assert ISO_TIMESTAMP.fullmatch(queued["createdAt"]), queued["createdAt"]
    run_worker(app)
    done = api_a.get(accepted["statusUrl"]).get_json()["data"]
    assert done["status"] == "completed" and done["progress"] == 100
    assert done["result"]["success"] is True and done["result"]["uploaded"] == 2
    assert done["result"]["message"]
    assert ISO_TIMESTAMP.fullmatch(done["completedAt"]), done["completedAt"]
    assert done["completedAt"] >= done["createdAt"]


def test_every_timestamp_is_written_as_in_the_seeds(app, api_a):
    job_id = upload(api_a)
    with app.app_context():
        job = db.session.get(ImportJob, job_id)
        job.created_at = datetime(2024, 1, 1, 10, 0, 0, 987654)
        job.started_at = datetime(2024, 1, 1, 10, 0, 1)
        job.status, job.finished_at = "completed", datetime(2024, 1, 1, 10, 5, 0, 1000)
        db.session.commit()
    queued = api_a.get(f"/jobs/bulk-upload-mechanics/{job_id}/status").get_json()["data"]
    assert (queued["createdAt"], queued["completedAt"]) == (
        "2024-01-01T10:00:00.987Z",
        "2024-01-01T10:05:00.001Z",
    )
    status = api_a.get(f"/bulk-upload/status/{job_id}").get_json()["data"]
    assert (status["created_at"], status["started_at"], status["finished_at"]) == (
        "2024-01-01T10:00:00.987Z",
        "2024-01-01T10:00:01.000Z",
        "2024-01-01T10:05:00.001Z",
    )
    [summary] = api_a.get("/bulk-upload/queue/jobs").get_json()["data"]["jobs"]
    assert (summary["createdAt"], summary["completedAt"]) == (
        queued["createdAt"],
        queued["completedAt"],
    )


def test_queue_status_needs_the_jobs_queue(api_a):
    job_id = upload(api_a)
    assert api_a.get(f"/jobs/bulk-upload-policies/{job_id}/status").status_code == 404
    assert api_a.get(f"/jobs/bulk-upload-mechanics/{job_id}/status").status_code == 200


def test_a_failed_job_reports_its_message(app, api_a):
    job_id = upload(api_a, [{"firstName": "only"}])
    run_worker(app)
    accepted = api_a.get(f"/bulk-upload/status/{job_id}").get_json()["data"]
    assert accepted["status"] == "failed" and "lastName" in accepted["error_message"]
    result = api_a.get(f"/jobs/bulk-upload-mechanics/{job_id}/status").get_json()["data"]
    assert result["result"]["success"] is False and result["result"]["uploaded"] == 0


def test_another_organisations_job_is_404_everywhere(app, api_a, api_b):
    job_id = upload(api_a, [*MECHANICS, BAD_ROW])
    run_worker(app)
    for path in (
        f"/bulk-upload/status/{job_id}",
        f"/jobs/bulk-upload-mechanics/{job_id}/status",
        f"/bulk-upload/{job_id}/errors",
    ):
        response = api_b.get(path)
        assert response.status_code == 404, path
        assert response.get_json()["error"]["code"] == "job_not_found"
        assert api_a.get(path).status_code == 200, path
    assert api_b.get("/bulk-upload/queue/jobs").get_json()["data"]["jobs"] == []


def test_a_super_admin_sees_every_organisation(app, api_a, super_admin):
    from tests.api.conftest import ApiClient, make_token

    job_id = upload(api_a)
    root = ApiClient(app.test_client(), make_token(app, super_admin))
    assert root.get(f"/bulk-upload/status/{job_id}").status_code == 200
    assert [j["jobId"] for j in root.get("/bulk-upload/queue/jobs").get_json()["data"]["jobs"]] == [
        job_id
    ]


def test_unknown_job_is_404(api_a):
    response = api_a.get("/bulk-upload/status/does-not-exist")
    assert response.status_code == 404 and response.get_json()["success"] is False


@BOTH_FILE_STORES
def test_error_report_is_a_csv_of_the_rejected_rows(app, api_a, file_store):
    job_id = upload(api_a, [*MECHANICS, BAD_ROW])
    run_worker(app)
    response = api_a.get(f"/bulk-upload/{job_id}/errors")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 1 and rows[0]["email"] == "not-an-email"
    with app.app_context():
        job = db.session.get(ImportJob, job_id)
        assert job.report_path is None, "no report file: it is built from the kept rows"
        assert response.data == b"".join(error_report(job))
    assert client_page_report(app, api_a, job_id) == response.data


def client_page_report(app, api, job_id: str) -> bytes:
    """The job's error report as the job page's link downloads it, for its uploader."""
    with app.app_context():
        uploader = db.session.get(ImportJob, job_id).user
        email = uploader.email
    return login(app.test_client(), email).get(f"/jobs/{job_id}/errors.csv").data


def test_a_report_path_outside_the_report_directory_is_never_served(app, api_a, tmp_path):
    job_id = upload(api_a, [*MECHANICS, BAD_ROW])
    run_worker(app)
    secret = tmp_path / "secret.csv"
    secret.write_text("not a report")
    with app.app_context():
        job = db.session.get(ImportJob, job_id)
        forget_rejected_rows(job)  # as an import made before rejected rows were kept
        job.report_path = str(secret)
        db.session.commit()
    response = api_a.get(f"/bulk-upload/{job_id}/errors")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "no_error_report"
    assert b"not a report" not in response.data


def test_a_job_without_rejected_rows_has_no_report(app, api_a):
    job_id = upload(api_a)
    run_worker(app)
    response = api_a.get(f"/bulk-upload/{job_id}/errors")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "no_error_report"


def age_jobs(app) -> list[str]:
    """Spread the jobs' creation times one minute apart (oldest first); their ids in order."""
    with app.app_context():
        jobs = db.session.scalars(select(ImportJob).order_by(ImportJob.created_at)).all()
        base = jobs[0].created_at
        for i, job in enumerate(jobs):
            job.created_at = base + timedelta(minutes=i)
        db.session.commit()
        return [job.id for job in jobs]


def test_job_list_pages_with_an_opaque_cursor(app, api_a):
    for _ in range(5):
        upload(api_a)
    newest_first = list(reversed(age_jobs(app)))
    seen, cursor = [], None
    while True:
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        data = api_a.get(f"/bulk-upload/queue/jobs{query}").get_json()["data"]
        assert len(data["jobs"]) <= 2 and data["limit"] == 2
        seen += [job["jobId"] for job in data["jobs"]]
        cursor = data["nextCursor"]
        if cursor is None:
            break
    assert seen == newest_first


def test_jobs_created_in_the_same_instant_are_neither_lost_nor_repeated(app, api_a):
    for _ in range(4):
        upload(api_a)
    with app.app_context():
        jobs = db.session.scalars(select(ImportJob)).all()
        for job in jobs:
            job.created_at = jobs[0].created_at
        db.session.commit()
        ids = sorted((job.id for job in jobs), reverse=True)
    first = api_a.get("/bulk-upload/queue/jobs?limit=3").get_json()["data"]
    second = api_a.get(f"/bulk-upload/queue/jobs?limit=3&cursor={first['nextCursor']}")
    assert [j["jobId"] for j in first["jobs"] + second.get_json()["data"]["jobs"]] == ids


def test_job_list_filters_by_status_and_entity(app, api_a):
    mechanics_job = upload(api_a)
    policies_job = upload(api_a, [{"policyNumber": "P-1", "type": "vehicle"}], "policies")
    run_worker(app)
    upload(api_a)

    def ids(query: str) -> list[str]:
        return [
            j["jobId"]
            for j in api_a.get(f"/bulk-upload/queue/jobs?{query}").get_json()["data"]["jobs"]
        ]

    assert ids("entity=policies") == [policies_job]
    assert set(ids("status=completed")) == {mechanics_job, policies_job}
    assert len(ids("status=pending")) == len(ids("status=queued")) == 1
    assert ids("status=completed&entity=mechanics") == [mechanics_job]
    summary = api_a.get("/bulk-upload/queue/jobs?entity=policies").get_json()["data"]["jobs"][0]
    assert summary["entity"] == "policies" and summary["statusUrl"].endswith("/status")


@pytest.mark.parametrize(
    "query, code",
    [
        ("limit=0", "invalid_limit"),
        ("limit=101", "invalid_limit"),
        ("limit=ten", "invalid_limit"),
        ("status=done", "invalid_status"),
        ("entity=cars", "unknown_entity"),
        ("cursor=not-a-cursor", "invalid_cursor"),
        ("cursor=WzFd", "invalid_cursor"),
    ],
)
def test_bad_list_parameters_are_422(api_a, query, code):
    response = api_a.get(f"/bulk-upload/queue/jobs?{query}")
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == code


@pytest.mark.parametrize("entity", ["mechanics", "service-providers", "policies", "members"])
def test_csv_templates_list_the_entitys_columns(api_a, entity):
    from bulkapp.entities import get_entity

    response = api_a.get(f"/templates/{entity}.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert f"{entity}-template.csv" in response.headers["Content-Disposition"]
    header = next(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert header == [field.label for field in get_entity(entity).fields]


def test_xlsx_template_is_a_workbook_with_the_columns(api_a):
    from openpyxl import load_workbook

    response = api_a.get("/templates/mechanics.xlsx")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(response.get_data())).worksheets[0]
    assert [cell.value for cell in sheet[1]][:2] == ["firstName", "lastName"]


def test_template_of_an_unknown_entity_is_404(api_a):
    response = api_a.get("/templates/spaceships.csv")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "unknown_entity"


def test_a_polled_status_costs_one_query_and_writes_nothing(app, api_a):
    """Every client polls its job: once its token is verified (with its user and
    organisation), the job is the one query; the token's last use is written at most once a
    minute."""
    accepted = api_a.post("/bulk-upload/mechanics", json=MECHANICS).get_json()["data"]
    api_a.get(accepted["statusUrl"])  # the first use of the token is recorded
    statements: list[str] = []

    def count(connection, cursor, statement, *args) -> None:
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        for path in (accepted["statusUrl"], f"/bulk-upload/status/{accepted['jobId']}"):
            statements.clear()
            assert api_a.get(path).status_code == 200
            assert len(statements) == 1, statements
            assert all(s.lstrip().upper().startswith("SELECT") for s in statements), statements
    finally:
        event.remove(engine, "before_cursor_execute", count)
