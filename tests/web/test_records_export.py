"""Exporting a records view: streamed when small, a queued export with its own page when
large; CSV and XLSX, formula-safe, in the view's order; only the person who asked sees it."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from bulkapp.extensions import db
from bulkapp.jobs.maintenance import nightly_clean_up
from bulkapp.models import AuditEntry, RecordExport, utcnow
from bulkapp.records import export as record_export
from bulkapp.storage import REPORTS, stored_file_exists
from tests.conftest import BOTH_FILE_STORES, csrf_token, login, run_worker
from tests.records.conftest import add_records, mechanic

DANGEROUS = {
    "first_name": '=HYPERLINK("http://evil")',
    "last_name": "+cmd|' /C calc'!A0",
    "specialisation": "-2+3",
    "workshop_name": "@SUM(A1)",
    "city": "\tTabbed",
}


def export(client, entity: str = "mechanics", fmt: str = "csv", **view: str):
    """POST the records page's export form for the view ``view``."""
    token = csrf_token(client.get(f"/records/{entity}").get_data(as_text=True))
    return client.post(
        f"/records/{entity}/export", data={"csrf_token": token, "format": fmt, **view}
    )


def csv_rows(response) -> list[list[str]]:
    body = response.get_data()
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def xlsx_rows(data: bytes) -> list[tuple]:
    sheet = load_workbook(io.BytesIO(data), read_only=True).worksheets[0]
    return [tuple(row) for row in sheet.iter_rows(values_only=True)]


def test_a_small_view_downloads_as_csv_in_its_order_with_formulas_escaped(app, client_a, user_a):
    add_records(
        app,
        user_a.organisation_id,
        "mechanics",
        [mechanic(i) for i in range(6)] + [mechanic(9, **DANGEROUS)],
    )
    response = export(client_a, q="j", sort="email")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment; filename=mechanics-") and ".csv" in disposition
    rows = csv_rows(response)
    assert rows[0] == [
        "firstName", "lastName", "email", "mobileNumber", "specialisation",
        "yearsExperience", "workshopName", "city", "province",
    ]  # fmt: skip
    assert [r[2] for r in rows[1:]] == [
        "joan.1@example.com",
        "joan.9@example.com",
        "john.0@example.com",
    ]
    everything = csv_rows(export(client_a))
    (evil,) = [r for r in everything if r[2] == "joan.9@example.com"]
    assert evil[:2] == ['\'=HYPERLINK("http://evil")', "'+cmd|' /C calc'!A0"]
    assert evil[4] == "'-2+3" and evil[6] == "'@SUM(A1)" and evil[7] == "'\tTabbed"
    assert evil[5] == "9" and len(everything) == 8


def test_a_small_view_downloads_as_xlsx_with_numbers_and_dates(app, client_a, user_a):
    add_records(
        app,
        user_a.organisation_id,
        "policies",
        [
            {
                "policy_number": "=P1",
                "type": "motor",
                "start_date": date(2024, 2, 29),
                "premium": Decimal("1500.05"),
                "holder_name": "Ann Lee",
            }
        ],
    )
    response = export(client_a, "policies", "xlsx")
    assert response.status_code == 200
    assert response.mimetype == record_export.XLSX_MEDIA_TYPE
    header, row = xlsx_rows(response.get_data())
    assert header[:3] == ("policyNumber", "type", "holderName")
    assert row[0] == "'=P1" and row[2] == "Ann Lee"
    assert row[header.index("startDate")].date() == date(2024, 2, 29)
    assert row[header.index("premium")] == pytest.approx(1500.05)


