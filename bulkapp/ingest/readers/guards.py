"""Guards run on an XLSX upload before any parser sees it: zip bombs and XML entity bombs."""

from __future__ import annotations

import zipfile
from pathlib import Path
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from ..errors import WRONG_TYPE, ImportFailed

MAX_UNCOMPRESSED_BYTES = 256 * 1024 * 1024  # everything in the workbook, unpacked
MAX_COMPRESSION_RATIO = 100  # unpacked / packed size of one part
RATIO_CHECK_MIN_BYTES = 1024 * 1024  # small parts may compress well without harm
MAX_PROLOG_BYTES = 64 * 1024  # an XML part must reach its root element within this
_XML_SUFFIXES = (".xml", ".rels")
_REQUIRED_PARTS = ("[Content_Types].xml", "xl/workbook.xml")


def not_a_workbook(filename: str) -> ImportFailed:
    """The error for a file that is not an .xlsx workbook."""
    return ImportFailed(
        f"{filename} is not a valid Excel .xlsx workbook. If it is an older .xls file, a "
        "password-protected workbook or another kind of file, open it in Excel and save it "
        "as 'Excel Workbook (.xlsx)' without a password, or export it as CSV.",
        WRONG_TYPE,
    )


def check_xlsx(path: Path, filename: str) -> None:
    """Refuse ``path`` unless it is a zip holding a workbook of sane unpacked size whose XML
    parts declare no DTD or entities.

    Raises:
        ImportFailed: with a message for the user.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            names = {member.filename for member in members}
            if any(part not in names for part in _REQUIRED_PARTS):
                raise not_a_workbook(filename)
            _check_sizes(members, filename)
            for member in members:
                if member.filename.lower().endswith(_XML_SUFFIXES):
                    _check_prolog(archive, member, filename)
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        NotImplementedError,
        OSError,
        EOFError,
    ) as exc:
        raise not_a_workbook(filename) from exc


def _check_sizes(members: list[zipfile.ZipInfo], filename: str) -> None:
    total = sum(member.file_size for member in members)
    if total > MAX_UNCOMPRESSED_BYTES:
        raise ImportFailed(
            f"{filename} unpacks to {total / (1024 * 1024):,.0f} MB, more than the "
            f"{MAX_UNCOMPRESSED_BYTES // (1024 * 1024)} MB a workbook may hold. Split it into "
            "smaller files, or export it as CSV."
        )
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > RATIO_CHECK_MIN_BYTES and ratio > MAX_COMPRESSION_RATIO:
            raise ImportFailed(
                f"{filename} looks like a zip bomb: its part {member.filename} is compressed "
                f"{ratio:,.0f} times, far more than a real workbook. It was not opened."
            )


class _RootSeen(Exception):
    """Raised by the parser target once the root element starts: the prolog is over."""


class _StopAtRoot:
    def start(self, tag: str, attrib: dict) -> None:
        raise _RootSeen


def _check_prolog(archive: zipfile.ZipFile, member: zipfile.ZipInfo, filename: str) -> None:
    """Parse ``member`` up to its root element with defusedxml, which refuses DTDs and
    entity declarations."""
    parser = DefusedXMLParser(
        target=_StopAtRoot(), forbid_dtd=True, forbid_entities=True, forbid_external=True
    )
    try:
        with archive.open(member) as part:
            parser.feed(part.read(MAX_PROLOG_BYTES))
    except _RootSeen:
        return
    except DefusedXmlException as exc:
        raise ImportFailed(
            f"{filename} was refused: its part {member.filename} declares a DTD or XML "
            "entities, which real Excel workbooks never do (this is how 'XML bomb' attacks "
            "work). Save the data again from Excel as a new .xlsx file."
        ) from exc
    except ParseError as exc:
        raise not_a_workbook(filename) from exc
    raise not_a_workbook(filename)
