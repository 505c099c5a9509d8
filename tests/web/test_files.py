"""Downloads: upload templates per entity type and a job's error report, scoped by organisation."""

from __future__ import annotations

import csv
import io
import re

import openpyxl
import pytest

from bulkapp.entities import REGISTRY
from bulkapp.extensions import db
from bulkapp.ingest.readers import open_reader
from bulkapp.models import ImportJob
from bulkapp.storage import REPORTS, FileStore, LocalStore, configured_store, delete_stored
from tests.conftest import BOTH_FILE_STORES

ENTITIES = sorted(REGISTRY)


@pytest.mark.parametrize("entity", ENTITIES)
def test_csv_template_has_the_labels_and_an_example_row(client_a, entity, tmp_path):
    schema = REGISTRY[entity]
    response = client_a.get(f"/templates/{entity}.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert f"{entity}-template.csv" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows == [[f.label for f in schema.fields], [f.example for f in schema.fields]]
    saved = tmp_path / "template.csv"
    saved.write_bytes(response.data)
    assert open_reader(saved, saved.name).headers == [f.label for f in schema.fields]


@pytest.mark.parametrize("entity", ENTITIES)
def test_xlsx_template_opens_and_explains_the_columns(client_a, entity, tmp_path):
    schema = REGISTRY[entity]
    response = client_a.get(f"/templates/{entity}.xlsx")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    data, notes = book.worksheets
    assert [c.value for c in data[1]] == [f.label for f in schema.fields]
    assert [c.value for c in data[2]] == [f.example for f in schema.fields]
    explained = {row[0]: row for row in notes.iter_rows(min_row=4, values_only=True)}
    for field in schema.fields:
        assert explained[field.label][1].startswith("yes" if field.required else "no")
        for choice in field.choices:
            assert choice in explained[field.label][2]
    saved = tmp_path / "template.xlsx"
    saved.write_bytes(response.data)
    assert open_reader(saved, saved.name).headers == [f.label for f in schema.fields]


def test_upload_page_links_every_template_and_accepts_three_formats(client_a):
    page = client_a.get("/upload").get_data(as_text=True)
    for entity in ENTITIES:
        assert f'href="/templates/{entity}.xlsx"' in page
        assert f'href="/templates/{entity}.csv"' in page
    assert 'accept=".csv,.xlsx,.json"' in page


@pytest.mark.parametrize(
    "path", ["/templates/spaceships.csv", "/templates/mechanics.pdf", "/templates/mechanics"]
)
def test_unknown_entity_or_format_is_a_404_page(client_a, path):
    response = client_a.get(path)
    assert response.status_code == 404
    assert b"Not found" in response.data


def test_anonymous_users_are_sent_to_sign_in(app, user_a):
    client = app.test_client()
    for path in ("/templates/mechanics.csv", "/jobs/some-id/errors.csv"):
        response = client.get(path)
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]


def job_with_report(app, account, content: bytes | None, store: FileStore | None = None) -> str:
    """A finished job of ``account`` whose error report (when given) is in ``store`` (the
    configured one by default)."""
    with app.app_context():
        report_key = None
        if content is not None:
            report_key, _ = (store or configured_store(REPORTS)).save_stream(
                io.BytesIO(content), ".csv", account.organisation_id
            )
        job = ImportJob(
            organisation_id=account.organisation_id,
            user_id=account.id,
            entity_type="mechanics",
            original_filename="March mechanics.xlsx",
            status="completed",
            report_path=report_key,
        )
        db.session.add(job)
        db.session.commit()
        return job.id


REPORT = (
    b"row,firstName,email,errors\r\n3,John,not-an-email,email is not a valid e-mail address.\r\n"
)


@BOTH_FILE_STORES
def test_error_report_downloads_as_an_attachment_named_after_the_upload_and_signed(
    app, client_a, user_a
):
    job_id = job_with_report(app, user_a, REPORT)
    response = client_a.get(f"/jobs/{job_id}/errors.csv")
    assert response.status_code == 200
    assert response.data == REPORT
    assert response.mimetype == "text/csv"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment")
    assert re.search(
        rf'filename="March mechanics-errors-{job_id}-[0-9a-f]{{16}}\.csv"', disposition
    )


@BOTH_FILE_STORES
def test_another_organisations_error_report_is_not_found(app, client_a, client_b, user_a):
    job_id = job_with_report(app, user_a, REPORT)
    response = client_b.get(f"/jobs/{job_id}/errors.csv")
    assert response.status_code == 404
    assert REPORT not in response.data


@BOTH_FILE_STORES
def test_no_report_or_a_missing_file_is_a_404(app, client_a, user_a):
    without = job_with_report(app, user_a, None)
    assert client_a.get(f"/jobs/{without}/errors.csv").status_code == 404
    gone = job_with_report(app, user_a, REPORT)
    with app.app_context():
        assert delete_stored(db.session.get(ImportJob, gone).report_path, REPORTS) == 1
        db.session.commit()
    assert client_a.get(f"/jobs/{gone}/errors.csv").status_code == 404
    assert client_a.get("/jobs/no-such-job/errors.csv").status_code == 404


def test_a_report_path_outside_the_report_directory_is_never_served(
    app, client_a, user_a, tmp_path
):
    job_id = job_with_report(app, user_a, REPORT)
    secret = tmp_path / "secret.csv"
    secret.write_text("not a report")
    with app.app_context():
        db.session.get(ImportJob, job_id).report_path = str(secret)
        db.session.commit()
    assert client_a.get(f"/jobs/{job_id}/errors.csv").status_code == 404


@pytest.mark.parametrize("file_store", ["database"])
def test_a_stored_file_of_another_organisation_is_never_served_as_a_report(
    app, client_a, user_a, user_b
):
    theirs = job_with_report(app, user_b, b"their rows\n")
    mine = job_with_report(app, user_a, REPORT)
    with app.app_context():
        stolen = db.session.get(ImportJob, theirs).report_path
        db.session.get(ImportJob, mine).report_path = stolen
        db.session.commit()
    response = client_a.get(f"/jobs/{mine}/errors.csv")
    assert response.status_code == 404 and b"their rows" not in response.data


@pytest.mark.parametrize("file_store", ["database"])
def test_reports_kept_on_disk_stay_downloadable_after_switching_to_the_database(
    app, client_a, user_a
):
    job_id = job_with_report(app, user_a, REPORT, LocalStore(app.config["REPORT_DIR"]))
    with app.app_context():
        assert db.session.get(ImportJob, job_id).report_path.startswith(app.config["REPORT_DIR"])
    response = client_a.get(f"/jobs/{job_id}/errors.csv")
    assert response.status_code == 200 and response.data == REPORT
