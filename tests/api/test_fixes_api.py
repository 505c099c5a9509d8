"""Fixing rejected rows through the API: pages and filters, an edit checked again at once
(the file's duplicate rule included), bulk fixes, sending the fixed rows as a follow-up
import, and who may see and change which job's rows."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import func, select

from bulkapp.extensions import db
from bulkapp.jobs.lifecycle import clean_job
from bulkapp.models import ENTITY_TABLES, ImportJob, RejectedRow, RejectedRowProblem
from tests.api.conftest import ApiClient, make_token
from tests.conftest import make_account, run_worker

GOOD = [
    {
        "firstName": "John",
        "lastName": "Doe",
        "email": "john@example.com",
        "mobileNumber": "0821234567",
        "specialisation": "Brakes",
    },
    {
        "firstName": "Jane",
        "lastName": "Roe",
        "email": "jane@example.com",
        "mobileNumber": "0831234567",
        "specialisation": "Diesel",
    },
]
BAD = [
    # record 3: a bad e-mail
    {
        "firstName": "Bad",
        "lastName": "Mail",
        "email": "bad-at-example.com",
        "mobileNumber": "0841234567",
        "specialisation": "Tyres",
    },
    # record 4: a bad e-mail too
    {
        "firstName": "Worse",
        "lastName": "Mail",
        "email": "worse@",
        "mobileNumber": "0851234567",
        "specialisation": "Tyres",
    },
    # record 5: a bad mobile number
    {
        "firstName": "No",
        "lastName": "Phone",
        "email": "nophone@example.com",
        "mobileNumber": "12",
        "specialisation": "Gearboxes",
    },
    # record 6: the e-mail of record 1, imported already
    {
        "firstName": "Again",
        "lastName": "John",
        "email": "john@example.com",
        "mobileNumber": "0861234567",
        "specialisation": "Brakes",
    },
]


def imported_job(app, api: ApiClient, records=GOOD + BAD) -> str:
    response = api.post("/bulk-upload/mechanics", json=records)
    assert response.status_code == 202, response.get_json()
    run_worker(app)
    return response.get_json()["data"]["jobId"]


def rejected(api: ApiClient, job_id: str, **params) -> dict:
    response = api.get(f"/bulk-upload/{job_id}/rejected", query_string=params)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["data"]


def edit(api: ApiClient, job_id: str, row: int, cells: dict):
    return api.open("PATCH", f"/bulk-upload/{job_id}/rejected/{row}", json={"cells": cells})


def test_a_page_lists_the_rejected_rows_with_their_problems_and_filters_them(app, api_a):
    job_id = imported_job(app, api_a)
    data = rejected(api_a, job_id)
    assert [r["row"] for r in data["rows"]] == [3, 4, 5, 6]
    assert data["counts"] == {"invalid": 4, "fixed": 0, "sent": 0}
    assert data["rows"][0]["cells"]["email"] == "bad-at-example.com"
    assert data["rows"][0]["errors"][0]["column"] == "email"
    assert [r["row"] for r in rejected(api_a, job_id, column="mobileNumber")["rows"]] == [5]
    reason = data["rows"][3]["errors"][0]["message"].split(" ")[0]
    assert reason == "Duplicate"
    with app.app_context():
        reasons = db.session.scalars(
            select(RejectedRowProblem.reason).where(RejectedRowProblem.row_number == 6)
        ).all()
    assert [r["row"] for r in rejected(api_a, job_id, reason=reasons[0])["rows"]] == [6]

    first = rejected(api_a, job_id, limit=3)
    assert [r["row"] for r in first["rows"]] == [3, 4, 5] and first["previousCursor"] is None
    second = rejected(api_a, job_id, limit=3, cursor=first["nextCursor"])
    assert [r["row"] for r in second["rows"]] == [6] and second["nextCursor"] is None
    back = rejected(api_a, job_id, limit=3, cursor=second["previousCursor"])
    assert [r["row"] for r in back["rows"]] == [3, 4, 5]

    bad_cursor = api_a.get(f"/bulk-upload/{job_id}/rejected", query_string={"cursor": "!!"})
    assert bad_cursor.status_code == 422
    assert bad_cursor.get_json()["error"]["code"] == "invalid_cursor"
    unknown = api_a.get(f"/bulk-upload/{job_id}/rejected", query_string={"column": "nope"})
    assert unknown.status_code == 422 and unknown.get_json()["error"]["code"] == "unknown_column"


def test_an_edit_is_checked_at_once_with_the_pipelines_rules(app, api_a):
    job_id = imported_job(app, api_a)
    still_bad = edit(api_a, job_id, 3, {"email": "still bad"})
    assert still_bad.status_code == 200
    row = still_bad.get_json()["data"]
    assert row["state"] == "invalid" and row["cells"]["email"] == "still bad"
    assert [e["column"] for e in row["errors"]] == ["email"]

    fixed = edit(api_a, job_id, 3, {"email": "Bad@Example.com"}).get_json()["data"]
    assert fixed["state"] == "fixed" and fixed["errors"] == [] and fixed["editedAt"]
    assert rejected(api_a, job_id)["counts"] == {"invalid": 3, "fixed": 1, "sent": 0}
    assert [r["row"] for r in rejected(api_a, job_id, column="email")["rows"]] == [4, 6]
    assert [r["row"] for r in rejected(api_a, job_id, state="fixed")["rows"]] == [3]

    empty = edit(api_a, job_id, 5, {"mobileNumber": ""}).get_json()["data"]
    assert empty["state"] == "invalid" and "required" in empty["errors"][0]["message"]

    assert edit(api_a, job_id, 99, {"email": "x@example.com"}).status_code == 404
    assert edit(api_a, job_id, 2**40, {"email": "x@example.com"}).status_code == 404
    huge = api_a.post(
        f"/bulk-upload/{job_id}/rejected/bulk",
        json={"action": "empty", "column": "specialisation", "rows": [2**40]},
    )
    assert huge.status_code == 422 and huge.get_json()["error"]["code"] == "invalid_rows"
    unknown = edit(api_a, job_id, 3, {"nope": "x"})
    assert unknown.status_code == 422 and unknown.get_json()["error"]["code"] == "unknown_column"
    missing = api_a.open("PATCH", f"/bulk-upload/{job_id}/rejected/3", json={})
    assert missing.status_code == 422 and missing.get_json()["success"] is False


def test_the_duplicate_rule_counts_imported_rows_and_earlier_rows_of_the_file(app, api_a):
    job_id = imported_job(app, api_a)
    # Record 6 repeats record 1, which was imported: still a duplicate with its other cells fixed.
    row6 = edit(api_a, job_id, 6, {"firstName": "Johnny"}).get_json()["data"]
    assert row6["state"] == "invalid" and "Duplicate" in row6["errors"][0]["message"]
    # Rows 3 and 4 given one new e-mail: the later one repeats the earlier.
    assert edit(api_a, job_id, 4, {"email": "same@example.com"}).get_json()["data"]["state"] == (
        "fixed"
    )
    row3 = edit(api_a, job_id, 3, {"email": "same@example.com"}).get_json()["data"]
    assert row3["state"] == "fixed", "row 3 comes first: it is not the duplicate"
    invalid = rejected(api_a, job_id, state="invalid")["rows"]
    assert 4 in [r["row"] for r in invalid]
    assert any("Duplicate" in e["message"] for r in invalid if r["row"] == 4 for e in r["errors"])
    # Row 3 takes another e-mail: row 4 is checked again and no longer repeats it.
    edit(api_a, job_id, 3, {"email": "other@example.com"})
    assert [r["row"] for r in rejected(api_a, job_id, state="fixed")["rows"]] == [3, 4]


def test_bulk_fixes_set_replace_and_empty_a_column(app, api_a):
    job_id = imported_job(app, api_a)
    url = f"/bulk-upload/{job_id}/rejected/bulk"
    replaced = api_a.post(
        url, json={"action": "replace", "column": "email", "find": "-at-", "value": "@"}
    )
    assert replaced.status_code == 200 and replaced.get_json()["data"]["changed"] == 1
    set_rows = api_a.post(
        url,
        json={"action": "set", "column": "email", "value": "worse@example.com", "rows": [4]},
    )
    assert set_rows.get_json()["data"]["changed"] == 1
    by_filter = api_a.post(
        url,
        json={
            "action": "set",
            "column": "mobileNumber",
            "value": "0871234567",
            "filter": {"column": "mobileNumber"},
        },
    )
    assert by_filter.get_json()["data"]["changed"] == 1
    emptied = api_a.post(url, json={"action": "empty", "column": "specialisation", "rows": [6]})
    assert emptied.get_json()["data"]["changed"] == 1
    assert rejected(api_a, job_id, state="invalid")["rows"][0]["cells"]["specialisation"] is None
    assert emptied.get_json()["data"]["counts"] == {"invalid": 1, "fixed": 3, "sent": 0}

    required = api_a.post(url, json={"action": "empty", "column": "email"})
    assert required.status_code == 422
    assert required.get_json()["error"]["code"] == "required_field"
    assert api_a.post(url, json={"action": "paint", "column": "email"}).status_code == 422


def test_sending_the_fixed_rows_imports_exactly_those_in_a_follow_up_job(app, api_a):
    job_id = imported_job(app, api_a)
    edit(api_a, job_id, 3, {"email": "bad@example.com"})
    edit(api_a, job_id, 5, {"mobileNumber": "0871234567"})
    response = api_a.post(f"/bulk-upload/{job_id}/resubmit")
    assert response.status_code == 202, response.get_json()
    data = response.get_json()["data"]
    assert data["sentRows"] == 2 and data["fixesJobId"] == job_id
    assert rejected(api_a, job_id)["counts"] == {"invalid": 2, "fixed": 0, "sent": 2}
    run_worker(app)
    with app.app_context():
        follow_up = db.session.get(ImportJob, data["jobId"])
        assert follow_up.fixes_job_id == job_id and follow_up.status == "completed"
        assert follow_up.original_filename == "fixes for mechanics.csv"
        assert (follow_up.total_rows, follow_up.inserted_rows) == (2, 2)
        assert follow_up.invalid_rows == 0
    records = api_a.get("/records/mechanics", query_string={"q": "bad@example.com"})
    assert records.status_code in (200, 404)  # the records API is checked on its own

    sent = edit(api_a, job_id, 3, {"email": "again@example.com"})
    assert sent.status_code == 409
    nothing = api_a.post(f"/bulk-upload/{job_id}/resubmit")
    assert nothing.status_code == 409
    assert nothing.get_json()["error"]["code"] == "nothing_to_send"
    # A row sent already counts for the duplicate rule.
    repeat = edit(api_a, job_id, 4, {"email": "bad@example.com"}).get_json()["data"]
    assert repeat["state"] == "invalid" and "Duplicate" in repeat["errors"][0]["message"]


def test_another_organisation_sees_no_rows_and_only_the_uploader_or_an_admin_edits(
    app, api_a, api_b, api_admin_a
):
    job_id = imported_job(app, api_a)
    for response in (
        api_b.get(f"/bulk-upload/{job_id}/rejected"),
        edit(api_b, job_id, 3, {"email": "x@example.com"}),
        api_b.post(
            f"/bulk-upload/{job_id}/rejected/bulk",
            json={"action": "empty", "column": "specialisation"},
        ),
        api_b.post(f"/bulk-upload/{job_id}/resubmit"),
    ):
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "job_not_found"
    colleague = make_account(app, "org-a", "colleague@a.example")
    api_colleague = ApiClient(app.test_client(), make_token(app, colleague))
    assert api_colleague.get(f"/bulk-upload/{job_id}/rejected").status_code == 200
    assert edit(api_colleague, job_id, 3, {"email": "x@example.com"}).status_code == 403
    assert api_colleague.post(f"/bulk-upload/{job_id}/resubmit").status_code == 403
    assert edit(api_admin_a, job_id, 3, {"email": "x@example.com"}).status_code == 200


@pytest.mark.parametrize("records", [GOOD])
def test_a_job_without_rejected_rows_has_nothing_to_fix(app, api_a, records):
    job_id = imported_job(app, api_a, records)
    response = api_a.get(f"/bulk-upload/{job_id}/rejected")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "no_rejected_rows"


def upload_file(app, api: ApiClient, data: bytes, name: str) -> str:
    response = api.post(
        "/bulk-upload/mechanics",
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )
    assert response.status_code == 202, response.get_json()
    run_worker(app)
    return response.get_json()["data"]["jobId"]


def test_the_error_report_fixed_in_a_spreadsheet_uploads_as_it_is(app, api_a):
    original = (
        b"firstName,lastName,email,mobileNumber,workshopName\n"
        b"Thandi,Nkosi,thandi@example.com,0821234567,Nkosi Motors\n"
        b"Formula,Man,formula-at-example.com,0831234567,=1+2\n"
        b"Still,Bad,still-bad,0841234567,-Brakes\n"
    )
    job_id = upload_file(app, api_a, original, "mechanics.csv")
    report = api_a.get(f"/bulk-upload/{job_id}/errors").get_data(as_text=True)
    assert "'=1+2" in report and "'-Brakes" in report, "the report is formula-safe"
    fixed = report.replace("formula-at-example.com", "formula@example.com")
    again = upload_file(app, api_a, fixed.encode("utf-8"), "mechanics-errors.csv")
    with app.app_context():
        job = db.session.get(ImportJob, again)
        assert job.status == "completed", job.error_message
        assert job.warnings == [], "the report's row and errors columns are not data"
        assert (job.inserted_rows, job.invalid_rows) == (1, 1)
        table = ENTITY_TABLES["mechanics"]
        stored = db.session.execute(
            select(table.c.workshop_name).where(table.c.email == "formula@example.com")
        ).scalar_one()
    assert stored == "=1+2", "the report's formula escape is read back as the value was"
    again_report = api_a.get(f"/bulk-upload/{again}/errors").get_data(as_text=True)
    header = next(csv.reader(io.StringIO(again_report.lstrip("\ufeff"))))
    assert header == [
        "row",
        "firstName",
        "lastName",
        "email",
        "mobileNumber",
        "workshopName",
        "errors",
    ], "the row and errors columns are read as the report's own"


def test_the_clean_up_takes_the_rows_and_their_edits_with_it(app, api_a):
    job_id = imported_job(app, api_a)
    edit(api_a, job_id, 3, {"email": "bad@example.com"})
    with app.app_context():
        clean_job(db.session.get(ImportJob, job_id))
        assert db.session.scalar(select(func.count()).select_from(RejectedRow)) == 0
        assert db.session.scalar(select(func.count()).select_from(RejectedRowProblem)) == 0
    gone = api_a.get(f"/bulk-upload/{job_id}/rejected")
    assert gone.status_code == 404 and gone.get_json()["error"]["code"] == "no_rejected_rows"


def test_a_job_in_review_fixes_its_predicted_rows_and_the_commit_imports_them(app, api_a):
    response = api_a.post("/bulk-upload/mechanics?review=true", json=GOOD + BAD)
    assert response.status_code == 202, response.get_json()
    job_id = response.get_json()["data"]["jobId"]
    run_worker(app)
    page = rejected(api_a, job_id)
    numbers = [row["row"] for row in page["rows"]]
    assert len(numbers) == 4, "the dry run rejects every bad record (nothing is imported yet)"
    assert page["counts"] == {"invalid": 4, "fixed": 0, "sent": 0}
    fixed = edit(api_a, job_id, numbers[0], {"email": "bad@example.com"})
    assert fixed.status_code == 200 and fixed.get_json()["data"]["state"] == "fixed"
    refused = api_a.post(f"/bulk-upload/{job_id}/resubmit")
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "in_review"
    assert api_a.post(f"/jobs/{job_id}/commit").status_code == 202
    run_worker(app)
    with app.app_context():
        job = db.session.get(ImportJob, job_id)
        assert (job.status, job.inserted_rows, job.invalid_rows) == ("completed", 3, 3)
    assert [row["row"] for row in rejected(api_a, job_id)["rows"]] == numbers[1:]
