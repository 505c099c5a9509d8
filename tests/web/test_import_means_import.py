"""Import means import: after a mapping change, one press of Import analyses the file again
and imports it, unless the new analysis needs a person (then the review says what changed
and what is to decide). A Detect upload says what it detected and why; a failed one is of
an "unknown type" and its corrected-file link keeps Detect; no "looks like" once the chosen
type fits best. Real forms, a real RQ worker, SQLite or PostgreSQL."""

from __future__ import annotations

from bulkapp.entities import get_entity
from bulkapp.jobs.review import describe_changes
from tests.conftest import csrf_token, fetch_job, run_worker, uploaded_job_id, web_upload
from tests.web.test_review_page import WORKBOOK_LIKE, mobile_numbers, review_upload

MAPPED = {
    "column-0": "first_name",
    "column-1": "last_name",
    "column-2": "email",
    "column-3": "mobile_number",
}


def press_import(client, job_id: str, **columns: str):
    html = client.get(f"/jobs/{job_id}/review").get_data(as_text=True)
    form = {"csrf_token": csrf_token(html), "action": "import", **MAPPED, **columns}
    return client.post(f"/jobs/{job_id}/review", data=form)


def test_one_press_of_import_after_a_change_imports(app, client_a):
    job_id = review_upload(client_a, data=WORKBOOK_LIKE.replace(b"Cell Number", b"Phone 2"))
    run_worker(app)
    html = client_a.get(f"/jobs/{job_id}/review").get_data(as_text=True)
    assert 'id="import-stopped"' not in html
    press_import(client_a, job_id, **{"column-4": ""})
    assert fetch_job(app, job_id).phase == "analysis", "the change is analysed first"
    run_worker(app)
    job = fetch_job(app, job_id)
    assert (job.status, job.inserted_rows) == ("completed", 2)
    assert mobile_numbers(app) == {"0821000001", "0821000002"}
    listing = client_a.get("/mappings").get_data(as_text=True)
    assert "Phone 2 → Mobile number" in listing, "the mapping is remembered as on any Import"


def test_an_import_that_needs_a_decision_stops_saying_what_changed_and_why(app, client_a):
    job_id = review_upload(client_a)
    run_worker(app)
    press_import(client_a, job_id, **{"column-4": "province"})
    run_worker(app)
    assert fetch_job(app, job_id).status == "needs_review"
    assert mobile_numbers(app) == set()
    html = client_a.get(f"/jobs/{job_id}/review").get_data(as_text=True)
    assert 'id="import-stopped"' in html
    assert "Column &#39;Shoe size&#39;: not imported → Province." in html
    assert "Province has values it does not accept: &#39;7&#39;, &#39;9&#39;." in html


def test_changes_are_told_by_label():
    schema = get_entity("members")
    before = {"columns": {"ID": "id_number", "Prov.": None}, "values": {}}
    after = {
        "columns": {"ID": "id_number", "Prov.": "province"},
        "values": {"province": {"N/A": None, "GP": "Gauteng"}},
        "formats": {"date_of_birth": "month_first"},
    }
    assert describe_changes(schema, before, after) == [
        "Column 'Prov.': not imported → Province.",
        "Province 'N/A' is read as empty.",
        "Province 'GP' is read as 'Gauteng'.",
        "Date of birth is read with month first.",
    ]


def test_a_detect_upload_says_what_it_detected_and_why(app, client_a):
    job_id = uploaded_job_id(
        web_upload(client_a, WORKBOOK_LIKE, "people.csv", "detect", import_when_certain=False)
    )
    run_worker(app)
    html = client_a.get(f"/jobs/{job_id}/review").get_data(as_text=True)
    assert "Detected from the file's headers: mechanics: 4 of 5 columns." in html
    assert 'id="better-type"' not in html
    page = client_a.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert '<span id="job-type">Mechanics</span>' in page and 'id="job-detected"' in page


def test_a_failed_detect_upload_is_of_an_unknown_type(app, client_a):
    job_id = uploaded_job_id(
        web_upload(client_a, b"Colour,Shape\nred,round\n", "things.csv", "detect")
    )
    run_worker(app)
    page = client_a.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert '<span id="job-type">unknown type</span>' in page
    assert 'id="job-detected"' not in page
    assert "/upload?entity_type=detect" in page, "the corrected-file link keeps Detect"


def test_no_looks_like_once_every_column_is_mapped_to_the_chosen_type(app, client_a):
    providers = (
        b"Name,Email,Phone,City,Province\n"
        b"ABC Services,abc@example.com,0821000001,Pretoria,Gauteng\n"
    )
    job_id = review_upload(client_a, data=providers, entity="service-providers")
    run_worker(app)
    html = client_a.get(f"/jobs/{job_id}/review").get_data(as_text=True)
    assert 'id="better-type"' not in html
