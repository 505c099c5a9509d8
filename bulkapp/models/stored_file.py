"""Files kept in the database (``FILE_STORE=database``): uploads and error reports in chunks,
so that web and workers need nothing in common but the database and Redis."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import Base
from .accounts import utcnow


def new_file_id() -> str:
    return uuid.uuid4().hex


class StoredFile(Base):
    """One stored file. ``complete`` is false while an upload is still being written: such a
    file is never read, and the clean-up removes it if its writer died."""

    __tablename__ = "stored_files"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_file_id)
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    complete: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StoredFileChunk(Base):
    """A piece of a stored file (at most 1 MiB); the file is its chunks in ``seq`` order."""

    __tablename__ = "stored_file_chunks"

    file_id: Mapped[str] = mapped_column(
        ForeignKey("stored_files.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
