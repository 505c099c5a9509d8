"""Where uploads wait for their import: a directory (``UPLOAD_DIR``) under random names.

Also the write probe with which readiness checks that a folder takes files, and the guard
that serves error reports from ``REPORT_DIR`` only.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import IO

from flask import current_app

log = logging.getLogger(__name__)

COPY_CHUNK_BYTES = 1024 * 1024
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


class StorageUnavailable(Exception):
    """The upload could not be stored (disk full, folder not writable); nothing was kept.

    The message is meant for the user; the ``OSError`` behind it is the ``__cause__``.
    """

    retry_after_seconds = 120

    def __init__(self, disk_full: bool) -> None:
        cause = "its disk is full" if disk_full else "its upload folder is not writable"
        super().__init__(
            f"The server cannot store uploads right now ({cause}). "
            "Nothing was saved; try again in a few minutes."
        )


def store_upload(stream: IO[bytes], extension: str) -> tuple[Path, int]:
    """Copy ``stream`` into ``UPLOAD_DIR`` under a random name; returns (path, size).

    Raises:
        StorageUnavailable: the folder or the file could not be written; any partial file
            has been removed.
    """
    upload_dir = Path(current_app.config["UPLOAD_DIR"])
    path = upload_dir / f"{uuid.uuid4().hex}{extension}"
    try:
        upload_dir.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as out:
            shutil.copyfileobj(stream, out, length=COPY_CHUNK_BYTES)
            size = out.tell()
    except OSError as exc:
        _remove_partial(path)
        log.error("cannot store an upload in %s: %s", upload_dir, _describe(exc))
        raise StorageUnavailable(disk_full=exc.errno in DISK_FULL_ERRNOS) from exc
    except BaseException:
        _remove_partial(path)
        raise
    return path, size


def _remove_partial(path: Path) -> None:
    """Delete what was written of ``path``, if anything; a failure is only logged."""
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        log.error("cannot remove the partial upload %s: %s", path, exc)


def folder_is_writable(folder: str | os.PathLike[str]) -> bool:
    """True when a small file can be created, written, flushed to disk and removed in
    ``folder`` (created first when missing, as ``store_upload`` does)."""
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-probe-") as probe:
            probe.write(b"probe\n")
            probe.flush()
            os.fsync(probe.fileno())
        return True
    except OSError as exc:
        log.warning("%s is not writable: %s", folder, _describe(exc))
        return False


def report_file(report_path: str | None) -> Path | None:
    """The stored error report at ``report_path`` if it exists inside ``REPORT_DIR``, else None
    (nothing else is ever served as a report)."""
    if not report_path:
        return None
    path = Path(report_path).resolve()
    if not path.is_relative_to(Path(current_app.config["REPORT_DIR"]).resolve()):
        return None
    return path if path.is_file() else None


def _describe(exc: OSError) -> str:
    """``exc`` for the operator's log, e.g. ``ENOSPC (errno 28): No space left on device``."""
    name = "unknown" if exc.errno is None else errno.errorcode.get(exc.errno, "unknown")
    return f"{name} (errno {exc.errno}): {exc.strerror}"
