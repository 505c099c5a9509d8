"""A user signs in, uploads mechanics in Chromium, and watches a real worker store them."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.browser import UI_TIMEOUT_MS, sign_in

MECHANICS = [
    ("Thandi", "Mokoena", "thandi.mokoena@example.com", "0821234567"),
    ("Pieter", "van Wyk", "pieter.vanwyk@example.com", "0832345678"),
    ("Aisha", "Naidoo", "aisha.naidoo@example.com", "0843456789"),
    ("Sipho", "Dlamini", "sipho.dlamini@example.com", "0724567890"),
]


def mechanics_csv() -> str:
    """The MECHANICS rows as a CSV with the example headers."""
    lines = ["firstName,lastName,email,mobileNumber", *(",".join(row) for row in MECHANICS)]
    return "\n".join(lines) + "\n"


@pytest.mark.e2e
def test_uploaded_csv_is_stored_by_a_worker_and_the_job_page_follows(
    page: Page, e2e_accounts, e2e_root
):
    file_name = f"mechanics-{uuid.uuid4().hex[:8]}.csv"
    csv_path = e2e_root / file_name
    csv_path.write_text(mechanics_csv())

    sign_in(page, e2e_accounts.admin_email)
    page.get_by_role("link", name="Upload", exact=True).click()
    page.select_option("#entity_type", "mechanics")
    page.set_input_files("#file", str(csv_path))
    page.check("#import_when_certain")  # exact headers: no need to stop at the review
    page.get_by_role("button", name="Upload").click()

    expect(page).to_have_url(re.compile(r"/jobs/[0-9a-f-]{32,36}$"))
    expect(page.get_by_role("heading", name=file_name)).to_be_visible()
    page.evaluate("window.e2eSameDocument = true")  # a reload would lose this flag

    expect(page.locator("#job-status")).to_have_text("completed", timeout=UI_TIMEOUT_MS)
    rows = str(len(MECHANICS))
    for count in ("total", "processed", "valid", "inserted"):
        expect(page.locator(f"#count-{count}")).to_have_text(rows)
    for count in ("invalid", "updated"):
        expect(page.locator(f"#count-{count}")).to_have_text("0")
    expect(page.locator("#job-progress-text")).to_have_text("100%")
    expect(page.locator("#job-error")).to_be_hidden()
    assert page.evaluate("window.e2eSameDocument === true"), "the job page was reloaded"
    page.screenshot(path=str(e2e_root / "job-completed.png"), full_page=True)

    page.get_by_role("link", name="Jobs", exact=True).click()
    job_row = page.locator("table.jobs tbody tr", has=page.get_by_role("link", name=file_name))
    expect(job_row).to_have_count(1)
    expect(job_row.locator(".status")).to_have_text("completed")
    rows_cell, valid_cell, rejected_cell = (job_row.locator("td.num").nth(i) for i in range(3))
    expect(rows_cell).to_have_text(f"{rows} / {rows}")
    expect(valid_cell).to_have_text(str(rows))
    expect(rejected_cell).to_have_text("0")
