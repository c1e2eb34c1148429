"""Loopback load benchmark of the KPI API (a script, not a test).

    uv run python bench/api_load.py [--duration 30] [--concurrency 4] [--sample]

Starts `umwi serve` on a free 127.0.0.1 port in its own process, then drives it from this
process with keep-alive connections for `--duration` seconds in all, split evenly between
`/health` (a trivial endpoint of the same app: the framework's ceiling on this machine),
`/kpi/weather-impact` and `/correlation`. Prints requests/s and p50/p99 latency of each,
and the KPI endpoints' throughput as a share of the ceiling (goal ≥ 70 %, p99 ≤ 25 ms).

It serves the gold published in the configured lake (UMWI_* settings); with `--sample`, or
when nothing is published yet, it publishes the test suite's sample gold into a temporary
state folder first.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
ENDPOINTS = {
    "/health (ceiling)": ("/health", {}),
    "/kpi/weather-impact": ("/kpi/weather-impact", {"line_id": "*", "period": "all"}),
    "/correlation": (
        "/correlation",
        {
            "line_id": "*",
            "period": "all",
            "variable": "precipitation_mm",
            "lag_h": "0",
            "y_kind": "raw",
        },
    ),
}


@dataclass
class Result:
    name: str
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _published(env: dict[str, str]) -> bool:
    sys.path.insert(0, str(ROOT))
    from umwi_core.publication import read_publication
    from umwi_core.resources import make_lake
    from umwi_core.settings import load_settings

    state = env.get("UMWI_STATE_DIR")
    settings = load_settings(state_dir=state) if state else load_settings()
    return read_publication(make_lake(settings)) is not None


def _publish_sample(state_dir: Path) -> None:
    sys.path.insert(0, str(ROOT))
    from umwi_core.resources import make_lake
    from umwi_core.settings import load_settings

    from tests.api.gold_sample import write_sample_gold

    write_sample_gold(make_lake(load_settings(state_dir=state_dir)))


async def _drive(
    base: str, path: str, params: dict[str, str], seconds: float, workers: int
) -> Result:
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=workers, max_keepalive_connections=workers)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=10) as client:
        for _ in range(20):  # warm-up: load the serving copy, fill the caches
            await client.get(path, params=params)
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                response = await client.get(path, params=params)
                latencies.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(workers)))
        elapsed = time.perf_counter() - started
    return Result(path, len(latencies), errors, elapsed, latencies)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=30.0, help="Seconds in all.")
    parser.add_argument("--concurrency", type=int, default=4, help="Concurrent connections.")
    parser.add_argument("--sample", action="store_true", help="Serve the sample gold.")
    args = parser.parse_args(argv)

    env = {**os.environ}
    scratch = tempfile.TemporaryDirectory(prefix="umwi-bench-")
    if args.sample or not _published(env):
        state = Path(scratch.name) / "state"
        _publish_sample(state)
        env = {name: value for name, value in env.items() if not name.startswith("UMWI_")}
        env["UMWI_STATE_DIR"] = str(state)
        print(f"serving the sample gold from {state}")
    env["UMWI_LOG_LEVEL"] = "WARNING"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "umwi", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    sys.path.insert(0, str(ROOT))
    from tests.support.processes import wait_until_healthy

    try:
        try:
            wait_until_healthy(base + "/health", server, 30)
        except RuntimeError as error:
            print(f"umwi serve did not start: {error}", file=sys.stderr)
            return 1
        # Interleaved rounds, so a busy moment on the machine hits every endpoint alike.
        share = args.duration / len(ENDPOINTS)
        rounds = max(1, int(share // 2))
        results: dict[str, Result] = {}
        for _ in range(rounds):
            for name, (path, params) in ENDPOINTS.items():
                part = asyncio.run(_drive(base, path, params, share / rounds, args.concurrency))
                total = results.setdefault(name, Result(path, 0, 0, 0.0, []))
                total.requests += part.requests
                total.errors += part.errors
                total.seconds += part.seconds
                total.latencies_ms.extend(part.latencies_ms)
    finally:
        server.terminate()
        server.wait(timeout=15)
        scratch.cleanup()

    ceiling = results["/health (ceiling)"].rate
    print(
        f"\n{args.concurrency} connections, {share:.0f} s each in {rounds} interleaved rounds, "
        f"loopback, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}\n"
    )
    print(f"{'endpoint':<22}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'of ceiling':>12}{'errors':>8}")
    for name, result in results.items():
        print(
            f"{name:<22}{result.rate:>9.0f}{result.percentile(0.5):>9.2f}"
            f"{result.percentile(0.99):>9.2f}{100 * result.rate / ceiling:>11.0f}%"
            f"{result.errors:>8}"
        )
    kpis = [results["/kpi/weather-impact"], results["/correlation"]]
    met = all(r.rate >= 0.7 * ceiling and r.percentile(0.99) <= 25 for r in kpis)
    print(f"\ngoal (≥ 70 % of the ceiling, p99 ≤ 25 ms): {'met' if met else 'NOT met'}")
    median_ms = statistics.median(results["/kpi/weather-impact"].latencies_ms)
    print(f"median /kpi/weather-impact latency: {median_ms:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
