"""Downloads: upload templates per entity type and a job's error report, scoped by organisation."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl
import pytest

from bulkapp.entities import REGISTRY
from bulkapp.extensions import db
from bulkapp.ingest.readers import open_reader
from bulkapp.models import ImportJob

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


def job_with_report(app, account, content: bytes | None) -> str:
    """A finished job of ``account`` whose error report (when given) is in REPORT_DIR."""
    with app.app_context():
        job = ImportJob(
            organisation_id=account.organisation_id,
            user_id=account.id,
            entity_type="mechanics",
            original_filename="March mechanics.xlsx",
            status="completed",
        )
        db.session.add(job)
        db.session.flush()
        if content is not None:
            report = Path(app.config["REPORT_DIR"]) / f"{job.id}.csv"
            report.parent.mkdir(parents=True, exist_ok=True)
            report.write_bytes(content)
            job.report_path = str(report)
        db.session.commit()
        return job.id


REPORT = (
    b"row,firstName,email,errors\r\n3,John,not-an-email,email is not a valid e-mail address.\r\n"
)


def test_error_report_downloads_as_an_attachment_named_after_the_upload(app, client_a, user_a):
    job_id = job_with_report(app, user_a, REPORT)
    response = client_a.get(f"/jobs/{job_id}/errors.csv")
    assert response.status_code == 200
    assert response.data == REPORT
    assert response.mimetype == "text/csv"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment") and "March mechanics-errors.csv" in disposition


def test_another_organisations_error_report_is_not_found(app, client_a, client_b, user_a):
    job_id = job_with_report(app, user_a, REPORT)
    response = client_b.get(f"/jobs/{job_id}/errors.csv")
    assert response.status_code == 404
    assert REPORT not in response.data


def test_no_report_or_a_missing_file_is_a_404(app, client_a, user_a):
    without = job_with_report(app, user_a, None)
    assert client_a.get(f"/jobs/{without}/errors.csv").status_code == 404
    gone = job_with_report(app, user_a, REPORT)
    with app.app_context():
        Path(db.session.get(ImportJob, gone).report_path).unlink()
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
