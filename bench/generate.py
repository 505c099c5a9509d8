"""Generate realistic mechanics files for the benchmark (CSV and XLSX)."""

from __future__ import annotations

import random
from pathlib import Path

from bulkapp.entities.provinces import SA_PROVINCES

HEADERS = [
    "First Name",
    "Last Name",
    "E-mail",
    "Mobile Number",
    "Specialisation",
    "Years of Experience",
    "Workshop",
    "City",
    "Province",
]
FIRST = [
    "John",
    "Thandi",
    "Pieter",
    "Lerato",
    "Sipho",
    "Anna",
    "Mohammed",
    "Naledi",
    "Johan",
    "Zanele",
    "David",
    "Ayesha",
    "Kagiso",
    "Maria",
    "Themba",
    "Chantel",
]
LAST = [
    "Doe",
    "Nkosi",
    "van der Merwe",
    "Mokoena",
    "Dlamini",
    "Botha",
    "Naidoo",
    "Khumalo",
    "Pillay",
    "Smith",
    "Mahlangu",
    "Jacobs",
    "Zulu",
    "Pretorius",
    "Ndlovu",
    "Adams",
]
TRADES = [
    "Diesel engines",
    "Auto electrical",
    "Brakes and clutches",
    "Gearboxes",
    "General servicing",
    "Air conditioning",
    "Panel beating",
    "",
]
CITIES = [
    "Pretoria",
    "Johannesburg",
    "Cape Town",
    "Durban",
    "Gqeberha",
    "Bloemfontein",
    "Polokwane",
    "Mbombela",
    "Kimberley",
    "East London",
]
BLOCK = 50_000


def _rows(count: int, seed: int):
    rng = random.Random(seed)
    for i in range(count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        yield (
            first,
            last,
            f"{first}.{last.replace(' ', '')}.{seed}.{i}@example.com",
            f"0{rng.randint(60, 84)}{rng.randint(0, 9_999_999):07d}",
            rng.choice(TRADES),
            str(rng.randint(0, 45)),
            f"{last} Motors",
            rng.choice(CITIES),
            rng.choice(SA_PROVINCES),
        )


def write_csv(path: Path, count: int, seed: int = 0) -> Path:
    """Write ``count`` valid mechanics rows with human headers to ``path``."""
    part = path.with_name(path.name + ".part")
    with open(part, "w", encoding="utf-8", newline="") as out:
        out.write(",".join(HEADERS) + "\n")
        block: list[str] = []
        for row in _rows(count, seed):
            block.append(",".join(f'"{v}"' if "," in v else v for v in row))
            if len(block) == BLOCK:
                out.write("\n".join(block) + "\n")
                block.clear()
        if block:
            out.write("\n".join(block) + "\n")
    part.replace(path)
    return path


def write_mixed_csv(path: Path, count: int, seed: int = 0) -> Path:
    """``write_csv``'s file for the same ``seed`` as a later upload: every tenth row has a
    city it did not have (an update), the row after it a new e-mail address (a new record),
    the other 80 % are as they were."""
    part = path.with_name(path.name + ".part")
    with open(part, "w", encoding="utf-8", newline="") as out:
        out.write(",".join(HEADERS) + "\n")
        for i, row in enumerate(_rows(count, seed)):
            values = list(row)
            if i % 10 == 0:
                values[7] = "Stellenbosch"  # not among CITIES
            elif i % 10 == 1:
                values[2] = values[2].replace("@", ".new@")
            out.write(",".join(f'"{v}"' if "," in v else v for v in values) + "\n")
    part.replace(path)
    return path


def write_xlsx(path: Path, count: int, seed: int = 2, *, shared_strings: bool = True) -> Path:
    """Write ``count`` mechanics rows to an XLSX sheet (years as numbers, phones as text).

    With ``shared_strings`` the text is stored once in a shared-strings table, as Excel,
    LibreOffice and Google Sheets save it (written with XlsxWriter); without, each cell holds
    its text inline, as streaming writers such as openpyxl's save it.
    """
    part = path.with_name(path.name + ".part")
    rows = ([*row[:5], int(row[5]), *row[6:]] for row in _rows(count, seed))
    if shared_strings:
        import xlsxwriter

        with xlsxwriter.Workbook(part, {"strings_to_numbers": False}) as workbook:
            sheet = workbook.add_worksheet("Mechanics")
            sheet.write_row(0, 0, HEADERS)
            for number, row in enumerate(rows, start=1):
                sheet.write_row(number, 0, row)
    else:
        from openpyxl import Workbook

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("Mechanics")
        sheet.append(HEADERS)
        for row in rows:
            sheet.append(row)
        workbook.save(part)
    part.replace(path)
    return path
