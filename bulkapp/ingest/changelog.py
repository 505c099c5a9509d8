"""The change log an upsert writes with its rows: for every record it updates, the old and
new value of each field that changed (table ``record_changes``; the format is described in
``bulkapp.models.record_change``). Inserted records need no log row: the upsert sets their
``created_job_id``.

Both databases build the log inside the statement that updates the rows, so only records
that really change pay for it:

* PostgreSQL: the upsert's ``RETURNING`` gives the new values, and a sub-statement of the
  same ``WITH`` reads the old ones (every part of one statement sees the table as it was
  before the statement). Chunks of one organisation's records of one type are written one
  transaction at a time (``lock_statement``), so the old values read are the ones replaced.
* SQLite: a temporary trigger on the entity table, present only while the chunk's upsert runs,
  logs each updated row from its ``OLD`` and ``NEW`` values.
"""

from __future__ import annotations

import zlib

from ..entities import EntitySchema

TIMESTAMP_FORMAT = "YYYY-MM-DD HH24:MI:SS.US"  # PostgreSQL's to_char, as SQLite stores them


def _q(name: str) -> str:
    return f'"{name}"'


def lock_statement() -> str:
    """PostgreSQL: wait until no other transaction writes this organisation's records of
    this type (parameters ``org`` and ``entity``, see ``lock_key``); held until commit."""
    return "SELECT pg_advisory_xact_lock(%(org)s, %(entity)s)"


def lock_key(schema: EntitySchema) -> int:
    """A stable number for the entity type, the second half of the advisory lock's key."""
    return zlib.crc32(schema.table.encode()) & 0x7FFFFFFF


def _is_decimal(schema: EntitySchema, name: str) -> bool:
    return name in schema.field_names and schema.field(name).type == "decimal"


def _pg_text(schema: EntitySchema, name: str, ref: str) -> str:
    """The column ``name`` of row ``ref`` as the log writes it (PostgreSQL)."""
    if _is_decimal(schema, name):
        return f"{ref}.{_q(name)}::text"
    if name == "updated_at":
        return f"to_char({ref}.{_q(name)}, '{TIMESTAMP_FORMAT}')"
    return f"{ref}.{_q(name)}"


def postgresql_returning(schema: EntitySchema) -> str:
    """What the upsert must return for ``postgresql_log`` to log its updated rows."""
    names = [*schema.field_names, "import_job_id", "updated_at"]
    return ", ".join(["t.id", "(xmax = 0) AS inserted", *(f"t.{_q(n)}" for n in names)])


def postgresql_log(schema: EntitySchema, written: str) -> str:
    """An ``INSERT`` of the log rows of the updated rows in the CTE ``written`` (which
    returns ``postgresql_returning``), for a ``WITH`` clause; parameter ``job``."""
    pairs = []
    for name in schema.field_names:
        old, new = _pg_text(schema, name, "o"), _pg_text(schema, name, "w")
        pairs.append(
            f"'{name}', CASE WHEN o.{_q(name)} IS DISTINCT FROM w.{_q(name)} "
            f"THEN json_build_array({old}, {new}) END"
        )
    for name in ("import_job_id", "updated_at"):
        old, new = _pg_text(schema, name, "o"), _pg_text(schema, name, "w")
        pairs.append(f"'{name}', json_build_array({old}, {new})")
    # OFFSET 0 keeps the old row a lookup by id per updated row (never a scan of the table).
    return (
        "INSERT INTO record_changes (import_job_id, entity_type, record_id, action, changes) "
        f"SELECT %(job)s, '{schema.name}', w.id, 'update', "
        f"json_strip_nulls(json_build_object({', '.join(pairs)})) "
        f"FROM {written} w CROSS JOIN LATERAL "
        f"(SELECT * FROM {_q(schema.table)} o WHERE o.id = w.id OFFSET 0) o "
        "WHERE NOT w.inserted"
    )


def _sqlite_text(schema: EntitySchema, name: str, ref: str) -> str:
    """The column ``name`` of ``OLD`` or ``NEW`` as the log writes it (SQLite)."""
    column = f"{ref}.{_q(name)}"
    if _is_decimal(schema, name):
        return f"CASE WHEN {column} IS NULL THEN NULL ELSE printf('%.2f', {column}) END"
    return column


def sqlite_trigger_name(schema: EntitySchema) -> str:
    return _q(f"_log_{schema.table}")


def sqlite_trigger(schema: EntitySchema, job_id: str) -> str:
    """``CREATE TEMP TRIGGER`` logging every row of the entity table that an UPDATE by the
    import ``job_id`` changes (drop it with ``DROP TRIGGER temp.<sqlite_trigger_name>``)."""
    job = job_id.replace("'", "''")
    parts = [
        f"SELECT '{name}' AS name, json_array({_sqlite_text(schema, name, 'OLD')}, "
        f"{_sqlite_text(schema, name, 'NEW')}) AS pair "
        f"WHERE OLD.{_q(name)} IS NOT NEW.{_q(name)}"
        for name in schema.field_names
    ]
    parts += [
        f"SELECT '{name}', json_array(OLD.{_q(name)}, NEW.{_q(name)})"
        for name in ("import_job_id", "updated_at")
    ]
    return (
        f"CREATE TEMP TRIGGER {sqlite_trigger_name(schema)} AFTER UPDATE ON "
        f"main.{_q(schema.table)} WHEN NEW.import_job_id = '{job}' BEGIN "
        "INSERT INTO record_changes (import_job_id, entity_type, record_id, action, changes) "
        f"SELECT NEW.import_job_id, '{schema.name}', NEW.id, 'update', "
        f"json_group_object(name, json(pair)) FROM ({' UNION ALL '.join(parts)}); END"
    )
