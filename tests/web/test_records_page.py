"""The records pages: an entity type's records a page at a time (search, filters, sort), a
record's page, organisation scoping and the super admin's organisation picker."""

from __future__ import annotations

import re
from decimal import Decimal
from html import unescape
from urllib.parse import quote

from bulkapp.jobs.attempts import run_import
from tests.conftest import login, uploaded_job_id, web_upload
from tests.records.conftest import add_records, mechanic


def grid_emails(html: str) -> list[str]:
    """The e-mail addresses in the records grid, in order."""
    return re.findall(r'<td data-column="email"><a href="[^"]+">([^<]+)</a>', html)


def link(html: str, rel: str) -> str | None:
    """The pager's ``rel`` link (next, prev, first)."""
    found = re.search(rf'<a href="([^"]+)" rel="{rel}">', html)
    return unescape(found.group(1)) if found else None


def test_an_upload_shows_on_the_records_page_with_the_fields_labels(app, client_a):
    job_id = uploaded_job_id(
        web_upload(
            client_a,
            b"First Name,Surname,E-mail,Cell,Province\n"
            b"Ann,Lee,ann@x.com,0821234567,GP\nBob,Kay,BOB@x.com,0831234567,\n",
        )
    )
    with app.app_context():
        run_import(job_id)
    home = client_a.get("/jobs").get_data(as_text=True)
    assert '<a href="/records">Records</a>' in home
    response = client_a.get("/records", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "<h1>Records</h1>" in page
    header = r'<th scope="col" data-column="[^"]+"[^>]*>\s*(?:<a [^>]+>)?([\w ]+)'
    headers = re.findall(header, page)
    assert headers == [  # by their titles: the API keeps the field names
        "First name",
        "Last name",
        "Email",
        "Mobile number",
        "Specialisation",
        "Years experience",
        "Workshop name",
        "City",
        "Province",
    ]
    assert grid_emails(page) == ["bob@x.com", "ann@x.com"]  # newest first
    assert '<td data-column="province">Gauteng</td>' in page
    assert 'src="/static/grid.js"' in page and "data-grid" in page


def test_search_filters_and_sort_are_kept_across_pages(app, client_a, user_a):
    add_records(app, user_a.organisation_id, "mechanics", [mechanic(i) for i in range(130)])
    first = client_a.get("/records/mechanics?q=jo&sort=lastName&province=Gauteng")
    html = first.get_data(as_text=True)
    shown = grid_emails(html)
    # John and jo_anne (numbers 0 and 6 mod 8) in Gauteng (0 mod 4): 0, 8, 16, ... of 8.
    expected_count = len([i for i in range(130) if i % 8 == 0 and i % 4 == 0])
    assert f"{expected_count} records match" in html
    assert len(shown) == min(50, expected_count)
    assert 'aria-sort="ascending"' in html and link(html, "prev") is None
    assert 'value="jo"' in html  # the search box keeps the query
    assert '<option value="Gauteng" selected>' in html


def test_pages_follow_next_and_previous(app, client_a, user_a):
    add_records(app, user_a.organisation_id, "mechanics", [mechanic(i) for i in range(120)])
    seen, html = [], client_a.get("/records/mechanics?sort=email").get_data(as_text=True)
    pages = [html]
    while (next_url := link(html, "next")) is not None:
        assert "sort=email" in next_url
        html = client_a.get(next_url).get_data(as_text=True)
        pages.append(html)
    for page in pages:
        seen += grid_emails(page)
    assert len(pages) == 3 and len(seen) == 120 and seen == sorted(seen)
    back = client_a.get(link(pages[-1], "prev")).get_data(as_text=True)
    assert grid_emails(back) == grid_emails(pages[1])
    assert link(pages[-1], "first").endswith("/records/mechanics?sort=email")


def test_sort_links_reverse_the_order_and_keep_the_search(app, client_a, user_a):
    add_records(app, user_a.organisation_id, "mechanics", [mechanic(i) for i in range(10)])
    html = client_a.get("/records/mechanics?q=j&sort=email").get_data(as_text=True)
    header = re.search(r'<th scope="col" data-column="email"[^>]*>\s*<a href="([^"]+)"', html)
    assert header and unescape(header.group(1)) == "/records/mechanics?q=j&sort=-email"
    not_sortable = re.search(r'<th scope="col" data-column="city"[^>]*>([^<]*)<', html)
    assert not_sortable and not_sortable.group(1).strip() == "City"


def test_what_cannot_be_used_is_said_and_the_rest_applies(app, client_a, user_a):
    add_records(app, user_a.organisation_id, "mechanics", [mechanic(i) for i in range(8)])
    html = client_a.get("/records/mechanics?province=Atlantis&sort=city").get_data(as_text=True)
    assert "Unknown province &#39;Atlantis&#39;" in html
    assert "Records cannot be sorted by &#39;city&#39;" in html
    assert len(grid_emails(html)) == 8
    bad = client_a.get("/records/mechanics?after=garbage")
    assert bad.status_code == 422 and "The cursor is not valid" in bad.get_data(as_text=True)
    assert client_a.get("/records/boats").status_code == 404


def test_a_record_page_shows_its_values_by_label(app, client_a, user_a):
    add_records(
        app,
        user_a.organisation_id,
        "policies",
        [
            {
                "policy_number": "POL/7 A",
                "type": "motor",
                "premium": Decimal("150.50"),
                "status": None,
            }
        ],
    )
    html = client_a.get("/records/policies").get_data(as_text=True)
    href = re.search(r'<a href="(/records/policies/[^"]+)">POL/7 A</a>', html)
    assert href, html
    record = client_a.get(unescape(href.group(1)))
    page = record.get_data(as_text=True)
    assert record.status_code == 200 and "<h1>POL/7 A</h1>" in page
    assert '<dt>Premium</dt><dd data-field="premium">150.50</dd>' in page
    assert '<dd data-field="status">–</dd>' in page
    assert client_a.get("/records/policies/" + quote("POL/7 A")).status_code == 200
    assert client_a.get("/records/policies/POL/7 B").status_code == 404


def test_another_organisations_records_are_not_found(app, client_a, client_b, user_a, user_b):
    add_records(app, user_a.organisation_id, "mechanics", [mechanic(1)])
    add_records(app, user_b.organisation_id, "mechanics", [mechanic(2)])
    assert client_a.get("/records/mechanics/joan.1@example.com").status_code == 200
    assert client_b.get("/records/mechanics/joan.1@example.com").status_code == 404
    assert grid_emails(client_b.get("/records/mechanics").get_data(as_text=True)) == [
        "thandi.2@example.com"
    ]
    # Naming organisation A does not help B's member.
    a = user_a.organisation_id
    assert client_b.get(f"/records/mechanics?organisation={a}").status_code == 404
    assert (
        client_b.get(f"/records/mechanics/joan.1@example.com?organisation={a}").status_code == 404
    )
    assert client_b.get("/records/mechanics?organisation=x").status_code == 404


def test_a_super_admin_picks_the_organisation(app, super_admin, user_a):
    add_records(app, user_a.organisation_id, "mechanics", [mechanic(1)])
    client = login(app.test_client(), super_admin.email)
    own = client.get("/records/mechanics").get_data(as_text=True)
    assert 'id="organisation-picker"' in own and grid_emails(own) == []
    a = user_a.organisation_id
    html = client.get(f"/records/mechanics?organisation={a}").get_data(as_text=True)
    assert grid_emails(html) == ["joan.1@example.com"]
    assert f'href="/records/mechanics/joan.1@example.com?organisation={a}"' in html
    assert client.get(f"/records/mechanics/joan.1@example.com?organisation={a}").status_code == 200
    assert client.get("/records/mechanics/joan.1@example.com").status_code == 404
    assert client.get("/records/mechanics?organisation=999999").status_code == 404
