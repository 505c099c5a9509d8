"""The one error vocabulary of the use cases: a refusal with a code, a message for the person
and the HTTP status that fits.

Use cases raise ``UseCaseError`` (or a subclass naming its domain); the web translates it once
for the pages (an error page, or a flashed message on the page a form came from) and once
for the API (``{"success": false, "error": {"code", "message"}}``). Subclasses set the
defaults of their domain; every constructor takes the message first, then keywords.
"""

from __future__ import annotations

# What a page says of anything missing, or not the reader's to see: the same for both.
NOTHING_HERE = "There is nothing here, or you do not have access to it."


class UseCaseError(Exception):
    """A use case refused what it was asked; ``str()`` is the message for the person.

    Attributes:
        code: a stable word for programs (``job_finished``, ``email_taken``).
        status: the HTTP status that fits: 400 a bad request, 403 not allowed, 404 no such
            thing (or one the actor may not see), 409 conflicts with the state, 422 invalid
            input, 503 unavailable for now.
        headers: extra response headers (``Retry-After``).
        title: the heading of its error page; None for the status's usual one.
        page_message: what its error page says, where a page words it apart from the API.
        upload_link: its error page links the upload form.
    """

    status: int = 409
    code: str = "conflict"
    title: str | None = None
    page_message: str | None = None
    upload_link: bool = False

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.headers = dict(headers or {})


class NotFound(UseCaseError):
    """There is no such thing, or it belongs to someone the actor may not see."""

    status = 404
    code = "not_found"


class Forbidden(UseCaseError):
    """The actor may not do this."""

    status = 403
    code = "forbidden"
