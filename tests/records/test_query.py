"""A view's records: search by prefix, filters, sort and keyset pages, both ways a page is
read, within one organisation."""

from __future__ import annotations

import pytest

from bulkapp.entities import get_entity
from bulkapp.records import RecordsError
from bulkapp.records.query import count_up_to, find_record, iter_records, read_page
from bulkapp.records.view import parse_view
from tests.records.conftest import add_records, mechanic

MECHANICS = get_entity("mechanics")


@pytest.fixture
def records(app, user_a, user_b):
    """40 mechanics in organisation A, and one of B that shares A's names."""
    add_records(app, user_a.organisation_id, "mechanics", [mechanic(i) for i in range(40)])
    add_records(
        app,
        user_b.organisation_id,
        "mechanics",
        [mechanic(99, email="john.b@example.com", mobile_number="0820000099")],
    )
    return user_a.organisation_id


def view_of(organisation_id: int, **args: str | list[str]):
    view, errors = parse_view(
        MECHANICS,
        organisation_id,
        {k: v if isinstance(v, list) else [v] for k, v in args.items()},
    )
    assert not errors, errors
    return view


def emails(ctx, organisation_id: int, **args) -> list[str]:
    """Every record of the view, read page by page (3 a page), as e-mail addresses."""
    view = view_of(organisation_id, **args)
    found, after = [], None
    while True:
        page = read_page(view, after=after, limit=3)
        found += [row["email"] for row in page.rows]
        if page.next_cursor is None:
            return found
        after = page.next_cursor


def test_search_finds_each_word_at_the_start_of_a_searched_field(ctx, records, read_plan):
    assert emails(ctx, records, q="thandi", sort="email") == [
        f"thandi.{i}@example.com" for i in (10, 18, 26, 2, 34)
    ]
    # Every word must start one field: John among the Does.
    assert set(emails(ctx, records, q="JOHN doe")) == {
        "john.0@example.com",
        "john.24@example.com",
    }
    # From the start only: "ohn" is inside John, "merwe" inside "van der Merwe".
    assert emails(ctx, records, q="ohn") == [] and emails(ctx, records, q="merwe") == []
    assert len(emails(ctx, records, q="van der")) == 7
    # Organisation B's John is never A's.
    assert "john.b@example.com" not in emails(ctx, records, q="john")


def test_search_takes_wildcards_and_other_letters_as_they_are(ctx, records, read_plan):
    assert emails(ctx, records, q="jo_") == [
        f"jo_anne.{i}@example.com" for i in (38, 30, 22, 14, 6)
    ]
    assert emails(ctx, records, q="j%") == []
    # A-Z in any case; other letters as stored (SQLite's and the byte order's lower()).
    assert len(emails(ctx, records, q="ÉMILE")) == len(emails(ctx, records, q="Émile")) == 5


def test_a_number_is_one_word_in_any_of_its_forms(ctx, records, read_plan):
    # 0820000014 is stored; spaces, +27 and 27 find it too.
    for written in ("082 000 0014", "+27 82 000 0014", "27820000014", "(082) 000-0014"):
        assert emails(ctx, records, q=written) == ["jo_anne.14@example.com"], written
    assert len(emails(ctx, records, q="0820")) == 13


def test_members_are_found_by_id_number_and_policies_by_number_in_any_case(app, ctx, user_a):
    members, policies = get_entity("members"), get_entity("policies")
    add_records(
        app,
        user_a.organisation_id,
        "members",
        [{"first_name": "Ann", "last_name": "Lee", "id_number": "8001015009087"}],
    )
    add_records(
        app, user_a.organisation_id, "policies", [{"policy_number": "POL-77/A", "type": "motor"}]
    )
    view, _ = parse_view(members, user_a.organisation_id, {"q": ["800101 5009"]})
    assert [r["first_name"] for r in read_page(view).rows] == ["Ann"]
    view, _ = parse_view(policies, user_a.organisation_id, {"q": ["pol-77/"]})
    assert [r["policy_number"] for r in read_page(view).rows] == ["POL-77/A"]


def test_filters_by_choice_synonym_range_and_start(ctx, records, read_plan):
    gauteng = emails(ctx, records, province="GP")
    assert sorted(int(e.split("@")[0].split(".")[1]) for e in gauteng) == list(range(0, 40, 4))
    both = emails(ctx, records, province=["Gauteng", "Limpopo"])
    assert len(both) == 20
    assert len(emails(ctx, records, yearsExperienceFrom="10", yearsExperienceTo="14")) == 5
    # "%" in a filter is a percent sign, not a wildcard.
    assert len(emails(ctx, records, city="50%")) == 13
    assert len(emails(ctx, records, city="50")) == 13 and emails(ctx, records, city="%") == []
    # A filter on a searched field, with a search.
    assert emails(ctx, records, lastName="bot", q="thandi") == [
        "thandi.34@example.com",
        "thandi.10@example.com",
    ]


