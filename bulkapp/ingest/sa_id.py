"""South African ID numbers: ``YYMMDD SSSS C A Z`` with a Luhn check digit, vectorised."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

LENGTH = 13
_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def luhn_valid(digits: np.ndarray) -> np.ndarray:
    """For a (rows, n) array of digits, True where the row passes the Luhn check."""
    doubled = digits[:, -2::-2] * 2
    total = digits[:, ::-2].sum(axis=1) + (doubled - 9 * (doubled > 9)).sum(axis=1)
    return total % 10 == 0


def _real_birth_date(digits: np.ndarray) -> np.ndarray:
    """True where YYMMDD is a real date in the 1900s or the 2000s."""
    yy = digits[:, 0] * 10 + digits[:, 1]
    month = digits[:, 2] * 10 + digits[:, 3]
    day = digits[:, 4] * 10 + digits[:, 5]
    month_ok = (month >= 1) & (month <= 12)
    days = _DAYS[np.clip(month, 1, 12) - 1]
    # 29 February is real when 19yy or 20yy is a leap year: exactly when yy % 4 == 0
    leap = yy % 4 == 0
    days = days + ((month == 2) & leap)
    return month_ok & (day >= 1) & (day <= days)


def sa_id_errors(values: Sequence[str | None], label: str) -> list[tuple[int, str]]:
    """``(position, message)`` for every present value that is not a valid SA ID number."""
    errors: list[tuple[int, str]] = []
    shaped: list[int] = []
    shaped_values: list[str] = []
    for i, value in enumerate(values):
        if value is None:
            continue
        if len(value) == LENGTH and value.isascii() and value.isdigit():
            shaped.append(i)
            shaped_values.append(value)
        else:
            errors.append((i, f"{label} must be 13 digits."))
    if shaped:
        text = "".join(shaped_values).encode("ascii")
        digits = (np.frombuffer(text, dtype=np.uint8).reshape(-1, LENGTH) - 48).astype(np.int64)
        real_date = _real_birth_date(digits)
        checksum = luhn_valid(digits)
        for i, date_ok, sum_ok in zip(shaped, real_date.tolist(), checksum.tolist(), strict=True):
            if not date_ok:
                errors.append((i, f"{label} does not start with a real date of birth (YYMMDD)."))
            elif not sum_ok:
                errors.append((i, f"{label} has a wrong check digit; check for a typo."))
    errors.sort()
    return errors
