"""Who may change whom to what: every pair of roles, every people action, on the People
page and in the API. Each refused case is a 403 and changes nothing; another organisation's
people are a 404."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bulkapp.extensions import db
from bulkapp.models import ROLES, AuditEntry, User
from bulkapp.people.organisations import find_organisation
from bulkapp.people.users import create_user
from tests.api.conftest import ApiClient, make_token
from tests.conftest import Account, csrf_token, login, make_account

# MANAGE[actor][target]: may ``actor`` change the role of, or (de)activate, ``target``?
# Rows and columns in ROLES order: super, national, province, municipality, member.
MANAGE = {
    "super_admin": "YYYYY",
    "national_admin": "NYYYY",
    "province_admin": "NNYYY",
    "municipality_admin": "NNNYY",
    "member": "NNNNN",
}
# GRANT[actor]: which roles ``actor`` may give (to those they may manage) or invite as.
GRANT = {
    "super_admin": "YYYYY",
    "national_admin": "NYYYY",
    "province_admin": "NNYYY",
    "municipality_admin": "NNNYY",
    "member": "NNNNN",
}


def allowed(table: dict[str, str], actor: str, other: str) -> bool:
    return table[actor][ROLES.index(other)] == "Y"


@dataclass
class PeopleClient:
    """Carries out people actions as one user, through the pages or the API."""

    app: object
    kind: str
    client: object

    def change_role(self, user_id: int, role: str):
        if self.kind == "api":
            return self.client.open("PATCH", f"/users/{user_id}", json={"role": role})
        return self._post(f"/people/{user_id}/role", {"role": role})

    def set_active(self, user_id: int, active: bool):
        if self.kind == "api":
            return self.client.open("PATCH", f"/users/{user_id}", json={"active": active})
        return self._post(f"/people/{user_id}/{'reactivate' if active else 'deactivate'}", {})

    def invite(self, email: str, role: str):
        if self.kind == "api":
            return self.client.post("/users", json={"email": email, "role": role})
        return self._post("/people/invite", {"email": email, "role": role})

    def _post(self, path: str, form: dict):
        token = csrf_token(self.client.get("/account").get_data(as_text=True))
        return self.client.post(path, data={"csrf_token": token, **form})


def make_person(app, email: str, role: str) -> Account:
    """A person of org-a without a password (an invitation): quick to make, since no
    password is hashed."""
    with app.app_context():
        organisation = find_organisation("org-a")
        user, _ = create_user(organisation=organisation, email=email, role=role, invited=True)
        db.session.commit()
        return Account(user.id, user.email, user.role, user.organisation_id)


def people_client(app, kind: str, actor: Account) -> PeopleClient:
    if kind == "api":
        return PeopleClient(app, kind, ApiClient(app.test_client(), make_token(app, actor)))
    return PeopleClient(app, kind, login(app.test_client(), actor.email))


def snapshot(app, user_id: int) -> tuple:
    with app.app_context():
        user = db.session.get(User, user_id)
        return (user.role, user.active, user.session_generation)


def audit_count(app) -> int:
    with app.app_context():
        return db.session.query(AuditEntry).filter(AuditEntry.action != "sign_in").count()


def assert_refused(app, response, user_id: int, before: tuple, audited: int) -> None:
    assert response.status_code == 403, response.get_data(as_text=True)
    assert snapshot(app, user_id) == before
    assert audit_count(app) == audited


def assert_succeeded(response) -> None:
    assert response.status_code in (200, 201, 302), response.get_data(as_text=True)


@pytest.mark.parametrize("kind", ["page", "api"])
@pytest.mark.parametrize("actor_role", ROLES)
def test_every_pair_of_roles_for_every_people_action(app, kind, actor_role):
    actor = make_account(app, "org-a", f"actor@{actor_role}.example", actor_role)
    acting = people_client(app, kind, actor)
    for target_role in ROLES:
        for new_role in ROLES:
            if new_role == target_role:
                continue
            target = make_person(app, f"{target_role}-to-{new_role}@a.example", target_role)
            before, audited = snapshot(app, target.id), audit_count(app)
            response = acting.change_role(target.id, new_role)
            case = f"{actor_role} sets {target_role} to {new_role}"
            if allowed(MANAGE, actor_role, target_role) and allowed(GRANT, actor_role, new_role):
                assert_succeeded(response)
                assert snapshot(app, target.id)[0] == new_role, case
            else:
                assert_refused(app, response, target.id, before, audited)

        target = make_person(app, f"{target_role}-active@a.example", target_role)
        before, audited = snapshot(app, target.id), audit_count(app)
        response = acting.set_active(target.id, False)
        if allowed(MANAGE, actor_role, target_role):
            assert_succeeded(response)
            assert snapshot(app, target.id)[1] is False
            assert_succeeded(acting.set_active(target.id, True))
            assert snapshot(app, target.id)[1] is True
        else:
            assert_refused(app, response, target.id, before, audited)

    for role in ROLES:
        email = f"invited-{role}@{kind}.example"
        audited = audit_count(app)
        response = acting.invite(email, role)
        with app.app_context():
            invited = db.session.query(User).filter_by(email=email).one_or_none()
        if allowed(GRANT, actor_role, role):
            assert_succeeded(response)
            assert invited is not None and invited.role == role and invited.invitation_pending
        else:
            assert response.status_code == 403, response.get_data(as_text=True)
            assert invited is None
            assert audit_count(app) == audited


@pytest.mark.parametrize("kind", ["page", "api"])
@pytest.mark.parametrize("actor_role", ROLES)
def test_nobody_changes_their_own_role_or_deactivates_themselves(app, kind, actor_role):
    actor = make_account(app, "org-a", "self@a.example", actor_role)
    acting = people_client(app, kind, actor)
    before, audited = snapshot(app, actor.id), audit_count(app)
    lower = ROLES[min(ROLES.index(actor_role) + 1, len(ROLES) - 1)]
    assert_refused(app, acting.change_role(actor.id, lower), actor.id, before, audited)
    assert_refused(app, acting.set_active(actor.id, False), actor.id, before, audited)


@pytest.mark.parametrize("kind", ["page", "api"])
def test_another_organisations_people_are_not_found(app, kind, admin_a, user_b):
    acting = people_client(app, kind, admin_a)
    before, audited = snapshot(app, user_b.id), audit_count(app)
    for response in (
        acting.change_role(user_b.id, "municipality_admin"),
        acting.set_active(user_b.id, False),
    ):
        assert response.status_code == 404, response.get_data(as_text=True)
    assert snapshot(app, user_b.id) == before
    assert audit_count(app) == audited


@pytest.mark.parametrize("kind", ["page", "api"])
def test_a_super_admin_manages_every_organisation(app, kind, super_admin, user_b):
    acting = people_client(app, kind, super_admin)
    assert_succeeded(acting.change_role(user_b.id, "province_admin"))
    assert_succeeded(acting.set_active(user_b.id, False))
    assert snapshot(app, user_b.id)[:2] == ("province_admin", False)
