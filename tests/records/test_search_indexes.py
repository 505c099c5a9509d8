"""The migrated schema's search indexes answer the records queries: each searched field's
prefix is a range of its index, and "newest first" walks the organisation's index."""

from __future__ import annotations

import pytest
from flask_migrate import upgrade
from sqlalchemy import literal, select, text

from bulkapp.entities import REGISTRY
from bulkapp.extensions import db
from bulkapp.models.entity_tables import folded, has_own_search_index, search_index_name
from bulkapp.people.organisations import create_organisation
from bulkapp.records.fields import entity_table
from bulkapp.records.search import Prefix
from bulkapp.records.view import RecordView
from tests.test_migrations import empty_database_app, restored_logging  # noqa: F401


def plan(statement) -> str:
    """How the database would run ``statement`` (its parameters bound), as text."""
    compiled = statement.compile(db.engine, compile_kwargs={"literal_binds": True})
    connection = db.session.connection()
    if db.engine.dialect.name == "postgresql":
        # The tables are empty: without this the planner would rather read them whole.
        connection.execute(text("SET LOCAL enable_seqscan = off"))
        return "\n".join(r[0] for r in connection.execute(text(f"EXPLAIN {compiled}")))
    return "\n".join(r[-1] for r in connection.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))


def ranges_in_index(found: str) -> bool:
    """Whether the plan ``found`` reads a range of an index (the prefix "ab")."""
    if db.engine.dialect.name == "sqlite":
        return ">?" in found  # SEARCH t USING INDEX i (organisation_id=? AND <expr>>? AND …)
    return any("Index Cond" in line and "'ab'" in line for line in found.splitlines())


def fill(schema, organisation_id: int, count: int = 500) -> None:
    """``count`` records of distinct values in ``schema``'s table, and fresh statistics, so
    that a planner prefers the index that narrows a search to the one that narrows nothing."""
    values = {
        "email": lambda i: f"e{i}@example.com",
        "phone": lambda i: f"0{i:09d}",
        "sa_id": lambda i: f"{i:013d}",
        "integer": lambda i: i,
        "decimal": lambda i: i,
        "date": lambda i: None,
    }
    rows = [
        {
            "organisation_id": organisation_id,
            **{
                f.name: f.choices[0] if f.type == "enum" else values.get(f.type, str)(i)
                for f in schema.fields
            },
        }
        for i in range(count)
    ]
    db.session.execute(entity_table(schema).insert(), rows)
    db.session.execute(text("ANALYZE"))


# The migrations run on an empty database (SQLite file or TEST_DATABASE_URL) in each test.
pytestmark = pytest.mark.usefixtures("empty_database_app")


@pytest.mark.parametrize("entity", sorted(REGISTRY))
def test_each_searched_field_is_a_range_of_its_index(entity):
    upgrade()
    schema = REGISTRY[entity]
    table = entity_table(schema)
    organisation_id = create_organisation("A", "a").id
    fill(schema, organisation_id)
    for field in schema.search_fields:
        prefix = Prefix(folded(table, field), "ab")
        probe = select(literal(1)).where(
            table.c.organisation_id == organisation_id, prefix.indexed()
        )
        if has_own_search_index(schema, field):
            index = search_index_name(schema, field)
        elif db.engine.dialect.name == "sqlite":
            index = f"sqlite_autoindex_{schema.table}_1"  # the unique key's
        else:
            index = f"uq_{schema.table}_organisation_key"
        found = plan(probe)
        assert index in found and ranges_in_index(found), (field.name, found)
        # The form that must not drive a query is no range of any index.
        checked = select(literal(1)).where(
            table.c.organisation_id == organisation_id, prefix.checked()
        )
        assert not ranges_in_index(plan(checked)), (field.name, plan(checked))


def test_newest_first_walks_the_organisations_index():
    upgrade()
    from bulkapp.records.query import _sorted

    schema = REGISTRY["mechanics"]
    table = entity_table(schema)
    view = RecordView(schema, 1)
    query = select(table.c.id).where(table.c.organisation_id.between(1, 1))
    assert "ix_mechanics_organisation_added" in plan(_sorted(view, query, False).limit(51))


def test_searched_columns_compare_byte_by_byte_on_postgresql():
    upgrade()
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite compares text byte by byte already")
    collations = dict(
        db.session.execute(
            text(
                "SELECT table_name || '.' || column_name, collation_name "
                "FROM information_schema.columns WHERE table_schema = current_schema()"
            )
        ).all()
    )
    for schema in REGISTRY.values():
        for field in schema.search_fields:
            assert collations[f"{schema.table}.{field.name}"] == "C", field.name
