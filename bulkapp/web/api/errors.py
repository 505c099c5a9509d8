"""JSON envelopes and the API's error handling: every failure becomes a JSON error."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from redis.exceptions import RedisError
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException

from ...errors import UseCaseError
from ...extensions import db
from ..helpers import API_PATH_PREFIX, seconds_until_limit_resets

log = logging.getLogger(__name__)

ERROR_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
    422: "unprocessable_entity",
    429: "rate_limited",
    500: "internal_error",
    503: "service_unavailable",
}

FRIENDLY_MESSAGES = {
    404: "There is nothing here, or you do not have access to it.",
    405: "This method is not allowed on this URL.",
    500: "Something went wrong on our side. The error was logged; please try again.",
}


class ApiError(UseCaseError):
    """A request the API cannot take as it is (a missing field, a body that is not JSON),
    found before any use case runs; answered like every ``UseCaseError``."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(
            message, code=code or ERROR_CODES.get(status, "error"), status=status, headers=headers
        )


def ok(
    data: Any,
    status: int = 200,
    headers: dict[str, str] | None = None,
    message: str | None = None,
) -> Response:
    """A success envelope around ``data``, with a top-level ``message`` when given (as the
    seeds' upload answers have)."""
    response = jsonify({"success": True, **({"message": message} if message else {}), "data": data})
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    response.headers.update(headers or {})
    return response


def error_response(
    status: int,
    message: str,
    code: str | None = None,
    headers: dict[str, str] | None = None,
    details: dict[str, Any] | None = None,
) -> Response:
    """An error envelope with ``status``; ``details`` adds fields to the error object."""
    error = {"code": code or ERROR_CODES.get(status, "error"), "message": message}
    response = jsonify({"success": False, "error": {**error, **(details or {})}})
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    response.headers.update(headers or {})
    return response


def _upload_limit() -> str:
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
    return f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit // 1024} KB"


def http_error_response(exc: HTTPException) -> Response:
    """The JSON form of a werkzeug HTTP error (routing 404/405, 413, 429, ...)."""
    status = exc.code or 500
    if status == 413:
        message = (
            f"The upload is too large: the limit is {_upload_limit()}. "
            "Split the records into smaller uploads."
        )
    else:
        message = FRIENDLY_MESSAGES.get(status) or exc.description or "Request failed."
    headers = {k: v for k, v in exc.get_headers() if k.lower() in ("allow", "retry-after")}
    return error_response(status, message, headers=headers)


def register_error_handlers(bp: Blueprint) -> None:
    """Answer every error of ``bp``'s routes (and of its nested blueprints') as JSON."""
    bp.register_error_handler(UseCaseError, use_case_error_response)
    # Code-specific handlers, because the app's page handlers for these codes would win over
    # a blueprint handler registered for the HTTPException class.
    for status in (404, 413, 500):
        bp.register_error_handler(status, http_error_response)
    bp.register_error_handler(HTTPException, http_error_response)
    bp.register_error_handler(429, _too_many_requests)
    bp.app_errorhandler(405)(_method_not_allowed)
    for database_error in (OperationalError, InterfaceError, PoolTimeoutError):
        bp.register_error_handler(database_error, _database_unavailable)
    bp.register_error_handler(RedisError, _queue_unavailable)


def use_case_error_response(exc: UseCaseError) -> Response:
    """A refusal as the API answers it: its status, code, message and headers."""
    return error_response(exc.status, exc.message, exc.code, exc.headers)


def _too_many_requests(exc: HTTPException):
    """429 with ``Retry-After``: the seconds until the breached window resets."""
    response = http_error_response(exc)
    retry_after = seconds_until_limit_resets()
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def _method_not_allowed(exc: HTTPException):
    """Routing errors happen before the blueprint is known: pick JSON by path."""
    if request.path.startswith(API_PATH_PREFIX):
        return http_error_response(exc)
    return exc


def _database_unavailable(exc: Exception):
    log.warning("API request failed: database unavailable: %s", exc)
    try:
        db.session.rollback()
    except SQLAlchemyError:
        log.warning("rollback failed too; the session is discarded at teardown")
    return error_response(
        503,
        "The database is unavailable right now. Try again shortly.",
        "database_unavailable",
        {"Retry-After": "30"},
    )


def _queue_unavailable(exc: RedisError):
    log.warning("API request failed: Redis unavailable: %s", exc)
    return error_response(
        503,
        "The job queue is unavailable right now. Try again shortly.",
        "queue_unavailable",
        {"Retry-After": "30"},
    )
