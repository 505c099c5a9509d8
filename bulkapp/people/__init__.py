"""People and access: signing in, passwords, invitations, roles, organisations.

Use cases called by the pages, the API and the CLI alike, so the rules are the same
everywhere. Each records what it did in the audit log (``bulkapp.audit``).
"""

from __future__ import annotations


class PeopleError(Exception):
    """A people action that is refused; ``str()`` is the message for the user.

    ``status`` is the HTTP status that fits: 403 not allowed, 404 no such person (or one
    the actor may not see), 409 conflicts with what exists, 422 invalid input.
    """

    def __init__(self, message: str, status: int = 403, code: str = "forbidden") -> None:
        super().__init__(message)
        self.status = status
        self.code = code
