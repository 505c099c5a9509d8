"""Bad bytes and out-of-range values are rejected rows, never internal errors.

A NUL character or a lone surrogate (what JSON's ``"\\ud800"`` decodes to) in any cell, and
numbers, dates and texts beyond what their column holds, make their row rejected with a
message naming the column, on SQLite and PostgreSQL alike: partial mode stores every other
row, all-or-nothing mode fails with its usual message, no retry is spent, and the error report
always opens as UTF-8 CSV. Imports run on their real queue with a real worker.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import time
import zipfile
from dataclasses import dataclass
from decimal import Decimal

import openpyxl
import pytest
from sqlalchemy import func, select

from bulkapp.entities import get_entity
from bulkapp.extensions import db, get_redis
from bulkapp.ingest.errors import ImportFailed
from bulkapp.ingest.normalise import normalise_column
from bulkapp.ingest.readers import open_reader
from bulkapp.ingest.readers.text import DETECT_SAMPLE_BYTES
from bulkapp.ingest.report import report_bytes
from bulkapp.jobs import queues
from bulkapp.jobs.rejections import error_report
from bulkapp.models import ENTITY_TABLES, ImportJob
from tests.conftest import fetch_job, run_worker
from tests.ingest.conftest import MECHANICS_HEADER, create_job, mechanic_rows

NUL, SURROGATE, REPLACEMENT = "\x00", "\ud800", "\ufffd"


def cannot_be_stored(label: str, character: str) -> str:
    """The message of a cell holding ``character``."""
    what = (
        "NUL, byte 0"
        if character == NUL
        else f"U+{ord(character):04X}: half of a two-part character such as an emoji"
    )
    return (
        f"{label} contains a character that cannot be stored ({what}). Remove it and upload again."
    )


def imported(
    app,
    account,
    content: str | bytes,
    *,
    entity: str = "mechanics",
    mode: str = "partial",
    filename: str = "upload.csv",
) -> ImportJob:
    """Upload ``content``, run its job on the real queue with a real worker, return the job.

    Every failed attempt is retried at once, inside the same worker run, so a retry spent on
    bad input shows in ``attempts``.
    """
    job = create_job(account, content, entity=entity, mode=mode, filename=filename)
    job.queue_name = queues.queue_name_for(entity)
    db.session.commit()
    app.config["IMPORT_RETRY_INTERVALS"] = (0, 0, 0)
    queues.enqueue_import(get_redis(), job.queue_name, job.id)
    run_worker(app)
    return fetch_job(app, job.id)


def report_rows(job: ImportJob) -> list[list[str]]:
    """The job's error report, decoded strictly as UTF-8 and parsed as CSV."""
    report = error_report(job)
    assert report is not None, "the job has no error report"
    text = b"".join(report).decode("utf-8-sig")
    assert NUL not in text
    return list(csv.reader(io.StringIO(text, newline="")))


def stored(entity: str, *columns: str) -> list[tuple]:
    table = ENTITY_TABLES[get_entity(entity).table]
    return [
        tuple(row)
        for row in db.session.execute(
            select(*(table.c[name] for name in columns)).order_by(table.c.id)
        )
    ]


def stored_count(entity: str) -> int:
    table = ENTITY_TABLES[get_entity(entity).table]
    return db.session.scalar(select(func.count()).select_from(table))


def assert_no_crash(job: ImportJob) -> None:
    """Bad input never costs a retry and never leaves a traceback."""
    assert job.attempts == 1, job.error_message
    assert job.error_traceback is None, job.error_traceback


def sa_id_number(serial: int) -> str:
    """A valid South African ID number of someone born on 1 January 1980."""
    body = f"800101{serial:04d}08"
    total = 0
    for place, digit in enumerate(int(c) for c in reversed(body)):
        doubled = digit * 2 if place % 2 == 0 else digit
        total += doubled - 9 if doubled > 9 else doubled
    return body + str(-total % 10)


