import csv

import pandas as pd
import pytest

from bulkapp.ingest.report import ErrorReport, escape_cell
from bulkapp.ingest.validate import RowError


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


def test_report_is_appended_per_chunk_and_resumes_at_a_byte_length(tmp_path):
    path = tmp_path / "job.csv"
    headers = ["Name", "=cmd"]
    report = ErrorReport(path, headers)
    frame = pd.DataFrame([["ok", "1"], ["=evil()", None]], dtype=object)
    report.add(
        frame,
        first_row=2,
        positions=[1],
        errors=[
            RowError(1, "Name", "=evil()", "Name is wrong."),
            RowError(1, "x", None, "x is required."),
        ],
    )
    checkpoint = report.close()
    again = ErrorReport(path, headers, resume_at=checkpoint)
    again.add(frame, first_row=10, positions=[0], errors=[RowError(0, "Name", "ok", "Bad.")])
    again.add(frame, first_row=20, positions=[0], errors=[RowError(0, "Name", "ok", "Lost.")])
    again.close()
    resumed = ErrorReport(path, headers, resume_at=checkpoint)  # the crash lost the last two
    resumed.add(frame, first_row=30, positions=[0], errors=[RowError(0, "Name", "ok", "Kept.")])
    resumed.close()
    with open(path, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    assert rows == [
        ["row", "Name", "'=cmd", "errors"],
        ["3", "'=evil()", "", "Name is wrong. x is required."],
        ["30", "ok", "1", "Kept."],
    ]
