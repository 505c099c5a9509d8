"""A member uploads a workbook whose phone column is "Cell Number", beside a column nobody
knows, maps them on the review page in Chromium, imports, finds the numbers stored, and is
not asked again for a workbook with the same headers."""

from __future__ import annotations

import re
import uuid

import pytest
from openpyxl import Workbook
from playwright.sync_api import Page, expect
from sqlalchemy import create_engine, select

from bulkapp.config import normalise_database_url
from bulkapp.models import ENTITY_TABLES
from tests.e2e.browser import UI_TIMEOUT_MS, sign_in

HEADERS = ["First Name", "Surname", "Email", "Cell Number", "Favourite Colour"]


def workbook(path, people: list[tuple[str, str, str, str, str]]) -> None:
    """An .xlsx with HEADERS and one row per person."""
    book = Workbook()
    sheet = book.active
    sheet.append(HEADERS)
    for person in people:
        sheet.append(list(person))
    book.save(path)


def stored_numbers(database_url: str, emails: list[str]) -> dict[str, str]:
    engine = create_engine(normalise_database_url(database_url))
    table = ENTITY_TABLES["mechanics"]
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(table.c.email, table.c.mobile_number).where(table.c.email.in_(emails))
            )
            return dict(rows.all())
    finally:
        engine.dispose()


def upload(page: Page, path) -> None:
    page.get_by_role("link", name="Upload", exact=True).click()
    expect(page.locator("#entity_type")).to_have_value("detect")
    page.uncheck("#import_when_certain")
    page.set_input_files("#file", str(path))
    page.get_by_role("button", name="Upload").click()


@pytest.mark.e2e
def test_a_workbook_is_reviewed_once_then_its_headers_are_remembered(
    page: Page, e2e_accounts, e2e_root, e2e_env
):
    tag = uuid.uuid4().hex[:8]
    people = [
        ("Lerato", "Khumalo", f"lerato.{tag}@example.com", "082 555 0101", "green"),
        ("Johan", "Botha", f"johan.{tag}@example.com", "083 555 0102", "blue"),
    ]
    first = e2e_root / f"staff-{tag}.xlsx"
    workbook(first, people)

    sign_in(page, e2e_accounts.member_email)
    upload(page, first)
    expect(page).to_have_url(re.compile(r"/jobs/[0-9a-f-]{36}/review$"), timeout=UI_TIMEOUT_MS)
    job_url = page.url.removesuffix("/review")
    table = page.locator("#mapping-table")
    expect(table).to_contain_text("Cell Number")
    expect(table).to_contain_text("082 555 0101")
    cell = page.get_by_label("Field for Cell Number")
    colour = page.get_by_label("Field for Favourite Colour")
    cell.select_option("mobile_number")
    colour.select_option("")
    expect(page.locator("#review-inserted")).to_have_text("2")
    page.screenshot(path=str(e2e_root / "review.png"), full_page=True)
    page.get_by_role("button", name="Import", exact=True).click()

    expect(page).to_have_url(job_url)
    expect(page.locator("#job-status")).to_have_text("completed", timeout=UI_TIMEOUT_MS)
    expect(page.locator("#count-inserted")).to_have_text("2")
    emails = [person[2] for person in people]
    assert stored_numbers(e2e_env["DATABASE_URL"], emails) == {
        emails[0]: "0825550101",
        emails[1]: "0835550102",
    }

    page.get_by_role("link", name="Mappings", exact=True).click()
    expect(page.locator("#saved-mappings")).to_contain_text("Cell Number → Mobile number")

    again = e2e_root / f"staff-{tag}-again.xlsx"
    workbook(again, [(*people[0][:3], "082 555 0199", "red")])
    upload(page, again)
    expect(page).to_have_url(re.compile(r"/jobs/[0-9a-f-]{36}$"))
    expect(page.locator("#job-status")).to_have_text("completed", timeout=UI_TIMEOUT_MS)
    assert not page.url.endswith("/review"), "the same headers were reviewed a second time"
    expect(page.locator("#job-mapping-note")).to_contain_text("Using the mapping saved on")
    expect(page.locator("#count-updated")).to_have_text("1")
    assert stored_numbers(e2e_env["DATABASE_URL"], emails[:1]) == {emails[0]: "0825550199"}
