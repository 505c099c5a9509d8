"""People and access: signing in, passwords, invitations, roles, organisations.

Use cases called by the pages, the API and the CLI alike, so the rules are the same
everywhere. Each records what it did in the audit log (``bulkapp.audit``).
"""

from __future__ import annotations

from ..errors import UseCaseError


class PeopleError(UseCaseError):
    """A people action that is refused (by default: not allowed, 403)."""

    status = 403
    code = "forbidden"
