"""The review page: an analysed upload is shown, mapped, imported or discarded through real
forms (CSRF tokens included), and the saved mappings page lists and deletes mappings."""

from __future__ import annotations

import re

from sqlalchemy import select

from bulkapp.extensions import db
from bulkapp.models import ENTITY_TABLES, SavedMapping
from tests.conftest import (
    csrf_token,
    fetch_job,
    login,
    run_worker,
    save_mapping,
    uploaded_job_id,
    web_upload,
)

WORKBOOK_LIKE = (
    b"Given name,Surname,Email address,Cell Number,Shoe size\n"
    b"Ann,One,ann@example.com,082 100 0001,7\n"
    b"Ben,Two,ben@example.com,082 100 0002,9\n"
)


def review_upload(client, data: bytes = WORKBOOK_LIKE, entity: str = "mechanics") -> str:
    return uploaded_job_id(
        web_upload(client, data, "people.csv", entity, import_when_certain=False)
    )


def selected(html: str, name: str) -> str:
    """The selected option's value of the select called ``name``."""
    select_html = re.search(rf'<select name="{name}".*?</select>', html, re.S).group(0)
    match = re.search(r'<option value="([^"]*)" selected', select_html)
    return match.group(1) if match else ""


def mobile_numbers(app) -> set[str]:
    with app.app_context():
        return set(db.session.scalars(select(ENTITY_TABLES["mechanics"].c.mobile_number)))


def test_an_upload_stops_at_the_review_and_imports_as_mapped(app, client_a, user_a):
    job_id = review_upload(client_a)
    run_worker(app)
    assert fetch_job(app, job_id).status == "needs_review"
    page = client_a.get(f"/jobs/{job_id}/review")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert selected(html, "column-3") == "mobile_number"  # "Cell Number"
    assert selected(html, "column-4") == ""  # "Shoe size": ignored
    assert "082 100 0001 · 082 100 0002" in html
    assert re.search(r'id="review-inserted">2<', html)
    assert mobile_numbers(app) == set(), "nothing is stored before Import"

    form = {
        "csrf_token": csrf_token(html),
        "action": "import",
        "column-0": "first_name",
        "column-1": "last_name",
        "column-2": "email",
        "column-3": "mobile_number",
        "column-4": "",
    }
    response = client_a.post(f"/jobs/{job_id}/review", data=form)
    assert response.headers["Location"] == f"/jobs/{job_id}"
    run_worker(app)
    assert fetch_job(app, job_id).status == "completed"
    assert mobile_numbers(app) == {"0821000001", "0821000002"}

    listing = client_a.get("/mappings").get_data(as_text=True)
    assert "Cell Number → Mobile number" in listing and "Shoe size → ignored" in listing

    again = uploaded_job_id(
        web_upload(client_a, WORKBOOK_LIKE, "people.csv", "detect", import_when_certain=False)
    )
    run_worker(app)
    job = fetch_job(app, again)
    assert (job.status, job.unchanged_rows) == ("completed", 2)
    page = client_a.get(f"/jobs/{again}").get_data(as_text=True)
    assert "Using the mapping saved on" in page and user_a.email in page


def test_a_changed_mapping_is_analysed_again(app, client_a):
    job_id = review_upload(client_a)
    run_worker(app)
    html = client_a.get(f"/jobs/{job_id}/review").get_data(as_text=True)
    form = {
        "csrf_token": csrf_token(html),
        "action": "analyse",
        "column-0": "first_name",
        "column-1": "last_name",
        "column-2": "email",
        "column-3": "mobile_number",
        "column-4": "specialisation",
    }
    client_a.post(f"/jobs/{job_id}/review", data=form)
    assert fetch_job(app, job_id).status == "queued"
    run_worker(app)
    html = client_a.get(f"/jobs/{job_id}/review").get_data(as_text=True)
    assert selected(html, "column-4") == "specialisation"


def test_the_review_says_when_another_type_fits_better(app, client_a):
    job_id = review_upload(client_a, entity="members")
    run_worker(app)
    html = client_a.get(f"/jobs/{job_id}/review").get_data(as_text=True)
    assert "This looks like mechanics: 4 of 5 columns match" in html
    client_a.post(
        f"/jobs/{job_id}/review",
        data={"csrf_token": csrf_token(html), "action": "switch", "entity_type": "mechanics"},
    )
    run_worker(app)
    job = fetch_job(app, job_id)
    assert (job.entity_type, job.queue_name, job.status) == (
        "mechanics",
        "bulk-upload-mechanics",
        "needs_review",
    )


