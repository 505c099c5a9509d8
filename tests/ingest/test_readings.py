"""How a column's values are read: dates that read two ways, values that mean "empty", values
a person left empty, lists and groups of values from JSON, and columns no field reads."""

from __future__ import annotations

import pandas as pd
import pytest

from bulkapp.entities import get_entity
from bulkapp.ingest.dates import DAY_FIRST, MONTH_FIRST, read_date
from bulkapp.ingest.mapping import MappingChoice, map_headers
from bulkapp.ingest.normalise import normalise_column
from bulkapp.ingest.numbers import DECIMAL_COMMA, DECIMAL_POINT
from bulkapp.ingest.readings import (
    ColumnNotes,
    ColumnReading,
    FileFormats,
    decide,
    is_placeholder,
    reading_warnings,
    unread_data,
)

MECHANICS = get_entity("mechanics")
MEMBERS = get_entity("members")
POLICIES = get_entity("policies")


def run(schema, name, *values, reading=None):
    normalised, errors = normalise_column(list(values), schema.field(name), reading)
    return normalised, dict(errors)


# --- dates -----------------------------------------------------------------------------------

DATES = [  # (as written, read day first, read month first)
    ("2026-03-04", "2026-03-04", "2026-03-04"),
    ("2026/03/04", "2026-03-04", "2026-03-04"),
    ("2026-03-04T08:30:00", "2026-03-04", "2026-03-04"),
    ("03/04/2026", "2026-04-03", "2026-03-04"),
    ("3/4/2026", "2026-04-03", "2026-03-04"),
    ("03-04-2026", "2026-04-03", "2026-03-04"),
    ("31/01/2026", "2026-01-31", None),
    ("01/31/2026", None, "2026-01-31"),
    ("12/12/2026", "2026-12-12", "2026-12-12"),
    ("31.01.2026", "2026-01-31", None),
    ("04.03.2026", "2026-03-04", None),
    ("4 March 2026", "2026-03-04", "2026-03-04"),
    ("4-Mar-2026", "2026-03-04", "2026-03-04"),
    ("4th Mar. 2026", "2026-03-04", "2026-03-04"),
    ("March 4, 2026", "2026-03-04", "2026-03-04"),
    ("4 Maart 2026", "2026-03-04", "2026-03-04"),
    ("25 Desember 2026", "2026-12-25", "2026-12-25"),
    ("31/02/2026", None, None),
    ("13/13/2026", None, None),
    ("03/04/26", None, None),
    ("03/04-2026", None, None),
]


@pytest.mark.parametrize("written, day_first, month_first", DATES, ids=[d[0] for d in DATES])
def test_a_date_reads_day_first_and_month_first(written, day_first, month_first):
    readings = read_date(written)
    assert (readings.day_first, readings.month_first) == (day_first, month_first)


def test_a_date_column_reads_day_first_unless_its_values_show_month_first():
    assert run(POLICIES, "start_date", "03/04/2026", "31/01/2026")[0] == [
        "2026-04-03",
        "2026-01-31",
    ]
    assert run(POLICIES, "start_date", "03/04/2026")[0] == ["2026-04-03"]
    assert run(POLICIES, "start_date", "03/04/2026", "12/31/2026")[0] == [
        "2026-03-04",
        "2026-12-31",
    ]


def test_a_date_column_with_both_orders_rejects_the_dates_that_read_two_ways():
    values, errors = run(POLICIES, "start_date", "31/01/2026", "12/31/2026", "03/04/2026")
    assert values == ["2026-01-31", "2026-12-31", None]
    assert errors[2].startswith("startDate '03/04/2026' could be 2026-04-03 or 2026-03-04")


def test_a_chosen_date_order_reads_every_date_that_reads_two_ways():
    reading = ColumnReading(chosen=MONTH_FIRST)
    assert run(POLICIES, "start_date", "03/04/2026", reading=reading)[0] == ["2026-03-04"]


