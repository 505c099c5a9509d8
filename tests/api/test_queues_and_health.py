"""Queue figures (scoped to the organisation unless super admin) and the health probes."""

from __future__ import annotations

from rq import Queue

from bulkapp.extensions import get_redis
from tests.api.conftest import ApiClient, make_token

RECORDS = [
    {
        "firstName": "John",
        "lastName": "Doe",
        "email": "john@example.com",
        "mobileNumber": "0821234567",
    }
]
FIGURES = {"waiting", "active", "completed", "failed", "delayed", "paused", "total"}


def data(response) -> dict:
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["success"] is True
    return body["data"]


def test_members_see_their_organisations_figures_only(app, api_a, api_b):
    for _ in range(2):
        api_a.post("/bulk-upload/mechanics", json=RECORDS)
    api_a.post("/bulk-upload/policies", json=[{"policyNumber": "P-1"}])
    mine = data(api_a.get("/queues/stats"))
    assert set(mine) >= FIGURES and mine["scope"] == "organisation"
    assert mine["waiting"] == 3 and mine["total"] == 3
    assert mine["queues"]["bulk-upload-mechanics"]["waiting"] == 2
    theirs = data(api_b.get("/queues/stats"))
    assert theirs["waiting"] == 0 and theirs["total"] == 0
    one = data(api_a.get("/queues/bulk-upload-mechanics/stats"))
    assert one["waiting"] == 2 and one["queueName"] == "bulk-upload-mechanics"
    assert data(api_a.get("/queues/bulk-upload-policies/stats"))["waiting"] == 1
    assert data(api_a.get("/queues/bulk-upload-mechanics-high/stats"))["waiting"] == 0
    upload_queues = data(api_a.get("/bulk-upload/queue/stats"))
    assert set(upload_queues) >= FIGURES and upload_queues["waiting"] == 3


def test_a_super_admin_sees_the_live_queues(app, api_a, super_admin):
    root = ApiClient(app.test_client(), make_token(app, super_admin))
    api_a.post("/bulk-upload/mechanics", json=RECORDS)
    root.post("/bulk-upload/mechanics", json=RECORDS)
    with app.app_context():
        connection = get_redis()
        assert Queue("bulk-upload-mechanics", connection=connection).count == 1
        assert Queue("bulk-upload-mechanics-critical", connection=connection).count == 1
    everything = data(root.get("/queues/stats"))
    assert everything["scope"] == "all" and everything["waiting"] == 2
    mechanics = data(root.get("/queues/bulk-upload-mechanics/stats"))
    assert (
        mechanics["waiting"] == 2
        and mechanics["tiers"]["bulk-upload-mechanics-critical"]["waiting"] == 1
    )
    assert data(root.get("/queues/bulk-upload-mechanics-critical/stats"))["waiting"] == 1
    assert data(root.get("/queues/notifications/stats"))["waiting"] >= 0
    assert data(root.get("/bulk-upload/queue/stats"))["waiting"] == 2


def test_an_unknown_queue_is_404(api_a):
    response = api_a.get("/queues/no-such-queue/stats")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "queue_not_found"


def test_live_figures_with_redis_down_are_503(make_api_app):
    _, api = make_api_app(role="super_admin", REDIS_URL="redis://127.0.0.1:1/0")
    for path in (
        "/queues/stats",
        "/queues/bulk-upload-mechanics/stats",
        "/bulk-upload/queue/stats",
    ):
        response = api.get(path)
        assert response.status_code == 503, path
        assert response.get_json()["error"]["code"] == "queue_unavailable"


def test_healthz_and_readyz(api_anonymous):
    assert data(api_anonymous.get("/healthz")) == {"status": "ok"}
    ready = data(api_anonymous.get("/readyz"))
    assert ready == {
        "status": "ready",
        "checks": {"database": "ok", "redis": "ok", "uploads": "ok", "reports": "ok"},
    }


def test_readyz_is_503_when_redis_is_down(make_api_app):
    _, api = make_api_app(REDIS_URL="redis://127.0.0.1:1/0")
    response = ApiClient(api.client, None).get("/readyz")
    assert response.status_code == 503
    error = response.get_json()["error"]
    assert error["code"] == "not_ready" and "redis" in error["message"]
    assert error["checks"] == {
        "database": "ok",
        "redis": "unreachable",
        "uploads": "ok",
        "reports": "ok",
    }
    assert data(api.get("/healthz")) == {"status": "ok"}


def test_readyz_is_503_when_the_database_is_down(make_api_app):
    _, api = make_api_app(
        create_tables=False,
        SQLALCHEMY_DATABASE_URI="postgresql+psycopg://postgres@127.0.0.1:1/none",
        SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"connect_timeout": 1}},
    )
    response = api.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["error"]["checks"] == {
        "database": "unreachable",
        "redis": "ok",
        "uploads": "ok",
        "reports": "ok",
    }
