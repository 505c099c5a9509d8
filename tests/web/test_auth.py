import pytest

from tests.conftest import PASSWORD, csrf_token, login


def test_every_page_but_login_redirects_anonymous_users(app):
    client = app.test_client()
    for path in ("/", "/jobs", "/upload", "/jobs/some-id", "/jobs/some-id/state"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert "/login" in response.headers["Location"]
    assert client.get("/login").status_code == 200


def test_login_with_the_right_password_opens_the_jobs_page(app, user_a):
    client = login(app.test_client(), user_a.email)
    page = client.get("/jobs")
    assert page.status_code == 200
    assert b"member@a.example" in page.data


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(app, user_a):
    client = app.test_client()
    token = csrf_token(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login", data={"csrf_token": token, "email": user_a.email, "password": "not-the-password"}
    )
    assert response.status_code == 200
    assert b"E-mail or password is incorrect" in response.data
    assert client.get("/jobs").status_code == 302


def test_login_without_csrf_token_is_rejected(app, user_a):
    client = app.test_client()
    response = client.post("/login", data={"email": user_a.email, "password": PASSWORD})
    assert response.status_code == 400
    assert b"security token" in response.data
    assert client.get("/jobs").status_code == 302


@pytest.mark.parametrize(
    "target, location",
    [
        ("/upload?mode=partial", "/upload?mode=partial"),
        ("https://evil.example/", "/jobs"),
        ("//evil.example/", "/jobs"),
        ("/\\evil.example/", "/jobs"),
        ("/\t/evil.example/", "/jobs"),
        ("/\t\\evil.example/", "/jobs"),
    ],
)
def test_login_follows_next_only_within_the_site(app, user_a, target, location):
    client = app.test_client()
    token = csrf_token(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login",
        query_string={"next": target},
        data={"csrf_token": token, "email": user_a.email, "password": PASSWORD},
    )
    assert response.headers["Location"] == location


def test_logout_needs_a_post_with_a_token(client_a):
    assert client_a.post("/logout").status_code == 400
    assert client_a.get("/jobs").status_code == 200
    token = csrf_token(client_a.get("/jobs").get_data(as_text=True))
    client_a.post("/logout", data={"csrf_token": token})
    assert client_a.get("/jobs").status_code == 302


def test_passwords_are_stored_hashed(ctx, user_a):
    stored = user_a.load().password_hash
    assert PASSWORD not in stored
    assert stored.startswith(("scrypt:", "pbkdf2:"))


def test_session_cookie_is_http_only(app, user_a):
    client = app.test_client()
    token = csrf_token(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login", data={"csrf_token": token, "email": user_a.email, "password": PASSWORD}
    )
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
