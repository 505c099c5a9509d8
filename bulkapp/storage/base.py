"""What every file store shares: keys, chunk size, the error for a refused upload and the
store interface."""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import timedelta
from pathlib import Path
from typing import IO, Protocol

from flask import Response

from ..errors import UseCaseError

DATABASE = "database"  # FILE_STORE's other value is "local"
DATABASE_KEY_PREFIX = "database:"
CHUNK_BYTES = 1024 * 1024
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
UPLOADS, REPORTS = "UPLOAD_DIR", "REPORT_DIR"  # the local folder of each kind of file
WORKSPACES = "attempts"  # under INSTANCE_DIR: one folder per running import attempt
# An upload still being written this long after it started has lost its writer.
ABANDONED_UPLOAD_AGE = timedelta(hours=1)


class StorageUnavailable(UseCaseError):
    """The upload could not be stored (disk full, folder not writable, database refused it);
    nothing was kept.

    The message is meant for the user; the error behind it is the ``__cause__``.
    """

    status = 503
    code = "storage_unavailable"
    title = "Uploads are unavailable right now"
    upload_link = True
    retry_after_seconds = 120

    def __init__(self, cause: str) -> None:
        super().__init__(
            f"The server cannot store uploads right now ({cause}). "
            "Nothing was saved; try again in a few minutes.",
            headers={"Retry-After": str(self.retry_after_seconds)},
        )


class FileStore(Protocol):
    """What the application does with stored files, whichever store holds them."""

    def save_stream(
        self, stream: IO[bytes], extension: str, organisation_id: int | None
    ) -> tuple[str, int]:
        """Store ``stream``; returns (key, size).

        Raises:
            StorageUnavailable: nothing could be stored; any partial file has been removed.
        """

    def exists(self, key: str) -> bool:
        """Whether the file at ``key`` is stored (and complete)."""

    def chunks(self, key: str) -> Iterator[bytes]:
        """The file's bytes, a chunk at a time."""

    def local_copy(self, key: str, workspace: Path) -> AbstractContextManager[Path]:
        """A local path holding the file (a copy in ``workspace`` if need be). A file that
        is not stored gives a path that does not exist."""

    def delete(self, key: str) -> int:
        """Remove the file (the caller commits); 1 when one was removed."""

    def download(
        self, key: str, organisation_id: int, name: str, mimetype: str = "text/csv"
    ) -> Response | None:
        """The stored file of ``organisation_id`` as an attachment (a CSV unless ``mimetype``
        says otherwise), else None."""

    def check_writable(self) -> bool:
        """Whether the store takes files right now (readiness)."""