@pytest.mark.parametrize(
    "field_type, evidence, chosen, decided",
    [
        ("decimal", {}, None, (None, None)),
        ("decimal", {DECIMAL_COMMA: 3}, None, (DECIMAL_COMMA, "file")),
        ("decimal", {DECIMAL_COMMA: 3, DECIMAL_POINT: 1}, None, (None, None)),
        ("decimal", {DECIMAL_COMMA: 3}, DECIMAL_POINT, (DECIMAL_POINT, "mapping")),
        ("integer", {DECIMAL_POINT: 1}, None, (DECIMAL_POINT, "file")),
        ("date", {}, None, (DAY_FIRST, "default")),
        ("date", {MONTH_FIRST: 2}, None, (MONTH_FIRST, "file")),
        ("date", {MONTH_FIRST: 2, DAY_FIRST: 1}, None, (None, None)),
    ],
)
def test_a_column_is_decided_by_the_mapping_else_its_values_else_its_types_default(
    field_type, evidence, chosen, decided
):
    assert decide(field_type, evidence, chosen) == decided


def test_the_whole_file_is_read_once_for_every_column_that_needs_deciding():
    frames_read = []

    def frames():
        frames_read.append(1)
        yield pd.DataFrame([["1,250", "03/04/2026"], ["9,99", "12/31/2026"]], dtype=object)

    fields = [POLICIES.field("premium"), POLICIES.field("start_date")]
    formats = FileFormats(fields, {"premium": 0, "start_date": 1}, {}).reading_file(frames)
    assert formats.whole_column("premium")() == DECIMAL_COMMA
    assert formats.whole_column("start_date")() == MONTH_FIRST
    assert frames_read == [1]


# --- empty values ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "written",
    [
        "N/A",
        "n/a",
        "NA",
        "n.a.",
        "#N/A",
        "-",
        "--",
        "\u2013",
        "none",
        "None",
        "NIL",
        "null",
        "n.v.t.",
        "NVT",
        "nie van toepassing",
        "geen",
        "N/B",
        "not applicable",
    ],
)
def test_placeholders_mean_no_value(written):
    assert is_placeholder(written)


@pytest.mark.parametrize("written", ["Nkosi", "Nia", "0", "Na Yeon", "-5", "none of them", "?"])
def test_values_that_merely_look_like_placeholders_are_values(written):
    assert not is_placeholder(written)


def test_an_optional_field_stores_placeholders_as_empty_and_notes_them():
    notes = ColumnNotes()
    values, errors = run(
        MECHANICS, "province", "N/A", "-", "Gauteng", "n.v.t.", reading=ColumnReading(notes=notes)
    )
    assert values == [None, None, "Gauteng", None] and errors == {}
    assert notes.empty == {"N/A": 1, "-": 1, "n.v.t.": 1}


@pytest.mark.parametrize(
    "name, written",
    [("years_experience", "n/a"), ("mobile_number", "none"), ("city", "-")],
)
def test_placeholders_are_empty_in_optional_fields_of_every_type(name, written):
    schema = MEMBERS if name == "mobile_number" else MECHANICS
    assert run(schema, name, written) == ([None], {})


def test_a_required_field_keeps_a_placeholder_for_its_own_rules_to_judge():
    assert run(MECHANICS, "email", "N/A")[1] == {0: "email is not a valid e-mail address."}


def test_values_a_person_left_empty_are_empty_and_others_still_rejected():
    choice = MappingChoice(
        columns={"Cell": "mobile_number"},
        values={"mobile_number": {"TBA": None}, "gender": {"unknown": None}},
    )
    mapping = map_headers(MEMBERS, ["Name", "Surname", "ID", "Cell", "Gender"], choice)
    phone = run(
        MEMBERS,
        "mobile_number",
        "TBA",
        "ask",
        reading=mapping.reading(MEMBERS.field("mobile_number")),
    )
    assert phone[0] == [None, None] and list(phone[1]) == [1]
    gender = run(
        MEMBERS, "gender", "UNKNOWN", "f", reading=mapping.reading(MEMBERS.field("gender"))
    )
    assert gender == ([None, "female"], {})


@pytest.mark.parametrize(
    "data, message",
    [
        ({"columns": {"A": "email"}, "values": {"email": {"x": None}}}, "email is required"),
        ({"columns": {"A": "email"}, "formats": {"city": "decimal_comma"}}, "neither a number"),
        (
            {"columns": {"A": "email"}, "formats": {"years_experience": "day_first"}},
            "'day_first' is not one of: decimal_point, decimal_comma",
        ),
    ],
)
def test_a_mapping_leaves_only_optional_values_empty_and_names_known_formats(data, message):
    with pytest.raises(ValueError, match=message):
        MappingChoice.from_json(data, MECHANICS)