def test_parse_view_reports_what_it_ignored(ctx, records):
    view, errors = parse_view(
        MECHANICS,
        records,
        {"province": ["Atlantis"], "yearsExperienceFrom": ["ten"], "sort": ["city"]},
    )
    assert view.conditions == () and view.sort == "-added"
    assert errors == [
        "Records cannot be sorted by 'city'; sort by one of: added, email, firstName, "
        "lastName, mobileNumber.",
        "yearsExperience must be a whole number such as 12; 'ten' is not.",
        "Unknown province 'Atlantis'; choose one of: Eastern Cape, Free State, Gauteng, "
        "KwaZulu-Natal, Limpopo, Mpumalanga, North West, Northern Cape, Western Cape.",
    ]


SORTS = ["-added", "added", "lastName", "-lastName", "email", "-email", "mobileNumber"]


def test_pages_walk_every_record_once_in_order_both_ways(ctx, records, read_plan):
    for sort in SORTS:
        for q in ("", "j"):
            view = view_of(records, sort=sort, q=q)
            expected = [row["id"] for row in _all_sorted(ctx, records, sort, q)]
            pages = _pages(view)
            assert [row["id"] for page in pages for row in page.rows] == expected, (sort, q)
            assert pages[0].previous_cursor is None and len(pages) == -(-len(expected) // 4)
            # Back again from the last page, with the previous-page cursors.
            backward, page = [], pages[-1]
            while page.previous_cursor is not None:
                page = read_page(view, before=page.previous_cursor, limit=4)
                backward = [row["id"] for row in page.rows] + backward
            assert backward + [row["id"] for row in pages[-1].rows] == expected, (sort, q)


def _pages(view):
    pages, after = [], None
    while True:
        page = read_page(view, after=after, limit=4)
        pages.append(page)
        if page.next_cursor is None:
            return pages
        after = page.next_cursor


def _all_sorted(ctx, organisation_id, sort, q):
    """Every matching record, sorted in Python the way the view sorts (A-Z folded)."""
    from sqlalchemy import select

    from bulkapp.extensions import db
    from bulkapp.models import ENTITY_TABLES

    table = ENTITY_TABLES["mechanics"]
    rows = db.session.execute(
        select(table).where(table.c.organisation_id == organisation_id)
    ).mappings()
    name = {
        "added": "id",
        "lastName": "last_name",
        "email": "email",
        "mobileNumber": "mobile_number",
    }
    column = name[sort.removeprefix("-")]

    def matches(row):
        return not q or any(
            str(row[f]).lower().startswith(q) for f in ("first_name", "last_name", "email")
        )

    def key(row):
        value = row[column]
        return (
            value.translate(
                str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
            )
            if isinstance(value, str)
            else value,
            row["id"],
        )

    return sorted(filter(matches, rows), key=key, reverse=sort.startswith("-"))


def test_a_search_that_the_index_drives_knows_its_total(ctx, records, monkeypatch):
    assert read_page(view_of(records, q="thandi"), limit=2).total == 5
    assert read_page(view_of(records), limit=2).total is None
    assert count_up_to(view_of(records, q="thandi"), 3) == 4
    assert count_up_to(view_of(records, province="Gauteng"), 100) == 10


def test_iter_records_reads_every_record_in_batches(ctx, records):
    assert [row["id"] for row in iter_records(view_of(records, sort="added"), batch=7)] == list(
        range(1, 41)
    )


@pytest.mark.parametrize(
    "cursor",
    ["not-a-cursor", "WyJsYXN0TmFtZSIsICJ4IiwgMV0", "WyJhZGRlZCIsICJ4IiwgMV0", "bnVsbA"],
)
def test_a_cursor_of_another_sort_or_none_at_all_is_refused(ctx, records, cursor):
    # WyJsYXN0TmFtZSIsICJ4IiwgMV0 is ["lastName", "x", 1]; WyJhZGRlZCIsICJ4IiwgMV0 is
    # ["added", "x", 1] (text where the id is); bnVsbA is null.
    with pytest.raises(RecordsError) as raised:
        read_page(view_of(records), after=cursor)
    assert raised.value.status == 422 and raised.value.code == "invalid_cursor"


def test_find_record_by_its_natural_key_within_the_organisation(ctx, records, user_b):
    assert find_record(MECHANICS, records, " John.0@Example.com ")["first_name"] == "John"
    assert find_record(MECHANICS, records, "john.b@example.com") is None
    assert find_record(MECHANICS, user_b.organisation_id, "john.b@example.com") is not None
