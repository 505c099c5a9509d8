import pytest

from bulkapp.entities import get_entity
from bulkapp.ingest.errors import ImportFailed
from bulkapp.ingest.mapping import (
    MappingChoice,
    detect_entity,
    header_scorer,
    map_headers,
    match_columns,
)

MECHANICS = get_entity("mechanics")


@pytest.mark.parametrize(
    "header",
    [
        "firstName",
        "first_name",
        "First Name",
        "FIRST-NAME",
        " first  name ",
        "Given name",
        "forename",
    ],
)
def test_aliases_match_ignoring_case_spaces_underscores_and_dashes(header):
    mapping = map_headers(MECHANICS, [header, "Surname", "E-mail", "Cell"])
    assert mapping.positions == {"first_name": 0, "last_name": 1, "email": 2, "mobile_number": 3}
    assert mapping.warnings == []


def test_missing_required_columns_fail_naming_the_missing_and_the_expected():
    with pytest.raises(ImportFailed) as failure:
        map_headers(MECHANICS, ["firstName", "email", "city"])
    message = str(failure.value)
    assert "Missing required column(s): lastName, mobileNumber." in message
    assert "Expected columns: firstName (required), lastName (required)" in message
    assert "province" in message


def test_unknown_columns_become_warnings_and_empty_headers_are_ignored():
    mapping = map_headers(
        MECHANICS, ["firstName", "lastName", "email", "mobile", "Shoe size", "", "Notes"]
    )
    assert mapping.warnings == [
        "Unknown column 'Shoe size' was ignored.",
        "Unknown column 'Notes' was ignored.",
    ]
    assert set(mapping.positions) == {"first_name", "last_name", "email", "mobile_number"}


def test_two_columns_for_one_field_fail_naming_both():
    with pytest.raises(ImportFailed, match=r"'Email' and 'E-mail' are all email"):
        map_headers(MECHANICS, ["firstName", "lastName", "Email", "mobile", "E-mail"])


def test_literal_duplicate_headers_fail():
    with pytest.raises(ImportFailed, match="Duplicate columns"):
        map_headers(MECHANICS, ["firstName", "lastName", "email", "mobile", "lastName"])


def test_header_score_counts_distinct_known_fields():
    score = header_scorer(MECHANICS)
    assert score(["Mechanics export", None, ""]) == 0
    assert score(["First Name", "Surname", "E-mail", "Unknown", "first_name"]) == 3


@pytest.mark.parametrize(
    ("header", "confidence"), [("Cell Number", 1.0), ("Cell No.", 1.0), ("Member Cell", 0.9)]
)
def test_cell_number_is_certainly_the_mobile_number(header, confidence):
    [match] = match_columns(MECHANICS, [header])
    assert (match.field, match.confidence, match.certain) == ("mobile_number", confidence, True)


def test_an_uncertain_column_is_left_out_with_a_warning_saying_what_it_might_be():
    mapping = map_headers(MECHANICS, ["firstName", "lastName", "email", "mobile", "Home Town"])
    assert "mobile_number" in mapping.positions
    assert mapping.warnings == ["'Home Town' might be city (60 %): not imported."]


def test_a_choice_maps_columns_and_values_a_person_confirmed():
    choice = MappingChoice.from_json(
        {
            "columns": {"Naam": "firstName", "Van": "last_name", "Notes": None},
            "values": {"province": {"Gautengg": "gauteng"}},
        },
        MECHANICS,
    )
    mapping = map_headers(MECHANICS, ["Naam", "Van", "E-mail", "Cell", "Notes", "Province"], choice)
    assert mapping.positions == {
        "first_name": 0,
        "last_name": 1,
        "email": 2,
        "mobile_number": 3,
        "province": 5,
    }
    assert mapping.warnings == []
    assert mapping.field_for(MECHANICS.field("province")).value_lookup["gautengg"] == "Gauteng"
    assert MappingChoice.from_json(choice.to_json(), MECHANICS) == choice


def test_mechanics_uploaded_as_members_says_what_the_file_looks_like():
    headers = ["firstName", "lastName", "email", "mobileNumber", "specialisation", "city"]
    with pytest.raises(ImportFailed, match="This file looks like mechanics: 6 of 6 columns"):
        map_headers(get_entity("members"), headers)
    assert detect_entity(headers)[0].name == "mechanics"
