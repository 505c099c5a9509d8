"""When an import ends: an e-mail (outbox file, or a real SMTP conversation) and a webhook
POST with retries, sent from the notifications queue."""

import json
import socketserver
import threading
from email import message_from_bytes, message_from_string
from email.policy import default
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from rq import Queue

from bulkapp.extensions import db, get_redis
from bulkapp.models import Organisation
from tests.conftest import run_worker
from tests.jobs.conftest import mechanics_csv, upload


def set_webhook(app, organisation_id: int, url: str) -> None:
    with app.app_context():
        db.session.get(Organisation, organisation_id).webhook_url = url
        db.session.commit()


@pytest.fixture
def webhook_endpoint():
    """A real HTTP server answering with the given statuses in turn; records what it got."""
    received: list[dict] = []
    statuses: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"body": json.loads(body), "type": self.headers["Content-Type"]})
            self.send_response(statuses.pop(0) if statuses else 200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received, statuses
    server.shutdown()


@pytest.fixture
def smtp_server():
    """A minimal real SMTP server (no TLS, no auth) that keeps the messages it accepts."""
    messages: list[bytes] = []

    class Handler(socketserver.StreamRequestHandler):
        def reply(self, line: str) -> None:
            self.wfile.write(line.encode() + b"\r\n")

        def handle(self):
            self.reply("220 test ESMTP")
            while line := self.rfile.readline():
                command = line.decode().strip().upper()
                if command.startswith(("EHLO", "HELO")):
                    self.reply("250 test")
                elif command == "DATA":
                    self.reply("354 go on")
                    data = b"".join(iter(lambda: self.rfile.readline(), b".\r\n"))
                    messages.append(data)
                    self.reply("250 queued")
                elif command == "QUIT":
                    self.reply("221 bye")
                    return
                else:
                    self.reply("250 ok")

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], messages
    server.shutdown()
    server.server_close()


def test_the_uploader_gets_an_email_in_the_outbox_when_the_import_ends(app, user_a):
    app.config["PUBLIC_URL"] = "https://bulk.example.org"
    job_id = upload(app, user_a, mechanics_csv(3), filename="garage.csv")
    run_worker(app)
    [eml] = Path(app.config["OUTBOX_DIR"]).glob("*.eml")
    message = message_from_bytes(eml.read_bytes(), policy=default)
    assert message["To"] == user_a.email
    assert message["Subject"] == "Import of garage.csv completed"
    body = message.get_content()
    assert "Rows: 3 · valid 3 · rejected 0" in body
    assert f"https://bulk.example.org/jobs/{job_id}" in body


def test_with_smtp_host_the_email_is_sent_over_smtp(app, user_a, smtp_server):
    port, messages = smtp_server
    app.config.update(
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=port,
        SMTP_STARTTLS=False,
        MAIL_FROM="imports@bulk.example.org",
    )
    upload(app, user_a, mechanics_csv(2), filename="garage.csv")
    run_worker(app)
    [raw] = messages
    message = message_from_string(raw.decode(), policy=default)
    assert (message["From"], message["To"]) == ("imports@bulk.example.org", user_a.email)
    assert message["Subject"] == "Import of garage.csv completed"
    assert not Path(app.config["OUTBOX_DIR"]).exists()


def test_the_webhook_gets_a_json_summary_and_is_retried_until_it_accepts(
    app, user_a, webhook_endpoint
):
    url, received, statuses = webhook_endpoint
    statuses.extend([500, 503])
    app.config["WEBHOOK_RETRY_INTERVALS"] = (0, 0, 0)
    set_webhook(app, user_a.organisation_id, url)
    job_id = upload(app, user_a, mechanics_csv(2))
    run_worker(app)
    assert len(received) == 3, "two refusals, then accepted"
    payload = received[-1]["body"]
    assert received[-1]["type"] == "application/json"
    assert (payload["event"], payload["organisation"]) == ("import.finished", "org-a")
    assert (payload["job"]["id"], payload["job"]["status"]) == (job_id, "completed")
    assert payload["job"]["counts"]["inserted"] == 2


def test_a_webhook_that_keeps_failing_ends_in_the_failed_registry(app, user_a, webhook_endpoint):
    url, received, statuses = webhook_endpoint
    statuses.extend([500] * 10)
    app.config["WEBHOOK_RETRY_INTERVALS"] = (0, 0)
    set_webhook(app, user_a.organisation_id, url)
    upload(app, user_a, mechanics_csv(1))
    run_worker(app)
    assert len(received) == 3
    with app.app_context():
        assert Queue("notifications", connection=get_redis()).failed_job_registry.count == 1


def test_a_webhook_that_is_not_http_is_never_called(app, user_a, tmp_path):
    target = tmp_path / "target.txt"
    set_webhook(app, user_a.organisation_id, f"file://{target}")
    upload(app, user_a, mechanics_csv(1))
    run_worker(app)
    assert not target.exists()
    with app.app_context():
        assert Queue("notifications", connection=get_redis()).failed_job_registry.count == 0
