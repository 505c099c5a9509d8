import csv
import io

import pandas as pd
import pytest

from bulkapp.ingest.report import escape_cell, report_bytes, reported_rows


@pytest.mark.parametrize(
    "cell, shown",
    [
        ("=1+2", "'=1+2"),
        ("+27821234567", "'+27821234567"),
        ("-5", "'-5"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tTAB", "'\tTAB"),
        ("\rCR", "'\rCR"),
        ("plain", "plain"),
        ("a=b", "a=b"),
        (None, ""),
        ("", ""),
    ],
)
def test_cells_that_a_spreadsheet_would_run_are_escaped(cell, shown):
    assert escape_cell(cell) == shown


def test_the_report_has_the_files_columns_and_escapes_formulas_in_every_cell():
    lines = [
        (3, ["=evil()", None], ["Name is wrong.", "x is required."]),
        (3000, ["ok", "1"], ["=1+1 is odd."]),
    ]
    data = b"".join(report_bytes(["Name", "=cmd"], lines))
    assert data.startswith(b"\xef\xbb\xbf"), "Excel reads it as UTF-8"
    assert list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""))) == [
        ["row", "Name", "'=cmd", "errors"],
        ["3", "'=evil()", "", "Name is wrong. x is required."],
        ["3000", "ok", "1", "'=1+1 is odd."],
    ]


def test_a_long_report_comes_in_pieces_that_add_up():
    lines = [(row, [f"cell {row}"], ["Bad."]) for row in range(2, 2502)]
    pieces = list(report_bytes(["Name"], lines))
    assert len(pieces) > 3, "streamed, never built whole"
    text = b"".join(pieces).decode("utf-8-sig")
    assert text.count("\r\n") == 2501 and text.endswith("2501,cell 2501,Bad.\r\n")


def test_a_reports_valid_rows_name_the_rows_of_its_job_they_carry():
    chunk = pd.DataFrame([["3", "a"], [7, "b"], ["12.0", "c"], [None, "d"], ["x", "e"], ["0", "f"]])
    assert reported_rows(chunk, []) == [3, 7, 12], "a cell that is not a row number names none"
    assert reported_rows(chunk, [1, 4]) == [3, 12], "rows rejected again carry nothing"
