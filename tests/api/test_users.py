"""/api/v1/users: the People page's operations for admins, with the same scoping."""

from __future__ import annotations

from tests.api.conftest import ApiClient, make_token
from tests.people.mail import outbox_mails


def test_admins_list_their_organisations_people(api_admin_a, user_a, user_b):
    response = api_admin_a.get("/users")
    assert response.status_code == 200
    users = response.get_json()["data"]["users"]
    assert [u["email"] for u in users] == ["admin@a.example", "member@a.example"]
    member = users[1]
    assert member == {
        "id": user_a.id,
        "email": "member@a.example",
        "name": "",
        "role": "member",
        "organisation": "org-a",
        "active": True,
        "invitationPending": False,
        "lastSignInAt": None,
        "createdAt": member["createdAt"],
    }
    assert member["createdAt"].endswith("Z")
    assert api_admin_a.get("/users", query_string={"organisation": "org-b"}).status_code == 404


def test_a_super_admin_lists_any_organisation(app, super_admin, user_a, user_b):
    api = ApiClient(app.test_client(), make_token(app, super_admin))
    everyone = api.get("/users").get_json()["data"]["users"]
    assert {u["email"] for u in everyone} == {"root@ops.example", user_a.email, user_b.email}
    org_b = api.get("/users", query_string={"organisation": "org-b"}).get_json()["data"]["users"]
    assert [u["email"] for u in org_b] == [user_b.email]


def test_members_may_not_use_it(api_a, user_a):
    for response in (
        api_a.get("/users"),
        api_a.get(f"/users/{user_a.id}"),
        api_a.post("/users", json={"email": "x@a.example"}),
    ):
        assert response.status_code == 403
        assert response.get_json()["error"]["code"] == "forbidden"


def test_inviting_through_the_api_mails_the_link(app, api_admin_a):
    response = api_admin_a.post(
        "/users", json={"email": "New@A.example", "role": "province_admin", "name": "Nomsa"}
    )
    assert response.status_code == 201, response.get_json()
    person = response.get_json()["data"]
    assert (person["email"], person["role"], person["invitationPending"]) == (
        "new@a.example",
        "province_admin",
        True,
    )
    assert len(outbox_mails(app, "new@a.example")) == 1
    again = api_admin_a.post("/users", json={"email": "new@a.example"})
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "email_taken"


def test_bad_bodies_get_clear_errors(api_admin_a, user_a):
    cases = [
        (api_admin_a.post("/users", json={"email": "x@a.example", "role": "boss"}), 422),
        (api_admin_a.post("/users", json={"email": "not-an-address"}), 422),
        (api_admin_a.post("/users", json={"role": "member"}), 422),
        (api_admin_a.post("/users", json=["x@a.example"]), 422),
        (api_admin_a.post("/users", data="email=x", content_type="text/plain"), 415),
        (api_admin_a.post("/users", data="{", content_type="application/json"), 400),
        (api_admin_a.open("PATCH", f"/users/{user_a.id}", json={}), 422),
        (api_admin_a.open("PATCH", f"/users/{user_a.id}", json={"active": "no"}), 422),
        (api_admin_a.open("PATCH", f"/users/{user_a.id}", json={"active": None}), 422),
        (api_admin_a.open("PATCH", f"/users/{user_a.id}", json={"active": 0, "role": None}), 422),
        (api_admin_a.post("/users", json={"email": "z@a.example", "name": None}), 422),
        (api_admin_a.post("/users", json={"email": "z@a.example", "name": "n" * 201}), 422),
        (api_admin_a.post("/users", json={"email": "y@a.example", "organisation": "org-b"}), 404),
    ]
    for response, status in cases:
        assert response.status_code == status, response.get_json()
        assert response.get_json()["success"] is False


def test_patch_changes_role_and_activity_together(api_admin_a, user_a):
    response = api_admin_a.open(
        "PATCH", f"/users/{user_a.id}", json={"role": "municipality_admin", "active": False}
    )
    assert response.status_code == 200
    person = response.get_json()["data"]
    assert (person["role"], person["active"]) == ("municipality_admin", False)
    assert api_admin_a.get(f"/users/{user_a.id}").get_json()["data"]["active"] is False
