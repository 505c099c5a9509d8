"""In Chromium: a member imports mechanics with two bad e-mail addresses and an unknown
province, opens the fix page from the job, fixes the two e-mails in their cells (Tab and
Enter), the province column in bulk, sees the errors clear, sends the fixed rows, and sees the
follow-up job complete with exactly those three rows."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.browser import UI_TIMEOUT_MS, sign_in, upload_through_form

HEADER = "firstName,lastName,email,mobileNumber,province"


@pytest.mark.e2e
def test_rejected_rows_are_fixed_in_the_browser_and_sent(page: Page, e2e_accounts, e2e_root):
    tag = uuid.uuid4().hex[:8]
    path = e2e_root / f"fix-{tag}.csv"
    lines = [
        f"Thandi,Mokoena,thandi.{tag}@example.com,0821234567,Gauteng",
        f"Pieter,Botha,pieter.{tag}-at-example.com,0832345678,Gauteng",
        f"Aisha,Naidoo,aisha.{tag}@,0843456789,Western Cape",
        f"Sipho,Dlamini,sipho.{tag}@example.com,0724567890,Atlantis",
        f"Lerato,Khumalo,lerato.{tag}@example.com,12,Limpopo",
    ]
    path.write_text("\n".join([HEADER, *lines]) + "\n")
    sign_in(page, e2e_accounts.member_email)
    job_url = upload_through_form(page, path)
    # The unknown province stops the file at its review (the job page opens it): import it as
    # it is.
    expect(page.locator("#import-file")).to_be_visible(timeout=UI_TIMEOUT_MS)
    page.locator("#import-file").click()
    expect(page.locator("#job-status")).to_have_text("completed", timeout=UI_TIMEOUT_MS)
    expect(page.locator("#count-invalid")).to_have_text("4")

    page.locator("#job-fix-link").click()
    expect(page.get_by_role("heading", name="Fix the rejected rows")).to_be_visible()
    grid = page.locator("#fix-grid")
    expect(grid.locator("tbody tr")).to_have_count(4)
    expect(page.locator("#fix-count-invalid")).to_have_text("4")
    pieter = grid.locator("input.fix-cell[data-row='3'][data-column='2']")
    aisha = grid.locator("input.fix-cell[data-row='4'][data-column='2']")
    expect(pieter).to_have_class(re.compile("fix-invalid"))
    expect(aisha).to_have_attribute("title", re.compile("Email is not"))  # its title

    # Inline: type, Tab moves on (and saves); type, Enter saves and moves down.
    pieter.fill(f"pieter.{tag}@example.com")
    page.keyboard.press("Tab")
    expect(grid.locator("input.fix-cell[data-row='3'][data-column='3']")).to_be_focused()
    expect(pieter).not_to_have_class(re.compile("fix-invalid"))
    expect(grid.locator("[data-state='3']")).to_have_text("fixed")
    aisha.fill(f"aisha.{tag}@example.com")
    page.keyboard.press("Enter")
    expect(grid.locator("input.fix-cell[data-row='5'][data-column='2']")).to_be_focused()
    expect(aisha).not_to_have_class(re.compile("fix-invalid"))
    expect(grid.locator("[data-state='4']")).to_have_text("fixed")
    expect(page.locator("#fix-count-fixed")).to_have_text("2")

    # In bulk: every row with a problem in the province column gets Gauteng.
    page.select_option("#fix-filters select[name='column']", "4")  # province
    page.locator("#fix-filters").get_by_role("button", name="Show").click()
    expect(grid.locator("tbody tr")).to_have_count(1)
    page.select_option("#fix-bulk-column", label="Province")
    page.select_option("#fix-bulk-action", "set")
    page.fill("#fix-bulk-value", "Gauteng")
    page.locator("#fix-bulk-apply").click()
    expect(page.get_by_text("1 rows changed and checked again.")).to_be_visible()
    expect(grid.locator("tr.grid-empty")).to_be_visible()  # no province problem left
    expect(page.locator("#fix-count-fixed")).to_have_text("3")
    expect(page.locator("#fix-count-invalid")).to_have_text("1")

    page.locator("#fix-send-button").click()
    expect(page.get_by_text("3 fixed rows were sent as a new import.")).to_be_visible()
    expect(page.locator("h1.file-name")).to_have_text(f"fixes for fix-{tag}.csv")
    expect(page.locator("#job-status")).to_have_text("completed", timeout=UI_TIMEOUT_MS)
    expect(page.locator("#count-total")).to_have_text("3")
    expect(page.locator("#count-inserted")).to_have_text("3")
    expect(page.locator("#count-invalid")).to_have_text("0")

    page.goto(job_url)
    expect(page.locator("#job-follow-ups")).to_contain_text(f"fixes for fix-{tag}.csv")
    expect(page.locator("#job-combined")).to_contain_text("4 inserted")
    expect(page.locator("#job-combined")).to_contain_text("1 rows still to fix")
    page.locator("#job-fix-link").click()
    expect(grid.locator("[data-state='6']")).to_have_text("invalid")
    expect(grid.locator("[data-state='3']")).to_have_text("sent")
    page.screenshot(path=str(e2e_root / "fix-rows.png"), full_page=True)
