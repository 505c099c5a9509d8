"""Benchmark the import pipeline against the raw floor, on SQLite and PostgreSQL.

Usage: ``python bench/run.py --rows 1000000`` (or ``make bench ROWS=1000000``).

For each database it measures, each in a child process of its own: the raw floor (the same
CSV into a same-shaped table with the same unique key, no validation: ``executemany`` in one
transaction on SQLite, ``COPY`` on PostgreSQL), the review's dry run of the file before
its first upload and before its re-upload (each with its time as a share of that upload's),
the pipeline's first upload and its re-upload (every row unchanged), the first upload again
with ``FILE_STORE=database`` (its time includes copying the file out of the database), and
the pipeline's memory (peak RSS of the import process and of its reading process, and the
peak of their summed PSS, which counts shared pages once);
then a 100,000-row run for the memory comparison and 100,000-row XLSX files. It prints a
table and asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import child  # noqa: E402
from bench.polling import POLLERS  # noqa: E402

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/bench"
SMALL_ROWS = 100_000
# Each XLSX: its table label and its organisation (one each, so every run is a first upload).
XLSX_RUNS = {
    "xlsx": ("pipeline, 100k-row XLSX", "bench-xlsx"),
    "xlsx_inline": ("pipeline, 100k-row XLSX, inline text", "bench-xlsx-inline"),
}


def run_child(*args: str) -> dict:
    """Run ``bench/child.py`` with ``args`` in a fresh process; returns its JSON line."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "child.py"), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if result.returncode != 0:
        raise RuntimeError(f"bench child {args[0]} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def fastest(runs: list[dict]) -> dict:
    """The quickest of repeated measurements (the machine may be shared)."""
    return min(runs, key=lambda run: run["seconds"])


def bench_database(
    label: str, url: str, files: dict[str, Path], rows: int, chunk_rows: int | None, repeat: int
) -> list[dict]:
    """Every measurement on one database, each the fastest of ``repeat``; returns table rows."""
    extra = ["--chunk-rows", str(chunk_rows)] if chunk_rows else []
    xlsx = [name for name in XLSX_RUNS if name in files]
    names = ("floor", "dry_first", "first", "dry_again", "again", "small", "first_db", *xlsx)
    names += ("poll_idle", "poll_busy")
    runs: dict[str, list[dict]] = {name: [] for name in names}
    csv_file = str(files["csv"])
    for _ in range(repeat):
        # The first upload and the database store's start alike: right after a setup.
        run_child("setup", url)
        runs["dry_first"].append(run_child("dryrun", url, csv_file, "bench-org", *extra))
        runs["first"].append(run_child("pipeline", url, csv_file, "bench-org", *extra))
        runs["dry_again"].append(run_child("dryrun", url, csv_file, "bench-org", *extra))
        runs["again"].append(run_child("pipeline", url, csv_file, "bench-org", *extra))
        runs["small"].append(run_child("pipeline", url, str(files["small"]), "bench-small", *extra))
        for name in xlsx:
            runs[name].append(
                run_child("pipeline", url, str(files[name]), XLSX_RUNS[name][1], *extra)
            )
        runs["floor"].append(run_child("floor", url, csv_file))
        # The same first upload with FILE_STORE=database, on tables as empty as the local one's.
        run_child("setup", url)
        runs["first_db"].append(
            run_child("pipeline", url, csv_file, "bench-org", *extra, "--file-store", "database")
        )
        runs["poll_idle"].append(run_child("poll", url))
        runs["poll_busy"].append(run_child("poll", url, csv_file))
    floor, first, again, small, first_db = (
        fastest(runs[k]) for k in ("floor", "first", "again", "small", "first_db")
    )
    dry_first, dry_again = fastest(runs["dry_first"]), fastest(runs["dry_again"])
    for dry, upload in ((dry_first, first), (dry_again, again)):
        dry["outcome"] += f"; {dry['seconds'] / upload['seconds']:.2f} × the upload's time"
    results = [
        {"database": label, "run": f"floor ({floor['method']})", "rows": rows, **floor},
        {
            "database": label,
            "run": "review dry run, before first upload",
            "rows": rows,
            **dry_first,
        },
        {"database": label, "run": "review dry run, before re-upload", "rows": rows, **dry_again},
        {
            "database": label,
            "run": "pipeline, first upload",
            "rows": rows,
            **first,
            "ratio": floor["seconds"] / first["seconds"],
        },
        {
            "database": label,
            "run": "pipeline, re-upload",
            "rows": rows,
            **again,
            "ratio": floor["seconds"] / again["seconds"],
        },
        {
            "database": label,
            "run": "first upload, FILE_STORE=database",
            "rows": rows,
            **first_db,
            "ratio": floor["seconds"] / first_db["seconds"],
            "store_ratio": first["seconds"] / first_db["seconds"],
        },
        {"database": label, "run": "pipeline, 100k rows (memory)", "rows": SMALL_ROWS, **small},
    ]
    results += [
        {"database": label, "run": XLSX_RUNS[name][0], "rows": SMALL_ROWS, **fastest(runs[name])}
        for name in xlsx
    ]
    for row in results[3:6]:
        row["pss_vs_100k"] = row["peak_pss_mb"] / small["peak_pss_mb"]
    return results


def print_table(results: list[dict]) -> None:
    """The measurements as a fixed-width table."""
    header = (
        f"{'database':<11} {'run':<36} {'rows':>9} {'seconds':>8} {'CPU s':>6} "
        f"{'rows/s':>9} {'× floor':>8} {'RSS MB':>6} {'reader':>6} {'PSS MB':>6} "
        f"{'÷ 100k':>6}  result"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        if "polls" in r:
            continue
        ratio = f"{r['ratio']:.2f}" if "ratio" in r else ""
        memory = [
            f"{r[key]:.0f}" if key in r else ""
            for key in ("peak_rss_mb", "reader_peak_rss_mb", "peak_pss_mb")
        ]
        flat = f"{r['pss_vs_100k']:.2f}" if "pss_vs_100k" in r else ""
        print(
            f"{r['database']:<11} {r['run']:<36} {r['rows']:>9,} {r['seconds']:>8.2f} "
            f"{r['cpu_seconds']:>6.1f} {r['rows'] / r['seconds']:>9,.0f} {ratio:>8} "
            f"{memory[0]:>6} {memory[1]:>6} {memory[2]:>6} {flat:>6}  {r.get('outcome', '')}"
        )


def print_polls(results: list[dict]) -> None:
    """The pollers' figures: the web's requests/s and CPU per request."""
    polls = [r for r in results if "polls" in r]
    if not polls:
        return
    title = f"{POLLERS} pollers of a job's status"
    header = f"{'database':<11} {title:<29} {'requests/s':>10} {'web CPU ms/request':>18}"
    print(header)
    print("-" * len(header))
    for r in polls:
        busy = "" if r.get("import_still_running", True) else " (the import ended early)"
        print(
            f"{r['database']:<11} {r['polls'] + busy:<29} {r['requests_per_second']:>10,.0f} "
            f"{r['cpu_ms_per_request']:>18.2f}"
        )


def main() -> None:
    """Generate the files, measure each database, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=int(os.environ.get("ROWS", 1_000_000)))
    parser.add_argument(
        "--chunk-rows",
        type=int,
        default=None,
        help="IMPORT_CHUNK_ROWS for the pipeline (default: the app's)",
    )
    parser.add_argument("--pg", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_PG))
    parser.add_argument("--skip-pg", action="store_true")
    parser.add_argument("--skip-xlsx", action="store_true")
    parser.add_argument(
        "--repeat",
        type=int,
        default=int(os.environ.get("REPEAT", 1)),
        help="measure each run this many times and keep the fastest",
    )
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bulkapp-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"Generating files in {workdir} ...", flush=True)
    files = {
        "csv": workdir / f"mechanics-{args.rows}.csv",
        "small": workdir / f"mechanics-{SMALL_ROWS}.csv",
    }
    specs = {"csv": ("csv", args.rows, 0), "small": ("csv", SMALL_ROWS, 1)}
    if not args.skip_xlsx:
        files["xlsx"] = workdir / f"mechanics-{SMALL_ROWS}.xlsx"
        files["xlsx_inline"] = workdir / f"mechanics-{SMALL_ROWS}-inline.xlsx"
        specs |= {"xlsx": ("xlsx", SMALL_ROWS, 2), "xlsx_inline": ("xlsx-inline", SMALL_ROWS, 2)}
    for name, (kind, rows, seed) in specs.items():
        if not files[name].exists():
            run_child("generate", kind, str(files[name]), str(rows), str(seed))

    results = []
    sqlite_url = f"sqlite:///{workdir / 'bench.db'}"
    (workdir / "bench.db").unlink(missing_ok=True)
    print("Measuring SQLite ...", flush=True)
    results += bench_database("SQLite", sqlite_url, files, args.rows, args.chunk_rows, args.repeat)
    if args.skip_pg:
        print("PostgreSQL skipped (--skip-pg).")
    elif not child.reachable(args.pg):
        print(f"PostgreSQL skipped: {args.pg} is not reachable.")
    else:
        print("Measuring PostgreSQL ...", flush=True)
        results += bench_database(
            "PostgreSQL", args.pg, files, args.rows, args.chunk_rows, args.repeat
        )
    print()
    print_table(results)
    print()
    print_polls(results)
    print()
    for row in results:
        if "store_ratio" in row:
            print(
                f"{row['database']}: the first upload from the database store runs at "
                f"{row['store_ratio']:.2f}× the speed of the local store's (target ≥ 0.90×)."
            )


if __name__ == "__main__":
    main()
