"""Passwords: the policy, changing one (other sessions end), reset by e-mail (signed,
single-use, expiring, the same answer for unknown addresses), and invitations."""

from __future__ import annotations

import re
import time

import pytest

from bulkapp.config import load_config
from bulkapp.extensions import db
from bulkapp.models import AuditEntry, User
from tests.conftest import PASSWORD, csrf_token, login, make_account
from tests.people.mail import link_in_last_mail, outbox_mails

NEW_PASSWORD = "plum-orchard-lantern-7"


def post_form(client, page: str, path: str, form: dict):
    token = csrf_token(client.get(page).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **form})


def change_password(client, current: str, new: str, confirm: str | None = None):
    return post_form(
        client,
        "/account",
        "/account/password",
        {"current_password": current, "password": new, "confirm": confirm or new},
    )


def sign_in_status(app, email: str, password: str) -> int:
    client = app.test_client()
    token = csrf_token(client.get("/login").get_data(as_text=True))
    data = {"csrf_token": token, "email": email, "password": password}
    return client.post("/login", data=data).status_code


def set_password_through(app, link: str, password: str):
    client = app.test_client()
    token = csrf_token(client.get(link).get_data(as_text=True))
    return client.post(link, data={"csrf_token": token, "password": password, "confirm": password})


def test_changing_the_password_ends_other_sessions_but_not_this_one(app, user_a):
    this_browser = login(app.test_client(), user_a.email)
    other_browser = login(app.test_client(), user_a.email)
    response = change_password(this_browser, PASSWORD, NEW_PASSWORD)
    assert response.status_code == 302
    assert this_browser.get("/jobs").status_code == 200
    assert other_browser.get("/jobs").status_code == 302
    assert sign_in_status(app, user_a.email, PASSWORD) == 200
    assert sign_in_status(app, user_a.email, NEW_PASSWORD) == 302


@pytest.mark.parametrize(
    "current, new, message",
    [
        ("not-my-password", NEW_PASSWORD, "The current password is not correct."),
        (PASSWORD, "short-1", "at least 10 characters"),
        (PASSWORD, "password123", "most common"),
        (PASSWORD, "qwertyuiop", "most common"),
        (PASSWORD, "member@a.example", "most common"),
    ],
)
def test_a_refused_password_change_changes_nothing(app, user_a, current, new, message):
    client = login(app.test_client(), user_a.email)
    with app.app_context():
        before = user_a.load().password_hash
    response = change_password(client, current, new)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert user_a.load().password_hash == before
    assert client.get("/jobs").status_code == 200


def test_two_different_new_passwords_are_refused(app, user_a):
    client = login(app.test_client(), user_a.email)
    response = change_password(client, PASSWORD, NEW_PASSWORD, "something-else-entirely")
    assert response.status_code == 400
    assert "The two passwords differ." in response.get_data(as_text=True)


def test_the_minimum_length_is_configurable(app, user_a):
    app.config["PASSWORD_MIN_LENGTH"] = 30
    client = login(app.test_client(), user_a.email)
    response = change_password(client, PASSWORD, NEW_PASSWORD)
    assert response.status_code == 422
    assert "at least 30 characters" in response.get_data(as_text=True)


def ask_for_reset(app, email: str):
    client = app.test_client()
    response = post_form(client, "/forgot-password", "/forgot-password", {"email": email})
    return response, client.get(response.headers["Location"]).get_data(as_text=True)


def test_forgot_password_answers_the_same_whether_the_address_exists(app, user_a):
    known, known_page = ask_for_reset(app, user_a.email)
    unknown, unknown_page = ask_for_reset(app, "nobody@a.example")
    assert (known.status_code, known.headers["Location"]) == (
        unknown.status_code,
        unknown.headers["Location"],
    )
    assert "If that address has an account" in known_page
    without_token = re.compile(r'name="csrf_token" type="hidden" value="[^"]+"')
    assert without_token.sub("", known_page) == without_token.sub("", unknown_page)
    assert len(outbox_mails(app, user_a.email)) == 1
    assert outbox_mails(app, "nobody@a.example") == []


