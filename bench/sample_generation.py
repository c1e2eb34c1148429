"""Benchmark: sample-city generation rate (departures per second) and optional file export.

Prints the measured rate; it is not a test. The requirement is ≥ 1 million departures/s
for the vectorised generator (`umwi_connectors.sample_tables`, silver-schema Arrow tables).

    uv run python bench/sample_generation.py                     # ≥ 10 M departures
    uv run python bench/sample_generation.py --departures 2000000 --write /tmp/sample --format csv
"""

from __future__ import annotations

import argparse
import time
from datetime import date
from pathlib import Path

from umwi_connectors import sample_tables, write_sample_files
from umwi_connectors._sample import DEPARTURES_PER_DAY


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--departures", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--chunk-days", type=int, default=28)
    parser.add_argument("--write", type=Path, help="also write departures/weather files here")
    parser.add_argument("--format", choices=("csv", "parquet"), default="parquet")
    options = parser.parse_args()
    days = -(-options.departures // DEPARTURES_PER_DAY)
    start = date(2024, 1, 1)
    # Warm the per-seed city and timetable caches so the rate measures generation alone.
    list(sample_tables(start, 1, options.seed))
    wall, cpu = time.perf_counter(), time.process_time()
    departures = weather = 0
    for name, table in sample_tables(start, days, options.seed, chunk_days=options.chunk_days):
        if name == "departures":
            departures += table.num_rows
        else:
            weather += table.num_rows
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"days: {days}, departures: {departures:,}, weather rows: {weather:,}")
    print(f"wall: {wall:.2f} s → {departures / wall:,.0f} departures/s")
    print(f"cpu:  {cpu:.2f} s → {departures / cpu:,.0f} departures/s (CPU time, load-independent)")
    if options.write:
        began = time.perf_counter()
        paths = write_sample_files(options.write, start=start, days=days, fmt=options.format)
        took = time.perf_counter() - began
        print(f"wrote {', '.join(str(p) for p in paths)} in {took:.2f} s")


if __name__ == "__main__":
    main()
