"""The file readers: encodings, delimiters, header rows, chunks, XLSX cells, JSON shapes."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import numpy
import openpyxl
import pytest

from bulkapp.ingest.errors import ImportFailed
from bulkapp.ingest.readers import guards, open_reader

HEADERS = ["firstName", "lastName", "email"]


def score(cells: list[str]) -> int:
    """A header scorer for HEADERS."""
    return sum(cell in HEADERS for cell in cells)


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def read(
    path: Path, filename: str | None = None, chunk_rows: int = 1000, skip_rows: int = 0, **options
) -> tuple[list[str], list[tuple[int, list]]]:
    """Headers and (row number, values) of every data row."""
    reader = open_reader(path, filename or path.name, **options)
    rows = []
    for chunk in reader.chunks(chunk_rows, skip_rows):
        assert list(chunk.frame.columns) == list(range(len(reader.headers)))
        assert list(chunk.frame.index) == list(range(len(chunk.frame)))
        assert all(dtype is numpy.dtype(object) for dtype in chunk.frame.dtypes)
        rows += [
            (chunk.first_row + i, list(values))
            for i, values in enumerate(chunk.frame.itertuples(index=False, name=None))
        ]
    assert reader.progress() == 1.0
    return reader.headers, rows


def failure(path: Path, filename: str | None = None, **options) -> str:
    with pytest.raises(ImportFailed) as caught:
        read(path, filename, **options)
    return str(caught.value)


# --- CSV -------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "latin-1", "utf-16"])
def test_csv_encodings_are_detected(tmp_path, encoding):
    text = "firstName,lastName,city\nJosé,Müller,Pretoria\nZoë,Ça,Kaapstad\n"
    headers, rows = read(write(tmp_path, "m.csv", text.encode(encoding)))
    assert headers == ["firstName", "lastName", "city"]
    assert rows == [(2, ["José", "Müller", "Pretoria"]), (3, ["Zoë", "Ça", "Kaapstad"])]


def test_cp1252_text_after_a_long_ascii_start_is_still_decoded(tmp_path):
    lines = "".join(f"name{i},x\n" for i in range(150_000)) + "René€,y\n"
    headers, rows = read(write(tmp_path, "m.csv", ("a,b\n" + lines).encode("cp1252")))
    assert rows[-1] == (150_002, ["René€", "y"])


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_csv_delimiters_are_detected(tmp_path, delimiter):
    text = f"firstName{delimiter}lastName{delimiter}email\nJohn{delimiter}Doe{delimiter}j@x.io\n"
    assert read(write(tmp_path, "m.csv", text)) == (HEADERS, [(2, ["John", "Doe", "j@x.io"])])


def test_semicolons_win_over_commas_inside_values(tmp_path):
    text = "name;address;city\nJohn;12 Main St, Arcadia;Pretoria\nJane;3 Long St;Cape Town, WC\n"
    headers, rows = read(write(tmp_path, "m.csv", text))
    assert headers == ["name", "address", "city"]
    assert rows[0][1] == ["John", "12 Main St, Arcadia", "Pretoria"]


def test_quoted_fields_keep_delimiters_newlines_and_quotes(tmp_path):
    text = (
        'firstName,lastName,email\r\n"Doe, John","multi\r\nline ""quoted""",  j@x.io \r\n'
        "Jane,Roe,jane@x.io\r\n"
    )
    headers, rows = read(write(tmp_path, "m.csv", text))
    assert rows == [
        (2, ["Doe, John", 'multi\r\nline "quoted"', "  j@x.io "]),
        (3, ["Jane", "Roe", "jane@x.io"]),
    ]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_line_endings(tmp_path, newline):
    text = newline.join(["firstName,lastName,email", "John,Doe,j@x.io", "Jane,Roe,r@x.io", ""])
    headers, rows = read(write(tmp_path, "m.csv", text))
    assert [values[0] for _, values in rows] == ["John", "Jane"]


def test_title_rows_above_the_header_are_skipped_and_rows_keep_their_numbers(tmp_path):
    text = "Mechanics export,,\nMarch 2026,,\n\nfirstName,lastName,email\nJohn,Doe,j@x.io\n"
    headers, rows = read(write(tmp_path, "m.csv", text), header_score=score)
    assert headers == HEADERS
    assert rows == [(5, ["John", "Doe", "j@x.io"])]


def test_without_a_scorer_the_fullest_early_row_is_the_header(tmp_path):
    headers, _ = read(write(tmp_path, "m.csv", "Report,,\na,b,c\n1,2,3\n"))
    assert headers == ["a", "b", "c"]


