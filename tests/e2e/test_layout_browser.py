"""The monitor, the job page and the review page fit 1280 and 1024 px wide screens without
sideways scrolling or a choice cut off, with real data that makes them wide: long file names,
a super admin's view of every queue tier and organisation, workers, failed jobs grouped by
cause, and a review of a file with many columns.

Real gunicorn, a real ``rq worker`` and Chromium (the live stack).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from redis import Redis

from bulkapp.jobs.queues import enqueue_import, worker_queue_names
from tests.conftest import PASSWORD
from tests.e2e.browser import UI_TIMEOUT_MS, sign_in, upload_through_form

VIEWPORTS = [(1280, 800), (1024, 768)]
LONG_NAME = "Quarterly_Mechanics_Register_" + "Gauteng_WesternCape_KwaZuluNatal_" * 3 + "v2.csv"
SUPER_ADMIN = "layout-root@ops.example"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"


def overflow(page: Page) -> int:
    """How many pixels the page is wider than the window (0: no sideways scrolling)."""
    return page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )


@pytest.fixture
def wide_data(page: Page, e2e_root: Path, flask_cli, live_stack) -> dict[str, str]:
    """Jobs on every queue tier, two failures of different causes and a long file name,
    uploaded by a super admin of a second organisation with a long name."""
    flask_cli(
        "orgs",
        "create",
        "Layout Operators of the Extended Metropolitan Region",
        "--slug",
        "layout-ops",
    )
    flask_cli(
        "users",
        "create",
        "--org",
        "layout-ops",
        "--email",
        SUPER_ADMIN,
        "--role",
        "super_admin",
        "--password",
        PASSWORD,
    )
    redis = Redis.from_url(live_stack.redis_url)
    for name in worker_queue_names():
        enqueue_import(redis, name, f"layout-{name}")  # no such import: done at once
    sign_in(page, SUPER_ADMIN)
    files = {
        "long": (
            LONG_NAME,
            "firstName,lastName,email,mobileNumber\nAnn,Lee,ann@x.example,0821234567\n",
        ),
        "picture": ("holiday-photo-renamed.csv", PNG),
        "empty": ("header-without-rows.csv", "firstName,lastName,email,mobileNumber\n"),
    }
    urls = {}
    for key, (name, content) in files.items():
        path = e2e_root / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        urls[key] = upload_through_form(page, path)
    for key, status in (("long", "completed"), ("picture", "failed"), ("empty", "failed")):
        page.goto(urls[key])
        expect(page.locator("#job-status")).to_have_text(status, timeout=UI_TIMEOUT_MS)
    return urls


@pytest.mark.e2e
def test_the_monitor_and_job_pages_fit_1280_and_1024_px(browser: Browser, live_stack, wide_data):
    for width, height in VIEWPORTS:
        context = browser.new_context(
            base_url=live_stack.url, viewport={"width": width, "height": height}
        )
        try:
            check_fits(context.new_page(), wide_data, width)
        finally:
            context.close()


def check_fits(page: Page, urls: dict[str, str], width: int) -> None:
    """The monitor and two job pages, at ``width`` px, with their wide content showing."""
    sign_in(page, SUPER_ADMIN)
    page.goto("/admin/")
    # A super admin sees every organisation's failures, other tests' included.
    groups = page.locator("#failure-groups")
    expect(groups).to_contain_text("empty file")
    expect(groups).to_contain_text("not a CSV, Excel or JSON file")
    expect(page.locator("table.admin-jobs").get_by_text(LONG_NAME)).to_be_visible()
    expect(page.locator("#workers-body tr")).not_to_have_count(0)
    visible_tiers = page.locator("table.queues tr.tier-row:not([hidden])")
    assert visible_tiers.count() >= 4, "tiers with jobs are listed"
    assert overflow(page) <= 0, f"the monitor scrolls sideways at {width} px"
    actions = page.locator("table.admin-jobs tbody tr").first.locator("td").last.bounding_box()
    assert actions is not None and actions["x"] + actions["width"] <= width

    for key in ("long", "picture"):
        page.goto(urls[key])
        expect(page.locator("#job-status")).to_be_visible()
        assert overflow(page) <= 0, f"the {key} job page scrolls sideways at {width} px"
    expect(page.get_by_role("link", name="Upload a corrected file")).to_be_visible()
    expect(page.locator("#retry-job")).to_be_hidden()


# Every select of the review whose widest choice does not fit in it (its text cut off, as
# "firstName (requir" was): the widest option's text measured in the select's own font,
# plus its padding and arrow.
CUT_OFF_SELECTS = """() => {
  const context = document.createElement("canvas").getContext("2d");
  return Array.from(document.querySelectorAll("#review-form select")).filter((select) => {
    const style = getComputedStyle(select);
    context.font = style.font;
    const texts = Array.from(select.options, (o) => context.measureText(o.text).width);
    const widest = Math.max(...texts);
    const padding = parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
    const room = select.clientWidth - padding;
    return widest > room - 16;
  }).map((select) => select.id);
}"""


@pytest.mark.e2e
def test_the_review_page_fits_and_cuts_no_choice_off(
    browser: Browser, live_stack, e2e_accounts, e2e_root: Path
):
    wide = e2e_root / "members-wide.csv"
    headers = "Voorname,Van,ID-nommer,Geboortedatum,Selfoon,Provinsie,Munisipaliteit,Wyk,Opmerkings"
    wide.write_text(
        headers
        + "\nThandi,Nkosi,8001015009087,1980-01-01,0821234567,GP,Tshwane,58,"
        + "a remark long enough to make its column wide " * 3
        + "\n",
        encoding="utf-8",
    )
    for width, height in VIEWPORTS:
        context = browser.new_context(
            base_url=live_stack.url, viewport={"width": width, "height": height}
        )
        try:
            page = context.new_page()
            sign_in(page, e2e_accounts.member_email)
            page.goto("/upload")
            page.select_option("#entity_type", "members")
            page.uncheck("#import_when_certain")
            page.set_input_files("#file", str(wide))
            page.get_by_role("button", name="Upload").click()
            expect(page).to_have_url(re.compile(r"/review$"), timeout=UI_TIMEOUT_MS)
            expect(page.locator("#mapping-table")).to_be_visible()
            assert overflow(page) <= 0, f"the review scrolls sideways at {width} px"
            assert page.evaluate(CUT_OFF_SELECTS) == [], f"choices cut off at {width} px"
            buttons = page.locator("#review-form .row-actions").bounding_box()
            assert buttons is not None and buttons["x"] + buttons["width"] <= width
        finally:
            context.close()
