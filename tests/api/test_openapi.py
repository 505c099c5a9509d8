"""The OpenAPI document matches the routes, and schemathesis finds no server error."""

from __future__ import annotations

import re

from tests.api.conftest import API


def documented_operations(document: dict) -> set[tuple[str, str]]:
    """(path with every parameter written ``{}``, METHOD) of every documented operation."""
    return {
        (re.sub(r"\{[^}]+\}", "{}", path), method.upper())
        for path, item in document["paths"].items()
        for method in item
    }


def routed_operations(app) -> set[tuple[str, str]]:
    """The same for every rule of the API blueprint."""
    return {
        (re.sub(r"<[^>]+>", "{}", rule.rule), method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def test_openapi_document_describes_exactly_the_routes(app, api_anonymous):
    response = api_anonymous.get("/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"] == "3.1.0"
    assert documented_operations(document) == routed_operations(app)
    assert all(path.startswith(API + "/") for path in document["paths"])


def test_public_operations_are_marked_and_the_rest_need_the_token(api_anonymous):
    document = api_anonymous.get("/openapi.json").get_json()
    public = {
        path
        for path, item in document["paths"].items()
        for operation in item.values()
        if operation.get("security") == []
    }
    assert public == {f"{API}/healthz", f"{API}/readyz", f"{API}/openapi.json"}
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    for path, item in document["paths"].items():
        for operation in item.values():
            if path not in public:
                assert "401" in operation["responses"], path
