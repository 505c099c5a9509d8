"""The error report, downloaded (page or API), fixed and uploaded again under its signed name,
is a follow-up of its job: listed on the job's page with the combined totals. A forged
signature, another organisation's report or a renamed file is an ordinary upload."""

from __future__ import annotations

from sqlalchemy import select
from werkzeug.http import parse_options_header

from bulkapp.extensions import db
from bulkapp.jobs.fixes import combined_totals, fix_counts, follow_ups
from bulkapp.models import ImportJob, RejectedRow
from tests.api.test_fixes_api import upload_file
from tests.conftest import run_worker, uploaded_job_id, web_upload

CSV = (
    b"firstName,lastName,email,mobileNumber\n"
    b"Thandi,Nkosi,thandi@example.com,0821234567\n"
    b"Bad,Mail,bad-at-example.com,0831234567\n"
    b"Worse,Mail,worse@,0841234567\n"
)
FIXES = {"bad-at-example.com": "bad@example.com", "worse@": "worse@example.com"}


def job_with_rejections(app, client) -> str:
    job_id = uploaded_job_id(web_upload(client, CSV, "March mechanics.csv"))
    run_worker(app)
    job = db_job(app, job_id)
    assert (job.status, job.inserted_rows, job.invalid_rows) == ("completed", 1, 2)
    return job_id


def db_job(app, job_id: str) -> ImportJob:
    with app.app_context():
        job = db.session.get(ImportJob, job_id)
        db.session.expunge(job)
        return job


def row_states(app, job_id: str) -> dict[int, str]:
    """The state of each rejected row of the job, by row number."""
    with app.app_context():
        return dict(
            db.session.execute(
                select(RejectedRow.row_number, RejectedRow.state).where(
                    RejectedRow.import_job_id == job_id
                )
            ).all()
        )


def downloaded(response) -> tuple[str, bytes]:
    """The file name and content of a report download, fixed as a person would."""
    assert response.status_code == 200
    _, options = parse_options_header(response.headers["Content-Disposition"])
    text = response.get_data(as_text=True)
    for bad, good in FIXES.items():
        text = text.replace(bad, good)
    return options["filename"], text.encode("utf-8")


def test_the_report_uploaded_again_through_the_page_is_a_follow_up_of_its_job(app, client_a):
    job_id = job_with_rejections(app, client_a)
    name, fixed = downloaded(client_a.get(f"/jobs/{job_id}/errors.csv"))
    assert name.startswith(f"March mechanics-errors-{job_id}-") and name.endswith(".csv")
    again = uploaded_job_id(web_upload(client_a, fixed, name))
    run_worker(app)
    follow_up = db_job(app, again)
    assert follow_up.status == "completed", follow_up.error_message
    assert (follow_up.inserted_rows, follow_up.invalid_rows) == (2, 0)
    assert follow_up.fixes_job_id == job_id
    assert follow_up.original_filename == "fixes for March mechanics.csv"
    page = client_a.get(f"/jobs/{again}").get_data(as_text=True)
    assert 'id="job-fixes-of"' in page and f'href="/jobs/{job_id}"' in page
    original = client_a.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert 'id="job-follow-ups"' in original and "fixes for March mechanics.csv" in original
    with app.app_context():
        job = db.session.get(ImportJob, job_id)
        totals = combined_totals(job, follow_ups(job))
    assert (totals["inserted"], totals["updated"], totals["unchanged"]) == (3, 0, 0)
    assert totals["still_invalid"] == 0, "the rows the report carried are sent"


def test_the_report_from_the_api_uploaded_again_through_the_api_is_a_follow_up(
    app, client_a, api_a
):
    job_id = job_with_rejections(app, client_a)
    name, fixed = downloaded(api_a.get(f"/bulk-upload/{job_id}/errors"))
    again = upload_file(app, api_a, fixed, name)
    follow_up = db_job(app, again)
    assert (follow_up.status, follow_up.inserted_rows) == ("completed", 2)
    assert follow_up.fixes_job_id == job_id
    status = api_a.get(f"/bulk-upload/status/{again}").get_json()["data"]
    assert status["file_name"] == "fixes for March mechanics.csv"
    second_copy = upload_file(app, api_a, fixed, name.replace(".csv", " (1).csv"))
    assert db_job(app, second_copy).fixes_job_id == job_id, "a browser's second copy links"