def test_discard_and_the_rules_of_who_may_review(app, client_a, user_b, admin_a):
    job_id = review_upload(client_a)
    run_worker(app)
    html = client_a.get(f"/jobs/{job_id}/review").get_data(as_text=True)
    other = login(app.test_client(), user_b.email)
    assert other.get(f"/jobs/{job_id}/review").status_code == 404
    token = csrf_token(other.get("/upload").get_data(as_text=True))
    refused = other.post(f"/jobs/{job_id}/review", data={"csrf_token": token, "action": "discard"})
    assert refused.status_code == 404
    assert client_a.post(f"/jobs/{job_id}/review", data={"action": "discard"}).status_code == 400
    client_a.post(
        f"/jobs/{job_id}/review", data={"csrf_token": csrf_token(html), "action": "discard"}
    )
    assert fetch_job(app, job_id).status == "canceled"
    assert client_a.get(f"/jobs/{job_id}/review").status_code == 302


def test_only_admins_delete_saved_mappings_of_their_organisation(app, client_a, admin_a, user_b):
    mapping_id = save_mapping(app, admin_a.organisation_id)
    other = login(app.test_client(), user_b.email)
    assert "Cell Number" not in other.get("/mappings").get_data(as_text=True)
    token = csrf_token(other.get("/upload").get_data(as_text=True))
    assert (
        other.post(f"/mappings/{mapping_id}/delete", data={"csrf_token": token}).status_code == 404
    )
    token = csrf_token(client_a.get("/upload").get_data(as_text=True))
    assert (
        client_a.post(f"/mappings/{mapping_id}/delete", data={"csrf_token": token}).status_code
        == 403
    )
    admin = login(app.test_client(), admin_a.email)
    token = csrf_token(admin.get("/mappings").get_data(as_text=True))
    assert (
        admin.post(f"/mappings/{mapping_id}/delete", data={"csrf_token": token}).status_code == 302
    )
    with app.app_context():
        assert db.session.get(SavedMapping, mapping_id) is None


def test_the_jobs_list_links_a_file_waiting_for_review(app, client_a):
    job_id = review_upload(client_a)
    run_worker(app)
    listing = client_a.get("/jobs").get_data(as_text=True)
    assert f'href="/jobs/{job_id}/review"' in listing


AMOUNTS = (
    "Polisnommer;Tipe;Premie;Stand;Makelaar\n"
    "POL-1;motor;1,250;N/A;Sanlam\n"
    "POL-2;huis;2,500;Aktief;Santam\n"
    "POL-3;lewe;450;Onbekend;\n"
).encode("cp1252")


def test_the_review_shows_what_is_left_out_how_numbers_read_and_what_is_left_empty(app, client_a):
    job_id = review_upload(client_a, AMOUNTS, entity="policies")
    run_worker(app)
    html = client_a.get(f"/jobs/{job_id}/review").get_data(as_text=True)

    not_imported = re.search(r'<table id="not-imported">.*?</table>', html, re.S).group(0)
    assert "Makelaar" in not_imported and "Sanlam · Santam" in not_imported
    readings = re.search(r'<tr id="reading-premium">.*?</tr>', html, re.S).group(0)
    assert "not decided: no value shows which mark is the decimal one" in readings
    assert (
        "1,250 is 1250 (decimal point)" in readings and "1,250 is 1.25 (decimal comma)" in readings
    )
    assert "N/A (1 row) means no value, so it is stored empty." in html
    values = re.search(r'<table id="value-table">.*?</table>', html, re.S).group(0)
    assert "Onbekend" in values and '<option value="(leave empty)">leave empty</option>' in values
    assert re.search(r'id="review-rejected">3<', html)

    form = {
        "csrf_token": csrf_token(html),
        "action": "analyse",
        "format-premium": "decimal_comma",
        "value-status-0": "(leave empty)",
    }
    client_a.post(f"/jobs/{job_id}/review", data=form)
    run_worker(app)
    job = fetch_job(app, job_id)
    assert job.mapping["formats"] == {"premium": "decimal_comma"}
    assert job.mapping["values"] == {"status": {"Onbekend": None}}
    html = client_a.get(f"/jobs/{job_id}/review").get_data(as_text=True)
    assert re.search(r'id="review-rejected">0<', html)
    assert selected(html, "format-premium") == "decimal_comma"
    assert "decimal comma, as chosen" in html
