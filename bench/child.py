"""One benchmark measurement in a process of its own; prints one JSON line.

``child.py setup URL`` · ``child.py sizes URL`` · ``child.py floor URL FILE [TABLE]`` ·
``child.py pipeline URL FILE ORG [--chunk-rows N] [--file-store local|database]
[--no-change-log]`` · ``child.py dryrun URL FILE ORG`` · ``child.py poll URL [FILE]`` (20
pollers of a job's status; with FILE, while it is imported) · ``child.py generate
csv|csv-mixed|xlsx|xlsx-inline FILE ROWS SEED`` · ``child.py records URL ORG``
(the records pages' reads) · ``child.py fixpage URL`` (the fix page of a job with 100,000
rejected rows) · ``child.py drop-search-indexes URL``
"""

from __future__ import annotations

import csv
import json
import os
import re
import resource
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,  # noqa: E402
    UniqueConstraint,
    func,
    text,
)

from bench import fix_page, records  # noqa: E402
from bulkapp import create_app  # noqa: E402
from bulkapp.config import load_config  # noqa: E402

ORGS = ("bench-org", "bench-small", "bench-xlsx", "bench-xlsx-inline", "bench-poll")
FLOOR_TABLE = "floor_mechanics"  # shaped like mechanics: its columns, keys and indexes
KEY_FLOOR_TABLE = "floor_mechanics_key"  # the same with its unique key as its only index


def make_app(url: str, chunk_rows: int | None = None, file_store: str = "local"):
    """The application on ``url`` with its files in ``file_store`` (a temporary directory
    for ``local``)."""
    environ = {
        "BULKAPP_ENV": "development",
        "DATABASE_URL": url,
        "LOG_LEVEL": "WARNING",
        "INSTANCE_DIR": tempfile.mkdtemp(prefix="bulkapp-bench-instance-"),
        "FILE_STORE": file_store,
    }
    if chunk_rows:
        environ["IMPORT_CHUNK_ROWS"] = str(chunk_rows)
    return create_app(load_config(environ))


def reachable(url: str) -> bool:
    """True when the database at ``url`` accepts a connection."""
    from sqlalchemy import create_engine

    from bulkapp.config import normalise_database_url

    try:
        engine = create_engine(normalise_database_url(url))
        with engine.connect():
            pass
        return True
    except Exception:
        return False


def floor_table(metadata, organisation_id: int, name: str) -> Table:
    """A table ``name`` with the columns, keys and foreign keys of ``mechanics``."""
    from bulkapp.models import ENTITY_TABLES

    source = ENTITY_TABLES["mechanics"]
    fields = [
        Column(c.name, c.type, nullable=c.nullable)
        for c in source.columns
        if c.name not in ("id", "organisation_id", "import_job_id", "created_at", "updated_at")
    ]
    return Table(
        name,
        metadata,
        Column("id", Integer, primary_key=True),
        Column(
            "organisation_id",
            Integer,
            ForeignKey("organisations.id"),
            nullable=False,
            server_default=text(str(organisation_id)),
        ),
        *fields,
        Column("import_job_id", String(36)),
        Column("created_at", DateTime, nullable=False, server_default=func.current_timestamp()),
        Column("updated_at", DateTime, nullable=False, server_default=func.current_timestamp()),
        UniqueConstraint("organisation_id", "email", name=f"uq_{name}"),
    )


def setup(url: str) -> dict:
    """Empty the database, create the tables, the organisations and the floor tables (one
    with the entity table's indexes, one with its unique key only). A SQLite database starts
    as a new file, so that every run that follows a setup finds the same file (not the free
    pages of the runs before, wherever they lie)."""
    from bulkapp.extensions import db
    from bulkapp.people.organisations import create_organisation

    if url.startswith("sqlite:///"):
        database = Path(url.removeprefix("sqlite:///"))
        for path in (database, *(database.with_name(database.name + s) for s in ("-wal", "-shm"))):
            path.unlink(missing_ok=True)
    app = make_app(url)
    with app.app_context():
        # Every table the database holds, as it holds them (an older schema's keys included).
        existing = MetaData()
        existing.reflect(db.engine)
        existing.drop_all(db.engine)
        db.create_all()
        orgs = [create_organisation(slug.replace("-", " ").title(), slug) for slug in ORGS]
        db.session.commit()
        for table in (FLOOR_TABLE, KEY_FLOOR_TABLE):
            floor_table(db.metadata, orgs[0].id, table).create(db.engine)
        for statement in floor_indexes(db.session, db.engine.dialect.name):
            db.session.execute(text(statement))
        db.session.commit()
    return {"ok": True}


