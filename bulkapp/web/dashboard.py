"""rq-dashboard at /admin/rq, for super admins only.

rq-dashboard has no authentication and no notion of organisations, so only a super admin
may open it (everyone else: 404). Its pages need inline scripts and ``eval`` (underscore
templates), so they get their own relaxed CSP; every other page keeps the strict one. Its
actions are AJAX POSTs without our CSRF token, so they must come from our own origin
instead, and its GET ``/requeue/<queue>`` route is refused.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import rq_dashboard
from flask import abort, request, url_for
from flask.blueprints import BlueprintSetupState
from flask_login import current_user
from markupsafe import Markup
from rq_dashboard.web import setup_rq_connection

from ..extensions import csrf

URL_PREFIX = "/admin/rq"
BLUEPRINT = rq_dashboard.blueprint.name
CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'self'"
)
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
BODY_START = re.compile(r"<body[^>]*>", re.IGNORECASE)


def mount(state: BlueprintSetupState) -> None:
    """Register rq-dashboard on the app the admin blueprint is registered on."""
    app = state.app
    app.config.setdefault("RQ_DASHBOARD_REDIS_URL", app.config["REDIS_URL"])
    app.register_blueprint(rq_dashboard.blueprint, url_prefix=URL_PREFIX)
    setup_rq_connection(app)
    csrf.exempt(rq_dashboard.blueprint)
    # Before rq-dashboard's own hook, which opens a Redis connection.
    app.before_request_funcs.setdefault(BLUEPRINT, []).insert(0, guard)
    app.after_request_funcs.setdefault(BLUEPRINT, []).append(relax_csp)
    app.after_request_funcs[BLUEPRINT].append(link_back_to_the_monitor)


def same_origin() -> bool:
    """Whether the browser says this request comes from one of our own pages."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site:
        return fetch_site == "same-origin"
    source = request.headers.get("Origin") or request.headers.get("Referer") or ""
    parts = urlsplit(source)
    return bool(parts.netloc) and (parts.scheme, parts.netloc) == (request.scheme, request.host)


def guard():
    """Super admins only; state-changing requests only from our origin; no GET requeue."""
    if not current_user.is_authenticated or not current_user.is_super_admin:
        abort(404)
    if request.endpoint == f"{BLUEPRINT}.requeue_all" and request.method in SAFE_METHODS:
        abort(405)
    if request.method not in SAFE_METHODS and not same_origin():
        abort(403)
    return None


def link_back_to_the_monitor(response):
    """Put a link back to bulkapp's monitor at the top of every rq-dashboard page."""
    if response.mimetype != "text/html" or response.direct_passthrough:
        return response
    page = response.get_data(as_text=True)
    link = Markup(
        '<p style="margin:0;padding:.4rem 1rem;background:#f5f7fa;border-bottom:1px solid #d9dee5">'
        '<a id="back-to-monitor" href="{}">&larr; Back to the bulkapp monitor</a></p>'
    ).format(url_for("admin.index"))
    if BODY_START.search(page):
        response.set_data(BODY_START.sub(lambda match: match.group(0) + link, page, count=1))
    return response


def relax_csp(response):
    """rq-dashboard's pages run inline scripts and underscore templates."""
    response.headers["Content-Security-Policy"] = CSP
    return response
