"""Records: what the imports stored, per organisation and entity type.

Plain functions that the pages, the API and the job system call: keyset pages, search,
filters and sort of an entity type's records (``query``), what can be searched, sorted and
filtered (``fields``), a record's history (``history``) and exports of a view (``export``);
how long the change log is kept (``retention``) and the undo planner (``undo``).
"""

from __future__ import annotations

from ..errors import UseCaseError


class RecordsError(UseCaseError):
    """A records request that cannot be answered (by default a parameter that makes no
    sense, 422; 404: no such record or organisation, or one the user may not see)."""

    status = 422
    code = "invalid_parameter"
