"""Failed sign-ins are limited per account and per client address, answer the same for
unknown accounts, are logged without the password, and a Redis outage locks nobody out."""

from __future__ import annotations

import logging
import time

import pytest

from bulkapp.extensions import db, get_redis
from bulkapp.models import AuditEntry
from tests.conftest import PASSWORD, RedisServer, built_app, csrf_token, free_port, make_account

ACCOUNT_LIMIT = 3
ADDRESS_LIMIT = 5
WINDOW_SECONDS = 2


@pytest.fixture
def limited_app(tmp_path, redis_server):
    with built_app(
        tmp_path,
        redis_server.url,
        LOGIN_RATE_LIMIT_ACCOUNT=f"{ACCOUNT_LIMIT} per {WINDOW_SECONDS} seconds",
        LOGIN_RATE_LIMIT_ADDRESS=f"{ADDRESS_LIMIT} per {WINDOW_SECONDS} seconds",
    ) as app:
        with app.app_context():
            get_redis().flushdb()
        yield app


def sign_in(client, email: str, password: str, **kwargs):
    token = csrf_token(client.get("/login").get_data(as_text=True))
    return client.post(
        "/login", data={"csrf_token": token, "email": email, "password": password}, **kwargs
    )


def refusals_until_limited(
    client, email: str, address: str = "127.0.0.1"
) -> list[tuple[int, bool]]:
    """Bad passwords for ``email`` until the form answers 429: each answer's status and
    whether it showed the refusal message."""
    answers = []
    for _ in range(ACCOUNT_LIMIT + 2):
        response = sign_in(client, email, "not-the-password", environ_base={"REMOTE_ADDR": address})
        page = response.get_data(as_text=True)
        answers.append((response.status_code, "E-mail or password is incorrect" in page))
        if response.status_code == 429:
            return answers
    raise AssertionError(f"never limited: {answers}")


def test_bad_passwords_are_limited_then_the_right_one_works_after_the_window(limited_app):
    user = make_account(limited_app, "org-a", "member@a.example")
    client = limited_app.test_client()
    answers = refusals_until_limited(client, user.email)
    assert answers == [(200, True)] * ACCOUNT_LIMIT + [(429, False)]

    limited = sign_in(client, user.email, PASSWORD)
    assert limited.status_code == 429, "the right password waits for the window too"
    retry_after = int(limited.headers["Retry-After"])
    assert 1 <= retry_after <= WINDOW_SECONDS
    page = limited.get_data(as_text=True)
    assert "Too many attempts" in page and "Forgot your password?" in page

    time.sleep(retry_after)
    deadline = time.monotonic() + WINDOW_SECONDS + 1
    while (response := sign_in(client, user.email, PASSWORD)).status_code == 429:
        assert time.monotonic() < deadline, "still limited after the window"
        time.sleep(0.2)
    assert response.status_code == 302
    assert client.get("/jobs").status_code == 200


def test_an_unknown_account_answers_exactly_like_a_wrong_password(limited_app):
    make_account(limited_app, "org-a", "member@a.example")
    known = refusals_until_limited(limited_app.test_client(), "member@a.example", "10.0.0.1")
    unknown = refusals_until_limited(limited_app.test_client(), "nobody@a.example", "10.0.0.2")
    assert unknown == known


def test_the_account_limit_holds_whatever_the_address(limited_app):
    user = make_account(limited_app, "org-a", "member@a.example")
    for attempt in range(ACCOUNT_LIMIT):
        client = limited_app.test_client()
        response = sign_in(
            client, user.email, "wrong", environ_base={"REMOTE_ADDR": f"10.0.0.{attempt}"}
        )
        assert response.status_code == 200
    response = sign_in(
        limited_app.test_client(), user.email, PASSWORD, environ_base={"REMOTE_ADDR": "10.9.9.9"}
    )
    assert response.status_code == 429


