"""Pages that tell the truth: the jobs list in the reader's time with separators and its
valid and rejected rows; a discarded review shows no full bar and offers no retry (page and
monitor bulk action: its upload is gone); "using the mapping saved" only where one was
applied; fields by their titles in HTML; Discard and Deactivate ask first (no JavaScript
needed). SQLite or PostgreSQL."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import select

from bulkapp.entities import get_entity
from bulkapp.extensions import db
from bulkapp.jobs.monitor import bulk_counts
from bulkapp.models import ImportJob
from tests.api.conftest import ApiClient, make_token
from tests.conftest import csrf_token, fetch_job, login, run_worker
from tests.web.test_import_means_import import press_import
from tests.web.test_review_page import review_upload


def test_field_titles_are_words():
    titles = get_entity("members").titles
    assert titles["idNumber"] == "ID number" and titles["dateOfBirth"] == "Date of birth"
    assert get_entity("mechanics").titles["yearsExperience"] == "Years experience"


def test_the_jobs_list_in_local_time_with_separators_valid_and_rejected(app, client_a):
    job_id = review_upload(client_a)
    run_worker(app)
    with app.app_context():
        job = db.session.get(ImportJob, job_id)
        job.processed_rows = job.total_rows = 300000
        job.valid_rows, job.invalid_rows = 299990, 10
        db.session.commit()
    html = client_a.get("/jobs").get_data(as_text=True)
    assert re.search(r'<td><time datetime="[^"]+Z" title="[^"]+ UTC">', html)
    assert "format.js" in html
    assert "300,000 / 300,000" in html
    assert '<th class="num">Valid</th><th class="num">Rejected</th>' in html
    assert '<td class="num">299,990</td>' in html and '<td class="num">10</td>' in html
    assert "<td>Mechanics</td>" in html


def test_a_discarded_review_shows_no_bar_and_offers_no_retry(app, client_a, admin_a):
    job_id = review_upload(client_a)
    run_worker(app)
    html = client_a.get(f"/jobs/{job_id}/review").get_data(as_text=True)
    assert '<details class="confirm"><summary id="discard-ask">Discard…</summary>' in html
    client_a.post(
        f"/jobs/{job_id}/review", data={"csrf_token": csrf_token(html), "action": "discard"}
    )
    assert fetch_job(app, job_id).status == "canceled"
    admin = login(app.test_client(), admin_a.email)
    page = admin.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert re.search(r'<progress id="job-progress"[^>]* hidden>', page)
    assert re.search(r'<form [^>]*id="retry-form" data-when="retryable" hidden>', page)
    assert admin.get(f"/jobs/{job_id}/state").get_json()["retryable"] is False
    with app.app_context():
        assert bulk_counts(select(ImportJob))["retry"] == 0
    jobs = client_a.get("/jobs").get_data(as_text=True)
    assert "<progress" not in jobs


def test_the_mapping_note_only_where_a_saved_mapping_was_applied(app, client_a):
    job_id = review_upload(client_a)
    run_worker(app)
    press_import(client_a, job_id, **{"column-4": ""})
    run_worker(app)
    page = client_a.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert fetch_job(app, job_id).status == "completed"
    assert "Using the mapping saved" not in page


def test_the_review_names_fields_by_their_titles(app, client_a):
    job_id = review_upload(client_a)
    run_worker(app)
    html = client_a.get(f"/jobs/{job_id}/review").get_data(as_text=True)
    assert ">Mobile number (required)</option>" in html
    assert "<th>Mobile number</th>" in html  # the preview
    assert "mobileNumber" not in html


def test_deactivate_asks_first(app, admin_a, user_a):
    admin = login(app.test_client(), admin_a.email)
    html = admin.get("/people").get_data(as_text=True)
    assert "<summary>Deactivate…</summary>" in html
    assert f">Deactivate {user_a.email}</button>" in html


def test_attempts_count_imports_and_time_in_review_is_apart(app, client_a, user_a):
    job_id = review_upload(client_a)
    run_worker(app)
    with app.app_context():  # as if the person had looked at it for 12 minutes
        job = db.session.get(ImportJob, job_id)
        analysed = datetime.fromisoformat(job.analysis["analysed_at"]) - timedelta(minutes=12)
        job.analysis = {**job.analysis, "analysed_at": analysed.isoformat()}
        db.session.commit()
    press_import(client_a, job_id, **{"column-4": ""})
    run_worker(app)
    job = fetch_job(app, job_id)
    assert (job.status, job.attempts) == ("completed", 2)
    page = client_a.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert '<dd id="job-attempts">1</dd>' in page
    assert '<dd id="job-analyses">1 ' in page
    assert "<dt>Run time</dt>" in page
    assert re.search(r'<dd id="job-review-time">12 min', page), page
    assert client_a.get(f"/jobs/{job_id}/state").get_json()["import_attempts"] == 1
    # The API counts as the page does: attempts at the import, analyses apart.
    api = ApiClient(app.test_client(), make_token(app, user_a))
    [summary] = api.get("/bulk-upload/queue/jobs").get_json()["data"]["jobs"]
    assert (summary["jobId"], summary["attempts"], summary["analyses"]) == (job_id, 1, 1)


def test_deleting_a_saved_mapping_asks_first(app, client_a, admin_a):
    job_id = review_upload(client_a)
    run_worker(app)
    press_import(client_a, job_id, **{"column-4": ""})
    admin = login(app.test_client(), admin_a.email)
    html = admin.get("/mappings").get_data(as_text=True)
    assert "<summary>Delete…</summary>" in html and ">Delete this mapping</button>" in html
    assert "Cell Number → Mobile number" in html and "<td>Mechanics</td>" in html
