"""People for admins: list, invite, change a role, deactivate and reactivate.

The same use cases as the People page (``bulkapp.people.users``), so the same rules: admins
only (403), another organisation's people are 404 except to ``super_admin``, nobody acts on
themselves or above their own role.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, request

from ...jobs.state import iso_timestamp
from ...models import Organisation, User
from ...people.organisations import find_organisation
from ...people.users import (
    change_role,
    find_person,
    invite,
    people_visible_to,
    set_active,
)
from ...people.users import resend_invitation as resend
from .auth import api_user
from .errors import ApiError, ok

bp = Blueprint("users", __name__)

# The longest text each field of a request may have (the columns' sizes).
MAX_LENGTHS = {"email": 254, "name": 200, "role": 30, "organisation": 200}


def person_shape(person: User) -> dict[str, Any]:
    """A person as the API shows them."""
    return {
        "id": person.id,
        "email": person.email,
        "name": person.name,
        "role": person.role,
        "organisation": person.organisation.slug,
        "active": person.active,
        "invitationPending": person.invitation_pending,
        "lastSignInAt": iso_timestamp(person.last_login_at),
        "createdAt": iso_timestamp(person.created_at),
    }


def _json_object() -> dict[str, Any]:
    """The request body, which must be a JSON object."""
    if not request.is_json:
        raise ApiError(415, "Send a JSON object (Content-Type: application/json).")
    try:
        body = json.loads(request.get_data(cache=True) or b"null")
    except (ValueError, RecursionError):
        raise ApiError(400, "The body is not valid JSON.", "malformed_json") from None
    if not isinstance(body, dict):
        raise ApiError(422, "The body must be a JSON object.", "not_an_object")
    return body


def _text(body: dict[str, Any], name: str, required: bool = False) -> str | None:
    """The text field ``name`` of ``body``; None when it is left out (null is refused)."""
    if name not in body and not required:
        return None
    value = body.get(name)
    longest = MAX_LENGTHS[name]
    if not isinstance(value, str) or not value.strip() or len(value) > longest:
        raise ApiError(
            422, f"{name} must be a text of 1 to {longest} characters.", f"invalid_{name}"
        )
    return value.strip()


def _organisation(slug: str | None) -> Organisation | None:
    """The organisation named by ``slug`` if the user may see it (404 otherwise)."""
    if slug is None:
        return None
    user = api_user()
    organisation = find_organisation(slug)
    if organisation is None or not (user.is_super_admin or organisation.id == user.organisation_id):
        raise ApiError(404, f"There is no organisation {slug!r}.", "organisation_not_found")
    return organisation


@bp.get("/users")
def list_users():
    """The admin's organisation's people (``super_admin``: everyone, or ``?organisation=``)."""
    organisation = _organisation(request.args.get("organisation"))
    people = people_visible_to(api_user(), organisation.id if organisation else None)
    return ok({"users": [person_shape(person) for person in people]})


@bp.post("/users")
def invite_user():
    """Invite a person: they get an e-mail with a one-time link to set their password."""
    body = _json_object()
    email = _text(body, "email", required=True)
    role = _text(body, "role") or "member"
    name = _text(body, "name") or ""
    organisation = _organisation(_text(body, "organisation"))
    assert email is not None
    person = invite(api_user(), email, role, name, organisation)
    return ok(person_shape(person), 201)


@bp.get("/users/<int:user_id>")
def show_user(user_id: int):
    """One person."""
    return ok(person_shape(find_person(api_user(), user_id)))


@bp.post("/users/<int:user_id>/invitation")
def resend_invitation(user_id: int):
    """Mail an invited person a new link to set their password (409 once they have one)."""
    person = resend(api_user(), find_person(api_user(), user_id))
    return ok(person_shape(person), 202)


@bp.patch("/users/<int:user_id>")
def update_user(user_id: int):
    """Change a person's ``role`` and/or deactivate (``"active": false``) or reactivate them."""
    person = find_person(api_user(), user_id)
    body = _json_object()
    role = _text(body, "role")
    active = body.get("active")
    if "active" in body and not isinstance(active, bool):
        raise ApiError(422, "active must be true or false.", "invalid_active")
    if role is None and active is None:
        raise ApiError(422, 'Send "role", "active" or both.', "nothing_to_change")
    if role is not None:
        change_role(api_user(), person, role)
    if active is not None:
        set_active(api_user(), person, active)
    return ok(person_shape(person))
