"""The pages name fields by their titles ("ID number") in the import's messages too: the
review's reasons and preview, the job page's warnings and error, its live state, the fix
page's column headers and messages. The API and the error report keep the field names
("idNumber"). A quoted value is shown as written. SQLite or PostgreSQL."""

from __future__ import annotations

import re

from bulkapp.entities import get_entity
from bulkapp.extensions import db
from bulkapp.models import ImportJob
from bulkapp.web.labels import titled
from tests.api.conftest import ApiClient, make_token
from tests.conftest import run_worker, uploaded_job_id, web_upload

MEMBERS = (
    b"firstName,lastName,idNumber,mobileNumber,province\n"
    b"Thandi,Nkosi,8001015009087,0821234567,Gauteng\n"
    b"Bad,Id,8001015009088,0831234567,Gauteng\n"
    b"Bad,Phone,8001015009087x,12,Limpopo\n"
    b"Sipho,Dlamini,9202204720082,mobileNumber,Limpopo\n"
)

CAMEL = ("idNumber", "mobileNumber")


def _shown(html: str) -> str:
    """The page's text as a reader sees it (no attribute values, scripts or JSON data)."""
    html = re.sub(r"<script.*?</script>", "", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def test_a_message_names_fields_by_their_titles_and_keeps_quoted_values():
    members = get_entity("members")
    assert titled("idNumber must be 13 digits.", members) == "ID number must be 13 digits."
    assert (
        titled("mobileNumber 'mobileNumber' must be a phone number.", members, "mobile_number")
        == "Mobile number 'mobileNumber' must be a phone number."
    )
    assert titled("email is not a valid e-mail address.", members, "email").startswith("Email ")
    assert titled("the file's idNumber column", "members") == "the file's ID number column"
    assert titled("idNumber", "no-such-type") == "idNumber"


def test_the_review_names_fields_by_their_titles_in_its_reasons(app, client_a):
    job_id = uploaded_job_id(
        web_upload(client_a, MEMBERS, "members.csv", "members", import_when_certain=False)
    )
    run_worker(app)
    html = client_a.get(f"/jobs/{job_id}/review").get_data(as_text=True)
    reasons = re.search(r'<ul id="rejections">.*?</ul>', html, re.S).group(0)
    assert "ID number" in reasons and "Mobile number" in reasons
    preview = re.search(r'<table id="preview">.*?</table>', html, re.S).group(0)
    assert "ID number" in preview and "Mobile number" in preview
    head = re.search(r"<thead>.*?</thead>", preview, re.S).group(0)
    problems = " ".join(re.findall(r"<td>([^<]*)</td></tr>", preview))
    for shown in (reasons, head, problems.replace("'mobileNumber'", "")):
        assert not any(name in _shown(shown) for name in CAMEL)  # the file's own headers
    # and values ("mobileNumber" in row 5) are shown as written elsewhere on the page


def test_the_job_and_fix_pages_name_fields_by_their_titles_the_api_by_names(app, client_a, user_a):
    job_id = uploaded_job_id(web_upload(client_a, MEMBERS, "members.csv", "members"))
    run_worker(app)
    with app.app_context():
        job = db.session.get(ImportJob, job_id)
        assert job.status == "completed" and job.invalid_rows == 3
        job.warnings = ["idNumber is read as text.", "Column 'mobileNumber' repeats."]
        db.session.commit()
    page = client_a.get(f"/jobs/{job_id}").get_data(as_text=True)
    warnings = re.search(r'<ul id="job-warnings".*?</ul>', page, re.S).group(0)
    assert "ID number is read as text." in warnings
    assert "Column &#39;mobileNumber&#39; repeats." in warnings  # a quoted value as written
    state = client_a.get(f"/jobs/{job_id}/state").get_json()
    assert state["warnings"][0] == "ID number is read as text."

    fix = client_a.get(f"/jobs/{job_id}/fix").get_data(as_text=True)
    headers = re.findall(r'<th scope="col" data-column="c\d+"[^>]*>\s*([^<]*?)\s*<', fix)
    assert headers[:4] == ["First name", "Last name", "ID number", "Mobile number"]
    problems = " ".join(re.findall(r'<ul class="fix-problems".*?</ul>', fix, re.S))
    assert "ID number" in problems and "Mobile number" in problems
    text = _shown(fix).replace("'mobileNumber'", "")
    assert not any(name in text for name in CAMEL)

    token = re.search(r'data-csrf="([^"]+)"', fix).group(1)
    edited = client_a.post(
        f"/jobs/{job_id}/fix/rows/4",
        json={"cells": {"3": "99"}},
        headers={"X-CSRFToken": token},
    ).get_json()
    assert any(m.startswith("Mobile number") for m in edited["problems"]["columns"]["3"])

    # The API and the error report keep the field names.
    api = ApiClient(app.test_client(), make_token(app, user_a))
    rejected = str(api.get(f"/bulk-upload/{job_id}/rejected").get_json())
    assert "idNumber" in rejected and "mobileNumber" in rejected and "ID number" not in rejected
    status = str(api.get(f"/bulk-upload/status/{job_id}").get_json())
    assert "ID number is read" not in status and "idNumber is read" in status
    report = client_a.get(f"/jobs/{job_id}/errors.csv")
    assert report.status_code == 200
    body = report.get_data(as_text=True)
    assert "idNumber" in body and "ID number" not in body
