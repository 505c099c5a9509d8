"""API tokens: stored hashed only, shown once, revocable; the CLI and the account page."""

from __future__ import annotations

import hashlib
import re

import pytest
from sqlalchemy import select

from bulkapp.extensions import db
from bulkapp.models import ApiToken
from bulkapp.tokens import TokenError, authenticate, create_token, list_tokens, revoke_token
from tests.api.conftest import API
from tests.conftest import csrf_token

TOKEN_PATTERN = re.compile(r"bk_[A-Za-z0-9_-]{43}")


def all_columns_text(app) -> str:
    """Every value of every api_tokens row, as one string."""
    with app.app_context():
        rows = db.session.execute(select(ApiToken.__table__)).all()
        return " ".join(str(value) for row in rows for value in row)


def test_only_the_hash_and_a_prefix_are_stored(app, user_a):
    with app.app_context():
        token, raw = create_token(user_a.load(), "sync")
        assert TOKEN_PATTERN.fullmatch(raw)
        assert token.token_hash == hashlib.sha256(raw.encode()).hexdigest()
        assert token.prefix == raw[:10] and token.name == "sync"
    stored = all_columns_text(app)
    assert raw not in stored and raw[10:] not in stored


def test_tokens_are_unique_and_authenticate_their_user(app, user_a, user_b):
    with app.app_context():
        _, raw_a = create_token(user_a.load())
        _, raw_b = create_token(user_b.load())
        assert raw_a != raw_b
        assert authenticate(raw_a).id == user_a.id
        assert authenticate(raw_b).id == user_b.id
        assert authenticate(raw_a + "x") is None
        assert authenticate("not-a-token") is None


def test_a_revoked_token_no_longer_authenticates(app, user_a):
    with app.app_context():
        token, raw = create_token(user_a.load())
        revoke_token(user_a.load(), token.id)
        assert authenticate(raw) is None
        assert list_tokens(user_a.load())[0].revoked_at is not None


def test_a_user_cannot_revoke_someone_elses_token(app, user_a, user_b):
    with app.app_context():
        token, raw = create_token(user_a.load())
        with pytest.raises(TokenError):
            revoke_token(user_b.load(), token.id)
        assert authenticate(raw).id == user_a.id


def test_token_names_are_bounded_and_default_to_a_date(app, user_a):
    with app.app_context():
        with pytest.raises(TokenError, match="at most 100"):
            create_token(user_a.load(), "x" * 101)
        token, _ = create_token(user_a.load(), "  ")
        assert token.name.startswith("Token created ")


def test_cli_creates_a_token_and_prints_it_once(app, user_a):
    result = app.test_cli_runner().invoke(
        args=["tokens", "create", "--email", user_a.email.upper(), "--name", "nightly sync"]
    )
    assert result.exit_code == 0, result.output
    raw = result.stdout.strip()
    assert TOKEN_PATTERN.fullmatch(raw)
    response = app.test_client().get(
        f"{API}/bulk-upload/queue/jobs", headers={"Authorization": f"Bearer {raw}"}
    )
    assert response.status_code == 200
    with app.app_context():
        assert db.session.scalar(select(ApiToken.name)) == "nightly sync"
    assert raw not in all_columns_text(app)


def test_cli_explains_an_unknown_user(app):
    result = app.test_cli_runner().invoke(args=["tokens", "create", "--email", "no@x.example"])
    assert result.exit_code != 0 and "No user with e-mail no@x.example" in result.output


def create_on_page(client, name: str):
    token = csrf_token(client.get("/account").get_data(as_text=True))
    return client.post("/account/tokens", data={"csrf_token": token, "name": name})


def test_account_page_creates_shows_once_lists_and_revokes(app, client_a):
    response = create_on_page(client_a, "reporting")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    raw = TOKEN_PATTERN.search(response.get_data(as_text=True)).group(0)
    api = app.test_client()
    headers = {"Authorization": f"Bearer {raw}"}
    assert api.get(f"{API}/bulk-upload/queue/jobs", headers=headers).status_code == 200

    listing = client_a.get("/account").get_data(as_text=True)
    assert "reporting" in listing and raw[:10] in listing
    assert raw not in listing, "the token is shown only once"

    with app.app_context():
        token_id = db.session.scalar(select(ApiToken.id))
    form_token = csrf_token(listing)
    response = client_a.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": form_token})
    assert response.status_code == 302
    assert "revoked" in client_a.get("/account").get_data(as_text=True)
    assert api.get(f"{API}/bulk-upload/queue/jobs", headers=headers).status_code == 401


def test_account_forms_need_their_csrf_token(app, client_a):
    assert client_a.post("/account/tokens", data={"name": "x"}).status_code == 400
    with app.app_context():
        assert db.session.scalar(select(ApiToken.id)) is None


def test_a_user_cannot_revoke_another_users_token_from_the_page(app, client_a, client_b):
    create_on_page(client_a, "mine")
    with app.app_context():
        token_id = db.session.scalar(select(ApiToken.id))
    form_token = csrf_token(client_b.get("/account").get_data(as_text=True))
    response = client_b.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": form_token})
    assert response.status_code == 404
    with app.app_context():
        assert db.session.scalar(select(ApiToken.revoked_at)) is None
    assert "mine" not in client_b.get("/account").get_data(as_text=True)


def test_a_too_long_name_is_explained_on_the_page(client_a):
    response = create_on_page(client_a, "n" * 101)
    assert response.status_code == 400
    assert "100 characters" in response.get_data(as_text=True)


def test_account_page_needs_sign_in(app):
    response = app.test_client().get("/account")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_navigation_links_to_the_token_page(client_a):
    assert 'href="/account"' in client_a.get("/jobs").get_data(as_text=True)
