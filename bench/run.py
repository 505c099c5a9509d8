"""Benchmark the import pipeline against the raw floor, on SQLite and PostgreSQL.

Usage: ``python bench/run.py --rows 1000000`` (or ``make bench ROWS=1000000``).

For each database it measures, each in a child process of its own: the raw floor (the same
CSV into a same-shaped table with the same unique key, no validation: ``executemany`` in one
transaction on SQLite, ``COPY`` on PostgreSQL), the pipeline's first upload and its
re-upload (every row unchanged), and the pipeline's peak RSS; then a 100,000-row run for the
memory comparison and a 100,000-row XLSX. It prints a table and asserts nothing.
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
from bench.generate import write_csv, write_xlsx  # noqa: E402

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/bench"
SMALL_ROWS = 100_000


def run_child(*args: str) -> dict:
    """Run ``bench/child.py`` with ``args`` in a fresh process; returns its JSON line."""
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "child.py"), *args],
                            capture_output=True, text=True, cwd=ROOT)
    if result.returncode != 0:
        raise RuntimeError(f"bench child {args[0]} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def fastest(runs: list[dict]) -> dict:
    """The quickest of repeated measurements (the machine may be shared)."""
    return min(runs, key=lambda run: run["seconds"])


def bench_database(label: str, url: str, files: dict[str, Path], rows: int,
                   chunk_rows: int | None, repeat: int) -> list[dict]:
    """Every measurement on one database, each the fastest of ``repeat``; returns table rows."""
    extra = ["--chunk-rows", str(chunk_rows)] if chunk_rows else []
    runs: dict[str, list[dict]] = {"floor": [], "first": [], "again": [], "small": [], "xlsx": []}
    for _ in range(repeat):
        run_child("setup", url)
        runs["floor"].append(run_child("floor", url, str(files["csv"])))
        runs["first"].append(run_child("pipeline", url, str(files["csv"]), "bench-org", *extra))
        runs["again"].append(run_child("pipeline", url, str(files["csv"]), "bench-org", *extra))
        runs["small"].append(run_child("pipeline", url, str(files["small"]), "bench-small",
                                       *extra))
        if "xlsx" in files:
            runs["xlsx"].append(run_child("pipeline", url, str(files["xlsx"]), "bench-xlsx",
                                          *extra))
    floor, first, again, small = (fastest(runs[k]) for k in ("floor", "first", "again", "small"))
    results = [
        {"database": label, "run": f"floor ({floor['method']})", "rows": rows, **floor},
        {"database": label, "run": "pipeline, first upload", "rows": rows, **first,
         "ratio": floor["seconds"] / first["seconds"]},
        {"database": label, "run": "pipeline, re-upload", "rows": rows, **again,
         "ratio": floor["seconds"] / again["seconds"]},
        {"database": label, "run": "pipeline, 100k rows (memory)", "rows": SMALL_ROWS, **small},
    ]
    if runs["xlsx"]:
        results.append({"database": label, "run": "pipeline, 100k-row XLSX", "rows": SMALL_ROWS,
                        **fastest(runs["xlsx"])})
    for row in results[1:3]:
        row["rss_vs_100k"] = row["peak_rss_mb"] / small["peak_rss_mb"]
    return results


def print_table(results: list[dict]) -> None:
    """The measurements as a fixed-width table."""
    header = (f"{'database':<11} {'run':<30} {'rows':>9} {'seconds':>8} {'CPU s':>6} "
              f"{'rows/s':>9} {'× floor':>8} {'peak RSS MB':>11} {'RSS ÷ 100k':>10}  result")
    print(header)
    print("-" * len(header))
    for r in results:
        ratio = f"{r['ratio']:.2f}" if "ratio" in r else ""
        rss = f"{r['peak_rss_mb']:.0f}" if "peak_rss_mb" in r else ""
        flat = f"{r['rss_vs_100k']:.2f}" if "rss_vs_100k" in r else ""
        print(f"{r['database']:<11} {r['run']:<30} {r['rows']:>9,} {r['seconds']:>8.2f} "
              f"{r['cpu_seconds']:>6.1f} "
              f"{r['rows'] / r['seconds']:>9,.0f} {ratio:>8} {rss:>11} {flat:>10}  "
              f"{r.get('outcome', '')}")


def main() -> None:
    """Generate the files, measure each database, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=int(os.environ.get("ROWS", 1_000_000)))
    parser.add_argument("--chunk-rows", type=int, default=None,
                        help="IMPORT_CHUNK_ROWS for the pipeline (default: the app's)")
    parser.add_argument("--pg", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_PG))
    parser.add_argument("--skip-pg", action="store_true")
    parser.add_argument("--skip-xlsx", action="store_true")
    parser.add_argument("--repeat", type=int, default=int(os.environ.get("REPEAT", 1)),
                        help="measure each run this many times and keep the fastest")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bulkapp-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"Generating files in {workdir} ...", flush=True)
    files = {"csv": workdir / f"mechanics-{args.rows}.csv",
             "small": workdir / f"mechanics-{SMALL_ROWS}.csv"}
    for path, write in ((files["csv"], lambda p: write_csv(p, args.rows)),
                        (files["small"], lambda p: write_csv(p, SMALL_ROWS, seed=1))):
        if not path.exists():
            write(path)
    if not args.skip_xlsx:
        files["xlsx"] = workdir / f"mechanics-{SMALL_ROWS}.xlsx"
        if not files["xlsx"].exists():
            write_xlsx(files["xlsx"], SMALL_ROWS)

    results = []
    sqlite_url = f"sqlite:///{workdir / 'bench.db'}"
    (workdir / "bench.db").unlink(missing_ok=True)
    print("Measuring SQLite ...", flush=True)
    results += bench_database("SQLite", sqlite_url, files, args.rows, args.chunk_rows,
                              args.repeat)
    if args.skip_pg:
        print("PostgreSQL skipped (--skip-pg).")
    elif not child.reachable(args.pg):
        print(f"PostgreSQL skipped: {args.pg} is not reachable.")
    else:
        print("Measuring PostgreSQL ...", flush=True)
        results += bench_database("PostgreSQL", args.pg, files, args.rows, args.chunk_rows,
                                  args.repeat)
    print()
    print_table(results)


if __name__ == "__main__":
    main()