def test_blank_lines_are_skipped_without_shifting_row_numbers(tmp_path):
    text = "firstName,lastName,email\nJohn,Doe,a\n\n,,\nJane,Roe,b\n\n\n\n"
    _, rows = read(write(tmp_path, "m.csv", text))
    assert rows == [(2, ["John", "Doe", "a"]), (5, ["Jane", "Roe", "b"])]


def test_short_rows_are_padded_and_empty_cells_are_none(tmp_path):
    _, rows = read(write(tmp_path, "m.csv", "a,b,c\n1,,\n2\n"))
    assert rows == [(2, ["1", None, None]), (3, ["2", None, None])]


def test_duplicate_and_empty_headers_are_passed_through(tmp_path):
    headers, _ = read(
        write(tmp_path, "m.csv", " email ,Email,,x\n1,2,3,4\n"),
        header_score=lambda cells: cells.count("x"),
    )
    assert headers == ["email", "Email", "", "x"]


def csv_rows(count: int) -> str:
    return "firstName,lastName,email\n" + "".join(f"n{i},s{i},e{i}\n" for i in range(count))


def test_chunks_cover_every_row_with_their_numbers(tmp_path):
    reader = open_reader(write(tmp_path, "m.csv", csv_rows(25)), "m.csv")
    chunks = list(reader.chunks(10))
    assert [(len(c.frame), c.first_row, c.rows_before) for c in chunks] == [
        (10, 2, 0),
        (10, 12, 10),
        (5, 22, 20),
    ]
    assert chunks[2].frame.iloc[0].tolist() == ["n20", "s20", "e20"]


def test_skip_rows_resumes_after_the_records_already_done(tmp_path):
    path = write(tmp_path, "m.csv", csv_rows(25))
    reader = open_reader(path, "m.csv")
    chunks = list(reader.chunks(10, skip_rows=13))
    assert [(len(c.frame), c.first_row, c.rows_before) for c in chunks] == [
        (7, 15, 13),
        (5, 22, 20),
    ]
    assert chunks[0].frame.iloc[0, 0] == "n13"
    _, all_rows = read(path, chunk_rows=10)
    _, resumed = read(path, chunk_rows=10, skip_rows=13)
    assert resumed == all_rows[13:]


def test_progress_follows_the_bytes_read(tmp_path):
    reader = open_reader(write(tmp_path, "m.csv", csv_rows(200_000)), "m.csv")
    seen = [reader.progress() for _ in reader.chunks(5000)]
    assert seen == sorted(seen) and 0 < seen[0] < 0.5 and reader.progress() == 1.0


def test_a_row_with_more_values_than_the_header_names_its_line(tmp_path):
    message = failure(write(tmp_path, "m.csv", csv_rows(5) + "a,b,c,d\n"), header_score=score)
    assert "Line 7 has 4 values but the header has 3 columns" in message


def test_an_unclosed_quote_names_its_row(tmp_path):
    message = failure(write(tmp_path, "m.csv", csv_rows(3) + 'x,"never closed,z\ny,z,w\n'))
    assert "row 5" in message and "never closed" in message


def test_too_many_columns_and_too_long_lines_are_refused(tmp_path):
    wide = ",".join(f"c{i}" for i in range(600)) + "\n" + "1," * 599 + "1\n"
    assert "600 columns; at most 500" in failure(write(tmp_path, "wide.csv", wide))
    long = csv_rows(2) + "x" * (2 * 1024 * 1024) + "\n"
    assert "Line 4 of the file is longer than 1 MB" in failure(write(tmp_path, "long.csv", long))


def test_empty_binary_and_header_only_files_are_refused(tmp_path):
    assert "is empty" in failure(write(tmp_path, "empty.csv", b""))
    assert "is empty" in failure(write(tmp_path, "blank.csv", b"\r\n\n  \n"))
    assert "binary data" in failure(write(tmp_path, "bin.csv", bytes(range(256)) * 8))
    assert "no data rows" in failure(write(tmp_path, "head.csv", "firstName,lastName\n\n"))


def test_unknown_extension_is_refused(tmp_path):
    assert "not a supported file type" in failure(write(tmp_path, "m.txt", "a\n1\n"))


# --- XLSX ------------------------------------------------------------------------------------


