"""The JSON API under ``/api/v1``: Bearer tokens, JSON envelopes, seed-compatible shapes.

Every response is ``{"success": true, "data": ...}`` or
``{"success": false, "error": {"code": ..., "message": ...}}``. The API never reads the
session cookie, so it is exempt from CSRF. Each route module has its own blueprint, nested
in ``bp``, which checks the token and answers every error as JSON.
"""

from flask import Blueprint

from ...extensions import csrf
from ..helpers import API_URL_PREFIX
from . import (
    actions,
    files,
    fixes,
    health,
    jobs,
    openapi,
    queues,
    records,
    review,
    uploads,
    users,
)
from .auth import require_token
from .errors import register_error_handlers

bp = Blueprint("api", __name__, url_prefix=API_URL_PREFIX)
bp.before_request(require_token)
register_error_handlers(bp)

for routes in (
    uploads.bp,
    jobs.bp,
    actions.bp,
    review.bp,
    queues.bp,
    files.bp,
    health.bp,
    openapi.bp,
    users.bp,
    records.bp,
    fixes.bp,
):
    csrf.exempt(routes)  # Flask-WTF looks at the blueprint a route is on, not at its parents
    bp.register_blueprint(routes)
