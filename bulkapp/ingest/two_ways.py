"""A value that may be written in either of two ways (a number with a decimal point or comma,
a date day first or month first), read both ways."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class TwoReadings(Generic[T]):
    """What a value means written the first way (``FORMATS[0]``) and the second way (None:
    it is not written so). Most values read one way only, or the same both ways."""

    FORMATS: ClassVar[tuple[str, str]]

    first: T | None
    second: T | None

    @property
    def ambiguous(self) -> bool:
        """Both readings exist and differ (``1,250``: 1250 or 1.25)."""
        return self.first is not None and self.second is not None and self.first != self.second

    @property
    def evidence(self) -> str | None:
        """The one way this value can be written in (``450,50``: with a decimal comma), or
        None when it reads both ways or neither."""
        if self.first is not None and self.second is None:
            return self.FORMATS[0]
        if self.second is not None and self.first is None:
            return self.FORMATS[1]
        return None

    def read(self, written_as: str | None) -> T | None:
        """The value written ``written_as``; an unambiguous value reads the same either way
        (None: undecided, so an ambiguous value is not read)."""
        if not self.ambiguous:
            return self.first if self.first is not None else self.second
        if written_as == self.FORMATS[0]:
            return self.first
        if written_as == self.FORMATS[1]:
            return self.second
        return None
