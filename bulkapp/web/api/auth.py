"""Bearer-token authentication for every API route that is not marked public."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TypeVar

from flask import current_app, g, request

from ...models import User
from ...tokens import authenticate
from .errors import ApiError

F = TypeVar("F", bound=Callable)

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="bulkapp"'}


def bearer_token() -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, else None."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def require_token() -> None:
    """Resolve the request's token to a user (``g.api_user``) or answer 401; public routes
    pass without one."""
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "is_public", False):
        return
    token = bearer_token()
    if token is None:
        raise ApiError(
            401,
            "Authentication required: send 'Authorization: Bearer <token>'. "
            "Create a token on your account page.",
            "unauthorized",
            CHALLENGE,
        )
    user = authenticate(token)
    if user is None:
        raise ApiError(
            401, "The API token is invalid or has been revoked.", "invalid_token", CHALLENGE
        )
    g.api_user = user


def api_user() -> User:
    """The user the current request's token belongs to."""
    return g.api_user


def admin_required(view: F) -> F:
    """Answer 403 unless the token's user is an administrator."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if not api_user().is_admin:
            raise ApiError(403, "Only administrators may do this.", "forbidden")
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
