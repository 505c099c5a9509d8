"""Records: what the imports stored, per organisation and entity type.

Plain functions that the pages, the API and the job system call: a view of an entity type's
records as asked in a query string (``view``), what can be sorted and filtered (``fields``),
searches and filters in SQL (``search``), keyset pages and one record (``query``), whose
records a user may see (``access``), a record's history (``history``) and exports of a view
(``export``); how long the change log is kept (``retention``) and the undo planner
(``undo``).
"""

from __future__ import annotations

from ..errors import UseCaseError


class RecordsError(UseCaseError):
    """A records request that cannot be answered (by default a parameter that makes no
    sense, 422; 404: no such record or organisation, or one the user may not see)."""

    status = 422
    code = "invalid_parameter"
