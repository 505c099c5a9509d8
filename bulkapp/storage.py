"""The file store: where uploads wait for their import and error reports are kept.

``FILE_STORE`` picks where new files go:

* ``local``: a directory (``UPLOAD_DIR``, ``REPORT_DIR``) that the web and every worker share;
  a file's key is its absolute path.
* ``database``: the application database, in 1 MiB chunks (``StoredFile``,
  ``StoredFileChunk``), streamed in and out; a file's key is ``database:<id>``. Web and
  workers then share nothing but the database and Redis.

A job row keeps its files' keys, so each key says which store holds it and switching the
setting leaves older jobs' files readable and removable. Workers run the pipeline on a local
copy of the upload, made in a per-attempt workspace under their own ``INSTANCE_DIR``.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import timedelta
from pathlib import Path
from typing import IO, Any, Protocol, cast

from flask import Response, current_app, send_file, stream_with_context
from sqlalchemy import CursorResult, delete, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from .extensions import db
from .models import StoredFile, StoredFileChunk, new_file_id, utcnow

log = logging.getLogger(__name__)

DATABASE = "database"  # FILE_STORE's other value is "local"
DATABASE_KEY_PREFIX = "database:"
CHUNK_BYTES = 1024 * 1024
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
UPLOADS, REPORTS = "UPLOAD_DIR", "REPORT_DIR"  # the local folder of each kind of file
WORKSPACES = "attempts"  # under INSTANCE_DIR: one folder per running import attempt
# An upload still being written this long after it started has lost its writer.
ABANDONED_UPLOAD_AGE = timedelta(hours=1)


class StorageUnavailable(Exception):
    """The upload could not be stored (disk full, folder not writable, database refused it);
    nothing was kept.

    The message is meant for the user; the error behind it is the ``__cause__``.
    """

    retry_after_seconds = 120

    def __init__(self, cause: str) -> None:
        super().__init__(
            f"The server cannot store uploads right now ({cause}). "
            "Nothing was saved; try again in a few minutes."
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

    def download(self, key: str, organisation_id: int, name: str) -> Response | None:
        """The stored file of ``organisation_id`` as a CSV attachment, else None."""

    def check_writable(self) -> bool:
        """Whether the store takes files right now (readiness)."""


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

    def download(self, key: str, organisation_id: int, name: str) -> Response | None:
        path = self._inside(key)
        if path is None or not path.is_file():
            return None
        return send_file(
            path, mimetype="text/csv", as_attachment=True, download_name=name, max_age=0
        )

    def check_writable(self) -> bool:
        return folder_is_writable(self.root)


class DatabaseStore:
    """Files in the application database, in chunks of ``CHUNK_BYTES``: chunk ``seq`` holds
    the bytes from ``seq * CHUNK_BYTES`` on."""

    @staticmethod
    def file_id(key: str) -> str:
        return key.removeprefix(DATABASE_KEY_PREFIX)

    def save_stream(
        self, stream: IO[bytes], extension: str, organisation_id: int | None
    ) -> tuple[str, int]:
        """Each chunk is committed on its own connection (a long upload never holds a write
        lock); the file is marked complete at the end, or removed if anything fails. Call it
        outside a write transaction: on SQLite that one would lock the chunks out."""
        file_id = new_file_id()
        try:
            with db.engine.begin() as connection:
                _insert_file(connection, file_id, f"upload{extension}", organisation_id)
            size, seq = 0, 0
            while block := _read_full(stream, CHUNK_BYTES):
                with db.engine.begin() as connection:
                    _insert_chunk(connection, file_id, seq, block)
                size, seq = size + len(block), seq + 1
            with db.engine.begin() as connection:
                connection.execute(
                    update(StoredFile)
                    .where(StoredFile.id == file_id)
                    .values(size=size, complete=True)
                )
        except SQLAlchemyError as exc:
            _remove_partial_file(file_id)
            log.error("cannot store an upload in the database: %s", exc)
            raise StorageUnavailable("its database does not take files") from exc
        except BaseException:
            _remove_partial_file(file_id)
            raise
        return DATABASE_KEY_PREFIX + file_id, size

    def exists(self, key: str) -> bool:
        return bool(
            db.session.scalar(select(StoredFile.complete).where(StoredFile.id == self.file_id(key)))
        )

    def chunks(self, key: str) -> Iterator[bytes]:
        """The file's bytes, one chunk at a time (never the whole file in memory)."""
        file_id = self.file_id(key)
        seqs = db.session.scalars(
            select(StoredFileChunk.seq)
            .where(StoredFileChunk.file_id == file_id)
            .order_by(StoredFileChunk.seq)
        ).all()
        for seq in seqs:
            yield (
                db.session.scalar(
                    select(StoredFileChunk.data).where(
                        StoredFileChunk.file_id == file_id, StoredFileChunk.seq == seq
                    )
                )
                or b""
            )

    def write_to(self, key: str, path: Path) -> int:
        """Copy the stored file into ``path``, chunk by chunk; returns its size."""
        with open(path, "wb") as out:
            for block in self.chunks(key):
                out.write(block)
            return out.tell()

    @contextmanager
    def local_copy(self, key: str, workspace: Path) -> Iterator[Path]:
        path = workspace / "upload"  # the readers go by the name the user gave the file
        if self.exists(key):
            self.write_to(key, path)
        try:
            yield path
        finally:
            path.unlink(missing_ok=True)

    def delete(self, key: str) -> int:
        file_id = self.file_id(key)
        db.session.execute(delete(StoredFileChunk).where(StoredFileChunk.file_id == file_id))
        result = db.session.execute(delete(StoredFile).where(StoredFile.id == file_id))
        return cast(CursorResult[Any], result).rowcount

    def download(self, key: str, organisation_id: int, name: str) -> Response | None:
        stored = db.session.get(StoredFile, self.file_id(key))
        if stored is None or not stored.complete or stored.organisation_id != organisation_id:
            return None
        response = Response(stream_with_context(self.chunks(key)), mimetype="text/csv")
        response.headers.set("Content-Disposition", "attachment", filename=name)
        response.headers["Cache-Control"] = "no-cache"
        return response

    def check_writable(self) -> bool:
        """Write a small file and remove it again."""
        file_id = new_file_id()
        try:
            with db.engine.begin() as connection:
                _insert_file(connection, file_id, ".write-probe", None)
                _insert_chunk(connection, file_id, 0, b"probe\n")
            with db.engine.begin() as connection:
                _delete_file(connection, file_id)
            return True
        except SQLAlchemyError as exc:
            log.warning("the database does not take files: %s", exc)
            _remove_partial_file(file_id)
            return False

    def remove_abandoned_uploads(self) -> int:
        """Delete uploads whose writer died before finishing them (the caller commits);
        returns how many went."""
        cutoff = utcnow() - ABANDONED_UPLOAD_AGE
        abandoned = db.session.scalars(
            select(StoredFile.id).where(
                StoredFile.complete.is_(False), StoredFile.created_at <= cutoff
            )
        ).all()
        return sum(self.delete(DATABASE_KEY_PREFIX + file_id) for file_id in abandoned)