def test_one_address_trying_many_accounts_is_limited(limited_app):
    client = limited_app.test_client()
    statuses = [
        sign_in(client, f"guess{n}@a.example", "password1").status_code
        for n in range(ADDRESS_LIMIT + 1)
    ]
    assert statuses == [200] * ADDRESS_LIMIT + [429]
    other_address = sign_in(
        limited_app.test_client(),
        "guess0@a.example",
        "password1",
        environ_base={"REMOTE_ADDR": "10.1.2.3"},
    )
    assert other_address.status_code == 200


def test_successful_sign_ins_do_not_count(limited_app):
    user = make_account(limited_app, "org-a", "member@a.example")
    for _ in range(ACCOUNT_LIMIT + 2):
        assert sign_in(limited_app.test_client(), user.email, PASSWORD).status_code == 302


def test_failed_sign_ins_are_logged_and_audited_without_the_password(limited_app, caplog):
    user = make_account(limited_app, "org-a", "member@a.example")
    secret_guess = "Guess-Nobody-Should-See-42"
    with caplog.at_level(logging.INFO):
        sign_in(limited_app.test_client(), user.email, secret_guess)
        sign_in(limited_app.test_client(), "ghost@a.example", secret_guess)
    messages = [record.getMessage() for record in caplog.records]
    assert any("failed sign-in" in m and user.email in m and "127.0.0.1" in m for m in messages)
    assert any("failed sign-in" in m and "ghost@a.example" in m for m in messages)
    assert not any(secret_guess in m for m in messages)
    with limited_app.app_context():
        entries = db.session.query(AuditEntry).filter_by(action="sign_in_failed").all()
        assert {(e.target, e.detail) for e in entries} == {
            (user.email, "wrong password"),
            ("ghost@a.example", "unknown account"),
        }
        assert all(secret_guess not in (e.detail + e.target) for e in entries)


def test_client_address_comes_from_x_forwarded_for_only_behind_a_declared_proxy(
    tmp_path, redis_server
):
    forwarded = [{"X-Forwarded-For": f"203.0.113.{n}"} for n in range(ADDRESS_LIMIT + 1)]
    for proxies, expected_last in ((0, 429), (1, 200)):
        with built_app(
            tmp_path,
            redis_server.url,
            PROXY_FIX_X_FOR=proxies,
            LOGIN_RATE_LIMIT_ADDRESS=f"{ADDRESS_LIMIT} per {WINDOW_SECONDS} seconds",
        ) as app:
            with app.app_context():
                get_redis().flushdb()
            client = app.test_client()
            statuses = [
                sign_in(client, f"guess{n}@a.example", "password1", headers=headers).status_code
                for n, headers in enumerate(forwarded)
            ]
            assert statuses[-1] == expected_last, (proxies, statuses)


def test_sign_in_works_while_redis_is_down(tmp_path):
    """Fail open: with the limiter's Redis stopped, people still sign in (a real
    redis-server, stopped)."""
    server = RedisServer(port=free_port(), data_dir=tmp_path / "redis")
    server.data_dir.mkdir()
    server.start()
    try:
        with built_app(tmp_path, server.url) as app:
            user = make_account(app, "org-a", "member@a.example")
            client = app.test_client()
            assert sign_in(client, user.email, "wrong-password").status_code == 200
            server.stop()
            assert sign_in(client, user.email, "wrong-password").status_code == 200
            response = sign_in(client, user.email, PASSWORD)
            assert response.status_code == 302, response.get_data(as_text=True)
            assert client.get("/jobs").status_code == 200
    finally:
        server.stop()


def test_reset_requests_are_limited_per_address(limited_app):
    client = limited_app.test_client()
    statuses = []
    for _ in range(ADDRESS_LIMIT + 1):
        token = csrf_token(client.get("/forgot-password").get_data(as_text=True))
        response = client.post(
            "/forgot-password", data={"csrf_token": token, "email": "someone@a.example"}
        )
        statuses.append(response.status_code)
    assert statuses == [302] * ADDRESS_LIMIT + [429]
    assert "Retry-After" in response.headers
    assert "Too many attempts. Try again in 1 minute." in response.get_data(as_text=True)
