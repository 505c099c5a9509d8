"""Organisations and their users."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app
from flask_login import UserMixin
from sqlalchemy import ForeignKey, String, true
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import Base

# Highest first: the order decides queue priority tiers and who may administer.
ROLES = ("super_admin", "national_admin", "province_admin", "municipality_admin", "member")
ADMIN_ROLES = frozenset(ROLES[:4])


def role_rank(role: str) -> int:
    """0 for the highest role, ``super_admin``; larger numbers are lower roles."""
    return ROLES.index(role)


def utcnow() -> datetime:
    """The current time in UTC, naive (every timestamp column holds UTC)."""
    return datetime.now(UTC).replace(tzinfo=None)


class Organisation(Base):
    """A tenant: every user, job and imported row belongs to exactly one."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    # A deactivated organisation's users cannot sign in and its API tokens stop working.
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    users: Mapped[list[User]] = relationship(back_populates="organisation")

    def __repr__(self) -> str:
        return f"<Organisation {self.slug}>"


class User(UserMixin, Base):
    """A person who signs in; belongs to one organisation and has one role."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    # None until an invited user sets a password: they cannot sign in before that.
    password_hash: Mapped[str | None] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(30), default="member")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The upload form's "import straight away when the mapping is certain", as last ticked.
    import_when_certain: Mapped[bool] = mapped_column(default=False)
    last_login_at: Mapped[datetime | None] = mapped_column()
    # Part of every session's user id: bumping it ends every session signed in before.
    session_generation: Mapped[int] = mapped_column(default=0, server_default="0")

    organisation: Mapped[Organisation] = relationship(back_populates="users")

    def set_password(self, password: str) -> None:
        """Store a salted hash of ``password`` (scrypt), never the password."""
        method = current_app.config["PASSWORD_HASH_METHOD"]
        self.password_hash = generate_password_hash(password, method=method)

    def check_password(self, password: str) -> bool:
        """True when ``password`` matches the stored hash (never for an invited user)."""
        return self.password_hash is not None and check_password_hash(self.password_hash, password)

    def end_sessions(self) -> None:
        """End every session of this user (they sign in again); the caller commits."""
        self.session_generation += 1

    def get_id(self) -> str:
        """What a session remembers: the id and the session generation it was made in."""
        return f"{self.id}:{self.session_generation}"

    @property
    def invitation_pending(self) -> bool:
        """Invited, but no password set yet."""
        return self.password_hash is None

    @property
    def is_active(self) -> bool:
        """May sign in and use tokens: active, in an active organisation, password set."""
        return self.active and self.organisation.active and not self.invitation_pending

    @property
    def is_admin(self) -> bool:
        """Admins see their organisation's monitor; ``super_admin`` sees every organisation."""
        return self.role in ADMIN_ROLES

    @property
    def is_super_admin(self) -> bool:
        return self.role == "super_admin"

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"