def _insert_file(
    connection: Connection | Session, file_id: str, name: str, organisation_id: int | None
) -> None:
    connection.execute(
        insert(StoredFile).values(
            id=file_id,
            organisation_id=organisation_id,
            name=name,
            size=0,
            complete=False,
            created_at=utcnow(),
        )
    )


def _insert_chunk(connection: Connection | Session, file_id: str, seq: int, data: bytes) -> None:
    connection.execute(insert(StoredFileChunk).values(file_id=file_id, seq=seq, data=data))


def _delete_file(connection: Connection, file_id: str) -> None:
    connection.execute(delete(StoredFileChunk).where(StoredFileChunk.file_id == file_id))
    connection.execute(delete(StoredFile).where(StoredFile.id == file_id))


def _remove_partial_file(file_id: str) -> None:
    """Delete what was written of a stored file; a failure is only logged (the clean-up
    removes incomplete uploads later)."""
    try:
        with db.engine.begin() as connection:
            _delete_file(connection, file_id)
    except SQLAlchemyError as exc:
        log.error("cannot remove the partial file %s from the database: %s", file_id, exc)


def _read_full(stream: IO[bytes], size: int) -> bytes:
    """Up to ``size`` bytes of ``stream``, fewer only at its end (a socket may return less
    per read), so that chunks start at fixed offsets."""
    parts, got = [], 0
    while got < size and (part := stream.read(size - got)):
        parts.append(part)
        got += len(part)
    return b"".join(parts)


