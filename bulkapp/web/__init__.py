"""Web blueprints (thin: parse the request, call a service, render) and app-wide hooks."""

from __future__ import annotations

from flask import Flask, current_app, render_template, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from ..extensions import db, login_manager
from ..jobs.access import JobNotFound, NotAllowed
from ..models import User
from ..people import PeopleError
from ..records import RecordsError
from ..storage import StorageUnavailable
from . import (
    account,
    admin,
    api,
    auth,
    files,
    job_actions,
    jobs,
    people,
    records,
    review,
    uploads,
)
from .api.errors import error_response
from .helpers import API_PATH_PREFIX

PEOPLE_ERROR_TITLES = {403: "Not allowed", 404: "Not found"}


@login_manager.user_loader
def _load_user(session_user_id: str) -> User | None:
    """The session's user while the session is still current: made in the user's present
    session generation (a password change, reset or deactivation ends older ones), and the
    user and organisation active."""
    user_id, _, generation = session_user_id.partition(":")
    if not (user_id.isdigit() and generation.isdigit()):
        return None
    user = db.session.get(User, int(user_id))
    if user is None or user.session_generation != int(generation) or not user.is_active:
        return None
    return user


def _require_login():
    """Every page but the public ones needs a signed-in user (the API checks its tokens)."""
    view = current_app.view_functions.get(request.endpoint or "")
    if request.endpoint == "static" or getattr(view, "is_public", False):
        return None
    if request.path.startswith(API_PATH_PREFIX):
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


def _security_headers(response):
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'",
    )
    return response


def _error_page(
    status: int,
    title: str,
    message: str,
    headers: dict[str, str] | None = None,
    upload_link: bool = False,
):
    if request.path.startswith(API_PATH_PREFIX):
        return error_response(status, message, headers=headers)
    page = render_template(
        "error.html", status=status, title=title, message=message, upload_link=upload_link
    )
    return page, status, headers or {}


def _not_found_page(_error: Exception):
    """No such page or job, or one of another organisation's: the same answer for both."""
    return _error_page(404, "Not found", "There is nothing here, or you do not have access to it.")


def _storage_unavailable_page(exc: StorageUnavailable):
    """The upload could not be stored: say so, and that nothing was kept (never a 500)."""
    return _error_page(
        503,
        "Uploads are unavailable right now",
        str(exc),
        {"Retry-After": str(exc.retry_after_seconds)},
        upload_link=True,
    )


def register_web(app: Flask) -> None:
    """Register blueprints, the login guard, security headers and friendly error pages."""

    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "info"
    app.before_request(_require_login)
    app.after_request(_security_headers)
    app.register_blueprint(auth.bp)
    app.register_blueprint(uploads.bp)
    app.register_blueprint(jobs.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(job_actions.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(files.bp)
    app.register_blueprint(review.bp)
    app.register_blueprint(people.bp)
    app.register_blueprint(records.bp)

    app.register_error_handler(404, _not_found_page)
    app.register_error_handler(JobNotFound, _not_found_page)
    app.register_error_handler(
        NotAllowed,
        lambda e: _error_page(
            403,
            "Not allowed",
            "Only the person who uploaded this file and the organisation's "
            "admins can change this job.",
        ),
    )
    app.register_error_handler(
        413,
        lambda e: _error_page(
            413,
            "File too large",
            f"Uploads are limited to {app.config['MAX_CONTENT_LENGTH'] // (1024 * 1024)} MB. "
            "Split the file into smaller parts and upload each.",
            upload_link=True,
        ),
    )
    app.register_error_handler(
        CSRFError,
        lambda e: _error_page(
            400,
            "Form expired",
            "The form was missing its security token or it expired. Reload the page and try again.",
        ),
    )
    app.register_error_handler(StorageUnavailable, _storage_unavailable_page)
    app.register_error_handler(
        PeopleError,
        lambda e: _error_page(e.status, PEOPLE_ERROR_TITLES.get(e.status, "Not possible"), str(e)),
    )
    app.register_error_handler(
        RecordsError,
        lambda e: _error_page(e.status, PEOPLE_ERROR_TITLES.get(e.status, "Not possible"), str(e)),
    )
    app.register_error_handler(
        500,
        lambda e: _error_page(
            500, "Something went wrong", "The error was logged. Please try again."
        ),
    )