def workbook(tmp_path: Path, sheets: dict[str, list[list]], name: str = "m.xlsx") -> Path:
    """An .xlsx made with openpyxl: sheet name → rows (None for an empty cell)."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    path = tmp_path / name
    book.save(path)
    return path


def test_xlsx_cells_become_the_text_a_user_expects(tmp_path):
    path = workbook(
        tmp_path,
        {
            "Data": [
                ["phone", "born", "seen", "at", "score", "ok", "id", "note", "blank"],
                [
                    821234567,
                    dt.date(1990, 5, 1),
                    dt.datetime(2026, 1, 2, 3, 4, 5),
                    dt.time(9, 30),
                    12.5,
                    True,
                    8001015009087,
                    "  spaced ",
                    None,
                ],
                [
                    27821234567.0,
                    dt.datetime(2026, 1, 2),
                    None,
                    None,
                    0.25,
                    False,
                    1.5e16,
                    "x",
                    None,
                ],
            ]
        },
    )
    headers, rows = read(path)
    assert headers == ["phone", "born", "seen", "at", "score", "ok", "id", "note", "blank"]
    assert rows == [
        (
            2,
            [
                "821234567",
                "1990-05-01",
                "2026-01-02T03:04:05",
                "09:30:00",
                "12.5",
                "true",
                "8001015009087",
                "  spaced ",
                None,
            ],
        ),
        (
            3,
            [
                "27821234567",
                "2026-01-02",
                None,
                None,
                "0.25",
                "false",
                "15000000000000000",
                "x",
                None,
            ],
        ),
    ]


def test_a_number_column_with_gaps_keeps_its_digits(tmp_path):
    rows = [["mobileNumber", "yearsExperience"]] + [
        [820000000 + i, None if i % 3 else i * 0.5] for i in range(30)
    ]
    _, read_rows = read(workbook(tmp_path, {"S": rows}), chunk_rows=7)
    assert read_rows[0] == (2, ["820000000", "0"])
    assert read_rows[3] == (5, ["820000003", "1.5"])
    assert read_rows[4] == (6, ["820000004", None])


def test_trailing_columns_without_a_header_are_dropped(tmp_path):
    path = workbook(tmp_path, {"S": [["a", "b", None, None], ["1", "2", "3", None]]})
    headers, rows = read(path, header_score=lambda cells: cells.count("a"))
    assert (headers, rows) == (["a", "b"], [(2, ["1", "2"])])


def test_xlsx_first_non_empty_sheet_title_rows_and_blank_rows(tmp_path):
    path = workbook(
        tmp_path,
        {
            "Cover": [],
            "Mechanics": [
                ["Mechanics export"],
                [],
                HEADERS,
                ["John", "Doe", "a"],
                [None, None, None],
                ["Jane", "Roe", "b"],
            ],
        },
    )
    reader = open_reader(path, "m.xlsx", header_score=score)
    assert reader.headers == HEADERS and reader.sheet_name == "Mechanics"
    chunks = list(reader.chunks(10))
    assert [(c.first_row, c.rows_before, c.frame.values.tolist()) for c in chunks] == [
        (4, 0, [["John", "Doe", "a"]]),
        (6, 1, [["Jane", "Roe", "b"]]),
    ]


def test_hidden_sheets_are_passed_over_and_data_may_start_far_down(tmp_path):
    path = workbook(tmp_path, {"Lookup": [["code"], ["GP"]], "Data": []})
    book = openpyxl.load_workbook(path)
    book["Lookup"].sheet_state = "hidden"
    book["Data"]["B1500"], book["Data"]["B1501"] = "firstName", "John"
    book.save(path)
    reader = open_reader(path, "m.xlsx")
    assert reader.sheet_name == "Data" and reader.headers == ["firstName"]
    assert [(c.first_row, c.frame.values.tolist()) for c in reader.chunks(10)] == [
        (1501, [["John"]])
    ]


def test_xlsx_sheet_choice(tmp_path):
    path = workbook(tmp_path, {"One": [["a"], ["1"]], "Two": [["b"], ["2"]]})
    assert read(path, sheet="Two") == (["b"], [(2, ["2"])])
    message = failure(path, sheet="Three")
    assert "no sheet called 'Three'" in message and "One, Two" in message
    assert "is empty" in failure(workbook(tmp_path, {"Only": []}, "empty.xlsx"))


def test_xlsx_chunks_and_skip_rows(tmp_path):
    path = workbook(tmp_path, {"S": [HEADERS] + [[f"n{i}", "s", "e"] for i in range(25)]})
    reader = open_reader(path, "m.xlsx")
    chunks = list(reader.chunks(10, skip_rows=12))
    assert [(len(c.frame), c.first_row, c.rows_before) for c in chunks] == [
        (8, 14, 12),
        (5, 22, 20),
    ]
    assert chunks[0].frame.iloc[0, 0] == "n12"


def rezip(source: Path, target: Path, change) -> Path:
    """Copy the zip ``source`` to ``target``, passing each part through ``change(name, data)``."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for member in old.infolist():
            new.writestr(member.filename, change(member.filename, old.read(member)))
    return target


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_xml_parts_declaring_entities_are_refused(tmp_path, encoding):
    good = workbook(tmp_path, {"S": [["a"], ["1"]]})
    bomb = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'

    def add_dtd(name: str, data: bytes) -> bytes:
        if name != "xl/workbook.xml":
            return data
        return (bomb.replace('"1.0"', f'"1.0" encoding="{encoding}"') + data.decode()).encode(
            encoding
        )

    path = rezip(good, tmp_path / "bomb.xlsx", add_dtd)
    assert "declares a DTD or XML entities" in failure(path)


