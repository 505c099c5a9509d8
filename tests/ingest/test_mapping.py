import pytest

from bulkapp.entities import get_entity
from bulkapp.ingest.errors import ImportFailed
from bulkapp.ingest.mapping import header_scorer, map_headers

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
