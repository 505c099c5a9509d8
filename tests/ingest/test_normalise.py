import pytest

from bulkapp.entities import Field, get_entity
from bulkapp.ingest.dates import parse_date
from bulkapp.ingest.normalise import normalise_column
from bulkapp.ingest.sa_id import sa_id_errors


def run(field: Field, *values):
    normalised, errors = normalise_column(list(values), field)
    return normalised, dict(errors)


def test_text_is_trimmed_empty_becomes_none_and_length_is_checked():
    field = Field("city", "city", max_length=5)
    values, errors = run(field, "  Paarl ", "", "   ", None, "George", "Ceres")
    assert values == ["Paarl", None, None, None, None, "Ceres"]
    assert errors == {4: "city is longer than 5 characters."}


def test_email_is_trimmed_lower_cased_and_checked():
    field = Field("email", "email", "email")
    values, errors = run(
        field, " John.Doe@Example.COM ", "no-at-sign", "a@b", "x y@z.com", "two@@at.com", None
    )
    assert values[0] == "john.doe@example.com"
    assert values[1:] == [None] * 5
    assert set(errors) == {1, 2, 3, 4}
    assert errors[1] == "email is not a valid e-mail address."


def test_phone_keeps_digits_and_a_leading_plus_and_checks_the_length():
    field = Field("mobile_number", "mobileNumber", "phone")
    values, errors = run(
        field,
        "082 123 4567",
        "+27 (82) 123-4567",
        "0821234567",
        "12345",
        "082-CALL-NOW",
        "1234567890123456",
    )
    assert values[:3] == ["0821234567", "+27821234567", "0821234567"]
    assert values[3:] == [None, None, None]
    assert set(errors) == {3, 4, 5}
    assert "9 to 15 digits" in errors[3]


def test_a_column_of_clean_emails_passes_whole_and_a_hidden_newline_does_not():
    field = Field("email", "email", "email")
    clean = [f"person{i}@example.co.za" for i in range(50)]
    assert run(field, *clean, None) == ([*clean, None], {})
    values, errors = run(field, *clean, "a@example.com\nb@example.com")
    assert values == [*clean, None]
    assert list(errors) == [50]


def test_a_column_of_plain_phones_passes_whole_and_one_odd_value_is_still_checked():
    field = Field("mobile_number", "mobileNumber", "phone")
    plain = [f"08212345{i:02d}" for i in range(50)]
    assert run(field, *plain, None) == ([*plain, None], {})
    values, errors = run(field, *plain, "\u0660821234567", "+27 82 123 4567")
    assert values == [*plain, None, "+27821234567"]
    assert list(errors) == [50]


@pytest.mark.parametrize(
    "raw, iso",
    [
        ("2026-01-31", "2026-01-31"),
        ("31/01/2026", "2026-01-31"),
        ("2026/01/31", "2026-01-31"),
        ("31-01-2026", "2026-01-31"),
        ("1 March 2026", "2026-03-01"),
        ("1 Mar 2026", "2026-03-01"),
        ("2026-01-31 00:00:00", "2026-01-31"),
        ("2026-01-31T00:00:00", "2026-01-31"),
        ("2024-02-29", "2024-02-29"),
        ("5/6/2026", "2026-06-05"),
    ],
)
def test_dates_in_common_formats_become_iso(raw, iso):
    assert parse_date(raw) == iso


@pytest.mark.parametrize(
    "raw",
    ["2026-02-29", "31/02/2026", "13/13/2026", "tomorrow", "2026-1", "1 Smarch 2026", "1800-01-01"],
)
def test_impossible_or_unknown_dates_are_refused(raw):
    assert parse_date(raw) is None


def test_date_column_reports_the_value_and_the_expected_format():
    field = Field("start_date", "startDate", "date")
    values, errors = run(field, "31/01/2026", "31/02/2026", None, "31/01/2026")
    assert values == ["2026-01-31", None, None, "2026-01-31"]
    assert errors == {
        1: "startDate '31/02/2026' is not a date; use YYYY-MM-DD (e.g. 2026-01-31) or DD/MM/YYYY."
    }


def test_enums_match_case_insensitively_to_their_canonical_value():
    field = get_entity("mechanics").field("province")
    values, errors = run(
        field, "gauteng", "KWAZULU-NATAL", "kwazulu natal", "Western Cape", "Atlantis", None
    )
    assert values == ["Gauteng", "KwaZulu-Natal", "KwaZulu-Natal", "Western Cape", None, None]
    assert list(errors) == [4] and "'Atlantis' is not one of: Eastern Cape" in errors[4]


def test_integers_accept_spreadsheet_floats_and_check_the_range():
    field = get_entity("mechanics").field("years_experience")
    values, errors = run(field, "12", " 7 ", "3.0", "71", "-1", "2.5", "ten", None)
    assert values == [12, 7, 3, None, None, None, None, None]
    assert errors[3] == errors[4] == "yearsExperience must be between 0 and 70."
    assert errors[5] == errors[6] == "yearsExperience must be a whole number."


def test_decimals_keep_two_places_and_check_the_range():
    field = get_entity("policies").field("premium")
    values, errors = run(field, "450", "450.5", "1,250.75", "-3", "1.234", "abc")
    assert values == ["450.00", "450.50", "1250.75", None, None, None]
    assert set(errors) == {3, 4, 5}
    assert "at most two decimals from 0" in errors[3]


# 8001015009087 is the well-known example number; the others carry Luhn check digits worked
# out by hand (0002290052089: born 29 February 2000).
VALID_IDS = ["8001015009087", "9202204720083", "0002290052089", "7505055123088"]


def scalar_luhn(number: str) -> bool:
    """The Luhn check written the textbook way, to compare the vectorised one against."""
    total = 0
    for i, digit in enumerate(int(c) for c in reversed(number)):
        total += digit if i % 2 == 0 else (digit * 2 if digit < 5 else digit * 2 - 9)
    return total % 10 == 0


def test_vectorised_luhn_agrees_with_the_textbook_algorithm():
    import numpy as np

    from bulkapp.ingest.sa_id import luhn_valid

    rng = np.random.default_rng(3)
    numbers = ["".join(map(str, row)) for row in rng.integers(0, 10, size=(2000, 13))]
    digits = np.array([[int(c) for c in n] for n in numbers])
    assert luhn_valid(digits).tolist() == [scalar_luhn(n) for n in numbers]


def test_sa_id_numbers_with_a_valid_checksum_and_birth_date_pass():
    assert sa_id_errors(VALID_IDS, "idNumber") == []


@pytest.mark.parametrize(
    "raw, problem",
    [
        ("8001015009088", "check digit"),  # last digit changed
        ("8001015009078", "check digit"),  # two digits swapped
        ("8013015009087", "date of birth"),  # month 13
        ("0102295009085", "date of birth"),  # 29 Feb 2001 / 1901
        ("800101500908", "13 digits"),
        ("80010150090AB", "13 digits"),
    ],
)
def test_sa_id_numbers_are_refused_with_the_reason(raw, problem):
    [(position, message)] = sa_id_errors([raw], "idNumber")
    assert position == 0 and problem in message


def test_sa_id_column_strips_spaces_and_dashes():
    field = get_entity("members").field("id_number")
    values, errors = run(field, "800101 5009 087", "800101-5009-088")
    assert values == ["8001015009087", None]
    assert list(errors) == [1]
