"""Benchmark: `umwi build` at growing sizes on DuckDB, and the same gold on Spark at 1 M.

Prints, per size, the wall time of each step of an `ingest sample` + `build` (+ the
quality gate when umwi-quality is installed), the peak RSS, and the seconds per million
departures, then whether the time grows no worse than linearly. It is not a test.

    uv run python bench/scale_benchmark.py --sizes 1000000
    uv run python bench/scale_benchmark.py --sizes 1000000 10000000 30000000 --spark-size 1000000
    uv run python bench/scale_benchmark.py --sizes 1000000 --spark-size 0     # no Spark

Each size runs in a fresh process on a fresh lake in a temporary folder, so the peak RSS is
that size's alone. The steps are the library calls the CLI's flows make (without Prefect's
start-up, a constant that would blur the growth). The input is the sample city
(`umwi_connectors.generate_sample`, ~14 000 departures a day), so 1 M is ~10 weeks of
history and 30 M ~6 years; generating it is part of the ingest time, as in
`umwi ingest sample`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# bench/, on the path when a script here runs.
from _rss import peak_rss_mib
from _sample_lake import ingest_sample, spark_build

#: Growth allowance over strictly linear: fixed costs shrink per row as sizes grow, but
#: runs on a shared 2-core machine vary by this much from one run to the next.
LINEAR_SLACK = 1.25


def run_size(size: int, spark: bool, folder: Path) -> dict[str, Any]:
    """One size, in this process: ingest, DuckDB build, gate; optionally the Spark build."""
    from umwi_core import make_alerts
    from umwi_transform import build_gold

    result: dict[str, Any] = {"size": size, "seconds": {}}
    started = time.perf_counter()
    settings, lake, result["departures"] = ingest_sample(folder, size, "bench-ingest")
    result["seconds"]["ingest"] = time.perf_counter() - started
    started = time.perf_counter()
    candidates = build_gold(lake, settings, "bench-build")
    result["seconds"]["build"] = time.perf_counter() - started
    result["gold_rows"] = {t: c.rows for t, c in candidates.items()}
    try:
        from umwi_quality import run_gate
    except ImportError:
        result["gate"] = "not installed"
    else:
        started = time.perf_counter()
        gate = run_gate(lake, settings, "bench-build", candidates, make_alerts(settings))
        result["seconds"]["gate"] = time.perf_counter() - started
        result["gate"] = "passed" if gate.passed else "failed"
    result["peak_rss_mib"] = peak_rss_mib()
    if spark:
        from umwi_transform import spark as umwi_spark

        started = time.perf_counter()
        session = umwi_spark.local_session(folder / "spark")
        result["spark_session_s"] = time.perf_counter() - started
        try:
            built = spark_build(session, lake, settings, result["gold_rows"])
        finally:
            session.stop()
        result["spark_build_s"] = built["build_s"]
        result["spark_steps_s"] = built["steps_s"]
        result["spark_same_row_counts"] = built["rows_agree"]
    return result


def _child(size: int, spark: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="umwi-scale-") as folder:
        command = [sys.executable, __file__, "--child", str(size), "--folder", folder]
        if spark:
            command.append("--child-spark")
        done = subprocess.run(command, check=False, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"the {size:,} run failed:\n{done.stderr[-4000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _report(results: list[dict[str, Any]]) -> bool:
    print(
        f"{'departures':>12} {'ingest s':>9} {'build s':>8} {'gate s':>7} "
        f"{'umwi build s':>12} {'s per M':>8} {'peak RSS MiB':>13} gate"
    )
    for r in results:
        s = r["seconds"]
        total = s["ingest"] + s["build"] + s.get("gate", 0.0)
        r["total_s"] = total
        r["per_million_s"] = total / (r["departures"] / 1e6)
        gate_s = f"{s['gate']:7.1f}" if "gate" in s else f"{'-':>7}"
        print(
            f"{r['departures']:>12,} {s['ingest']:9.1f} {s['build']:8.1f} {gate_s} "
            f"{total:12.1f} {r['per_million_s']:8.1f} {r['peak_rss_mib']:13.0f} {r['gate']}"
        )
    linear = True
    base = results[0]
    for r in results[1:]:
        growth = r["total_s"] / base["total_s"]
        rows = r["departures"] / base["departures"]
        ok = growth <= rows * LINEAR_SLACK
        linear &= ok
        print(
            f"{base['departures']:,} → {r['departures']:,}: {rows:.1f}× the rows took "
            f"{growth:.1f}× the time ({'linear or better' if ok else 'WORSE than linear'})"
        )
    for r in results:
        if "spark_build_s" in r:
            duck = r["seconds"]["build"]
            print(
                f"Spark local[2] gold build at {r['departures']:,}: {r['spark_build_s']:.1f} s "
                f"(+{r['spark_session_s']:.1f} s session start) vs DuckDB {duck:.1f} s; "
                f"steps {json.dumps({k: round(v, 1) for k, v in r['spark_steps_s'].items()})}; "
                f"same row counts: {r['spark_same_row_counts']}"
            )
    return linear


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=[1_000_000, 10_000_000, 30_000_000],
        help="departure counts to run (default 1 M, 10 M, 30 M)",
    )
    parser.add_argument(
        "--spark-size",
        type=int,
        default=1_000_000,
        help="also build gold on Spark at this size (one of --sizes; 0: no Spark)",
    )
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child-spark", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(run_size(args.child, args.child_spark, args.folder)))
        return 0
    if args.spark_size and args.spark_size not in args.sizes:
        parser.error(f"--spark-size {args.spark_size} is not one of --sizes {args.sizes}")
    results = []
    for size in sorted(args.sizes):
        print(f"running {size:,} departures …", flush=True)
        results.append(_child(size, size == args.spark_size))
    return 0 if _report(results) else 1


if __name__ == "__main__":
    sys.exit(main())
