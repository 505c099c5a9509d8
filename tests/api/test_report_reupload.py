"""The error report, downloaded (page or API), fixed and uploaded again under its signed name,
is a follow-up of its job: listed on the job's page with the combined totals. A forged
signature, another organisation's report or a renamed file is an ordinary upload."""

from __future__ import annotations

from werkzeug.http import parse_options_header

from bulkapp.extensions import db
from bulkapp.jobs.fixes import combined_totals, follow_ups
from bulkapp.models import ImportJob
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
