"""An admin watches a running import move on the monitor, then cancels it from its page.

Real gunicorn, a real ``rq worker`` and Chromium; the import is made slow with the small
chunks of the live stack's ``LIVE_SETTINGS``.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from redis import Redis

from bulkapp.jobs.queues import enqueue_import
from tests.conftest import PASSWORD
from tests.e2e.browser import UI_TIMEOUT_MS, sign_in

# ~2,500 of the live stack's 20-row chunks: minutes of work, canceled after seconds.
ROWS = 50_000


def csp_violations(page: Page) -> list[str]:
    """Collects the console's Content-Security-Policy complaints for ``page``."""
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return violations


def progress_of(page: Page, job_id: str) -> int:
    return page.evaluate(
        "id => document.querySelector(`tr[data-job-id='${id}'] progress`).value", job_id
    )


@pytest.mark.e2e
def test_admin_sees_a_running_import_progress_on_the_monitor_and_cancels_it(
    page: Page, e2e_accounts, e2e_root
):
    csv_path = e2e_root / "many-mechanics.csv"
    csv_path.write_text(
        "firstName,lastName,email,mobileNumber\n"
        + "".join(f"First{i},Last{i},mechanic{i}@example.com,082{i:07d}\n" for i in range(ROWS))
    )

    violations = csp_violations(page)
    sign_in(page, e2e_accounts.admin_email)
    page.get_by_role("link", name="Upload", exact=True).click()
    page.select_option("#entity_type", "mechanics")
    page.set_input_files("#file", str(csv_path))
    page.check("#import_when_certain")  # exact headers: no need to stop at the review
    page.get_by_role("button", name="Upload").click()
    expect(page).to_have_url(re.compile(r"/jobs/[0-9a-f-]{36}$"))
    job_id = page.url.rsplit("/", 1)[-1]
    expect(page.locator("#job-status")).to_have_text("processing", timeout=UI_TIMEOUT_MS)

    page.get_by_role("link", name="Admin", exact=True).click()
    row = page.locator(f"tr[data-job-id='{job_id}']")
    expect(row.locator("[data-job-status]")).to_have_text("processing")
    expect(page.locator("[data-stat='bulk-upload-mechanics|active']")).to_have_text("1")
    page.evaluate("window.monitorSameDocument = true")
    before = progress_of(page, job_id)
    page.wait_for_function(
        "([id, before]) => "
        "document.querySelector(`tr[data-job-id='${id}'] progress`).value > before",
        arg=[job_id, before],
        timeout=UI_TIMEOUT_MS,
    )
    assert page.evaluate("window.monitorSameDocument === true"), "the monitor was reloaded"

    row.get_by_role("link", name="many-mechanics.csv").click()
    expect(page.locator("#retry-job")).to_be_hidden()
    page.locator("#cancel-job").click()
    expect(page.get_by_text("Cancel requested")).to_be_visible()
    expect(page.locator("#job-status")).to_have_text("canceled", timeout=UI_TIMEOUT_MS)
    expect(page.locator("#retry-job")).to_be_visible()
    expect(page.locator("#cancel-job")).to_be_hidden()
    processed = int(page.locator("#count-processed").inner_text().replace(",", ""))
    assert 0 < processed < ROWS, "stopped at a chunk boundary, keeping what it saved"
    assert violations == []


@pytest.mark.e2e
def test_rq_dashboard_works_under_its_own_csp_for_a_super_admin(page: Page, flask_cli, live_stack):
    enqueue_import(Redis.from_url(live_stack.redis_url), "bulk-upload-mechanics", "no-such-job")
    flask_cli("orgs", "create", "Operators", "--slug", "operators")
    flask_cli(
        "users",
        "create",
        "--org",
        "operators",
        "--email",
        "root@ops.example",
        "--role",
        "super_admin",
        "--password",
        PASSWORD,
    )
    violations = csp_violations(page)
    sign_in(page, "root@ops.example")
    page.goto("/admin/")
    page.get_by_role("link", name="Open rq-dashboard").click()
    expect(page).to_have_url(re.compile(r"/admin/rq/$"))
    # The queue rows are drawn by rq-dashboard's scripts (inline, with underscore templates).
    expect(page.get_by_role("cell", name="bulk-upload-mechanics", exact=True)).to_be_visible()
    assert violations == []
