"""The database store: files in ``stored_files`` / ``stored_file_chunks``, 1 MiB a chunk."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, cast

from flask import Response, stream_with_context
from sqlalchemy import CursorResult, delete, insert, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ..extensions import db
from ..models import StoredFile, StoredFileChunk, new_file_id, utcnow
from .base import ABANDONED_UPLOAD_AGE, CHUNK_BYTES, DATABASE_KEY_PREFIX, StorageUnavailable

log = logging.getLogger(__name__)


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
                insert_file(connection, file_id, f"upload{extension}", organisation_id)
            size, seq = 0, 0
            while block := _read_full(stream, CHUNK_BYTES):
                with db.engine.begin() as connection:
                    insert_chunk(connection, file_id, seq, block)
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
            _forget_read_pages()
        try:
            yield path
        finally:
            path.unlink(missing_ok=True)

    def delete(self, key: str) -> int:
        file_id = self.file_id(key)
        db.session.execute(delete(StoredFileChunk).where(StoredFileChunk.file_id == file_id))
        result = db.session.execute(delete(StoredFile).where(StoredFile.id == file_id))
        return cast(CursorResult[Any], result).rowcount

    def download(
        self, key: str, organisation_id: int, name: str, mimetype: str = "text/csv"
    ) -> Response | None:
        stored = db.session.get(StoredFile, self.file_id(key))
        if stored is None or not stored.complete or stored.organisation_id != organisation_id:
            return None
        response = Response(stream_with_context(self.chunks(key)), mimetype=mimetype)
        response.headers.set("Content-Disposition", "attachment", filename=name)
        response.headers["Cache-Control"] = "no-cache"
        return response

    def check_writable(self) -> bool:
        """Write a small file and remove it again."""
        file_id = new_file_id()
        try:
            with db.engine.begin() as connection:
                insert_file(connection, file_id, ".write-probe", None)
                insert_chunk(connection, file_id, 0, b"probe\n")
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


def insert_file(
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


def insert_chunk(connection: Connection | Session, file_id: str, seq: int, data: bytes) -> None:
    connection.execute(insert(StoredFileChunk).values(file_id=file_id, seq=seq, data=data))


def _delete_file(connection: Connection, file_id: str) -> None:
    connection.execute(delete(StoredFileChunk).where(StoredFileChunk.file_id == file_id))
    connection.execute(delete(StoredFile).where(StoredFile.id == file_id))


def _forget_read_pages() -> None:
    """Free the pages of the file SQLite's page cache still holds (up to 32 MiB): the import
    that follows needs that memory for its index pages, and its reading process, forked from
    this one, would keep its own copy of them."""
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(text("PRAGMA shrink_memory"))


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
