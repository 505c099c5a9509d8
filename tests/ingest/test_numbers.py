"""Numbers as people write them: a corpus of spellings, each read with a decimal point and
with a decimal comma, and columns that decide the values that read both ways."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bulkapp.entities import get_entity
from bulkapp.ingest.normalise import normalise_column
from bulkapp.ingest.numbers import DECIMAL_COMMA, DECIMAL_POINT, read_number
from bulkapp.ingest.readings import ColumnNotes, ColumnReading

NBSP, THIN, NARROW = "\u00a0", "\u2009", "\u202f"

# (as written, read with a decimal point, read with a decimal comma); None: not a number so.
SPELLINGS = [
    # plain
    ("450", "450", "450"),
    ("0", "0", "0"),
    ("-0", "0", "0"),
    ("007", "7", "7"),
    ("450.5", "450.5", None),
    ("450.50", "450.50", None),
    ("0.5", "0.5", None),
    (".5", "0.5", None),
    ("12.", "12", None),
    # decimal comma, as South Africans write it
    ("450,50", None, "450.50"),
    ("450,5", None, "450.5"),
    ("0,5", None, "0.5"),
    (",5", None, "0.5"),
    ("0,250", None, "0.250"),
    ("12,34", None, "12.34"),
    # thousands with spaces (plain, non-breaking, thin, narrow)
    ("1 250", "1250", "1250"),
    ("12 345 678", "12345678", "12345678"),
    ("1 234,50", None, "1234.50"),
    ("1 234.50", "1234.50", None),
    (f"1{NBSP}234,50", None, "1234.50"),
    (f"1{THIN}234,50", None, "1234.50"),
    (f"1{NARROW}234.5", "1234.5", None),
    (f"250{NBSP}000", "250000", "250000"),
    # thousands with commas, points and apostrophes
    ("1,234.50", "1234.50", None),
    ("1,234,567", "1234567", None),
    ("1,234,567.89", "1234567.89", None),
    ("1.234,50", None, "1234.50"),
    ("1.234.567", None, "1234567"),
    ("1.234.567,89", None, "1234567.89"),
    ("1'234.50", "1234.50", None),
    ("1'234,50", None, "1234.50"),
    ("1\u2019234,50", None, "1234.50"),
    ("1'234'567", "1234567", "1234567"),
    # currency before or after, with or without a space
    ("R450", "450", "450"),
    ("R 450", "450", "450"),
    ("r 450", "450", "450"),
    ("R 1 234,50", None, "1234.50"),
    ("R1,234.50", "1234.50", None),
    ("ZAR 450", "450", "450"),
    ("ZAR1 234,50", None, "1234.50"),
    ("450 ZAR", "450", "450"),
    ("450R", "450", "450"),
    ("1 234,50 R", None, "1234.50"),
    # signs
    ("+450", "450", "450"),
    ("+ 450", "450", "450"),
    ("-450", "-450", "-450"),
    ("\u2212450", "-450", "-450"),
    ("450-", "-450", "-450"),
    ("-R 450", "-450", "-450"),
    ("R -450", "-450", "-450"),
    ("R-1 234,50", None, "-1234.50"),
    # negatives in parentheses, as accounting exports write them
    ("(450)", "-450", "-450"),
    ("(450.00)", "-450.00", None),
    ("(R 1 250,00)", None, "-1250.00"),
    ("( 1,250.00 )", "-1250.00", None),
    # ambiguous: thousands or decimals?
    ("1,250", "1250", "1.250"),
    ("1.250", "1.250", "1250"),
    ("12,500", "12500", "12.500"),
    ("999.999", "999.999", "999999"),
    ("R 1,250", "1250", "1.250"),
    ("-1.250", "-1.250", "-1250"),
    ("(1,000)", "-1000", "-1.000"),
    ("1,000 ZAR", "1000", "1.000"),
    # not numbers
    ("abc", None, None),
    ("R", None, None),
    ("12,", None, None),
    ("1,2,3", None, None),
    ("1,00,000", None, None),
    ("1 2345", None, None),
    ("1.234,567.8", None, None),
    ("--5", None, None),
    ("+-5", None, None),
    ("(5", None, None),
    ("5)", None, None),
    ("-(5)", None, None),
    ("R 5 ZAR", None, None),
    ("$450", None, None),
    ("450 USD", None, None),
    ("NaN", None, None),
    ("Infinity", None, None),
    ("1.5E+11", None, None),
    ("1e400", None, None),
    ("12 %", None, None),
    ("12.5.6", None, None),
]


def test_the_corpus_is_large_and_holds_ambiguous_spellings():
    ambiguous = [written for written, *readings in SPELLINGS if read_number(written).ambiguous]
    assert len(SPELLINGS) >= 60 and len(ambiguous) >= 8


@pytest.mark.parametrize("written, point, comma", SPELLINGS, ids=[s[0] for s in SPELLINGS])
def test_a_spelling_reads_as_expected_with_either_decimal_mark(written, point, comma):
    readings = read_number(written)
    assert readings.point == (None if point is None else Decimal(point))
    assert readings.comma == (None if comma is None else Decimal(comma))


@pytest.mark.parametrize(
    "written, shows",
    [
        ("450,50", DECIMAL_COMMA),
        ("1.234,5", DECIMAL_COMMA),
        ("1,234,567", DECIMAL_POINT),
        ("450.50", DECIMAL_POINT),
        ("450", None),
        ("1 250", None),
        ("1,250", None),
    ],
)
def test_a_value_that_reads_one_way_only_shows_its_columns_format(written, shows):
    assert read_number(written).evidence == shows


def test_excels_shortened_form_is_recognised_to_be_refused_with_its_own_reason():
    assert read_number("1.23457E+11").shortened
    values, errors = run("premium", "1.23457E+11")
    assert values == [None] and "the short form in which Excel shows long numbers" in errors[0]


def test_an_amount_in_another_currency_is_refused_saying_so():
    values, errors = run("premium", "$1,250.00", "450 USD", "\u20ac99")
    assert values == [None, None, None]
    assert all("another currency: amounts are in rand" in m for m in errors.values())
    assert errors[0].startswith("premium '$1,250.00' must be a number with at most two decimals")


def run(name: str, *values: str | None, reading: ColumnReading | None = None, entity="policies"):
    field = get_entity(entity).field(name)
    normalised, errors = normalise_column(list(values), field, reading)
    return normalised, dict(errors)


def test_a_column_of_decimal_comma_amounts_reads_its_ambiguous_values_with_a_comma():
    values, errors = run("premium", "450,50", "1,250", "R 1 234,50", "399", "1.250")
    assert values == ["450.50", "1.25", "1234.50", "399.00", "1250.00"]
    assert errors == {}


def test_a_column_of_decimal_point_amounts_reads_its_ambiguous_values_with_a_point():
    values, errors = run("premium", "1,250", "R 2,500.00", "1.250")
    assert values == ["1250.00", "2500.00", "1.25"]
    assert errors == {}


def test_an_ambiguous_value_with_no_other_evidence_is_rejected_saying_both_readings():
    values, errors = run("premium", "1,250", "450")
    assert values == [None, "450.00"]
    assert errors[0].startswith("premium '1,250' could be 1250 or 1.25:")
    assert "Choose the column's number format" in errors[0]


def test_a_column_showing_both_marks_decides_nothing():
    values, errors = run("premium", "450,50", "1,250.00", "1,250")
    assert values == ["450.50", "1250.00", None]
    assert list(errors) == [2] and "could be 1250 or 1.25" in errors[2]


@pytest.mark.parametrize("chosen, read", [(DECIMAL_POINT, "1250.00"), (DECIMAL_COMMA, "1.25")])
def test_a_chosen_format_reads_the_ambiguous_values_of_any_column(chosen, read):
    values, errors = run("premium", "1,250", "450", reading=ColumnReading(chosen=chosen))
    assert values == [read, "450.00"] and errors == {}


def test_the_whole_column_decides_when_the_chunk_at_hand_cannot():
    asked = []

    def whole_column():
        asked.append(1)
        return DECIMAL_COMMA

    reading = ColumnReading(whole_column=whole_column)
    assert run("premium", "450", "1,250", reading=reading) == (["450.00", "1.25"], {})
    assert run("premium", "450", "399", reading=ColumnReading(whole_column=whole_column))[1] == {}
    assert asked == [1], "the file is read again only for a chunk with an ambiguous value"


def test_whole_numbers_read_their_thousands_and_refuse_a_decimal_reading_of_them():
    values, errors = run(
        "years_experience", "12", "1 0", "12.0", "7,0", "1,000", entity="mechanics"
    )
    assert values == [12, None, 12, 7, None]
    assert "must be a whole number" in errors[1]
    assert "could be 1000 or 1" in errors[4]


def test_notes_count_the_rows_of_each_format_and_of_ambiguous_values():
    notes = ColumnNotes()
    run("premium", "450,50", "450,50", "1,250", "399", reading=ColumnReading(notes=notes))
    assert notes.evidence == {DECIMAL_COMMA: 2}
    assert notes.examples == {DECIMAL_COMMA: ("450,50", "450.50")}
    assert notes.ambiguous == {"1,250": 1}
    assert notes.found_format == DECIMAL_COMMA
    assert notes.sample == ("450,50", "450.50")
