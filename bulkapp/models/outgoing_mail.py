"""OutgoingMail: an e-mail a use case wrote, kept until a worker has sent it."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import Base
from .accounts import utcnow


class OutgoingMail(Base):
    """One e-mail (an invitation, a password reset), stored in the transaction of the use
    case that wrote it, so a mail server that is away delays it and never loses it; the
    notifications queue sends it (``bulkapp.jobs.mailing``) and marks it sent."""

    __tablename__ = "outgoing_mails"
    __table_args__ = (Index("ix_outgoing_mails_unsent", "sent_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(254))
    sender: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)
    # Ends the outbox file's name in development (``invite-7``), so mails can be told apart.
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)

    def message(self) -> EmailMessage:
        """The e-mail as it is sent."""
        message = EmailMessage()
        message["Subject"] = self.subject
        message["From"] = self.sender
        message["To"] = self.recipient
        message.set_content(self.body)
        return message

    def __repr__(self) -> str:
        return f"<OutgoingMail {self.id} to {self.recipient}: {self.subject}>"
