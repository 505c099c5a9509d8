"""Sending e-mail: through ``SMTP_HOST``, or, without one (development, tests), written to
``OUTBOX_DIR`` as ``.eml`` files (listed at ``/dev/mail`` in development)."""

from __future__ import annotations

import logging
import re
import smtplib
from email.message import EmailMessage
from pathlib import Path

from flask import current_app

from .models import utcnow

log = logging.getLogger(__name__)

LINK = re.compile(r"https?://\S+")


def links_in(message: EmailMessage) -> list[str]:
    """The web addresses in the text of ``message``."""
    body = message.get_body(("plain",))
    return LINK.findall(body.get_content()) if isinstance(body, EmailMessage) else []


def deliver(message: EmailMessage, name: str) -> str:
    """Send ``message``; returns where it went (the outbox file, or the recipient).

    ``name`` ends the outbox file's name, so a reader can tell the mails apart. In
    development the log names the links of a mail written to the outbox (a person's
    invitation or reset link, for ``make run``'s reader).
    """
    config = current_app.config
    if not config["SMTP_HOST"]:
        outbox = Path(config["OUTBOX_DIR"])
        outbox.mkdir(parents=True, exist_ok=True)
        path = outbox / f"{utcnow():%Y%m%dT%H%M%S%f}-{name}.eml"
        path.write_bytes(bytes(message))
        log.info("e-mail to %s written to %s (no SMTP_HOST)", message["To"], path)
        if config["BULKAPP_ENV"] == "development":
            for link in links_in(message):
                log.info("link in the e-mail to %s: %s", message["To"], link)
        return str(path)
    with smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=30) as smtp:
        if config["SMTP_STARTTLS"]:
            smtp.starttls()
        if config["SMTP_USER"]:
            smtp.login(config["SMTP_USER"], config["SMTP_PASSWORD"])
        smtp.send_message(message)
    log.info("e-mail to %s sent: %s", message["To"], message["Subject"])
    return message["To"]
