"""The JSON API under ``/api/v1``: Bearer tokens, JSON envelopes, seed-compatible shapes.

Every response is ``{"success": true, "data": ...}`` or
``{"success": false, "error": {"code": ..., "message": ...}}``. The API never reads the
session cookie, so it is exempt from CSRF.
"""

from flask import Blueprint

from ...extensions import csrf

URL_PREFIX = "/api/v1"

bp = Blueprint("api", __name__, url_prefix=URL_PREFIX)
csrf.exempt(bp)

# Route modules register themselves on ``bp``.
from . import actions, auth, errors, files, health, jobs, openapi, queues, uploads  # noqa: E402,F401
