"""Records: what the imports stored, per organisation and entity type.

Plain functions that the pages, the API and the job system call: keyset pages, search,
filters and sort of an entity type's records (``query``), what can be searched, sorted and
filtered (``fields``), a record's history (``history``) and exports of a view (``export``).
"""

from __future__ import annotations


class RecordsError(Exception):
    """A records request that cannot be answered; ``str()`` is the message for the user.

    ``status`` is the HTTP status that fits (404: no such record or organisation, or one the
    user may not see; 422: a parameter that makes no sense) and ``code`` the API's code.
    """

    def __init__(self, message: str, status: int = 422, code: str = "invalid_parameter") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