def floor_indexes(session, dialect: str) -> list[str]:
    """The statements creating on the floor table every index of ``mechanics`` but its keys
    (the records pages' search indexes): the floor pays for the same indexes as the import."""
    if dialect == "postgresql":
        found = session.execute(
            text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'mechanics'")
        ).all()
    else:
        found = session.execute(
            text(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                "AND tbl_name = 'mechanics' AND sql IS NOT NULL"
            )
        ).all()
    statements = []
    for name, definition in found:
        if "UNIQUE" in definition.upper():
            continue  # the floor table has its own unique key
        definition = definition.replace(name, f"floor_{name}", 1)
        statements.append(
            re.sub(r' ON (public\.)?"?mechanics"? ', rf" ON \1{FLOOR_TABLE} ", definition)
        )
    return statements


def floor(url: str, path: str, table: str = FLOOR_TABLE) -> dict:
    """The raw floor: the CSV into the floor table without validation, one transaction."""
    from bulkapp.extensions import db

    app = make_app(url)
    columns = [
        "first_name",
        "last_name",
        "email",
        "mobile_number",
        "specialisation",
        "years_experience",
        "workshop_name",
        "city",
        "province",
    ]
    with app.app_context():
        connection = db.engine.raw_connection()
        driver = connection.driver_connection
        started, cpu = time.monotonic(), cpu_seconds()
        if db.engine.dialect.name == "postgresql":
            with driver.cursor() as cursor, open(path, "rb") as source:
                with cursor.copy(
                    f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT csv, HEADER true)"
                ) as copy:
                    while block := source.read(1 << 20):
                        copy.write(block)
            driver.commit()
            method = "COPY"
        else:
            with open(path, newline="", encoding="utf-8") as source:
                reader = csv.reader(source)
                next(reader)
                driver.executemany(
                    f"INSERT INTO {table} ({', '.join(columns)}) "
                    f"VALUES ({', '.join('?' * len(columns))})",
                    reader,
                )
            driver.commit()
            method = "executemany"
        seconds, cpu = time.monotonic() - started, cpu_seconds() - cpu
        connection.close()
    return {"seconds": seconds, "cpu_seconds": cpu, "method": method, "peak_rss_mb": peak_rss_mb()}


def pipeline(
    url: str, path: str, org: str, chunk_rows: int | None, file_store: str, change_log: bool
) -> dict:
    """The full pipeline (``flask bulk import``'s path) on ``path`` for organisation ``org``,
    the upload kept in ``file_store``. Its time includes copying the upload out of the store
    (not storing it: that is the upload's part). Without ``change_log`` the import writes no
    change log: the benchmark alone turns it off, to measure what the log costs."""
    from bulkapp.extensions import db
    from bulkapp.jobs import attempts
    from bulkapp.jobs.imports import import_inline
    from bulkapp.people.organisations import find_organisation

    if not change_log:
        with_log = attempts.import_request
        attempts.import_request = lambda job, files: replace(with_log(job, files), change_log=False)
    app = make_app(url, chunk_rows, file_store)
    with app.app_context(), PssSampler() as pss:
        cpu = cpu_seconds()
        job = import_inline(
            organisation=find_organisation(org), entity_type="mechanics", path=Path(path)
        )
        db.session.refresh(job)
        counts = (job.inserted_rows, job.updated_rows, job.unchanged_rows, job.invalid_rows)
        return {**measured(job, counts, cpu, pss), "stage_timings": job.stage_timings}


def sizes(url: str) -> dict:
    """Bytes on disk of the mechanics table and of the change log, each with its indexes, and
    the log's rows."""
    from bulkapp.extensions import db

    app = make_app(url)
    found = {}
    with app.app_context():
        for name, table in (("mechanics", "mechanics"), ("log_bytes", "record_changes")):
            if db.engine.dialect.name == "postgresql":
                query = text("SELECT pg_total_relation_size(:table)")
            else:
                query = text(
                    "SELECT sum(pgsize) FROM dbstat WHERE name IN "
                    "(SELECT name FROM sqlite_schema WHERE tbl_name = :table)"
                )
            found[name] = int(db.session.scalar(query, {"table": table}) or 0)
        found["log_rows"] = int(db.session.scalar(text("SELECT count(*) FROM record_changes")))
    return found


def measured(job, counts: tuple[int, int, int, int], cpu: float, pss: PssSampler) -> dict:
    """The figures of a finished run of ``job``: time, CPU, memory and its outcome with the
    rows inserted, updated, unchanged and rejected (``counts``)."""
    inserted, updated, unchanged, rejected = counts
    outcome = f"{job.status}: +{inserted:,} ~{updated:,} ={unchanged:,} !{rejected:,}"
    if job.error_message:
        outcome += f" ({job.error_message})"
    return {
        "seconds": job.processing_duration_ms / 1000,
        "cpu_seconds": cpu_seconds() - cpu,
        "peak_rss_mb": peak_rss_mb(),
        "reader_peak_rss_mb": reader_peak_rss_mb(),
        "peak_pss_mb": pss.peak_mb,
        "outcome": outcome,
    }


