"""Invitations go through the queue: with the mail server down an invitation is stored, audited
and retried by a real worker; once a real SMTP server (aiosmtpd) is up it arrives, and its link
works. An admin can send it again."""

from __future__ import annotations

import email
import email.policy
import mailbox
import sys

import pytest

from bulkapp.extensions import db
from bulkapp.models import AuditEntry, OutgoingMail, User
from tests.api.conftest import ApiClient, make_token
from tests.conftest import csrf_token, free_port, login
from tests.jobs.conftest import Processes
from tests.people.mail import outbox_mails, password_link
from tests.processes import wait_for

INVITEE = "new@a.example"


@pytest.fixture
def processes(app, tmp_path):
    started = Processes(app, tmp_path)
    yield started
    started.stop_all()


def the_mail(app) -> OutgoingMail:
    with app.app_context():
        mail = db.session.query(OutgoingMail).filter_by(recipient=INVITEE).one()
        db.session.expunge(mail)
        return mail


def received(maildir) -> list[email.message.EmailMessage]:
    """The mails the SMTP server stored for the invitee."""
    box = mailbox.Maildir(maildir, factory=None, create=False)
    mails = [email.message_from_bytes(m.as_bytes(), policy=email.policy.default) for m in box]
    return [mail for mail in mails if mail["To"] == INVITEE]


def test_an_smtp_outage_delays_an_invitation_and_never_loses_it(app, admin_a, processes, tmp_path):
    app.config["MAIL_RETRY_INTERVALS"] = (1, 1, 2, 2, 3)
    port, maildir = free_port(), tmp_path / "maildir"
    api = ApiClient(app.test_client(), make_token(app, admin_a))
    assert api.post("/users", json={"email": INVITEE, "role": "member"}).status_code == 201
    with app.app_context():
        assert db.session.query(AuditEntry).filter_by(action="user_invited").count() == 1
        assert db.session.query(User).filter_by(email=INVITEE).one().invitation_pending

    worker = processes.worker(
        SMTP_HOST="127.0.0.1", SMTP_PORT=str(port), SMTP_STARTTLS="false", SWEEP_GRACE_SECONDS="2"
    )
    wait_for(
        lambda: the_mail(app).attempts >= 2,
        120,
        "the worker to try the mail server twice",
        watching=[worker],
    )
    refused = the_mail(app)
    assert refused.sent_at is None and "ConnectionRefusedError" in (refused.last_error or "")

    processes.start(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}"]
        + ["-c", "aiosmtpd.handlers.Mailbox", str(maildir)],
        name="smtp",
    )
    wait_for(lambda: received(maildir) if maildir.exists() else [], 120, "the invitation")
    sent = wait_for(lambda: the_mail(app).sent_at, 60, "the mail marked sent")
    assert sent is not None and len(received(maildir)) == 1, "sent once"

    link = password_link(received(maildir)[0])
    assert link.startswith("/password/invite/")
    assert app.test_client().get(link).status_code == 200


def test_an_admin_resends_an_invitation_on_the_page_and_through_the_api(app, admin_a):
    admin = login(app.test_client(), admin_a.email)
    token = csrf_token(admin.get("/people").get_data(as_text=True))
    admin.post("/people/invite", data={"csrf_token": token, "email": INVITEE, "role": "member"})
    assert len(outbox_mails(app, INVITEE)) == 1
    with app.app_context():
        person_id = db.session.query(User).filter_by(email=INVITEE).one().id

    page = admin.get("/people").get_data(as_text=True)
    assert f"/people/{person_id}/resend-invitation" in page
    response = admin.post(f"/people/{person_id}/resend-invitation", data={"csrf_token": token})
    assert response.status_code == 302
    assert "was sent a new invitation" in admin.get(response.headers["Location"]).get_data(
        as_text=True
    )
    api = ApiClient(app.test_client(), make_token(app, admin_a))
    again = api.post(f"/users/{person_id}/invitation")
    assert again.status_code == 202 and again.get_json()["data"]["invitationPending"]

    mails = outbox_mails(app, INVITEE)
    assert len(mails) == 3
    link = password_link(mails[-1])
    assert app.test_client().get(link).status_code == 200
    with app.app_context():
        resent = db.session.query(AuditEntry).filter_by(action="invitation_resent").all()
        assert [entry.actor_email for entry in resent] == [admin_a.email, admin_a.email]


def test_an_accepted_invitation_is_not_resent(app, admin_a, user_a):
    api = ApiClient(app.test_client(), make_token(app, admin_a))
    refused = api.post(f"/users/{user_a.id}/invitation")
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "invitation_accepted"
    admin = login(app.test_client(), admin_a.email)
    token = csrf_token(admin.get("/people").get_data(as_text=True))
    response = admin.post(f"/people/{user_a.id}/resend-invitation", data={"csrf_token": token})
    assert "has set a password already" in admin.get(response.headers["Location"]).get_data(
        as_text=True
    )
    assert outbox_mails(app, user_a.email) == []
