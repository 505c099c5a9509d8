"""In development, /dev/mail lists what was mailed to the outbox, decoded, with the links
clickable, and the log names each link once; anywhere else there is no such page."""

from __future__ import annotations

import logging
import re

import pytest

from tests.conftest import built_app, csrf_token, login, make_account, run_worker

INVITEE = "new.colleague@a.example"


@pytest.fixture
def dev_app(tmp_path, redis_server):
    with built_app(tmp_path, redis_server.url, BULKAPP_ENV="development") as app:
        yield app


def test_the_outbox_page_shows_the_invitation_link_whole(dev_app, caplog):
    admin = make_account(dev_app, "org-a", "admin@a.example", "national_admin")
    client = login(dev_app.test_client(), admin.email)
    token = csrf_token(client.get("/people").get_data(as_text=True))
    client.post("/people/invite", data={"csrf_token": token, "email": INVITEE, "role": "member"})
    with caplog.at_level(logging.INFO, logger="bulkapp.mail"):
        run_worker(dev_app)
    logged = [r.getMessage() for r in caplog.records if "/password/invite/" in r.getMessage()]
    assert len(logged) == 1, logged

    signed_out = dev_app.test_client()
    login_page = signed_out.get("/login").get_data(as_text=True)
    assert '<a id="dev-mail-link" href="/dev/mail">Sent mail</a>' in login_page, (
        "every page links it"
    )
    page = signed_out.get("/dev/mail")  # signed out: the invitee reads it too
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    links = re.findall(r'<a href="(http://localhost/password/invite/[^"]+)"', html)
    assert len(links) == 1 and links[0] in logged[0], "the link is whole, not quoted-printable"
    assert "=\n" not in links[0]
    assert f"To {INVITEE}" in html
    path = links[0].removeprefix("http://localhost")
    assert dev_app.test_client().get(path).status_code == 200, "the link works"


def test_there_is_no_outbox_page_outside_development(app, user_a):
    signed_out = app.test_client()
    assert signed_out.get("/dev/mail").status_code == signed_out.get("/no-such-page").status_code
    member = login(app.test_client(), user_a.email)
    assert member.get("/dev/mail").status_code == 404
    assert "dev-mail-link" not in member.get("/jobs").get_data(as_text=True)
