"""In Chromium: a member uploads mechanics with two bad e-mail addresses and an unknown
province; the review predicts three rejected rows. From the review they open the fix page on
those rows, fix the two e-mails in their cells, start the import from the page, and see the
job complete with the fixed rows stored and only the province's row rejected."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.browser import UI_TIMEOUT_MS, sign_in, upload_through_form

HEADER = "firstName,lastName,email,mobileNumber,province"


@pytest.mark.e2e
def test_predicted_rows_are_fixed_in_review_and_imported_with_the_file(
    page: Page, e2e_accounts, e2e_root
):
    tag = uuid.uuid4().hex[:8]
    path = e2e_root / f"predicted-{tag}.csv"
    lines = [
        f"Thandi,Mokoena,thandi.{tag}@example.com,0821234567,Gauteng",
        f"Pieter,Botha,pieter.{tag}-at-example.com,0832345678,Gauteng",
        f"Aisha,Naidoo,aisha.{tag}@,0843456789,Western Cape",
        f"Sipho,Dlamini,sipho.{tag}@example.com,0724567890,Atlantis",
    ]
    path.write_text("\n".join([HEADER, *lines]) + "\n")
    sign_in(page, e2e_accounts.member_email)
    job_url = upload_through_form(page, path)
    expect(page.locator("#import-file")).to_be_visible(timeout=UI_TIMEOUT_MS)
    expect(page.locator("#review-rejected")).to_have_text("3")

    page.locator("#review-fix-link").click()
    expect(
        page.get_by_role("heading", name="Fix the rows the review predicts will be rejected")
    ).to_be_visible()
    grid = page.locator("#fix-grid")
    expect(grid.locator("tbody tr")).to_have_count(3)
    expect(page.locator("#fix-count-invalid")).to_have_text("3")
    pieter = grid.locator("input.fix-cell[data-row='3'][data-column='2']")
    aisha = grid.locator("input.fix-cell[data-row='4'][data-column='2']")
    expect(pieter).to_have_class(re.compile("fix-invalid"))

    pieter.fill(f"pieter.{tag}@example.com")
    page.keyboard.press("Tab")
    expect(grid.locator("[data-state='3']")).to_have_text("fixed")
    aisha.fill(f"aisha.{tag}@example.com")
    page.keyboard.press("Enter")
    expect(grid.locator("[data-state='4']")).to_have_text("fixed")
    expect(aisha).not_to_have_class(re.compile("fix-invalid"))
    expect(page.locator("#fix-count-fixed")).to_have_text("2")
    expect(page.locator("#fix-count-invalid")).to_have_text("1")

    page.locator("#fix-start-import-button").click()
    expect(page.locator("#job-status")).to_have_text("completed", timeout=UI_TIMEOUT_MS)
    expect(page.locator("#count-total")).to_have_text("4")
    expect(page.locator("#count-inserted")).to_have_text("3")
    expect(page.locator("#count-invalid")).to_have_text("1")

    # The import's own rejected row replaced the predicted ones.
    page.goto(job_url)
    page.locator("#job-fix-link").click()
    expect(page.get_by_role("heading", name="Fix the rejected rows")).to_be_visible()
    expect(grid.locator("tbody tr")).to_have_count(1)
    expect(grid.locator("[data-state='5']")).to_have_text("invalid")
    page.screenshot(path=str(e2e_root / "fix-predicted.png"), full_page=True)