def test_a_reset_link_sets_a_new_password_once_and_ends_other_sessions(app, user_a):
    signed_in = login(app.test_client(), user_a.email)
    ask_for_reset(app, user_a.email)
    link = link_in_last_mail(app, user_a.email)
    response = set_password_through(app, link, NEW_PASSWORD)
    assert response.status_code == 302
    assert sign_in_status(app, user_a.email, NEW_PASSWORD) == 302
    assert sign_in_status(app, user_a.email, PASSWORD) == 200
    assert signed_in.get("/jobs").status_code == 302

    again = app.test_client().get(link)
    assert again.status_code == 404
    assert "already been used or has expired" in again.get_data(as_text=True)
    assert set_password_through_status(app, link, "another-fine-password-9") == 404
    with app.app_context():
        actions = [e.action for e in db.session.query(AuditEntry).order_by(AuditEntry.id)]
        assert "password_reset_requested" in actions and "password_reset" in actions


def set_password_through_status(app, link: str, password: str) -> int:
    """POST a new password to a link whose page is gone (CSRF token from the sign-in page)."""
    client = app.test_client()
    token = csrf_token(client.get("/login").get_data(as_text=True))
    data = {"csrf_token": token, "password": password, "confirm": password}
    return client.post(link, data=data).status_code


def test_a_reset_link_expires(app, user_a):
    app.config["PASSWORD_RESET_MAX_AGE"] = 1
    ask_for_reset(app, user_a.email)
    link = link_in_last_mail(app, user_a.email)
    time.sleep(2.1)
    assert app.test_client().get(link).status_code == 404


def test_a_tampered_link_is_refused(app, user_a):
    ask_for_reset(app, user_a.email)
    link = link_in_last_mail(app, user_a.email)
    assert app.test_client().get(link[:-3] + "abc").status_code == 404
    assert app.test_client().get(link.replace("/reset/", "/invite/")).status_code == 404


def test_deactivated_people_get_no_reset_mail_and_their_links_stop(app, admin_a, user_a):
    ask_for_reset(app, user_a.email)
    link = link_in_last_mail(app, user_a.email)
    with app.app_context():
        user_a.load().active = False
        db.session.commit()
    assert app.test_client().get(link).status_code == 404
    ask_for_reset(app, user_a.email)
    assert len(outbox_mails(app, user_a.email)) == 1


def test_an_invited_person_signs_in_only_after_setting_a_password(app, admin_a):
    admin = login(app.test_client(), admin_a.email)
    response = post_form(
        admin, "/people", "/people/invite", {"email": "new@a.example", "role": "member"}
    )
    assert response.status_code == 302
    assert sign_in_status(app, "new@a.example", "") == 200
    assert sign_in_status(app, "new@a.example", "anything-at-all-1") == 200
    mail = outbox_mails(app, "new@a.example")[-1]
    assert "admin@a.example invited you to Org A" in mail.get_content()
    link = link_in_last_mail(app, "new@a.example")
    assert "/password/invite/" in link
    assert set_password_through(app, link, NEW_PASSWORD).status_code == 302
    assert sign_in_status(app, "new@a.example", NEW_PASSWORD) == 302
    assert app.test_client().get(link).status_code == 404
    with app.app_context():
        person = db.session.query(User).filter_by(email="new@a.example").one()
        assert person.role == "member" and person.organisation_id == admin_a.organisation_id


def test_a_weak_password_on_the_link_page_is_refused_and_the_link_still_works(app, user_a):
    ask_for_reset(app, user_a.email)
    link = link_in_last_mail(app, user_a.email)
    response = set_password_through(app, link, "iloveyou12")
    assert response.status_code == 422
    assert "most common" in response.get_data(as_text=True)
    assert set_password_through(app, link, NEW_PASSWORD).status_code == 302


def test_passwords_are_hashed_with_scrypt(ctx):
    # The suite's one account hashed as production hashes (the test configuration's is fast).
    ctx.config["PASSWORD_HASH_METHOD"] = load_config({"BULKAPP_ENV": "testing"})[
        "PASSWORD_HASH_METHOD"
    ]
    account = make_account(ctx, "org-a", "hash@a.example")
    assert account.load().password_hash.startswith("scrypt:")
