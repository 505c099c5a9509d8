"""Records for the records tests: written straight into the entity tables (fast), or imported
through the real pipeline where what an upload stores matters."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import insert

from bulkapp.extensions import db
from bulkapp.models import ENTITY_TABLES
from bulkapp.records import query

FIRST = ["John", "Joan", "Thandi", "Pieter", "Émile", "Zanele", "jo_anne", "Sipho"]
LAST = ["Doe", "Nkosi", "van der Merwe", "Mokoena", "Botha", "Ndlovu"]
PROVINCES = ["Gauteng", "Limpopo", "Western Cape", None]


def mechanic(number: int, **values: Any) -> dict[str, Any]:
    """A mechanic with values that differ from row to row (and repeat, for ties)."""
    first, last = FIRST[number % len(FIRST)], LAST[number % len(LAST)]
    return {
        "first_name": first,
        "last_name": last,
        "email": f"{first.lower()}.{number}@example.com",
        "mobile_number": f"08{number % 3}{number:07d}",
        "years_experience": number % 40,
        "city": ["Pretoria", "Cape Town", "50% Town"][number % 3],
        "province": PROVINCES[number % len(PROVINCES)],
        **values,
    }


def add_records(app, organisation_id: int, entity: str, rows: list[dict[str, Any]]) -> None:
    """Write ``rows`` into ``entity``'s table for ``organisation_id`` (a value a row leaves
    out is NULL)."""
    names = {name for row in rows for name in row}
    with app.app_context():
        db.session.execute(
            insert(ENTITY_TABLES[entity]),
            [{"organisation_id": organisation_id, **dict.fromkeys(names), **r} for r in rows],
        )
        db.session.commit()


@pytest.fixture(params=["by the search index", "along the sort"])
def read_plan(request, monkeypatch):
    """Run a test with each way of reading a page: the search index drives every search, or
    none does (every search is taken as one that matches too many records)."""
    if request.param == "along the sort":
        monkeypatch.setattr(query, "SELECTIVE_MATCHES", -1)
    return request.param