class WorkingReport:
    """The error report of one import attempt: the local file the pipeline writes, and the
    job's stored report, kept in step with the job's checkpoint.

    In the local store they are one file in ``REPORT_DIR``. In the database store the file
    lives in the attempt's workspace, restored from the stored report when the attempt
    starts, and every ``keep`` copies its new bytes into the database in the transaction of
    the chunk it belongs to, so an import killed anywhere finds report and checkpoint in step.
    """

    def __init__(
        self, path: Path, key: str | None, organisation_id: int, in_database: bool
    ) -> None:
        self.path = path
        self.key = key
        self.organisation_id = organisation_id
        self.in_database = in_database
        self.stored_size = 0

    @classmethod
    def for_attempt(
        cls, key: str | None, organisation_id: int, local_path: Path, workspace: Path
    ) -> WorkingReport:
        """The report of a job whose stored report is ``key`` (None: it has none yet, and it
        goes to the configured store); ``local_path`` is its place in ``REPORT_DIR``."""
        if key is None:
            in_database = current_app.config["FILE_STORE"] == DATABASE
        else:
            in_database = key.startswith(DATABASE_KEY_PREFIX)
        if not in_database:
            return cls(local_path, key, organisation_id, in_database=False)
        report = cls(workspace / local_path.name, key, organisation_id, in_database=True)
        if key is not None:
            report.stored_size = DatabaseStore().write_to(key, report.path)
        return report

    def keep(self, length: int) -> str | None:
        """Keep the first ``length`` bytes of the working file as the job's report, in the
        current transaction; returns its key (None for no report)."""
        if not self.in_database:
            return str(self.path) if length else None
        session = db.session()
        if length == 0:
            if self.key is not None:
                DatabaseStore().delete(self.key)
            self.key, self.stored_size = None, 0
            return None
        if self.key is None:
            file_id = new_file_id()
            _insert_file(session, file_id, self.path.name, self.organisation_id)
            session.execute(
                update(StoredFile).where(StoredFile.id == file_id).values(complete=True)
            )
            self.key = DATABASE_KEY_PREFIX + file_id
        if length != self.stored_size:
            self._copy_from(min(length, self.stored_size) // CHUNK_BYTES, length)
        return self.key

    def _copy_from(self, first_seq: int, length: int) -> None:
        """Replace the stored chunks from ``first_seq`` on with the working file's bytes up
        to ``length``."""
        assert self.key is not None
        file_id = DatabaseStore.file_id(self.key)
        session = db.session()
        session.execute(
            delete(StoredFileChunk).where(
                StoredFileChunk.file_id == file_id, StoredFileChunk.seq >= first_seq
            )
        )
        with open(self.path, "rb") as working:
            working.seek(first_seq * CHUNK_BYTES)
            seq, remaining = first_seq, length - first_seq * CHUNK_BYTES
            while remaining > 0:
                block = working.read(min(CHUNK_BYTES, remaining))
                if not block:
                    raise RuntimeError(f"the error report {self.path} is shorter than {length}")
                _insert_chunk(session, file_id, seq, block)
                seq, remaining = seq + 1, remaining - len(block)
        session.execute(update(StoredFile).where(StoredFile.id == file_id).values(size=length))
        self.stored_size = length


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


def report_download(key: str | None, organisation_id: int, upload_name: str) -> Response | None:
    """The error report at ``key`` of a job of ``organisation_id`` as a CSV attachment named
    after the upload; None when there is none (nothing but a stored report is ever served)."""
    if not key:
        return None
    name = f"{Path(upload_name).stem or 'upload'}-errors.csv"
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
