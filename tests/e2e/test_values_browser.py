"""Values as people write them, in Chromium: a member uploads a policies CSV written the
South African way (decimal commas, a space between thousands) with a column nobody reads,
and a mechanics JSON export with a nested workshop object and a list of skills. The review
lists what is not imported and how numbers were read; a changed mapping is imported with one
press of Import; the database holds 450.50, the workshop's name, city and province, the
skills joined and the column mapped by hand. Real gunicorn, a real ``rq worker`` and
Chromium (the live stack)."""

from __future__ import annotations

import json
import re
import uuid
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import create_engine, select

from bulkapp.config import normalise_database_url
from bulkapp.models import ENTITY_TABLES
from tests.e2e.browser import UI_TIMEOUT_MS, sign_in


def stored(database_url: str, entity: str, key: str, keys: list[str], columns: list[str]):
    """``columns`` of the ``entity`` records whose ``key`` is one of ``keys``, by key."""
    engine = create_engine(normalise_database_url(database_url))
    table = ENTITY_TABLES[entity]
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(table.c[key], *(table.c[c] for c in columns)).where(table.c[key].in_(keys))
            )
            return {row[0]: tuple(row[1:]) for row in rows}
    finally:
        engine.dispose()


def upload(page: Page, path, entity: str) -> None:
    page.get_by_role("link", name="Upload", exact=True).click()
    page.select_option("#entity_type", entity)
    page.uncheck("#import_when_certain")
    page.set_input_files("#file", str(path))
    page.get_by_role("button", name="Upload").click()
    expect(page).to_have_url(re.compile(r"/jobs/[0-9a-f-]{36}/review$"), timeout=UI_TIMEOUT_MS)


@pytest.mark.e2e
def test_numbers_and_nested_values_are_imported_as_people_meant(
    page: Page, e2e_accounts, e2e_root, e2e_env
):
    tag = uuid.uuid4().hex[:8]
    database = e2e_env["DATABASE_URL"]
    sign_in(page, e2e_accounts.member_email)

    policies = e2e_root / f"policies-{tag}.csv"
    policies.write_text(
        "Policy No;Type;Premium;Client;Remarks\n"
        f"POL-{tag}-1;motor;450,50;Thandi Nkosi;call back\n"
        f"POL-{tag}-2;home;1 234,75;Johan Botha;\n",
        encoding="utf-8",
    )
    upload(page, policies, "policies")
    expect(page.locator("#not-imported")).to_contain_text("Remarks")
    expect(page.locator("#not-imported")).to_contain_text("call back")
    expect(page.locator("#reading-premium")).to_contain_text("decimal comma")
    expect(page.locator("#reading-premium")).to_contain_text("450.50")
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.locator("#job-status")).to_have_text("completed", timeout=UI_TIMEOUT_MS)
    numbers = [f"POL-{tag}-1", f"POL-{tag}-2"]
    assert stored(database, "policies", "policy_number", numbers, ["premium"]) == {
        numbers[0]: (Decimal("450.50"),),
        numbers[1]: (Decimal("1234.75"),),
    }

    email = f"sipho.{tag}@example.com"
    mechanics = e2e_root / f"mechanics-{tag}.json"
    mechanics.write_text(
        json.dumps(
            [
                {
                    "firstName": "Sipho",
                    "lastName": "Dlamini",
                    "email": email,
                    "mobileNumber": "0821234567",
                    "workshop": {"name": "Doe Motors", "city": "Polokwane", "province": "Limpopo"},
                    "skills": ["Diesel", "Auto electrical"],
                    "level": 7,
                }
            ]
        ),
        encoding="utf-8",
    )
    upload(page, mechanics, "mechanics")
    expect(page.locator("#mapping-table")).to_contain_text("workshop.city")
    expect(page.locator("#not-imported")).to_contain_text("level")
    page.get_by_label("Field for level").select_option("years_experience")  # the change
    page.get_by_label("Field for skills").select_option("specialisation")
    page.get_by_label("Field for workshop.name").select_option("workshop_name")
    page.get_by_label("Field for workshop.city").select_option("city")
    page.get_by_label("Field for workshop.province").select_option("province")
    page.get_by_role("button", name="Import", exact=True).click()  # once
    expect(page.locator("#job-status")).to_have_text("completed", timeout=UI_TIMEOUT_MS)
    columns = ["workshop_name", "city", "province", "specialisation", "years_experience"]
    assert stored(database, "mechanics", "email", [email], columns) == {
        email: ("Doe Motors", "Polokwane", "Limpopo", "Diesel, Auto electrical", 7)
    }
