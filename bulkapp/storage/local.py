"""The local store: files in a folder (``UPLOAD_DIR``, ``REPORT_DIR``) keyed by their paths."""

from __future__ import annotations

import errno
import logging
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from flask import Response, send_file

from .base import CHUNK_BYTES, DISK_FULL_ERRNOS, StorageUnavailable

log = logging.getLogger(__name__)


class LocalStore:
    """Files in one local directory, keyed by their absolute paths."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def save_stream(
        self, stream: IO[bytes], extension: str, organisation_id: int | None
    ) -> tuple[str, int]:
        path = self.root / f"{uuid.uuid4().hex}{extension}"
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with open(path, "wb") as out:
                shutil.copyfileobj(stream, out, length=CHUNK_BYTES)
                size = out.tell()
        except OSError as exc:
            _remove_partial(path)
            log.error("cannot store an upload in %s: %s", self.root, _describe(exc))
            full = exc.errno in DISK_FULL_ERRNOS
            raise StorageUnavailable(
                "its disk is full" if full else "its upload folder is not writable"
            ) from exc
        except BaseException:
            _remove_partial(path)
            raise
        return str(path), size

    def _inside(self, key: str) -> Path | None:
        """The path of ``key`` if it lies inside the store's directory (nothing else is ever
        served or removed)."""
        path = Path(key).resolve()
        return path if path.is_relative_to(self.root.resolve()) else None

    def exists(self, key: str) -> bool:
        return Path(key).is_file()

    def chunks(self, key: str) -> Iterator[bytes]:
        with open(key, "rb") as stored:
            while block := stored.read(CHUNK_BYTES):
                yield block

    @contextmanager
    def local_copy(self, key: str, workspace: Path) -> Iterator[Path]:
        yield Path(key)

    def delete(self, key: str) -> int:
        path = self._inside(key)
        if path is None:
            log.warning("not deleting %s: outside %s", key, self.root)
            return 0
        try:
            path.unlink()
        except FileNotFoundError:
            return 0
        return 1

    def download(
        self, key: str, organisation_id: int, name: str, mimetype: str = "text/csv"
    ) -> Response | None:
        path = self._inside(key)
        if path is None or not path.is_file():
            return None
        return send_file(path, mimetype=mimetype, as_attachment=True, download_name=name, max_age=0)

    def check_writable(self) -> bool:
        return folder_is_writable(self.root)


def _remove_partial(path: Path) -> None:
    """Delete what was written of ``path``, if anything; a failure is only logged."""
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        log.error("cannot remove the partial upload %s: %s", path, exc)


def folder_is_writable(folder: str | os.PathLike[str]) -> bool:
    """True when a small file can be created, written, flushed to disk and removed in
    ``folder`` (created first when missing, as uploads do)."""
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


def _describe(exc: OSError) -> str:
    """``exc`` for the operator's log, e.g. ``ENOSPC (errno 28): No space left on device``."""
    name = "unknown" if exc.errno is None else errno.errorcode.get(exc.errno, "unknown")
    return f"{name} (errno {exc.errno}): {exc.strerror}"
