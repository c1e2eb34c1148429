"""Benchmark: what a daily run costs against the history it adds to (issue 17).

For each history size: generate departures and weather (`transform_benchmark.generate`,
one day more than the history), split off the last day, then run the real CLI commands,
each in its own process, on one lake:

1. `umwi ingest file` of the history, then `umwi build` (the full build, for reference);
2. `umwi ingest file` of the one new day, then `umwi build` (the daily build).

Prints each command's wall time and peak RSS (the largest process it ran, from GNU time),
the build/gate split from the run manifest, and the fixed costs every command pays
(interpreter, imports, a no-op `umwi build` with Prefect's start) on their own line. It
prints, never asserts: figures go to packages/umwi-transform/README.md, dated.

    uv run python bench/daily_benchmark.py --sizes 1000000
    uv run python bench/daily_benchmark.py --sizes 1000000 10000000 30000000
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from transform_benchmark import START, generate, history_days  # bench/, on the path

GNU_TIME = "/usr/bin/time"


def _split(folder: Path, history: int) -> dict[str, Any]:
    """History files and one ordinary new day (the generated data's last day)."""
    days = max(14, history_days(history))
    total = history + history // days
    # Whole weeks earlier than the other benchmarks' START when the history would reach
    # the future, which the gate refuses (the 30 M history spans two and a half years).
    spare = (datetime.now(UTC) - START).days - 2 - max(14, history_days(total))
    start = START - timedelta(weeks=max(0, -(spare // 7)))
    facts = generate(total, folder, start=start)
    departures = pq.read_table(folder / "departures.parquet")
    weather = pq.read_table(folder / "weather.parquet")
    last = pc.max(departures.column("scheduled_at")).as_py()
    cut = pa.scalar(
        last.replace(hour=0, minute=0, second=0, microsecond=0),
        departures.schema.field("scheduled_at").type,
    )
    for name, table, column in (
        ("departures", departures, "scheduled_at"),
        ("weather", weather, "hour"),
    ):
        older = pc.less(table.column(column), cut)
        pq.write_table(
            table.filter(older), folder / f"history-{name}.parquet", row_group_size=250_000
        )
        pq.write_table(table.filter(pc.invert(older)), folder / f"day-{name}.parquet")
    day_rows = pq.read_metadata(folder / "day-departures.parquet").num_rows
    (folder / "departures.parquet").unlink()
    (folder / "weather.parquet").unlink()
    return {**facts, "history": departures.num_rows - day_rows, "day": day_rows}


def _command(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    """One CLI command in its own process: wall seconds and peak RSS (MiB)."""
    report = Path(tempfile.mkstemp(prefix="umwi-time-")[1])
    started = time.perf_counter()
    done = subprocess.run(
        [GNU_TIME, "-f", "%M", "-o", str(report), *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    peak_kib = int(report.read_text().strip().splitlines()[-1])
    report.unlink()
    if done.returncode != 0:
        raise SystemExit(
            f"{' '.join(args[2:])} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
        )
    return {"s": seconds, "rss_mib": peak_kib / 1024}


def _umwi(*args: str) -> list[str]:
    return [sys.executable, "-m", "umwi", *args]


def _last_build_timings(state: Path) -> dict[str, float]:
    runs = sorted((state / "lake" / "runs").glob("*.json"), key=lambda p: p.stat().st_mtime)
    for path in reversed(runs):
        manifest = json.loads(path.read_text())
        if manifest.get("kind") == "build":
            return {k: float(v) for k, v in (manifest.get("timings_s") or {}).items()}
    return {}


def _fixed_costs(env: dict[str, str]) -> dict[str, float]:
    interpreter = _command([sys.executable, "-c", "pass"], env)["s"]
    imports = _command(
        [sys.executable, "-c", "import umwi_transform, umwi_quality, umwi_flows, prefect"], env
    )["s"]
    noop = _command(_umwi("build"), env)["s"]
    return {"interpreter_s": interpreter, "imports_s": imports, "noop_build_s": noop}


def run(size: int, root: Path) -> dict[str, Any]:
    folder = root / f"daily-{size}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    facts = _split(folder, size)
    state = folder / "state"
    env = {**os.environ, "UMWI_STATE_DIR": str(state)}
    env.pop("UMWI_LAKE_URI", None)
    out: dict[str, Any] = {"size": size, **facts}

    def ingest(prefix: str) -> dict[str, Any]:
        return _command(
            _umwi(
                "ingest",
                "file",
                "--weather",
                str(folder / f"{prefix}-weather.parquet"),
                "--departures",
                str(folder / f"{prefix}-departures.parquet"),
            ),
            env,
        )

    out["ingest_history"] = ingest("history")
    out["build_full"] = _command(_umwi("build"), env) | _last_build_timings(state)
    out["ingest_day"] = ingest("day")
    out["build_day"] = _command(_umwi("build"), env) | _last_build_timings(state)
    out["fixed"] = _fixed_costs(env)
    return out


def _print(result: dict[str, Any]) -> None:
    full, day = result["build_full"], result["build_day"]
    print(
        f"\n== history {result['history']:,} departures ({result['days'] - 1} days), "
        f"then one day of {result['day']:,}"
    )
    for label, step in (
        ("umwi ingest file (history)", result["ingest_history"]),
        ("umwi build (full)", full),
        ("umwi ingest file (one day)", result["ingest_day"]),
        ("umwi build (daily)", day),
    ):
        split = ""
        if "build" in step:
            split = f"  [build {step['build']:.1f} s, gate {step.get('gate', 0.0):.1f} s]"
        print(f"  {label:<30} {step['s']:7.1f} s  {step['rss_mib']:7.0f} MiB{split}")
    fixed = result["fixed"]
    print(
        f"  fixed costs: interpreter {fixed['interpreter_s']:.2f} s, imports "
        f"{fixed['imports_s']:.2f} s, no-op `umwi build` (Prefect start included) "
        f"{fixed['noop_build_s']:.1f} s"
    )
    daily_run = result["ingest_day"]["s"] + day["s"]
    print(
        f"  daily build / full build: {day['s'] / full['s']:.1%} (goal <= 10 %); "
        f"gold step alone {day.get('build', 0) / max(full.get('build', 1e-9), 1e-9):.1%}"
    )
    print(f"  one daily run (ingest + build): {daily_run:.1f} s (goal <= 30 s at 10 M)")
    peak = max(s["rss_mib"] for s in (result["ingest_history"], full, result["ingest_day"], day))
    print(f"  peak RSS of any command: {peak:.0f} MiB (goal <= 1024 MiB at 10 M)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--folder", type=Path, default=Path(tempfile.gettempdir()) / "umwi-daily")
    parser.add_argument("--keep", action="store_true", help="keep the generated lake")
    args = parser.parse_args()
    args.folder.mkdir(parents=True, exist_ok=True)
    for size in args.sizes:
        result = run(size, args.folder)
        _print(result)
        print(json.dumps(result, default=str))
        if not args.keep:
            shutil.rmtree(args.folder / f"daily-{size}", ignore_errors=True)


if __name__ == "__main__":
    main()
