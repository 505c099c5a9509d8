"""Bearer-token authentication on every API route; public probes and the document."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select, text

from bulkapp.extensions import db, get_redis
from bulkapp.models import ApiToken
from bulkapp.tokens import GENERATION_KEY, revoke_token
from tests.api.conftest import API

PUBLIC_ENDPOINTS = {"api.health.healthz", "api.health.readyz", "api.openapi.openapi_document"}
SAMPLE_VALUES = {
    "entity": "mechanics",
    "job_id": "00000000-0000-0000-0000-000000000000",
    "queue_name": "bulk-upload-mechanics",
    "mapping_id": "1",
    "user_id": "1",
    "row_number": "2",
    "key": "someone@example.com",
    "fix_id": "1",
}


def api_routes(app) -> list[tuple[str, str, str]]:
    """(endpoint, method, concrete URL) of every API route, with sample path values."""
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api."):
            continue
        url = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: SAMPLE_VALUES[m.group(1)], rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append((rule.endpoint, method, url))
    return routes


def protected_routes(app):
    return [r for r in api_routes(app) if r[0] not in PUBLIC_ENDPOINTS]


def assert_401(response, code: str) -> None:
    assert response.status_code == 401, response.get_data(as_text=True)
    body = response.get_json()
    assert body["success"] is False
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_the_route_list_covers_the_api(app):
    endpoints = {endpoint for endpoint, _, _ in protected_routes(app)}
    assert {
        "api.uploads.upload_entity",
        "api.uploads.process_upload",
        "api.jobs.list_jobs",
        "api.actions.retry_job",
        "api.queues.queue_stats",
        "api.review.show_review",
        "api.review.list_mappings",
    } <= endpoints


def test_every_route_without_a_token_is_401_json_not_a_login_redirect(app, api_anonymous):
    for _endpoint, method, url in protected_routes(app):
        response = api_anonymous.open(method, url)
        assert_401(response, "unauthorized")


@pytest.mark.parametrize(
    "header",
    [
        "Bearer bk_not-a-real-token",
        "Bearer ",
        "Basic dXNlcjpwdw==",
        "bk_missing-scheme",
        "Bearer nonsense",
    ],
)
def test_every_route_with_a_bad_token_is_401(app, header):
    client = app.test_client()
    for endpoint, method, url in protected_routes(app):
        response = client.open(url, method=method, headers={"Authorization": header})
        assert response.status_code == 401, (endpoint, header)
        assert response.get_json()["success"] is False


def test_every_route_with_a_revoked_token_is_401(app, user_a, token_a, api_a):
    assert api_a.get("/bulk-upload/queue/jobs").status_code == 200
    with app.app_context():
        token = db.session.scalar(select(ApiToken).where(ApiToken.user_id == user_a.id))
        revoke_token(user_a.load(), token.id)
    for _endpoint, method, url in protected_routes(app):
        assert_401(api_a.open(method, url), "invalid_token")


def test_a_deactivated_users_token_is_401(app, user_a, api_a):
    assert api_a.get("/bulk-upload/queue/jobs").status_code == 200  # the token is verified
    with app.app_context():
        user_a.load().active = False
        db.session.commit()
    assert_401(api_a.get("/bulk-upload/queue/jobs"), "invalid_token")


def test_a_deactivated_organisations_token_is_401_at_once(app, user_a, api_a):
    assert api_a.get("/bulk-upload/queue/jobs").status_code == 200
    with app.app_context():
        user_a.load().organisation.active = False
        db.session.commit()
    assert_401(api_a.get("/bulk-upload/queue/jobs"), "invalid_token")


def test_a_role_taken_away_counts_on_the_next_request(app, admin_a, api_admin_a):
    assert api_admin_a.get("/users").status_code == 200
    with app.app_context():
        admin_a.load().role = "member"
        db.session.commit()
    assert api_admin_a.get("/users").status_code == 403


def test_a_change_committed_by_another_process_counts_on_the_next_request(app, user_a, api_a):
    """Another web process's commit reaches this one through the generation in Redis: here
    the row is changed behind the ORM's back and the generation bumped as that commit does."""
    assert api_a.get("/bulk-upload/queue/jobs").status_code == 200
    with app.app_context():
        db.session.execute(text("UPDATE users SET active = :no"), {"no": False})
        db.session.commit()
        get_redis().incr(GENERATION_KEY)
    assert_401(api_a.get("/bulk-upload/queue/jobs"), "invalid_token")


def test_without_redis_every_request_checks_the_token_in_the_database(make_api_app):
    app, api = make_api_app(REDIS_URL="redis://127.0.0.1:1/0")
    assert api.get("/bulk-upload/queue/jobs").status_code == 200
    with app.app_context():
        db.session.execute(text("UPDATE users SET active = :no"), {"no": False})
        db.session.commit()
    assert_401(api.get("/bulk-upload/queue/jobs"), "invalid_token")


def test_a_signed_in_browser_session_does_not_authenticate_the_api(app, client_a):
    response = client_a.get(f"{API}/bulk-upload/queue/jobs")
    assert_401(response, "unauthorized")
    response = client_a.post(f"{API}/bulk-upload/mechanics", json=[{"firstName": "A"}])
    assert_401(response, "unauthorized")


def test_the_api_needs_no_csrf_token_with_a_bearer_token(api_a):
    response = api_a.post("/bulk-upload/mechanics", json=[{"firstName": "John"}])
    assert response.status_code == 202, response.get_json()


def test_scheme_is_case_insensitive(app, token_a):
    response = app.test_client().get(
        f"{API}/bulk-upload/queue/jobs", headers={"Authorization": f"bearer {token_a}"}
    )
    assert response.status_code == 200


def test_public_routes_answer_without_a_token(api_anonymous):
    assert api_anonymous.get("/healthz").status_code == 200
    assert api_anonymous.get("/readyz").status_code == 200
    assert api_anonymous.get("/openapi.json").get_json()["openapi"].startswith("3.")


def test_unknown_api_urls_and_methods_answer_json(api_a, api_anonymous):
    for client in (api_a, api_anonymous):
        response = client.get("/no-such-thing")
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "not_found"
    response = api_a.open("DELETE", "/healthz")
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]


def test_pages_outside_the_api_still_redirect_to_login(app):
    response = app.test_client().get("/jobs")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert app.test_client().get("/no-such-page").content_type.startswith("text/html")


def test_token_use_is_recorded(app, user_a, api_a):
    api_a.get("/bulk-upload/queue/jobs")
    with app.app_context():
        token = db.session.scalar(select(ApiToken).where(ApiToken.user_id == user_a.id))
        assert token.last_used_at is not None