@BOTH_FILE_STORES
def test_a_large_view_is_written_by_a_worker_and_downloaded_from_its_page(app, client_a, user_a):
    app.config["EXPORT_STREAM_MAX_ROWS"] = 5
    add_records(app, user_a.organisation_id, "mechanics", [mechanic(i) for i in range(23)])
    queued = export(client_a, fmt="xlsx", province="Gauteng", sort="-email")
    assert queued.status_code == 302
    page_url = queued.headers["Location"]
    page = client_a.get(page_url).get_data(as_text=True)
    assert 'id="export-status" class="status status-queued"' in page
    assert client_a.get(page_url + "/state").get_json()["status"] == "queued"
    run_worker(app)
    state = client_a.get(page_url + "/state").get_json()
    assert state["status"] == "completed" and state["progress"] == 100
    assert state["rowsWritten"] == state["rowsExpected"] == 6
    download = client_a.get(state["downloadUrl"])
    assert download.status_code == 200 and download.mimetype == record_export.XLSX_MEDIA_TYPE
    emails = [row[2] for row in xlsx_rows(download.get_data())[1:]]
    assert emails == sorted((f"{mechanic(i)['email']}" for i in range(0, 23, 4)), reverse=True)
    listed = client_a.get("/records/mechanics").get_data(as_text=True)
    assert 'id="recent-exports"' in listed and page_url in listed


def test_an_export_too_large_for_a_sheet_fails_saying_so(app, client_a, user_a, monkeypatch):
    app.config["EXPORT_STREAM_MAX_ROWS"] = 1
    monkeypatch.setattr(record_export, "XLSX_MAX_RECORDS", 2)
    add_records(app, user_a.organisation_id, "mechanics", [mechanic(i) for i in range(3)])
    page_url = export(client_a, fmt="xlsx").headers["Location"]
    run_worker(app)
    state = client_a.get(page_url + "/state").get_json()
    assert state["status"] == "failed" and state["downloadUrl"] is None
    assert "export it as CSV" in state["errorMessage"]
    assert client_a.get(page_url + "/download").status_code == 404


def test_only_the_person_who_asked_sees_an_export(app, client_a, client_b, admin_a, user_a):
    app.config["EXPORT_STREAM_MAX_ROWS"] = 0
    add_records(app, user_a.organisation_id, "mechanics", [mechanic(1)])
    page_url = export(client_a).headers["Location"]
    run_worker(app)
    admin = login(app.test_client(), admin_a.email)
    for other in (client_b, admin):
        for suffix in ("", "/state", "/download"):
            assert other.get(page_url + suffix).status_code == 404
    assert client_a.get(page_url + "/download").status_code == 200


def test_exports_follow_the_jobs_retention(app, client_a, user_a):
    app.config["EXPORT_STREAM_MAX_ROWS"] = 0
    add_records(app, user_a.organisation_id, "mechanics", [mechanic(1)])
    page_url = export(client_a).headers["Location"]
    run_worker(app)
    export_id = page_url.rsplit("/", 1)[-1]
    with app.app_context():
        kept = db.session.get(RecordExport, export_id)
        key = kept.file_key
        kept.created_at = utcnow() - timedelta(hours=app.config["JOB_RETENTION_HOURS"] + 1)
        db.session.commit()
        assert nightly_clean_up()["exports_deleted"] == 1
        assert db.session.get(RecordExport, export_id) is None
        assert not stored_file_exists(key, REPORTS)
    assert client_a.get(page_url).status_code == 404


def test_every_export_is_in_the_audit_log(app, client_a, user_a):
    add_records(app, user_a.organisation_id, "mechanics", [mechanic(1), mechanic(2)])
    export(client_a, q="jo", province="Gauteng")
    app.config["EXPORT_STREAM_MAX_ROWS"] = 1
    export(client_a, fmt="xlsx")
    with app.app_context():
        entries = db.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == "records_exported")
            .order_by(AuditEntry.id)
        ).all()
        assert [(e.actor_email, e.target, e.detail) for e in entries] == [
            (user_a.email, "Mechanics", "CSV: q=jo, province=Gauteng"),
            (user_a.email, "Mechanics", "XLSX: every record"),
        ]
        assert {e.organisation_id for e in entries} == {user_a.organisation_id}


def test_an_export_form_without_its_token_is_refused(app, client_a):
    response = client_a.post("/records/mechanics/export", data={"format": "csv"})
    assert response.status_code == 400
