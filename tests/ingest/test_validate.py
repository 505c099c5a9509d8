import numpy as np
import pandas as pd

from bulkapp.entities import get_entity
from bulkapp.ingest.mapping import map_headers
from bulkapp.ingest.validate import SeenKeys, validate_chunk

MECHANICS = get_entity("mechanics")
POLICIES = get_entity("policies")


def frame(rows):
    """A reader-shaped chunk: integer column positions, str or None values, dtype object."""
    return pd.DataFrame(rows, dtype=object)


def test_valid_rows_come_back_normalised_and_invalid_rows_with_every_problem():
    mapping = map_headers(MECHANICS, ["firstName", "lastName", "email", "mobile", "province"])
    outcome = validate_chunk(
        MECHANICS,
        mapping,
        frame(
            [
                [" Ann ", "Lee", "ANN@X.CO.ZA", "082 123 4567", "gauteng"],
                [None, "Bad", "not-an-email", "12", "Mars"],
            ]
        ),
        SeenKeys(),
    )
    assert outcome.valid == 1 and outcome.invalid_positions == [1]
    assert outcome.columns["first_name"] == ["Ann"]
    assert outcome.columns["email"] == ["ann@x.co.za"]
    assert outcome.columns["mobile_number"] == ["0821234567"]
    assert outcome.columns["province"] == ["Gauteng"]
    assert outcome.columns["city"] == [None]  # not in the file
    assert [(e.position, e.column, e.value) for e in outcome.errors] == [
        (1, "firstName", None),
        (1, "email", "not-an-email"),
        (1, "mobileNumber", "12"),
        (1, "province", "Mars"),
    ]
    assert outcome.errors[0].message == "firstName is required."


def test_duplicate_keys_are_errors_on_the_later_rows_within_and_across_chunks():
    mapping = map_headers(MECHANICS, ["firstName", "lastName", "email", "mobile"])
    seen = SeenKeys()
    first = validate_chunk(
        MECHANICS,
        mapping,
        frame(
            [
                ["A", "One", "a@x.com", "0821234567"],
                ["B", "Two", "A@X.com ", "0821234567"],  # same key once normalised
                ["C", "Three", "c@x.com", "0821234567"],
            ]
        ),
        seen,
    )
    second = validate_chunk(
        MECHANICS,
        mapping,
        frame(
            [
                ["D", "Four", "c@x.com", "0821234567"],
                ["E", "Five", "e@x.com", "0821234567"],
            ]
        ),
        seen,
    )
    assert first.invalid_positions == [1] and first.duplicates == 1
    assert second.invalid_positions == [0] and second.duplicates == 1
    assert "Duplicate email 'c@x.com'" in second.errors[0].message
    assert len(seen) == 3


def test_a_row_with_an_invalid_key_does_not_claim_it():
    mapping = map_headers(MECHANICS, ["firstName", "lastName", "email", "mobile"])
    outcome = validate_chunk(
        MECHANICS,
        mapping,
        frame(
            [
                ["A", "One", "broken@", "0821234567"],
                ["B", "Two", None, "0821234567"],
                ["C", "Three", "c@x.com", None],  # invalid row, but its key is valid: claimed
                ["D", "Four", "c@x.com", "0821234567"],
            ]
        ),
        SeenKeys(),
    )
    assert outcome.duplicates == 1 and outcome.invalid_positions == [0, 1, 2, 3]


def test_cross_field_rule_end_date_after_start_date():
    mapping = map_headers(POLICIES, ["policyNumber", "type", "startDate", "endDate"])
    outcome = validate_chunk(
        POLICIES,
        mapping,
        frame(
            [
                ["P1", "motor", "2026-01-01", "2026-12-31"],
                ["P2", "motor", "31/12/2026", "01/01/2026"],
                ["P3", "home", "2026-01-01", "2026-01-01"],
                ["P4", "home", "2026-01-01", None],
            ]
        ),
        SeenKeys(),
    )
    assert outcome.invalid_positions == [1, 2]
    assert {(e.position, e.column, e.message) for e in outcome.errors} == {
        (1, "endDate", "End date must be after the start date."),
        (2, "endDate", "End date must be after the start date."),
    }


def test_seen_keys_remember_hashes_across_calls():
    seen = SeenKeys()
    assert seen.claim(np.array([5, 3, 5, 9])).tolist() == [False, False, True, False]
    assert seen.claim(np.array([1, 3, 7, 1])).tolist() == [False, True, False, True]
    assert len(seen) == 5


def test_members_date_of_birth_must_match_the_id_number():
    members = get_entity("members")
    mapping = map_headers(members, ["firstName", "lastName", "idNumber", "dateOfBirth"])
    outcome = validate_chunk(
        members,
        mapping,
        frame(
            [
                ["A", "One", "8001015009087", "1980-01-01"],
                ["B", "Two", "8001015009087", "1980-01-02"],
                ["C", "Three", "9202204720083", None],
            ]
        ),
        None,
    )
    assert [(e.position, e.message) for e in outcome.errors] == [
        (1, "Date of birth does not match the ID number.")
    ]


def test_seen_keys_find_hashes_in_every_segment(monkeypatch):
    monkeypatch.setattr(SeenKeys, "SEGMENT_KEYS", 4)
    seen = SeenKeys()
    assert seen.claim(np.array([40, 10, 30])).tolist() == [False, False, False]
    assert seen.claim(np.array([20, 50])).tolist() == [False, False]  # a second segment
    assert seen.claim(np.array([45, 10, 50, 5, 5])).tolist() == [False, True, True, False, True]
    assert len(seen) == 7
