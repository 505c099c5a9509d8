"""Store a chunk of valid rows: insert new keys, update changed rows, count unchanged ones;
or, for the review's dry run, only count what storing it would do (``Comparer``).

Whether a stored row changes has one definition, ``changes``, which both the import and the
dry run ask the database: the new values, held in the entity table's own column types,
differ from the stored ones in a field the file provides.

PostgreSQL: ``COPY`` into a temporary staging table, then one ``INSERT … ON CONFLICT DO
UPDATE … WHERE <something changed>``. SQLite: ``executemany`` into a temporary staging
table on the raw sqlite3 connection, then the same upsert from it in one statement. Both
run inside the session's current transaction, so the caller commits the rows together with
the job's progress and checkpoint, and with the change log (``changelog``): inserted
records carry the job in ``created_job_id``, updated ones get a ``record_changes`` row with
their old and new values.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from ..entities import EntitySchema
from . import changelog


class ValueRefused(Exception):
    """The database refused a value of the chunk (its own words are the message)."""


@dataclass(frozen=True)
class Saved:
    """What one upsert did."""

    inserted: int
    updated: int
    unchanged: int


def _driver_connection(session: Session) -> Any:
    """The driver's own connection (sqlite3 or psycopg) under the session's transaction."""
    connection = session.connection().connection.driver_connection
    assert connection is not None, "a connection in use by a transaction is never detached"
    return connection


def _utc_now() -> datetime:
    """Now in UTC, naive, as every timestamp column holds it."""
    return datetime.now(UTC).replace(tzinfo=None)


def _quote(name: str) -> str:
    return f'"{name}"'


def _literal(value: str | None) -> str:
    """``value`` as an SQL string literal (NULL for None)."""
    return "NULL" if value is None else "'" + value.replace("'", "''") + "'"


def differs(name: str, old: str, new: str) -> str:
    """SQL: the field ``name`` of row ``old`` differs from that of row ``new`` (NULL equals
    NULL; the same text on SQLite and PostgreSQL)."""
    return f"{old}.{_quote(name)} IS DISTINCT FROM {new}.{_quote(name)}"


def changes(names: Sequence[str], old: str, new: str) -> str:
    """SQL: storing row ``new`` over row ``old`` changes it, i.e. one of the fields ``names``
    differs. The one definition the import's upsert and the review's dry run share."""
    return " OR ".join(differs(name, old, new) for name in names) or "false"


def _updatable(schema: EntitySchema, provided: Sequence[str]) -> list[str]:
    """The fields a file providing ``provided`` updates on stored rows (all but the key)."""
    return [f for f in schema.field_names if f in provided and f not in schema.natural_key]


class Upserter:
    """Upserts rows of one entity for one organisation and job, logging what it changes.

    Only the fields the file provides are updated on existing rows: a re-upload without a
    ``city`` column leaves the stored cities alone. ``log_changes=False`` writes no change
    log (and no ``created_job_id``): only the benchmark's runs without the log use it.
    """

    def __init__(
        self,
        schema: EntitySchema,
        organisation_id: int,
        job_id: str,
        provided: Sequence[str],
        session: Session,
        *,
        log_changes: bool = True,
    ) -> None:
        self.schema = schema
        self.session = session
        self.organisation_id = organisation_id
        self.job_id = job_id
        self.log_changes = log_changes
        self.fields = schema.field_names
        self.updatable = _updatable(schema, provided)
        self.table = _quote(schema.table)
        self.conflict = ", ".join(map(_quote, ("organisation_id", *schema.natural_key)))

    def _set_clause(self) -> str:
        return ", ".join(
            [
                *(f"{_quote(f)} = excluded.{_quote(f)}" for f in self.updatable),
                "import_job_id = excluded.import_job_id",
                "updated_at = excluded.updated_at",
            ]
        )

    def save(self, columns: dict[str, list], count: int) -> Saved:
        """Upsert ``count`` rows given as one list per field (all of ``schema.field_names``).

        Raises:
            ValueRefused: the database cannot store one of the values.
        """
        if count == 0:
            return Saved(0, 0, 0)
        dialect = self.session.get_bind().dialect
        try:
            if dialect.name == "postgresql":
                return self._save_postgresql(columns, count)
            return self._save_sqlite(columns, count)
        except (dialect.loaded_dbapi.DataError, UnicodeEncodeError) as exc:
            raise ValueRefused(" ".join(str(exc).split())) from exc

    def _save_sqlite(self, columns: dict[str, list], count: int) -> Saved:
        names = [
            "organisation_id",
            *self.fields,
            "import_job_id",
            "created_job_id",
            "created_at",
            "updated_at",
        ]
        now = _literal(_utc_now().isoformat(sep=" ", timespec="microseconds"))
        field_list = ", ".join(map(_quote, self.fields))
        stage = _quote(f"_stage_{self.schema.table}")
        # The constants are written into the statement; the rows come from the staging table
        # in their order, so new records get ids in the file's order.
        selected = [
            str(int(self.organisation_id)),
            field_list,
            _literal(self.job_id),
            _literal(self.job_id if self.log_changes else None),
            now,
            now,
        ]
        changed = changes(self.updatable, self.table, "excluded")
        sql = (
            f"INSERT INTO main.{self.table} ({', '.join(map(_quote, names))}) "
            f"SELECT {', '.join(selected)} FROM temp.{stage} WHERE true "
            f"ON CONFLICT ({self.conflict}) DO UPDATE SET {self._set_clause()} "
            f"WHERE {changed}"
        )
        rows = zip(*(columns[f] for f in self.fields), strict=True)
        connection = _driver_connection(self.session)
        cursor = connection.cursor()
        try:
            if not connection.in_transaction:
                # The trigger and the staging table's rows belong to the chunk's transaction
                # (sqlite3 would run their statements outside one), so a chunk rolled back
                # leaves neither behind.
                cursor.execute("BEGIN IMMEDIATE")
            before = cursor.execute(f"SELECT coalesce(max(id), 0) FROM {self.table}").fetchone()[0]
            # One upsert statement per chunk rather than one per row: with foreign keys on,
            # each statement of an upsert keeps a statement journal of the pages it changes,
            # which per row cost the first upload nearly as much as its inserts.
            cursor.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {stage} AS "
                f"SELECT {field_list} FROM main.{self.table} WHERE 0"
            )
            cursor.execute(f"DELETE FROM temp.{stage}")
            cursor.executemany(
                f"INSERT INTO temp.{stage} ({field_list}) "
                f"VALUES ({', '.join('?' * len(self.fields))})",
                rows,
            )
            if self.log_changes:
                cursor.execute(changelog.sqlite_trigger(self.schema, self.job_id))
            try:
                cursor.execute(sql)
                changed_rows = cursor.rowcount
            finally:
                if self.log_changes:
                    trigger = changelog.sqlite_trigger_name(self.schema)
                    cursor.execute(f"DROP TRIGGER IF EXISTS temp.{trigger}")
            # New rows get ids above the old maximum and this save's own created_at; the
            # timestamp tells them apart from rows another connection added meanwhile.
            inserted = cursor.execute(
                f"SELECT count(*) FROM {self.table} WHERE id > ? AND created_at = {now} "
                "AND import_job_id IS ?",
                (before, self.job_id),
            ).fetchone()[0]
        finally:
            cursor.close()
        return Saved(inserted, changed_rows - inserted, count - changed_rows)

    def _save_postgresql(self, columns: dict[str, list], count: int) -> Saved:
        stage = _quote(f"_stage_{self.schema.table}")
        field_list = ", ".join(map(_quote, self.fields))
        changed = changes(self.updatable, "t", "excluded")
        if self.log_changes:
            returning = changelog.postgresql_returning(self.schema)
            logged = f", logged AS ({changelog.postgresql_log(self.schema, 'written')})"
        else:
            returning, logged = "(xmax = 0) AS inserted", ""
        upsert = (
            f"WITH written AS (INSERT INTO {self.table} AS t (organisation_id, {field_list}, "
            "import_job_id, created_job_id, created_at, updated_at) "
            f"SELECT %(org)s, {field_list}, %(job)s, %(created_job)s, %(now)s, %(now)s "
            f"FROM {stage} "
            f"ON CONFLICT ({self.conflict}) DO UPDATE SET {self._set_clause()} WHERE {changed} "
            f"RETURNING {returning}){logged} "
            "SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) "
            "FROM written"
        )
        parameters = {
            "org": self.organisation_id,
            "job": self.job_id,
            "created_job": self.job_id if self.log_changes else None,
            "now": _utc_now(),
            "entity": changelog.lock_key(self.schema),
        }
        connection = _driver_connection(self.session)
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS AS "
                f"SELECT {field_list} FROM {self.table} WITH NO DATA"
            )
            with cursor.copy(f"COPY {stage} ({field_list}) FROM STDIN") as copy:
                for row in zip(*(columns[f] for f in self.fields), strict=True):
                    copy.write_row(row)
            if self.log_changes:
                cursor.execute(changelog.lock_statement(), parameters)
            cursor.execute(upsert, parameters)
            inserted, updated = cursor.fetchone()
        return Saved(inserted, updated, count - inserted - updated)


@dataclass(frozen=True)
class Compared:
    """What storing a chunk would do: the counts, and the first rows it would update."""

    inserted: int
    updated: int
    unchanged: int
    examples: list[Example]


@dataclass(frozen=True)
class Example:
    """A row storing would update: its position among the chunk's rows, and per field that
    changes, its stored value."""

    position: int
    old: dict[str, Any]


class Comparer:
    """Counts what upserting chunks of one entity for one organisation would do, writing
    nothing but a temporary table: the chunk's rows go into it in the entity table's column
    types, and one query joins them with the stored rows by key and asks ``changes``."""

    def __init__(
        self, schema: EntitySchema, organisation_id: int, provided: Sequence[str], session: Session
    ) -> None:
        self.session = session
        self.organisation_id = int(organisation_id)
        self.key = list(schema.natural_key)
        self.compared = _updatable(schema, provided)
        self.names = [*self.key, *self.compared]
        self.table = _quote(schema.table)
        # Named after its columns: a temporary table lives as long as its pooled connection,
        # which the next file (with other columns) or the next chunk may get, or not.
        columns = hashlib.sha1(",".join(self.names).encode()).hexdigest()[:12]
        self.stage = _quote(f"_compare_{schema.table}_{columns}")
        self.postgresql = session.get_bind().dialect.name == "postgresql"
        same_key = f"t.organisation_id = {self.organisation_id} AND " + " AND ".join(
            f"t.{_quote(k)} = s.{_quote(k)}" for k in self.key
        )
        if self.postgresql:
            # Per staged row a lookup in the unique key's index, whatever the statistics say
            # (right after a large import they say the organisation has few rows, and a hash
            # of all its rows took ten times longer); SQLite plans that lookup itself.
            self.joined = (
                f"FROM {self.stage} s CROSS JOIN LATERAL (SELECT * FROM {self.table} t "
                f"WHERE {same_key} OFFSET 0) t"
            )
        else:
            self.joined = f"FROM {self.stage} s JOIN {self.table} t ON {same_key}"

    def compare(self, columns: dict[str, list], count: int, examples: int) -> Compared:
        """Compare ``count`` rows given as one list per field with the stored ones; keep the
        first ``examples`` rows that would be updated."""
        if count == 0:
            return Compared(0, 0, 0, [])
        connection = _driver_connection(self.session)
        cursor = connection.cursor()
        try:
            self._stage(cursor, columns, count)
            changed = changes(self.compared, "t", "s")
            cursor.execute(f"SELECT count(*), count(*) FILTER (WHERE {changed}) {self.joined}")
            matched, updated = cursor.fetchone()
            found = []
            if updated and examples:
                flags = [differs(f, "t", "s") for f in self.compared]
                olds = [f"t.{_quote(f)}" for f in self.compared]
                cursor.execute(
                    f"SELECT s._position, {', '.join([*flags, *olds])} {self.joined} "
                    f"WHERE {changed} ORDER BY s._position LIMIT {int(examples)}"
                )
                width = len(self.compared)
                for row in cursor.fetchall():
                    old = {f: row[1 + width + i] for i, f in enumerate(self.compared) if row[1 + i]}
                    found.append(Example(row[0], old))
        finally:
            cursor.close()
        return Compared(count - matched, updated, matched - updated, found)

    def _stage(self, cursor: Any, columns: dict[str, list], count: int) -> None:
        """Put the chunk's rows, numbered, into the temporary table (emptied first), whose
        columns take the entity table's types (and so convert values as storing them would)."""
        names = ", ".join(map(_quote, self.names))
        rows = zip(*(columns[f] for f in self.names), range(count), strict=True)
        if self.postgresql:
            cursor.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {self.stage} ON COMMIT DELETE ROWS AS "
                f"SELECT {names}, 0 AS _position FROM {self.table} WITH NO DATA"
            )
            cursor.execute(f"DELETE FROM {self.stage}")  # empty after a commit
            with cursor.copy(f"COPY {self.stage} ({names}, _position) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {self.stage} AS "
            f"SELECT {names}, 0 AS _position FROM main.{self.table} WHERE 0"
        )
        cursor.execute(f"DELETE FROM temp.{self.stage}")
        marks = ", ".join("?" * (len(self.names) + 1))
        cursor.executemany(
            f"INSERT INTO temp.{self.stage} ({names}, _position) VALUES ({marks})", rows
        )
