"""The error report of an import attempt, kept in its store in step with the checkpoint."""

from __future__ import annotations

from pathlib import Path

from flask import current_app
from sqlalchemy import delete, update

from ..extensions import db
from ..models import StoredFile, StoredFileChunk, new_file_id
from .base import CHUNK_BYTES, DATABASE, DATABASE_KEY_PREFIX
from .database import DatabaseStore, insert_chunk, insert_file


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
            insert_file(session, file_id, self.path.name, self.organisation_id)
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
                insert_chunk(session, file_id, seq, block)
                seq, remaining = seq + 1, remaining - len(block)
        session.execute(update(StoredFile).where(StoredFile.id == file_id).values(size=length))
        self.stored_size = length
