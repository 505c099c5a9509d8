"""An admin invites a colleague in Chromium; the colleague sets a password from the e-mail (sent
by the stack's worker),
signs in and makes an API token; the admin deactivates them, and at once their session and
their token stop working."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Page, expect

from tests.e2e.browser import sign_in
from tests.people.mail import mails_in, password_link
from tests.processes import wait_for

NEW_PASSWORD = "saffron-kettle-harbour-3"


@pytest.mark.e2e
def test_invite_set_password_sign_in_deactivate(page: Page, browser, live_stack, e2e_accounts):
    invitee = f"colleague-{uuid.uuid4().hex[:8]}@e2e.example"
    sign_in(page, e2e_accounts.admin_email)
    page.get_by_role("link", name="People", exact=True).click()
    page.fill("#invite-email", invitee)
    page.fill("#invite-name", "New Colleague")
    page.select_option("#invite-role", "member")
    page.get_by_role("button", name="Invite").click()
    expect(page.get_by_text(f"{invitee} was invited")).to_be_visible()
    row = page.locator(f'tr[data-email="{invitee}"]')
    expect(row.locator(".status")).to_have_text("invited")

    outbox = Path(live_stack.env["INSTANCE_DIR"]) / "outbox"
    invitations = wait_for(lambda: mails_in(outbox, invitee), 120, "the worker to send the mail")
    link = password_link(invitations[-1])
    assert link.startswith("/password/invite/")
    colleague_context = browser.new_context(base_url=live_stack.url)
    colleague = colleague_context.new_page()
    try:
        colleague.goto(link)
        expect(colleague.get_by_text(invitee)).to_be_visible()
        colleague.fill("#password", NEW_PASSWORD)
        colleague.fill("#confirm", NEW_PASSWORD)
        colleague.get_by_role("button", name="Set password").click()
        expect(colleague.get_by_text("Your password is set")).to_be_visible()
        sign_in(colleague, invitee, NEW_PASSWORD)

        colleague.get_by_role("link", name="API tokens", exact=True).click()
        colleague.fill("#name", "browser test")
        colleague.get_by_role("button", name="Create token").click()
        token = colleague.locator("#new-token-value").inner_text().strip()
        jobs_url = f"{live_stack.url}/api/v1/bulk-upload/queue/jobs"
        headers = {"Authorization": f"Bearer {token}"}
        assert requests.get(jobs_url, headers=headers, timeout=30).status_code == 200

        page.reload()
        expect(row.locator(".status")).to_have_text("active")
        row.get_by_text("Deactivate…").click()  # the confirmation step
        row.get_by_role("button", name=f"Deactivate {invitee}").click()
        expect(page.get_by_text(f"{invitee} was deactivated")).to_be_visible()
        expect(row.locator(".status")).to_have_text("deactivated")

        colleague.goto("/jobs")
        expect(colleague).to_have_url(re.compile(r"/login"))
        expect(colleague.get_by_role("button", name="Sign in")).to_be_visible()
        assert requests.get(jobs_url, headers=headers, timeout=30).status_code == 401
    finally:
        colleague_context.close()
