"""In Chromium: a bulk fix of more rows than a request changes is made by the live stack's
worker while the fix page shows it, and the page shows the rows as it left them once it
ends (``static/bulk_fix.js`` polls and reloads)."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.browser import UI_TIMEOUT_MS, sign_in, upload_through_form

ROWS = 2100  # more than BULK_FIX_SYNC_MAX_ROWS (2,000)


@pytest.mark.e2e
def test_a_large_bulk_fix_is_followed_on_the_fix_page(page: Page, e2e_accounts, e2e_root):
    tag = uuid.uuid4().hex[:8]
    path = e2e_root / f"bulk-{tag}.csv"
    rows = [f"First{i},Last{i},m{i}.{tag}example.com,082{i:07d}" for i in range(ROWS)]
    path.write_text("\n".join(["firstName,lastName,email,mobileNumber", *rows]) + "\n")
    sign_in(page, e2e_accounts.member_email)
    job_url = upload_through_form(page, path)
    expect(page.locator("#job-status")).to_have_text("completed", timeout=UI_TIMEOUT_MS)

    page.goto(f"{job_url}/fix")
    expect(page.locator("#fix-count-invalid")).to_have_text("2,100")
    page.select_option("#fix-bulk-column", "2")  # email
    page.select_option("#fix-bulk-action", "replace")
    page.fill("#fix-bulk-find", "example.com")
    page.fill("#fix-bulk-value", "@example.com")
    page.locator("#fix-bulk-apply").click()
    expect(
        page.get_by_text("2,100 rows are being changed and checked again by a worker")
    ).to_be_visible()
    expect(page.locator("#fix-bulk-run")).to_contain_text(
        "went through 2,100 rows and changed 2,100", timeout=UI_TIMEOUT_MS
    )
    expect(page.locator("#fix-count-fixed")).to_have_text("2,100")
    expect(page.locator("#fix-count-invalid")).to_have_text("0")
    expect(page.locator("#fix-grid input.fix-cell[data-row='2'][data-column='2']")).to_have_value(
        f"m0.{tag}@example.com"
    )
    expect(page.locator("#fix-send-button")).to_be_visible()
