"""Read the e-mails the application wrote to its outbox (no SMTP_HOST in the tests). Mail goes
through the queue: a real RQ worker sends what is queued first."""

from __future__ import annotations

import email
import email.policy
import re
from email.message import EmailMessage
from pathlib import Path

from tests.conftest import run_worker


def mails_in(outbox: Path, to: str) -> list[EmailMessage]:
    """Every mail to ``to`` in the ``outbox`` folder, oldest first."""
    paths = sorted(outbox.glob("*.eml")) if outbox.is_dir() else []
    mails = [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default) for path in paths
    ]
    return [mail for mail in mails if mail["To"] == to]


def outbox_mails(app, to: str) -> list[EmailMessage]:
    """Every mail to ``to`` in ``app``'s outbox, oldest first, once a worker has sent what
    was queued."""
    run_worker(app)
    return mails_in(Path(app.config["OUTBOX_DIR"]), to)


def password_link(mail: EmailMessage) -> str:
    """The path of the one-time password link in ``mail``."""
    body = mail.get_content()
    match = re.search(r"https?://[^/\s]+(/password/\S+)", body)
    assert match, body
    return match.group(1)


def link_in_last_mail(app, to: str) -> str:
    """The path of the password link in the last mail to ``to``."""
    mails = outbox_mails(app, to)
    assert mails, f"no mail to {to}"
    return password_link(mails[-1])
