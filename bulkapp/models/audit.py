"""AuditEntry: who did what to whom and when, kept for ``AUDIT_RETENTION_DAYS``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import Base
from .accounts import utcnow


class AuditEntry(Base):
    """One action: sign-ins, people and organisation changes, tokens, job actions.

    Actor and target e-mails are copied, so an entry still reads right after the people
    it names change their address.
    """

    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_org_time", "organisation_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # The organisation the entry belongs to (its admins see it); None: operators only.
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE")
    )
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_email: Mapped[str] = mapped_column(String(254), default="")
    action: Mapped[str] = mapped_column(String(40))
    target_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    target: Mapped[str] = mapped_column(String(254), default="")
    detail: Mapped[str] = mapped_column(String(500), default="")
    address: Mapped[str] = mapped_column(String(64), default="")

    def __repr__(self) -> str:
        return f"<AuditEntry {self.action} by {self.actor_email or 'system'} on {self.target}>"
