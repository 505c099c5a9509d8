"""The fix page: the rejected rows in the shared grid with their problems, an edit saved
and checked as JSON (with the page's CSRF token), bulk fixes and sending by form, the job
page's links, and who may see and change what."""

from __future__ import annotations

import re

from bulkapp.extensions import db
from bulkapp.models import ImportJob
from tests.conftest import csrf_token, login, make_account, run_worker, uploaded_job_id, web_upload

CSV = (
    b"firstName,lastName,email,mobileNumber,province\n"
    b"Thandi,Nkosi,thandi@example.com,0821234567,Gauteng\n"
    b"Bad,Mail,bad-at-example.com,0831234567,Gauteng\n"
    b"Worse,Mail,worse@,0841234567,Limpopo\n"
    b"Far,Away,far@example.com,0851234567,Atlantis\n"
)


def job_with_rejections(app, client) -> str:
    """An import of CSV, its review (which stops at the unknown province) committed as it
    is: the unknown province and the bad e-mails are rejected."""
    job_id = uploaded_job_id(web_upload(client, CSV))
    run_worker(app)
    token = csrf_token(client.get(f"/jobs/{job_id}/review").get_data(as_text=True))
    committed = client.post(
        f"/jobs/{job_id}/review", data={"csrf_token": token, "action": "import"}
    )
    assert committed.status_code == 302
    run_worker(app)
    return job_id


def page_token(client, job_id: str) -> str:
    html = client.get(f"/jobs/{job_id}/fix").get_data(as_text=True)
    return re.search(r'data-csrf="([^"]+)"', html).group(1)


def save(client, job_id: str, row: int, cells: dict, token: str | None = None):
    headers = {"X-CSRFToken": token or page_token(client, job_id)}
    return client.post(f"/jobs/{job_id}/fix/rows/{row}", json={"cells": cells}, headers=headers)


def test_the_page_shows_each_rejected_row_with_its_invalid_cells_marked(app, client_a):
    job_id = job_with_rejections(app, client_a)
    job_page = client_a.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert f'href="/jobs/{job_id}/fix"' in job_page
    html = client_a.get(f"/jobs/{job_id}/fix").get_data(as_text=True)
    assert 'id="fix-grid"' in html and 'id="fix-count-invalid">3<' in html
    assert html.count('class="fix-cell fix-invalid"') == 3
    assert 'value="bad-at-example.com"' in html and "Atlantis" in html
    only_province = client_a.get(f"/jobs/{job_id}/fix?column=4").get_data(as_text=True)
    assert "Atlantis" in only_province and "bad-at-example.com" not in only_province


def test_an_edit_is_saved_and_checked_and_answers_json(app, client_a):
    job_id = job_with_rejections(app, client_a)
    fixed = save(client_a, job_id, 3, {"2": "bad@example.com"})
    assert fixed.status_code == 200
    body = fixed.get_json()
    assert body["state"] == "fixed" and body["problems"] == {"columns": {}, "row": []}
    assert body["counts"] == {"invalid": 2, "fixed": 1, "sent": 0}
    still = save(client_a, job_id, 5, {"4": "Atlantis Two"}).get_json()
    assert still["state"] == "invalid" and list(still["problems"]["columns"]) == ["4"]

    no_token = client_a.post(f"/jobs/{job_id}/fix/rows/3", json={"cells": {"2": "x"}})
    assert no_token.status_code == 400 and no_token.get_json()["success"] is False


