"""API fixtures: tokens for the shared test users and a client that sends them."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from bulkapp import create_app
from bulkapp.config import test_config
from bulkapp.extensions import db
from bulkapp.people.organisations import create_organisation
from bulkapp.people.users import create_user
from bulkapp.tokens import create_token
from tests.conftest import PASSWORD, database_url
from tests.databases import empty_tables

API = "/api/v1"


def make_token(app, account, name: str = "tests") -> str:
    """A fresh API token for ``account`` (the raw value, as the user sees it once)."""
    with app.app_context():
        _, raw_token = create_token(account.load(), name)
        return raw_token


class ApiClient:
    """A Flask test client that sends ``Authorization: Bearer <token>`` on every request."""

    def __init__(self, client: FlaskClient, token: str | None) -> None:
        self.client = client
        self.token = token

    def open(self, method: str, path: str, headers: dict[str, str] | None = None, **kwargs: Any):
        """Call ``API + path`` (or ``path`` when it is absolute already) with the token."""
        sent = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        sent.update(headers or {})
        url = path if path.startswith(API) else API + path
        return self.client.open(url, method=method, headers=sent, **kwargs)

    def get(self, path: str, **kwargs: Any):
        return self.open("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any):
        return self.open("POST", path, **kwargs)


@pytest.fixture
def token_a(app, user_a) -> str:
    return make_token(app, user_a)


@pytest.fixture
def api_a(app, token_a) -> ApiClient:
    """Organisation A's member."""
    return ApiClient(app.test_client(), token_a)


@pytest.fixture
def api_b(app, user_b) -> ApiClient:
    """Organisation B's member."""
    return ApiClient(app.test_client(), make_token(app, user_b))


@pytest.fixture
def api_admin_a(app, admin_a) -> ApiClient:
    """Organisation A's national admin."""
    return ApiClient(app.test_client(), make_token(app, admin_a))


@pytest.fixture
def api_anonymous(app) -> ApiClient:
    """A client without a token."""
    return ApiClient(app.test_client(), None)


@pytest.fixture
def make_api_app(tmp_path, redis_server):
    """Build a separate app with config ``overrides`` (e.g. a dead Redis or database).

    Returns (app, ApiClient) for a user with ``role`` in a fresh organisation. With
    ``create_tables=False`` (an unreachable database) the client's token is made up.
    """
    built = []

    def make(
        create_tables: bool = True, role: str = "member", **overrides: Any
    ) -> tuple[Any, ApiClient]:
        config = test_config(
            tmp_path / f"app-{len(built)}",
            REDIS_URL=redis_server.url,
            SQLALCHEMY_DATABASE_URI=database_url(tmp_path),
        )
        config.update(overrides)
        app = create_app(config)
        built.append((app, create_tables))
        if not create_tables:
            return app, ApiClient(app.test_client(), "bk_" + "x" * 43)
        with app.app_context():
            db.create_all()
            organisation = create_organisation("Org C", "org-c")
            user, _ = create_user(
                organisation=organisation, email="user@c.example", role=role, password=PASSWORD
            )
            _, raw_token = create_token(user)
        return app, ApiClient(app.test_client(), raw_token)

    yield make
    for app, created in built:
        with app.app_context():
            db.session.remove()
            if created:
                empty_tables(db.engine, db.metadata)
            db.engine.dispose()
