"""Errors of the import pipeline."""

# Why a file cannot be imported (``ImportFailed.kind``). Each is permanent: the same file
# fails the same way again, so the user is asked for a corrected file instead of a retry.
EMPTY_FILE = "empty_file"  # no header, or a header and no data rows
WRONG_TYPE = "wrong_type"  # not the kind of file its name says (a PNG renamed .csv)
UNREADABLE = "unreadable"  # the right kind of file, but broken (bad quoting, bad bytes)
COLUMNS = "columns"  # required columns missing, or a field given twice
INVALID_ROWS = "invalid_rows"  # all-or-nothing mode found invalid rows
VALUE_REFUSED = "value_refused"  # the database refused a value validation let through
FILE_GONE = "file_gone"  # the stored upload is no longer there


class ImportFailed(Exception):
    """The file cannot be imported; the message is meant for the user who uploaded it, the
    ``kind`` (one of the constants above) says why for grouping and for what to offer."""

    def __init__(self, message: str, kind: str = UNREADABLE) -> None:
        super().__init__(message)
        self.kind = kind


class ImportSuperseded(Exception):
    """A later attempt claimed the job while this one ran; this one stops without writing."""
