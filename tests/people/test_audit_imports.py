"""Uploads, imports (commit), discards and saved mappings saved and deleted are audited like
the people actions: written in the use case's own transaction (a refused action leaves no
entry) and shown on the audit page. SQLite or PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select

from bulkapp.extensions import db
from bulkapp.models import AuditEntry, SavedMapping
from tests.conftest import csrf_token, login, run_worker
from tests.web.test_import_means_import import press_import
from tests.web.test_review_page import review_upload


def entries(app) -> list[tuple[str, str, str]]:
    with app.app_context():
        rows = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        return [(e.action, e.actor_email, e.target) for e in rows if e.action != "sign_in"]


def test_upload_commit_discard_and_mappings_are_audited(app, client_a, user_a, admin_a):
    kept = review_upload(client_a)
    dropped = review_upload(client_a)
    run_worker(app)
    press_import(client_a, kept, **{"column-4": ""})
    run_worker(app)
    html = client_a.get(f"/jobs/{dropped}/review").get_data(as_text=True)
    token = csrf_token(html)
    client_a.post(f"/jobs/{dropped}/review", data={"csrf_token": token, "action": "discard"})
    again = client_a.post(
        f"/jobs/{dropped}/review", data={"csrf_token": token, "action": "discard"}
    )
    assert again.status_code == 302, "refused (not in review): flashed, and nothing audited"

    admin = login(app.test_client(), admin_a.email)
    with app.app_context():
        mapping_id = db.session.scalars(select(SavedMapping.id)).one()
    page = admin.get("/mappings").get_data(as_text=True)
    admin.post(f"/mappings/{mapping_id}/delete", data={"csrf_token": csrf_token(page)})

    assert entries(app) == [
        ("file_uploaded", user_a.email, kept),
        ("file_uploaded", user_a.email, dropped),
        ("import_committed", user_a.email, kept),
        ("mapping_saved", user_a.email, f"mapping {mapping_id}"),
        ("review_discarded", user_a.email, dropped),
        ("mapping_deleted", admin_a.email, f"mapping {mapping_id}"),
    ]
    with app.app_context():
        uploaded = db.session.scalars(
            select(AuditEntry.detail).where(AuditEntry.action == "file_uploaded")
        ).first()
    assert uploaded == "people.csv: mechanics, partial"
    audit_page = admin.get("/audit").get_data(as_text=True)
    for words in ("uploaded file", "imported reviewed file", "discarded file", "saved mapping"):
        assert words in audit_page
