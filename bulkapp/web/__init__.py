"""Web blueprints (thin: parse the request, call a service, render) and app-wide hooks."""

from __future__ import annotations

from flask import Flask, current_app, flash, render_template, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from ..errors import NOTHING_HERE, UseCaseError
from ..extensions import db, login_manager
from ..models import User
from . import (
    account,
    admin,
    api,
    auth,
    dev,
    files,
    fixes,
    job_actions,
    jobs,
    labels,
    people,
    records,
    review,
    uploads,
)
from .api.errors import error_response
from .guard import MAX_URL_LENGTH, disallowed_character, url_too_long
from .helpers import API_PATH_PREFIX

ERROR_TITLES = {403: "Not allowed", 404: "Not found"}


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


def _refuse_unstorable_requests():
    """The guard (``guard.py``): no view or query sees a request holding a character that
    cannot be stored, or an address too long to be one of ours."""
    if url_too_long():
        return _error_page(
            414,
            "Address too long",
            f"The address is longer than {MAX_URL_LENGTH} characters, "
            "which no page or API route takes.",
            code="uri_too_long",
        )
    place = disallowed_character()
    if place is not None:
        return _error_page(
            400,
            "Characters not allowed",
            f"{place[0].upper()}{place[1:]} contains a control character (such as NUL, "
            "byte 0) that cannot be stored. Remove it and try again.",
            code="invalid_characters",
        )
    return None


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
    code: str | None = None,
):
    if request.path.startswith(API_PATH_PREFIX) or request.is_json:
        # The API, and a page's own JSON requests (the fix page's edits), get JSON errors.
        return error_response(status, message, code, headers=headers)
    page = render_template(
        "error.html", status=status, title=title, message=message, upload_link=upload_link
    )
    return page, status, headers or {}


def _not_found_page(_error: Exception):
    """No such page, or one of another organisation's: the same answer for both."""
    return _error_page(404, "Not found", NOTHING_HERE)


def _refused(exc: UseCaseError):
    """A use case's refusal on a page: flashed on the page the form came from when its view
    says where that is (``helpers.refusals_flashed``) and the refusal is not a 403 or 404;
    otherwise an error page with the refusal's status."""
    view = current_app.view_functions.get(request.endpoint or "")
    back = getattr(view, "refusal_redirect", None)
    if back is not None and exc.status not in (403, 404):
        flash(exc.message, "error")
        return back(**(request.view_args or {}))
    return _error_page(
        exc.status,
        exc.title or ERROR_TITLES.get(exc.status, "Not possible"),
        exc.page_message or exc.message,
        exc.headers,
        upload_link=exc.upload_link,
        code=exc.code,
    )


def register_web(app: Flask) -> None:
    """Register blueprints, the login guard, security headers and friendly error pages."""

    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "info"
    # First of all, before the extensions' own checks (CSRF, rate limits) read the request.
    app.before_request_funcs.setdefault(None, []).insert(0, _refuse_unstorable_requests)
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
    app.register_blueprint(fixes.bp)
    app.add_template_filter(labels.titled, "titled")
    app.add_template_filter(labels.field_title, "field_title")
    if app.config["BULKAPP_ENV"] == "development":
        app.register_blueprint(dev.bp)

    app.register_error_handler(404, _not_found_page)
    app.register_error_handler(UseCaseError, _refused)
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
    app.register_error_handler(
        500,
        lambda e: _error_page(
            500, "Something went wrong", "The error was logged. Please try again."
        ),
    )