def dry_run(url: str, path: str, org: str, chunk_rows: int | None) -> dict:
    """The review's analysis (the dry run over the whole file against the stored records),
    as a worker runs it, on ``path`` for organisation ``org``."""
    from bulkapp.extensions import db
    from bulkapp.jobs.attempts import run_import
    from bulkapp.models import ANALYSIS, ImportJob
    from bulkapp.people.organisations import find_organisation

    app = make_app(url, chunk_rows)
    with app.app_context(), PssSampler() as pss:
        organisation = find_organisation(org)
        assert organisation is not None
        job = ImportJob(
            organisation_id=organisation.id,
            entity_type="mechanics",
            original_filename=Path(path).name,
            stored_path=path,
            phase=ANALYSIS,
        )
        db.session.add(job)
        db.session.commit()
        cpu = cpu_seconds()
        run_import(job.id)
        db.session.refresh(job)
        found = (job.analysis or {}).get("counts") or {}
        names = ("inserted", "updated", "unchanged", "rejected")
        inserted, updated, unchanged, rejected = (found.get(name, 0) for name in names)
        return measured(job, (inserted, updated, unchanged, rejected), cpu, pss)


class PssSampler:
    """Samples the proportional set size of this process plus its children every 250 ms.

    The import forks a reading process that shares most of its pages with this one; RSS
    counts shared pages in both, PSS divides them, so the sum of PSS is the memory in use.
    """

    def __init__(self) -> None:
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> PssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(0.25):
            pids = [os.getpid(), *_children(os.getpid())]
            self.peak_mb = max(self.peak_mb, sum(map(_pss_kb, pids)) / 1024)


def _children(pid: int) -> list[int]:
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                found += [int(child) for child in fh.read().split()]
        except FileNotFoundError:  # the thread ended meanwhile
            continue
    return found


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith("Pss:"))
    except (FileNotFoundError, ProcessLookupError, StopIteration):
        return 0  # the child ended meanwhile


def cpu_seconds() -> float:
    """CPU time (user + system) used so far by this process and its finished children."""
    return sum(
        usage.ru_utime + usage.ru_stime
        for usage in map(resource.getrusage, (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    )


def peak_rss_mb() -> float:
    """This process's peak resident set size in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reader_peak_rss_mb() -> float:
    """The largest peak RSS among this process's finished children (the reading processes)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def generate(kind: str, path: str, rows: int, seed: int) -> dict:
    """Write a benchmark file: ``csv``, ``csv-mixed`` (the csv of the same seed with 10 %
    of its rows changed and 10 % new), ``xlsx`` (shared strings) or ``xlsx-inline``.

    In a process of its own because Linux carries a process's peak RSS across ``exec``: a
    file generated in ``run.py`` would raise every later child's peak RSS to run.py's.
    """
    from bench.generate import write_csv, write_mixed_csv, write_xlsx

    if kind == "csv":
        write_csv(Path(path), rows, seed)
    elif kind == "csv-mixed":
        write_mixed_csv(Path(path), rows, seed)
    else:
        write_xlsx(Path(path), rows, seed, shared_strings=kind == "xlsx")
    return {"written": path}


def main(argv: list[str]) -> None:
    """Dispatch ``argv`` (see the module docstring)."""
    if argv[0] == "generate":
        kind, path, rows, seed = argv[1:]
        print(json.dumps(generate(kind, path, int(rows), int(seed))))
        return
    command, url, *rest = argv
    change_log = "--no-change-log" not in rest
    rest = [arg for arg in rest if arg != "--no-change-log"]
    options = {"--chunk-rows": None, "--file-store": "local"}
    for name in options:
        if name in rest:
            at = rest.index(name)
            options[name] = rest[at + 1]
            rest = rest[:at] + rest[at + 2 :]
    chunk_rows = int(options["--chunk-rows"]) if options["--chunk-rows"] else None
    on_url_only = {
        "setup": setup,
        "sizes": sizes,
        "fixpage": fix_page.measure,
        "drop-search-indexes": records.drop_search_indexes,
    }
    if command in on_url_only:
        result = on_url_only[command](url)
    elif command == "floor":
        result = floor(url, *rest[:2])
    elif command == "dryrun":
        result = dry_run(url, rest[0], rest[1], chunk_rows)
    elif command == "poll":
        from bench.polling import poll

        result = poll(url, rest[0] if rest else None)
    elif command == "records":
        result = records.measure(url, rest[0])
    else:
        result = pipeline(
            url, rest[0], rest[1], chunk_rows, str(options["--file-store"]), change_log
        )
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
