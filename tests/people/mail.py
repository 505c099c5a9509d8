"""Read the e-mails the application wrote to its outbox (no SMTP_HOST in the tests)."""

from __future__ import annotations

import email
import email.policy
import re
from pathlib import Path


def outbox_mails(app, to: str) -> list[email.message.EmailMessage]:
    """Every mail to ``to`` in ``app``'s outbox, oldest first."""
    outbox = Path(app.config["OUTBOX_DIR"])
    mails = (
        [
            email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            for path in sorted(outbox.glob("*.eml"))
        ]
        if outbox.is_dir()
        else []
    )
    return [mail for mail in mails if mail["To"] == to]


def link_in_last_mail(app, to: str) -> str:
    """The path of the password link in the last mail to ``to``."""
    mails = outbox_mails(app, to)
    assert mails, f"no mail to {to}"
    body = mails[-1].get_content()
    match = re.search(r"https?://[^/\s]+(/password/\S+)", body)
    assert match, body
    return match.group(1)
