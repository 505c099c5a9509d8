"""Mappings people confirmed on the review page, remembered per organisation, entity type and
header row, so the next file with the same headers is mapped the same way."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import Base
from .accounts import Organisation, User, utcnow


class SavedMapping(Base):
    """A confirmed mapping (columns → fields, ignored columns, value mappings) of one header
    row of one entity type, in one organisation."""

    __tablename__ = "saved_mappings"
    __table_args__ = (
        UniqueConstraint(
            "organisation_id", "entity_type", "header_signature", name="uq_saved_mappings_headers"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    entity_type: Mapped[str] = mapped_column(String(50))
    header_signature: Mapped[str] = mapped_column(String(64))
    headers: Mapped[list[str]] = mapped_column(JSON, default=list)
    mapping: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    organisation: Mapped[Organisation] = relationship()
    created_by: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<SavedMapping {self.id} {self.entity_type} {self.header_signature[:8]}>"
