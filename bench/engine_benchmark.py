"""Benchmark: the full gold build on DuckDB, Spark local mode and Spark Connect (issue 21).

    uv run python bench/engine_benchmark.py --size 1000000

One process, one fresh lake of the sample city at `--size` departures: the DuckDB build
(`build_gold`), then the same tables on Spark `local[2]` in this process
(`build_gold_spark`), then on a Spark Connect server started from pyspark's jars on
127.0.0.1 (`local[2]` too, in its own JVM) through `remote_session`. Prints each build's
seconds (session start apart), the row counts (which must agree), the date and the load
average before and after, as a JSON line. It is not a test; the figures are in
packages/umwi-transform/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _sample_lake import ingest_sample, spark_build  # bench/, on the path when a script here runs

# The Connect server is started as the tests start it (tests/support/spark_connect.py).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


#: Both Spark engines' driver heap: Spark's 1g runs out in the correlation of 10 M.
SPARK_MEMORY = "8g"


def run(size: int, folder: Path) -> dict[str, Any]:
    from umwi_transform import build_gold
    from umwi_transform import spark as umwi_spark

    from tests.support.spark_connect import spark_connect_server

    result: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="minutes"),
        "load_before": os.getloadavg(),
        "size": size,
        "spark_driver_memory": SPARK_MEMORY,
    }
    settings, lake, result["departures"] = ingest_sample(folder, size, "bench")

    started = time.perf_counter()
    candidates = build_gold(lake, settings, "bench-duckdb")
    result["duckdb_build_s"] = time.perf_counter() - started
    result["rows"] = {t: c.rows for t, c in candidates.items()}

    started = time.perf_counter()
    session = umwi_spark.local_session(folder / "spark-local", memory=SPARK_MEMORY)
    result["spark_local_session_s"] = time.perf_counter() - started
    try:
        built = spark_build(session, lake, settings, result["rows"])
    finally:
        session.stop()
    result |= {f"spark_local_{name}": value for name, value in built.items()}
    print(json.dumps(result, default=str), flush=True)

    started = time.perf_counter()
    with spark_connect_server(folder / "spark-connect", memory=SPARK_MEMORY) as url:
        session = umwi_spark.remote_session(url)
        result["spark_connect_session_s"] = time.perf_counter() - started
        try:
            built = spark_build(session, lake, settings, result["rows"])
        finally:
            session.stop()
    result |= {f"spark_connect_{name}": value for name, value in built.items()}
    result["load_after"] = os.getloadavg()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000, help="departures to generate")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="umwi-engines-") as folder:
        print(json.dumps(run(args.size, Path(folder)), default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