def good_record(entity: str, i: int) -> dict[str, str]:
    """A valid record of ``entity`` whose natural key is unique to ``i``."""
    if entity == "mechanics":
        return {
            "firstName": "John",
            "lastName": f"Doe{i}",
            "email": f"m{i}@example.com",
            "mobileNumber": f"082{i:07d}",
            "yearsExperience": "12",
            "city": "Pretoria",
            "province": "Gauteng",
        }
    if entity == "policies":
        return {
            "policyNumber": f"POL-{i:06d}",
            "type": "motor",
            "holderName": "John Doe",
            "holderEmail": "john@example.com",
            "startDate": "2026-01-01",
            "premium": "450.00",
            "status": "active",
        }
    return {
        "firstName": "Thandi",
        "lastName": f"Nkosi{i}",
        "idNumber": sa_id_number(i),
        "dateOfBirth": "1980-01-01",
        "gender": "female",
        "mobileNumber": "0821234567",
    }


KEY_LABELS = {"mechanics": "email", "policies": "policyNumber", "members": "idNumber"}


def column_of(entity: str, label: str) -> str:
    """The database column of the field labelled ``label``."""
    return next(f.name for f in get_entity(entity).fields if f.label == label)


def csv_text(records: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(records[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return out.getvalue()


# --- NUL in CSV cells, anywhere in the file ----------------------------------------------------


@pytest.mark.parametrize(
    "data_row", [100, 25_000], ids=["in the first 64 KB", "after the first 64 KB"]
)
def test_a_nul_in_a_csv_cell_rejects_only_its_row(app, ctx, user_a, data_row):
    lines = mechanic_rows(30_000).splitlines(keepends=True)
    lines[data_row - 1] = lines[data_row - 1].replace(",Doe", ",Do\x00e", 1)
    content = MECHANICS_HEADER + "".join(lines)
    assert (content.index(NUL) < DETECT_SAMPLE_BYTES) == (data_row == 100)

    job = imported(app, user_a, content)

    assert job.status == "completed", job.error_message
    assert_no_crash(job)
    assert (job.total_rows, job.valid_rows, job.invalid_rows, job.inserted_rows) == (
        30_000,
        29_999,
        1,
        29_999,
    )
    assert stored_count("mechanics") == 29_999
    header, *rejected = report_rows(job)
    assert header == ["row", *MECHANICS_HEADER.strip().split(","), "errors"]
    assert rejected == [
        [
            str(data_row + 1),
            "John",
            f"Do{REPLACEMENT}e{data_row - 1}",
            f"m{data_row - 1}@example.com",
            f"082{data_row - 1:07d}",
            str((data_row - 1) % 40),
            "Pretoria",
            "Gauteng",
            cannot_be_stored("lastName", NUL),
        ]
    ]


@pytest.mark.parametrize(
    "filename, content, label, character",
    [
        (
            "upload.csv",
            MECHANICS_HEADER + mechanic_rows(20) + "Ann,Lee,ann@example.com,0821234567,"
            "3,Pret\x00oria,Gauteng\n" + mechanic_rows(29, start=20),
            "city",
            NUL,
        ),
        (
            "upload.json",
            json.dumps(
                [good_record("mechanics", i) for i in range(20)]
                + [{**good_record("mechanics", 99), "email": "ann\ud800@x.com"}]
                + [good_record("mechanics", i) for i in range(20, 49)]
            ),
            "email",
            SURROGATE,
        ),
    ],
    ids=["CSV with a NUL", "JSON with a lone surrogate"],
)
def test_all_or_nothing_fails_as_usual_on_one_unstorable_character(
    app, ctx, user_a, filename, content, label, character
):
    job = imported(app, user_a, content, mode="all_or_nothing", filename=filename)

    assert job.status == "failed"
    assert job.error_message.startswith(
        "1 of 50 rows are invalid, so nothing was saved (all-or-nothing mode)."
    )
    assert_no_crash(job)
    assert stored_count("mechanics") == 0
    [[row, *_, message]] = report_rows(job)[1:]
    assert (row, message) == (
        "22" if filename.endswith(".csv") else "21",
        cannot_be_stored(label, character),
    )


# --- JSON escapes in every field type ---------------------------------------------------------

FIELD_TYPE_CASES = [  # (field type, entity, column label)
    ("string", "mechanics", "firstName"),
    ("email", "mechanics", "email"),
    ("phone", "mechanics", "mobileNumber"),
    ("integer", "mechanics", "yearsExperience"),
    ("enum", "mechanics", "province"),
    ("date", "policies", "startDate"),
    ("decimal", "policies", "premium"),
    ("enum", "policies", "type"),
    ("sa_id", "members", "idNumber"),
    ("date", "members", "dateOfBirth"),
    ("string", "members", "lastName"),
]


@pytest.mark.parametrize("character", [NUL, SURROGATE], ids=["NUL", "lone surrogate"])
@pytest.mark.parametrize(
    "entity, label",
    [(e, c) for _, e, c in FIELD_TYPE_CASES],
    ids=[f"{t} {e} {c}" for t, e, c in FIELD_TYPE_CASES],
)
def test_json_escapes_of_unstorable_characters_reject_their_row(
    app, ctx, user_a, entity, label, character
):
    records = [good_record(entity, i) for i in range(4)]
    value = records[1][label]
    records[1][label] = value[:2] + character + value[2:]
    content = json.dumps(records)  # ASCII only: the character is written as \u0000 or \ud800
    assert "\\u0000" in content or "\\ud800" in content

    job = imported(app, user_a, content, entity=entity, filename="upload.json")

    assert job.status == "completed", job.error_message
    assert_no_crash(job)
    assert (job.valid_rows, job.invalid_rows) == (3, 1)
    key = KEY_LABELS[entity]
    assert [k for (k,) in stored(entity, column_of(entity, key))] == [
        records[i][key] for i in (0, 2, 3)
    ]
    [[row, *cells, message]] = report_rows(job)[1:]
    assert row == "2" and message == cannot_be_stored(label, character)
    assert value[:2] + REPLACEMENT + value[2:] in cells


def xlsx_with_cell(rows: list[list[str]], placeholder: str, xml_text: str):
    """An .xlsx of ``rows`` whose ``placeholder`` cell holds ``xml_text`` as written in the XML
    (Excel writes a control character as ``_x0000_``, which readers turn back into it)."""
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    plain = io.BytesIO()
    book.save(plain)
    out = io.BytesIO()
    with zipfile.ZipFile(plain) as old, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as new:
        for member in old.infolist():
            new.writestr(
                member.filename, old.read(member).replace(placeholder.encode(), xml_text.encode())
            )
    return out.getvalue()


def test_an_escaped_nul_in_an_xlsx_cell_rejects_its_row(app, ctx, user_a):
    header = MECHANICS_HEADER.strip().split(",")
    rows = [header] + [line.split(",") for line in mechanic_rows(5).splitlines()]
    rows[3][1] = "PLACEHOLDER"
    content = xlsx_with_cell(rows, "PLACEHOLDER", "Do_x0000_e")

    job = imported(app, user_a, content, filename="upload.xlsx")

    assert job.status == "completed", job.error_message
    assert_no_crash(job)
    assert (job.valid_rows, job.invalid_rows) == (4, 1) and stored_count("mechanics") == 4
    [[row, _, last_name, *_, message]] = report_rows(job)[1:]
    assert (row, last_name, message) == (
        "4",
        f"Do{REPLACEMENT}e",
        cannot_be_stored("lastName", NUL),
    )


# --- headers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "filename, content",
    [
        (
            "upload.csv",
            MECHANICS_HEADER.strip()
            + ",no\x00te\n"
            + mechanic_rows(1).strip()
            + ",x\nJohn,Doe,not-an-email,0821234567,1,Pretoria,Gauteng,y\n",
        ),
        (
            "upload.json",
            json.dumps(
                [
                    {**good_record("mechanics", 0), "no\x00te": "x"},
                    {**good_record("mechanics", 1), "\ud800": "y", "email": "not-an-email"},
                ]
            ),
        ),
    ],
    ids=["CSV header with a NUL", "JSON keys with a NUL and a lone surrogate"],
)
def test_unstorable_characters_in_headers_are_replaced_everywhere_they_show(
    app, ctx, user_a, filename, content
):
    job = imported(app, user_a, content, filename=filename)

    assert job.status == "completed", job.error_message
    assert_no_crash(job)
    assert stored_count("mechanics") == 1
    unknown = ["no\ufffdte"] + (["\ufffd"] if filename.endswith(".json") else [])
    assert job.warnings == [f"Unknown column {name!r} was ignored." for name in unknown]
    header, [row, *_] = report_rows(job)
    assert header[-1 - len(unknown) : -1] == unknown
    assert row == ("3" if filename.endswith(".csv") else "2")


# --- the sweep: every value a column cannot hold is a rejected row ----------------------------


@dataclass(frozen=True)
class Rejected:
    """A value whose row is rejected with ``words`` in its message."""

    words: str


SWEEP = {  # field type → (entity, column label, [(raw value, outcome)])
    "integer": (
        "mechanics",
        "yearsExperience",
        [
            ("70", 70),
            ("-0", 0),
            ("0" * 5000 + "7", 7),
            ("1" * 5000, Rejected("between 0 and 70")),
            ("9" * 30, Rejected("between 0 and 70")),
            ("2147483648", Rejected("between 0 and 70")),
            ("-2147483649", Rejected("between")),
            ("1e400", Rejected("whole number")),
            ("NaN", Rejected("whole number")),
            ("Infinity", Rejected("whole number")),
            ("-Infinity", Rejected("whole number")),
            ("7" + "x" * 100_000, Rejected("whole number")),
        ],
    ),
    "decimal": (
        "policies",
        "premium",
        [
            ("999999999999.99", Decimal("999999999999.99")),
            ("-0", Decimal("0")),
            ("12." + "0" * 5000, Decimal("12")),
            ("1000000000000", Rejected("at most two decimals")),
            ("9" * 30, Rejected("at most two decimals")),
            ("1" * 5000, Rejected("two decimals")),
            ("1e400", Rejected("two decimals")),
            ("NaN", Rejected("two decimals")),
            ("Infinity", Rejected("two decimals")),
            ("-Infinity", Rejected("two decimals")),
            ("0." + "0" * 5000 + "1", Rejected("two decimals")),
        ],
    ),
    "date": (
        "policies",
        "startDate",
        [
            ("1900-01-01", dt.date(1900, 1, 1)),
            ("2100-12-31", dt.date(2100, 12, 31)),
            ("0000-01-01", Rejected("is not a date")),
            ("0001-01-01", Rejected("is not a date")),
            ("9999-12-31", Rejected("is not a date")),
            ("10000-01-01", Rejected("is not a date")),
            ("2026-02-30", Rejected("is not a date")),
            ("31/04/2026", Rejected("is not a date")),
            ("2026-01-01" + "x" * 100_000, Rejected("is not a date")),
        ],
    ),
    "string": (
        "mechanics",
        "firstName",
        [
            ("x" * 100, "x" * 100),
            ("\U0001f600" * 100, "\U0001f600" * 100),
            ("x" * 101, Rejected("longer than 100 characters")),
            ("x" * 100_000, Rejected("longer than 100 characters")),
        ],
    ),
    "email": (
        "mechanics",
        "email",
        [
            ("a" * 242 + "@example.com", "a" * 242 + "@example.com"),
            ("a" * 243 + "@example.com", Rejected("not a valid e-mail address")),
        ],
    ),
    "phone": (
        "mechanics",
        "mobileNumber",
        [
            ("+123456789012345", "+123456789012345"),
            ("+27 (82) 123-4567", "+27821234567"),
            ("1234567890123456", Rejected("9 to 15 digits")),
            ("0" * 100_000, Rejected("9 to 15 digits")),
        ],
    ),
    "enum": (
        "mechanics",
        "province",
        [
            ("gauteng", "Gauteng"),
            ("Gauteng" * 10_000, Rejected("is not one of")),
        ],
    ),
}

MESSAGE_LIMIT = 300  # a message quotes at most the start of a long value


@pytest.mark.parametrize("field_type", list(SWEEP))
def test_values_a_column_cannot_hold_are_rejected_rows(app, ctx, user_a, field_type):
    entity, label, cases = SWEEP[field_type]
    key_label = KEY_LABELS[entity]
    records = [{**good_record(entity, i), label: raw} for i, (raw, _) in enumerate(cases)]

    job = imported(app, user_a, csv_text(records), entity=entity)

    assert job.status == "completed", job.error_message
    assert_no_crash(job)
    saved = dict(stored(entity, column_of(entity, key_label), column_of(entity, label)))
    messages = (
        {int(row[0]): row[-1] for row in report_rows(job)[1:]} if job.rejected_rows_kept else {}
    )
    problems = []
    for i, (raw, outcome) in enumerate(cases):
        key, shown = records[i][key_label], raw[:30]
        if isinstance(outcome, Rejected):
            message = messages.get(i + 2, "")
            if key in saved or outcome.words not in message or label not in message:
                problems.append((shown, "stored" if key in saved else message[:80]))
            elif len(message) > MESSAGE_LIMIT:
                problems.append((shown, f"a message of {len(message):,} characters"))
        elif saved.get(key) != outcome:
            problems.append((shown, messages.get(i + 2, saved.get(key))))
    assert problems == []


@pytest.mark.parametrize(
    "literal, outcome",
    [
        ("1" * 5000, Rejected("between 0 and 70")),
        ("-" + "9" * 5000, Rejected("between 0 and 70")),
        ("1e400", Rejected("whole number")),
        ("NaN", Rejected("whole number")),
        ("-Infinity", Rejected("whole number")),
        ("-0", 0),
        ("12.0", 12),
    ],
    ids=["5,000 digits", "-5,000 digits", "1e400", "NaN", "-Infinity", "-0", "12.0"],
)
def test_json_numbers_a_column_cannot_hold_are_rejected_rows(app, ctx, user_a, literal, outcome):
    good = json.dumps(good_record("mechanics", 0))
    odd = json.dumps({**good_record("mechanics", 1), "yearsExperience": None}).replace(
        "null", literal
    )

    job = imported(app, user_a, f"[{good}, {odd}]", filename="upload.json")

    assert job.status == "completed", job.error_message
    assert_no_crash(job)
    saved = dict(stored("mechanics", "email", "years_experience"))
    if isinstance(outcome, Rejected):
        assert saved == {"m0@example.com": 12}
        [[row, *_, message]] = report_rows(job)[1:]
        assert row == "2" and outcome.words in message
    else:
        assert saved == {"m0@example.com": 12, "m1@example.com": outcome}


# --- the parts on their own ---------------------------------------------------------------------

FIELD_SAMPLES = [  # (entity, field name, a valid value)
    ("mechanics", "first_name", "John"),
    ("mechanics", "email", "john@example.com"),
    ("mechanics", "mobile_number", "0821234567"),
    ("mechanics", "years_experience", "12"),
    ("mechanics", "province", "Gauteng"),
    ("policies", "start_date", "2026-01-31"),
    ("policies", "premium", "450.00"),
    ("members", "id_number", "8001015009087"),
]


@pytest.mark.parametrize("character", [NUL, SURROGATE, "\udfff"], ids=["NUL", "D800", "DFFF"])
@pytest.mark.parametrize(
    "entity, name, good", FIELD_SAMPLES, ids=[f"{e} {n}" for e, n, _ in FIELD_SAMPLES]
)
def test_every_field_type_rejects_a_cell_with_an_unstorable_character(
    entity, name, good, character
):
    field = get_entity(entity).field(name)
    clean = [good] * 1000 + [None]
    dirty = [*clean[:500], good[:2] + character + good[2:], *clean[501:]]

    normalised, errors = normalise_column(dirty, field)

    expected, _ = normalise_column(clean, field)
    expected[500] = None
    assert normalised == expected
    assert errors == [(500, cannot_be_stored(field.label, character))]


@pytest.mark.parametrize(
    "entity, name, good", FIELD_SAMPLES, ids=[f"{e} {n}" for e, n, _ in FIELD_SAMPLES]
)
def test_long_odd_values_are_judged_in_linear_time(entity, name, good):
    """20,000 characters take milliseconds; a pattern that backtracks would take seconds."""
    field = get_entity(entity).field(name)
    for piece in ("0", "1,", "1 ", "a@", "a.", "1.", "-", "1/"):
        for tail in ("", "x", "@"):
            started = time.perf_counter()
            normalise_column([piece * (20_000 // len(piece)) + tail], field)
            assert time.perf_counter() - started < 1, (piece, tail)


@pytest.mark.parametrize(
    "name, raw, normalised",
    [
        ("premium", "-0", "0.00"),
        ("premium", "-0.00", "0.00"),
        ("premium", "0.5", "0.50"),
        ("sum_insured", "1" + "0" * 4999, None),
        ("premium", "9" * 29, None),
    ],
)
def test_decimals_beyond_the_columns_precision_are_refused_and_zero_has_no_sign(
    name, raw, normalised
):
    field = get_entity("policies").field(name)
    assert normalise_column([raw], field)[0] == [normalised]


def test_the_report_writes_unstorable_characters_as_replacements():
    data = b"".join(
        report_bytes(
            ["na\x00me", "\ud800", "=cmd"],
            [(7, ["=\x00x", "a\ud800b", None], ["Odd \udfff message."])],
        )
    )
    with io.StringIO(data.decode("utf-8-sig"), newline="") as fh:
        assert list(csv.reader(fh)) == [
            ["row", "na\ufffdme", "\ufffd", "'=cmd", "errors"],
            ["7", "'=\ufffdx", "a\ufffdb", "", "Odd \ufffd message."],
        ]


def write(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def read_all(path) -> tuple[list[str], list[list]]:
    reader = open_reader(path, path.name)
    return reader.headers, [
        row for chunk in reader.chunks(1000) for row in chunk.frame.values.tolist()
    ]


def test_a_small_csv_with_a_nul_in_a_cell_is_read_as_text(tmp_path):
    path = write(tmp_path, "m.csv", b"firstName,lastName\nJo\x00hn,Doe\nJane,Roe\n")
    assert read_all(path) == (["firstName", "lastName"], [["Jo\x00hn", "Doe"], ["Jane", "Roe"]])


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_byte_order_mark_is_still_refused_as_binary(tmp_path, encoding):
    text = "firstName,lastName,email\nJohn,Doe,j@x.io\n" * 3
    path = write(tmp_path, "m.csv", text.encode(encoding))
    with pytest.raises(ImportFailed, match="does not look like a CSV text file"):
        read_all(path)


@pytest.mark.parametrize(
    "name, data, headers",
    [
        ("m.csv", b"first\x00Name,b\n1,2\n", ["first\ufffdName", "b"]),
        (
            "m.json",
            b'[{"a\\u0000": 1, "\\ud800": 2, " \\udc00b ": 3}]',
            ["a\ufffd", "\ufffd", "\ufffdb"],
        ),
    ],
)
def test_readers_replace_unstorable_characters_in_headers(tmp_path, name, data, headers):
    assert open_reader(write(tmp_path, name, data), name).headers == headers


def test_the_xlsx_reader_replaces_an_escaped_nul_in_a_header(tmp_path):
    content = xlsx_with_cell([["HEADER", "b"], ["1", "2"]], "HEADER", "fi_x0000_rst")
    assert read_all(write(tmp_path, "m.xlsx", content)) == (["fi\ufffdrst", "b"], [["1", "2"]])
