"""The file store: where uploads wait for their import and records exports are kept (and
where imports made before rejected rows were kept in the database left their error reports).

``FILE_STORE`` picks where new files go:

* ``local``: a directory (``UPLOAD_DIR``, ``REPORT_DIR``) that the web and every worker
  share; a file's key is its absolute path.
* ``database``: the application database, in 1 MiB chunks (``StoredFile``,
  ``StoredFileChunk``), streamed in and out; a file's key is ``database:<id>``. Web and
  workers then share nothing but the database and Redis.

A job row keeps its files' keys, so each key says which store holds it and switching the
setting leaves older jobs' files readable and removable. Workers run the pipeline on a local
copy of the upload, made in a per-attempt workspace under their own ``INSTANCE_DIR``.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Response, current_app

from .base import (
    CHUNK_BYTES,
    DATABASE,
    DATABASE_KEY_PREFIX,
    REPORTS,
    UPLOADS,
    WORKSPACES,
    FileStore,
    StorageUnavailable,
)
from .database import DatabaseStore
from .local import LocalStore, folder_is_writable

__all__ = [
    "CHUNK_BYTES",
    "DATABASE",
    "DATABASE_KEY_PREFIX",
    "REPORTS",
    "UPLOADS",
    "DatabaseStore",
    "FileStore",
    "LocalStore",
    "StorageUnavailable",
    "attempt_workspace",
    "configured_store",
    "delete_stored",
    "folder_is_writable",
    "report_download",
    "store_holding",
    "stored_file_exists",
]


def configured_store(kind: str) -> FileStore:
    """Where new files of ``kind`` (``UPLOADS`` or ``REPORTS``) go: ``FILE_STORE``."""
    if current_app.config["FILE_STORE"] == DATABASE:
        return DatabaseStore()
    return LocalStore(current_app.config[kind])


def store_holding(key: str, kind: str) -> FileStore:
    """The store that holds the file at ``key`` (whatever ``FILE_STORE`` says now)."""
    if key.startswith(DATABASE_KEY_PREFIX):
        return DatabaseStore()
    return LocalStore(current_app.config[kind])


def delete_stored(key: str | None, kind: str) -> int:
    """Remove the file at ``key`` from its store (the caller commits); 1 when one went."""
    return store_holding(key, kind).delete(key) if key else 0


def stored_file_exists(key: str | None, kind: str) -> bool:
    """Whether the file at ``key`` is still stored."""
    return store_holding(key, kind).exists(key) if key else False


def report_download(key: str | None, organisation_id: int, name: str) -> Response | None:
    """The error report file at ``key`` (of an import made before rejected rows were kept in
    the database) of a job of ``organisation_id``, as a CSV attachment called ``name``; None
    when there is none (nothing but a stored report is ever served)."""
    if not key:
        return None
    return store_holding(key, REPORTS).download(key, organisation_id, name)


@contextmanager
def attempt_workspace() -> Iterator[Path]:
    """A fresh folder for one import attempt under ``INSTANCE_DIR/attempts``, removed when
    the attempt ends. Folders of processes that died (kill -9) are removed first."""
    root = Path(current_app.config["INSTANCE_DIR"]) / WORKSPACES
    root.mkdir(parents=True, exist_ok=True)
    for folder in root.iterdir():
        owner = folder.name.split("-", 1)[0]
        if owner.isdigit() and not _process_alive(int(owner)):
            shutil.rmtree(folder, ignore_errors=True)
    workspace = root / f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
    workspace.mkdir()
    try:
        yield workspace
    finally:
        shutil.rmtree(workspace, ignore_errors=True)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, but someone else's
        return True
    return True
