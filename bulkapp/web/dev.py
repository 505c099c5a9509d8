"""Development only (``BULKAPP_ENV=development``; registered nowhere else, so a 404): the mails
written to the outbox (``OUTBOX_DIR``), decoded, with their links clickable."""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from flask import Blueprint, current_app, render_template

from ..mail import links_in
from .helpers import public

bp = Blueprint("dev", __name__, url_prefix="/dev")

SHOWN_MAILS = 50


@dataclass(frozen=True)
class OutboxMail:
    """One mail of the outbox, as the page shows it."""

    file: str
    to: str
    subject: str
    body: str
    links: list[str]


def _read(path: Path) -> OutboxMail:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)  # what policy.default makes
    body = message.get_body(("plain",))
    return OutboxMail(
        file=path.name,
        to=str(message["To"] or ""),
        subject=str(message["Subject"] or ""),
        body=body.get_content() if isinstance(body, EmailMessage) else "",
        links=links_in(message),
    )


@bp.get("/mail")
@public
def mail():
    """The newest mails of the outbox first (a person invited in development finds their
    link here, signed in or not)."""
    outbox = Path(current_app.config["OUTBOX_DIR"])
    paths = sorted(outbox.glob("*.eml"), reverse=True) if outbox.is_dir() else []
    return render_template(
        "dev_mail.html",
        mails=[_read(path) for path in paths[:SHOWN_MAILS]],
        outbox=outbox,
        total=len(paths),
        smtp_host=current_app.config["SMTP_HOST"],
    )
