"""What the pages and the API share: public views, the API's paths, safe redirects and the
error report's download."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlsplit

from flask import redirect, stream_with_context
from werkzeug.wrappers import Response

from ..extensions import limiter
from ..jobs.rejections import error_report, report_name
from ..models import ImportJob
from ..storage import report_download

F = TypeVar("F", bound=Callable)

# Everything under this path is the JSON API: Bearer tokens, no login page, JSON errors.
API_PATH_PREFIX = "/api/"
API_URL_PREFIX = "/api/v1"


def public(view: Callable) -> Callable:
    """Mark ``view`` as reachable without signing in (or, in the API, without a token)."""
    view.__dict__["is_public"] = True  # a function attribute; Callable declares none
    return view


def refusals_flashed(back: Callable[..., Response]) -> Callable[[F], F]:
    """Mark a form's view: a use case's refusal (but a 403 or 404, which get their error page)
    is flashed on the page that ``back``, called with the view's arguments, redirects to."""

    def mark(view: F) -> F:
        view.__dict__["refusal_redirect"] = back
        return view

    return mark


def redirect_within_site(target: str | None, fallback: str) -> Response:
    """A redirect to ``target`` if it is a path on this site, else to ``fallback``.

    Anything a browser could read as another site goes to ``fallback``: ``https://host``,
    ``//host``, ``/\\host``, and control characters such as tabs, which browsers drop.
    """
    if (
        target
        and target.startswith("/")
        and not target.startswith(("//", "/\\"))
        and target.isprintable()
        and not urlsplit(target).netloc
    ):
        return redirect(target)
    return redirect(fallback)


def seconds_until_limit_resets() -> int | None:
    """For a 429: the seconds until the rate limit that was breached lets requests in again."""
    breached = limiter.current_limit
    return None if breached is None else max(1, int(breached.reset_at - time.time()))


def error_report_response(job: ImportJob) -> Response | None:
    """The error report of ``job`` as a CSV attachment named after the upload and signed for
    its re-upload (``report_name``), streamed from its kept rejected rows (or, for an import
    made before they were kept, its stored report file); None when it has neither."""
    chunks = error_report(job)
    if chunks is None:
        return report_download(job.report_path, job.organisation_id, report_name(job))
    response = Response(stream_with_context(chunks), mimetype="text/csv")
    response.headers.set("Content-Disposition", "attachment", filename=report_name(job))
    response.headers["Cache-Control"] = "no-cache"
    return response
