"""Deactivating a person or an organisation ends their sessions and stops their API tokens at
once; their jobs stay. Reactivating lets them back in; a person's old tokens stay revoked."""

from __future__ import annotations

from bulkapp.extensions import db
from bulkapp.models import ApiToken, AuditEntry, ImportJob, Organisation
from tests.api.conftest import ApiClient, make_token
from tests.conftest import PASSWORD, csrf_token, login, run_worker, web_upload

CSV = b"firstName,lastName,email,mobileNumber\nJo,Doe,jo@example.com,0821234567\n"


def post(client, path: str):
    token = csrf_token(client.get("/account").get_data(as_text=True))
    return client.post(path, data={"csrf_token": token})


def sign_in_status(app, email: str) -> int:
    client = app.test_client()
    token = csrf_token(client.get("/login").get_data(as_text=True))
    data = {"csrf_token": token, "email": email, "password": PASSWORD}
    return client.post("/login", data=data).status_code


def test_a_deactivated_persons_session_and_token_stop_at_once_and_their_jobs_stay(
    app, admin_a, user_a
):
    member = login(app.test_client(), user_a.email)
    api = ApiClient(app.test_client(), make_token(app, user_a))
    web_upload(member, CSV)
    run_worker(app)
    assert api.get("/bulk-upload/queue/jobs").status_code == 200

    admin = login(app.test_client(), admin_a.email)
    assert post(admin, f"/people/{user_a.id}/deactivate").status_code == 302

    assert member.get("/jobs").status_code == 302
    assert api.get("/bulk-upload/queue/jobs").status_code == 401
    assert sign_in_status(app, user_a.email) == 200
    with app.app_context():
        jobs = db.session.query(ImportJob).filter_by(user_id=user_a.id).all()
        assert [job.inserted_rows for job in jobs] == [1]

    assert post(admin, f"/people/{user_a.id}/reactivate").status_code == 302
    assert api.get("/bulk-upload/queue/jobs").status_code == 401, "revoked for good"
    assert member.get("/jobs").status_code == 302, "the old session stays ended"
    assert sign_in_status(app, user_a.email) == 302
    new_token = ApiClient(app.test_client(), make_token(app, user_a))
    assert new_token.get("/bulk-upload/queue/jobs").status_code == 200
    with app.app_context():
        tokens = db.session.query(ApiToken).filter_by(user_id=user_a.id).all()
        assert sorted(token.revoked_at is None for token in tokens) == [False, True]
        deactivated = db.session.query(AuditEntry).filter_by(action="user_deactivated").one()
        assert deactivated.detail == "1 API token revoked"


def test_a_deactivated_organisation_locks_out_its_people(app, super_admin, user_b, admin_a):
    member_b = login(app.test_client(), user_b.email)
    api_b = ApiClient(app.test_client(), make_token(app, user_b))
    operator = login(app.test_client(), super_admin.email)
    response = post(operator, f"/organisations/{user_b.organisation_id}/deactivate")
    assert response.status_code == 302

    assert member_b.get("/jobs").status_code == 302
    assert api_b.get("/bulk-upload/queue/jobs").status_code == 401
    assert sign_in_status(app, user_b.email) == 200
    assert sign_in_status(app, admin_a.email) == 302, "other organisations carry on"

    post(operator, f"/organisations/{user_b.organisation_id}/reactivate")
    assert api_b.get("/bulk-upload/queue/jobs").status_code == 200
    assert sign_in_status(app, user_b.email) == 302


def test_only_super_admins_manage_organisations(app, admin_a, super_admin, user_b):
    admin = login(app.test_client(), admin_a.email)
    assert admin.get("/organisations").status_code == 403
    assert post(admin, f"/organisations/{user_b.organisation_id}/deactivate").status_code == 404
    assert post(admin, f"/organisations/{admin_a.organisation_id}/deactivate").status_code == 403
    operator = login(app.test_client(), super_admin.email)
    own = post(operator, f"/organisations/{super_admin.organisation_id}/deactivate")
    assert own.status_code == 403
    with app.app_context():
        assert all(o.active for o in db.session.query(Organisation))


def test_a_super_admin_creates_and_renames_organisations(app, super_admin):
    operator = login(app.test_client(), super_admin.email)
    token = csrf_token(operator.get("/organisations").get_data(as_text=True))
    operator.post("/organisations", data={"csrf_token": token, "name": "Acme Insurance"})
    with app.app_context():
        acme = db.session.query(Organisation).filter_by(slug="acme-insurance").one()
        acme_id = acme.id
    duplicate = operator.post(
        "/organisations", data={"csrf_token": token, "name": "acme insurance"}
    )
    assert "already exists" in operator.get(duplicate.headers["Location"]).get_data(as_text=True)
    operator.post(
        f"/organisations/{acme_id}/rename", data={"csrf_token": token, "name": "Acme Cover"}
    )
    with app.app_context():
        acme = db.session.get(Organisation, acme_id)
        assert (acme.name, acme.slug) == ("Acme Cover", "acme-insurance")
        assert db.session.query(Organisation).count() == 2