def test_zip_bombs_are_refused_before_parsing(tmp_path, monkeypatch):
    good = workbook(tmp_path, {"S": [["a"], ["1"]]})
    with zipfile.ZipFile(good, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/padding.bin", bytes(20 * 1024 * 1024))
    assert "looks like a zip bomb" in failure(good)
    monkeypatch.setattr(guards, "MAX_UNCOMPRESSED_BYTES", 1000)
    message = failure(workbook(tmp_path, {"S": [["a"], ["1"]]}, "big.xlsx"))
    assert "more than the 0 MB a workbook may hold" in message


def test_files_that_are_not_workbooks_are_refused(tmp_path):
    png = write(tmp_path, "photo.xlsx", b"\x89PNG\r\n\x1a\n" + bytes(100))
    assert "not a valid Excel .xlsx workbook" in failure(png)
    other = tmp_path / "notes.xlsx"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("notes.txt", "hello")
    assert "not a valid Excel .xlsx workbook" in failure(other)


# --- JSON ------------------------------------------------------------------------------------


def test_json_array_of_objects(tmp_path):
    text = (
        '[{"firstName": "John", "lastName": "Doe", "email": "john@example.com", '
        '"mobileNumber": "1234567890"}]'
    )
    assert read(write(tmp_path, "m.json", text)) == (
        ["firstName", "lastName", "email", "mobileNumber"],
        [(1, ["John", "Doe", "john@example.com", "1234567890"])],
    )


def test_json_keys_in_first_seen_order_and_values_as_text(tmp_path):
    text = (
        '\ufeff[{"a": 1, "b": 12.50, "c": true},\n {"d": {"x": [1, "y"]}, "a": null, "e": ""},'
        '\n {}, {"b": 1e5, "c": false, "a": 12345678901234567890, "f": 1e400}]'
    )
    headers, rows = read(write(tmp_path, "m.json", text), chunk_rows=2)
    assert headers == ["a", "b", "c", "d.x", "e", "f"]
    assert rows == [
        (1, ["1", "12.50", "true", None, None, None]),
        (2, [None, None, None, '[1,"y"]', None, None]),
        (4, ["12345678901234567890", "100000", "false", None, None, "1E+400"]),
    ]


def test_json_objects_become_columns_named_by_their_path(tmp_path):
    text = (
        '[{"name": "Ann", "workshop": {"name": "Doe Motors", "address": {"city": "Paarl"}}},'
        ' {"workshop": {}, "skills": ["Diesel", "Auto electrical"]},'
        ' {"workshop": {"address": {"city": "George", "province": "WC"}}}]'
    )
    headers, rows = read(write(tmp_path, "m.json", text))
    assert headers == [
        "name",
        "workshop.name",
        "workshop.address.city",
        "skills",
        "workshop.address.province",
    ]
    assert rows == [
        (1, ["Ann", "Doe Motors", "Paarl", None, None]),
        (2, [None, None, None, '["Diesel","Auto electrical"]', None]),
        (3, [None, None, "George", None, "WC"]),
    ]


def test_json_skip_rows(tmp_path):
    text = "[" + ",".join(f'{{"k": {i}}}' for i in range(30)) + "]"
    chunks = list(open_reader(write(tmp_path, "m.json", text), "m.json").chunks(10, skip_rows=25))
    assert [(c.first_row, c.rows_before, c.frame.iloc[0, 0]) for c in chunks] == [(26, 25, "25")]


@pytest.mark.parametrize(
    "text, expected",
    [
        ('{"firstName": "John"}', "single JSON object, not a list of records"),
        ('["John", "Jane"]', "Record 1 in m.json is not an object"),
        ('[{"a": 1},, {"a": 2}]', "not valid JSON near line 1 (record 2)"),
        ('[{"a": 1}', "ends before the closing ']'"),
        ('[{"a": 1}] extra', "text after the closing ']'"),
        ("[]", "empty list"),
        ("[" * 50_000 + "]" * 50_000, "nested too deeply"),
        ('[{"a": ' + "[" * 50_000 + "]" * 50_000 + "}]", "nested too deeply"),
        ("firstName,lastName\nJohn,Doe\n", "not a JSON list of records"),
    ],
)
def test_json_shapes_that_are_refused(tmp_path, text, expected):
    assert expected in failure(write(tmp_path, "m.json", text))


def test_json_must_be_utf8(tmp_path):
    path = write(tmp_path, "m.json", '[{"a": "José"}]'.encode("cp1252"))
    assert "not UTF-8" in failure(path)