def test_bulk_fixes_and_sending_by_form(app, client_a):
    job_id = job_with_rejections(app, client_a)
    token = csrf_token(client_a.get(f"/jobs/{job_id}/fix").get_data(as_text=True))
    response = client_a.post(
        f"/jobs/{job_id}/fix/bulk",
        data={
            "csrf_token": token,
            "action": "set",
            "bulk_column": "4",
            "value": "Gauteng",
            "scope": "filtered",
            "column": "4",
        },
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("column=4")
    assert "1 rows changed" in client_a.get(response.headers["Location"]).get_data(as_text=True)
    refused = client_a.post(
        f"/jobs/{job_id}/fix/bulk",
        data={"csrf_token": token, "action": "empty", "bulk_column": "2", "scope": "filtered"},
    )
    assert refused.status_code == 302
    assert "cannot be left empty" in client_a.get(refused.headers["Location"]).get_data(
        as_text=True
    )
    save(client_a, job_id, 3, {"2": "bad@example.com"})
    sent = client_a.post(f"/jobs/{job_id}/fix/send", data={"csrf_token": token})
    assert sent.status_code == 302
    follow_up_id = sent.headers["Location"].rsplit("/", 1)[-1]
    run_worker(app)
    with app.app_context():
        follow_up = db.session.get(ImportJob, follow_up_id)
        assert follow_up.fixes_job_id == job_id and follow_up.status == "completed"
        assert follow_up.inserted_rows == 2
    original = client_a.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert 'id="job-follow-ups"' in original and "fixes for mechanics.csv" in original
    assert re.search(r"<strong>3</strong> inserted", original)
    assert re.search(r"<strong>1</strong> rows still to fix", original)
    assert "Fixed rows of" in client_a.get(f"/jobs/{follow_up_id}").get_data(as_text=True)
    again = save(client_a, job_id, 3, {"2": "other@example.com"})
    assert again.status_code == 409 and "sent already" in again.get_json()["error"]["message"]


def test_other_organisations_get_404_and_colleagues_only_read(app, client_a, client_b):
    job_id = job_with_rejections(app, client_a)
    assert client_b.get(f"/jobs/{job_id}/fix").status_code == 404
    token = page_token(client_a, job_id)
    assert save(client_b, job_id, 3, {"2": "x@example.com"}, token).status_code in (400, 404)
    colleague = make_account(app, "org-a", "colleague@a.example")
    client_c = login(app.test_client(), colleague.email)
    html = client_c.get(f"/jobs/{job_id}/fix").get_data(as_text=True)
    assert 'data-editable="false"' in html and 'id="fix-bulk"' not in html
    refused = save(client_c, job_id, 3, {"2": "x@example.com"})
    assert refused.status_code == 403 and refused.get_json()["success"] is False


def job_in_review(app, client) -> str:
    """CSV uploaded and analysed: it waits in review (the unknown province) with three rows
    predicted to be rejected."""
    job_id = uploaded_job_id(web_upload(client, CSV))
    run_worker(app)
    assert client.get(f"/jobs/{job_id}/review").status_code == 200
    return job_id


def test_a_job_in_review_fixes_its_predicted_rows_and_starts_the_import_from_the_page(
    app, client_a
):
    job_id = job_in_review(app, client_a)
    review = client_a.get(f"/jobs/{job_id}/review").get_data(as_text=True)
    assert f'href="/jobs/{job_id}/fix"' in review and 'id="review-fixed"' not in review
    html = client_a.get(f"/jobs/{job_id}/fix").get_data(as_text=True)
    assert "predicts will be rejected" in html and 'data-editable="true"' in html
    assert 'id="fix-count-invalid">3<' in html and 'id="fix-send"' not in html
    assert 'id="fix-start-import"' in html
    assert save(client_a, job_id, 3, {"2": "bad@example.com"}).get_json()["state"] == "fixed"
    review = client_a.get(f"/jobs/{job_id}/review").get_data(as_text=True)
    assert "1 row fixed since the dry run" in review

    token = csrf_token(html)
    started = client_a.post(
        f"/jobs/{job_id}/review", data={"csrf_token": token, "action": "import"}
    )
    assert started.status_code == 302
    run_worker(app)
    with app.app_context():
        job = db.session.get(ImportJob, job_id)
        assert (job.status, job.inserted_rows, job.invalid_rows) == ("completed", 2, 2)


def test_the_predicted_rows_of_another_organisation_are_a_404_and_colleagues_only_read(
    app, client_a, client_b
):
    job_id = job_in_review(app, client_a)
    assert client_b.get(f"/jobs/{job_id}/fix").status_code == 404
    token = page_token(client_a, job_id)
    assert save(client_b, job_id, 3, {"2": "x@example.com"}, token).status_code in (400, 404)
    colleague = make_account(app, "org-a", "colleague@a.example")
    client_c = login(app.test_client(), colleague.email)
    html = client_c.get(f"/jobs/{job_id}/fix").get_data(as_text=True)
    assert 'data-editable="false"' in html and 'id="fix-start-import"' not in html
    assert save(client_c, job_id, 3, {"2": "x@example.com"}).status_code == 403