def test_a_mapping_with_formats_and_empty_values_survives_json():
    data = {
        "columns": {"Yrs": "years_experience"},
        "values": {"province": {"Atlantis": None}},
        "formats": {"yearsExperience": "decimal_comma"},
    }
    choice = MappingChoice.from_json(data, MECHANICS)
    assert choice.formats == {"years_experience": "decimal_comma"}
    assert MappingChoice.from_json(choice.to_json(), MECHANICS) == choice


def test_an_optional_fields_values_that_are_not_accepted_are_noted_for_leaving_empty():
    notes = ColumnNotes()
    run(MEMBERS, "mobile_number", "TBA", "TBA", "0821234567", reading=ColumnReading(notes=notes))
    assert notes.rejected == {"TBA": 2}


# --- lists and groups of values ----------------------------------------------------------------


def test_a_list_is_joined_where_the_field_says_so():
    values, errors = run(
        MECHANICS, "specialisation", '["Diesel","Auto electrical"]', '["Brakes"]', "[]", "Tyres"
    )
    assert values == ["Diesel, Auto electrical", "Brakes", None, "Tyres"] and errors == {}


def test_a_list_in_a_field_that_takes_one_value_is_rejected():
    values, errors = run(MECHANICS, "workshop_name", '["Doe Motors","Bay Motors"]')
    assert values == [None]
    assert errors[0] == (
        'workshopName \'["Doe Motors","Bay Motors"]\' is a list of values; it takes one value.'
    )


def test_a_group_of_values_is_never_stored_as_text():
    values, errors = run(MECHANICS, "workshop_name", '{"name":"Doe Motors","city":"Pretoria"}')
    assert values == [None]
    assert "is a group of values, not one value" in errors[0] and "workshop.city" in errors[0]


def test_a_list_of_groups_is_rejected_even_where_lists_are_joined():
    values, errors = run(MECHANICS, "specialisation", '[{"name":"Diesel"}]')
    assert values == [None] and "list of groups" in errors[0]


def test_text_that_only_starts_with_a_bracket_is_text():
    assert run(MECHANICS, "workshop_name", "[Closed] Doe Motors", "{Bay}") == (
        ["[Closed] Doe Motors", "{Bay}"],
        {},
    )


def test_a_list_a_person_gave_a_meaning_is_read_as_that_meaning():
    services = get_entity("service-providers")
    choice = MappingChoice(
        columns={"Services": "service_type"},
        values={"service_type": {'["towing","glass"]': "towing"}},
    )
    mapping = map_headers(services, ["Name", "Email", "Services"], choice)
    target = mapping.field_for(services.field("service_type"))
    values, errors = normalise_column(
        ['["towing","glass"]', '["glass"]'], target, mapping.reading(target)
    )
    assert values == ["towing", None]
    assert errors == [(1, "serviceType '[\"glass\"]' is a list of values; it takes one value.")]


def test_a_list_in_a_number_column_is_rejected():
    assert "is a list of values" in run(MECHANICS, "years_experience", "[1,2]")[1][0]


# --- columns no field reads --------------------------------------------------------------------


def test_columns_no_field_reads_are_found_with_their_values():
    frame = pd.DataFrame([["a", None, "  ", "x"], ["b", None, None, "y"]], dtype=object)
    found = unread_data(frame, [1, 2, 3])
    assert list(found) == [3]
    assert (found[3].rows, found[3].samples) == (2, ["x", "y"])


def test_an_import_without_a_review_says_how_it_read_values_that_read_two_ways():
    decided, undecided = ColumnNotes(), ColumnNotes()
    decided.add(DECIMAL_COMMA, "450,50", 3, "450.50")
    decided.add("ambiguous", "1,250", 2)
    decided.found_format = DECIMAL_COMMA
    undecided.add("ambiguous", "1,000", 1)
    warnings = reading_warnings(POLICIES, {"premium": decided, "sum_insured": undecided})
    assert warnings == [
        "premium: 2 rows with values that read two ways (e.g. '1,250') were read with a "
        "decimal comma, the way the rest of the column is written, as in '450,50'.",
        "sumInsured: 1 row with values that read two ways (e.g. '1,000') were rejected: "
        "nothing in the column shows which way it is written. Upload the file for review to "
        "choose.",
    ]