def test_a_forged_signature_a_renamed_file_or_another_organisations_report_never_links(
    app, client_a, client_b, api_a
):
    job_id = job_with_rejections(app, client_a)
    name, fixed = downloaded(client_a.get(f"/jobs/{job_id}/errors.csv"))
    stem, signature = name.removesuffix(".csv").rsplit("-", 1)
    forged = f"{stem}-{'0' if signature[0] != '0' else '1'}{signature[1:]}.csv"
    for client, file_name in (
        (client_a, forged),
        (client_a, "my fixes.csv"),
        (client_b, name),
    ):
        again = uploaded_job_id(web_upload(client, fixed, file_name))
        run_worker(app)
        job = db_job(app, again)
        assert job.status == "completed", file_name
        assert job.inserted_rows + job.unchanged_rows == 2, file_name
        assert job.fixes_job_id is None, file_name
        assert job.original_filename == file_name
    with app.app_context():
        assert follow_ups(db.session.get(ImportJob, job_id)) == []


def test_the_rows_a_report_carries_are_sent_and_the_rows_it_rejects_again_stay_to_fix(
    app, client_a
):
    job_id = job_with_rejections(app, client_a)
    name, report = downloaded(client_a.get(f"/jobs/{job_id}/errors.csv"))
    fixed = report.replace(b"worse@example.com", b"still-worse@")  # row 4 rejected again
    again = uploaded_job_id(web_upload(client_a, fixed, name))
    run_worker(app)
    follow_up = db_job(app, again)
    assert (follow_up.status, follow_up.inserted_rows, follow_up.invalid_rows) == (
        "completed",
        1,
        1,
    )
    assert row_states(app, job_id) == {3: "sent", 4: "invalid"}
    assert row_states(app, again) == {3: "invalid"}, "the follow-up keeps its own (its row 3)"
    with app.app_context():
        counts = fix_counts(db.session.get(ImportJob, job_id))
    assert (counts["invalid"], counts["sent"]) == (1, 1)


def test_fixed_rows_of_a_reports_follow_up_name_its_rows_not_the_reports(app, client_a, api_a):
    job_id = job_with_rejections(app, client_a)
    name, report = downloaded(client_a.get(f"/jobs/{job_id}/errors.csv"))
    again_bad = report.replace(b"bad@example.com", b"bad@").replace(b"worse@example.com", b"w@")
    again = uploaded_job_id(web_upload(client_a, again_bad, name))
    run_worker(app)
    # The follow-up rejects both again: its row 2 is the original's 3, its row 3 the original's 4.
    fixed = api_a.open(
        "PATCH", f"/bulk-upload/{again}/rejected/2", json={"cells": {"email": "bad@example.com"}}
    )
    assert fixed.get_json()["data"]["state"] == "fixed", fixed.get_json()
    sent = api_a.post(f"/bulk-upload/{again}/resubmit").get_json()["data"]
    run_worker(app)
    assert db_job(app, sent["jobId"]).inserted_rows == 1
    assert row_states(app, again) == {2: "sent", 3: "invalid"}, "its row 3 was not sent"


def test_a_report_uploaded_unlinked_marks_no_rows(app, client_a):
    job_id = job_with_rejections(app, client_a)
    _, fixed = downloaded(client_a.get(f"/jobs/{job_id}/errors.csv"))
    again = uploaded_job_id(web_upload(client_a, fixed, "my fixes.csv"))
    run_worker(app)
    assert db_job(app, again).inserted_rows == 2
    with app.app_context():
        assert fix_counts(db.session.get(ImportJob, job_id))["invalid"] == 2
