"""The audit log: every listed action is recorded, admins see their organisation's entries,
filter them, export them as formula-safe CSV, and the nightly clean-up forgets old ones."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from bulkapp.extensions import db
from bulkapp.jobs.maintenance import nightly_clean_up
from bulkapp.models import ApiToken, AuditEntry, utcnow
from tests.api.conftest import ApiClient, make_token
from tests.conftest import csrf_token, login, uploaded_job_id, web_upload

CSV = b"firstName,lastName,email,mobileNumber\nJo,Doe,jo@example.com,0821234567\n"


def actions(app) -> list[str]:
    with app.app_context():
        return [e.action for e in db.session.query(AuditEntry).order_by(AuditEntry.id)]


def post(client, path: str, **form):
    token = csrf_token(client.get("/account").get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **form})


def test_every_listed_action_is_recorded_with_actor_target_and_address(app, admin_a, user_a):
    member = login(app.test_client(), user_a.email)
    admin = login(app.test_client(), admin_a.email)
    api_admin = ApiClient(app.test_client(), make_token(app, admin_a, "sync"))

    job_id = uploaded_job_id(web_upload(member, CSV))
    post(member, f"/jobs/{job_id}/cancel")
    assert api_admin.post(f"/bulk-upload/queue/retry/{job_id}").status_code == 202
    api_admin.post("/bulk-upload/queue/requeue")
    api_admin.post("/bulk-upload/queue/clean", json={"gracePeriodHours": 1})
    post(member, "/account/tokens", name="laptop")
    with app.app_context():
        token_id = db.session.query(ApiToken).filter_by(name="laptop").one().id
    post(member, f"/account/tokens/{token_id}/revoke")
    post(admin, "/people/invite", email="new@a.example", role="member")
    post(admin, f"/people/{user_a.id}/role", role="municipality_admin")
    post(admin, f"/people/{user_a.id}/deactivate")

    assert actions(app) == [
        "sign_in",
        "sign_in",
        "token_created",
        "file_uploaded",
        "job_canceled",
        "job_retried",
        "jobs_requeued",
        "jobs_cleaned",
        "token_created",
        "token_revoked",
        "user_invited",
        "role_changed",
        "user_deactivated",
    ]
    with app.app_context():
        role_change = db.session.query(AuditEntry).filter_by(action="role_changed").one()
        assert role_change.actor_email == admin_a.email
        assert role_change.target == user_a.email
        assert role_change.detail == "member → municipality_admin"
        assert role_change.organisation_id == admin_a.organisation_id
        assert role_change.address == "127.0.0.1"
        cancel = db.session.query(AuditEntry).filter_by(action="job_canceled").one()
        assert (cancel.actor_email, cancel.target) == (user_a.email, job_id)


def test_admins_see_only_their_organisations_entries_and_members_none(
    app, admin_a, user_a, user_b, super_admin
):
    for account in (user_a, user_b):
        login(app.test_client(), account.email)
    page_a = login(app.test_client(), admin_a.email).get("/audit").get_data(as_text=True)
    assert user_a.email in page_a and user_b.email not in page_a
    operator = login(app.test_client(), super_admin.email).get("/audit").get_data(as_text=True)
    assert user_a.email in operator and user_b.email in operator
    member = login(app.test_client(), user_a.email)
    assert member.get("/audit").status_code == 403
    assert member.get("/audit.csv").status_code == 403


def test_the_log_filters_by_actor_action_and_dates(app, admin_a, user_a):
    admin = login(app.test_client(), admin_a.email)
    login(app.test_client(), user_a.email)
    post(admin, f"/people/{user_a.id}/deactivate")
    with app.app_context():
        old = AuditEntry(
            action="sign_in",
            actor_email=user_a.email,
            organisation_id=user_a.organisation_id,
            created_at=utcnow() - timedelta(days=40),
        )
        db.session.add(old)
        db.session.commit()

    def rows(**query) -> list[tuple[str, str]]:
        response = admin.get("/audit.csv", query_string=query)
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/csv")
        return [(r["actor"], r["action"]) for r in csv.DictReader(io.StringIO(response.text))]

    assert rows(actor="member@") == [(user_a.email, "sign_in"), (user_a.email, "sign_in")]
    assert rows(action="user_deactivated") == [(admin_a.email, "user_deactivated")]
    today = utcnow().date()
    assert len(rows(since=str(today - timedelta(days=1)))) == 3
    assert rows(until=str(today - timedelta(days=30))) == [(user_a.email, "sign_in")]
    page = admin.get("/audit", query_string={"since": "last tuesday", "action": "nope"})
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "From must be a date such as 2026-01-31." in text and "Unknown action" in text


def test_the_csv_export_is_formula_safe(app, admin_a):
    api_admin = ApiClient(app.test_client(), make_token(app, admin_a))
    response = api_admin.post("/users", json={"email": "=HYPERLINK(1)@a.example"})
    assert response.status_code == 201
    admin = login(app.test_client(), admin_a.email)
    rows = list(csv.DictReader(io.StringIO(admin.get("/audit.csv").text)))
    invited = [row for row in rows if row["action"] == "user_invited"]
    assert invited[0]["target"] == "'=hyperlink(1)@a.example"


def test_the_nightly_clean_up_forgets_entries_older_than_the_retention(app, user_a):
    app.config["AUDIT_RETENTION_DAYS"] = 30
    with app.app_context():
        for age_days in (31, 29, 0):
            db.session.add(
                AuditEntry(
                    action="sign_in",
                    actor_email=user_a.email,
                    created_at=utcnow() - timedelta(days=age_days),
                )
            )
        db.session.commit()
        counts = nightly_clean_up()
        assert counts["audit_entries_deleted"] == 1
        ages = sorted(
            (utcnow() - e.created_at).days
            for e in db.session.query(AuditEntry)
            if e.action == "sign_in"
        )
        assert ages == [0, 29]
