"""The People page: what each kind of user sees there."""

from __future__ import annotations

from tests.conftest import login


def test_admins_see_their_organisations_people_with_role_last_sign_in_and_status(
    app, admin_a, user_a, user_b
):
    page = login(app.test_client(), admin_a.email).get("/people")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert user_a.email in html and admin_a.email in html
    assert user_b.email not in html
    assert "never" in html, "the member has not signed in yet"
    assert 'action="/people/invite"' in html
    assert 'value="super_admin"' not in html, "a national admin cannot give super_admin"


def test_a_super_admin_sees_everyone_and_picks_an_organisation(app, super_admin, user_a, user_b):
    client = login(app.test_client(), super_admin.email)
    everyone = client.get("/people").get_data(as_text=True)
    assert user_a.email in everyone and user_b.email in everyone
    assert 'value="super_admin"' in everyone
    only_b = client.get("/people", query_string={"organisation": user_b.organisation_id})
    html = only_b.get_data(as_text=True)
    assert user_b.email in html and user_a.email not in html
    assert client.get("/people", query_string={"organisation": 999}).status_code == 404


def test_members_and_other_organisations_get_no_people_page(app, user_a, admin_a, user_b):
    assert login(app.test_client(), user_a.email).get("/people").status_code == 403
    admin = login(app.test_client(), admin_a.email)
    other = admin.get("/people", query_string={"organisation": user_b.organisation_id})
    assert other.status_code == 404
    assert (
        "People"
        not in login(app.test_client(), user_a.email)
        .get("/jobs")
        .get_data(as_text=True)
        .split("<main>")[0]
    )
