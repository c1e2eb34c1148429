"""Benchmark: cold import of the Lambda handler from the unzipped bundle, as Lambda runs it.

Unzips the bundle (built with `api/build_lambda.py`, or given with `--zip`) into a fresh
folder, gives every file one fixed mtime (as an unzip does with the zip's normalized
timestamps), then imports `umwi_api.lambda_handler` in fresh python3.12 processes that see
only the bundle, with bytecode writing off as on Lambda's read-only code folder. Prints the
best and median import times, then those of the first answer (`/health`, which builds the
app the import defers: what an on-demand cold start pays before its first answer is the
sum), and whether any module had to be compiled. Not a test: the goal (≤ 250 ms import on an
idle machine) and the dated figures are in api/README.md.

    uv run python bench/lambda_cold_start.py [--zip api/dist/lambda.zip] [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: An API Gateway HTTP API (v2) request for `/health`: the first answer builds the app.
HEALTH_EVENT = {
    "version": "2.0",
    "routeKey": "$default",
    "rawPath": "/health",
    "rawQueryString": "",
    "headers": {"host": "bench.example"},
    "requestContext": {
        "http": {"method": "GET", "path": "/health", "protocol": "HTTP/1.1",
                 "sourceIp": "192.0.2.1", "userAgent": "bench"},
        "requestId": "bench", "routeKey": "$default", "stage": "$default", "timeEpoch": 0,
    },
    "isBase64Encoded": False,
}  # fmt: skip
PROBE = (
    """
import os, sys, time
started = time.perf_counter()
import umwi_api.lambda_handler
elapsed = time.perf_counter() - started
"""
    + f"EVENT = {HEALTH_EVENT!r}"
    + """
answered = time.perf_counter()
assert umwi_api.lambda_handler.handler(EVENT, None)["statusCode"] == 200
first = time.perf_counter() - answered


def compiled_at_import(spec):
    # Python compiles a module when its pyc is missing or (timestamp-based) stale.
    try:
        header = open(spec.cached, "rb").read(16)
    except OSError:
        return True
    if int.from_bytes(header[4:8], "little") & 1:  # hash-based: never checked (unchecked)
        return False
    return int.from_bytes(header[8:12], "little") != int(os.stat(spec.origin).st_mtime)


compiled = [
    name
    for name, module in list(sys.modules.items())
    if (spec := getattr(module, "__spec__", None)) is not None
    and spec.cached
    and (spec.origin or "").endswith(".py")
    and compiled_at_import(spec)
]
print(f"{elapsed * 1000:.1f} {first * 1000:.1f} {len(compiled)}")
"""
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zip", type=Path, help="An existing bundle (default: build one).")
    parser.add_argument("--runs", type=int, default=7)
    options = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from tests.support.lambda_bundle import load_build_lambda, unzip_as_lambda

    builder = load_build_lambda()
    interpreter = builder.find_python("3.12")
    if interpreter is None:
        sys.stderr.write("lambda_cold_start: no CPython 3.12 on this machine\n")
        return 1
    with tempfile.TemporaryDirectory(prefix="umwi-cold-") as scratch:
        work = Path(scratch)
        bundle = options.zip
        if bundle is None:
            bundle = work / "lambda.zip"
            if builder.main(["--out", str(bundle), "--no-measure"]) != 0:
                return 1
        code = work / "task"
        unzip_as_lambda(bundle, code)
        (work / "probe.py").write_text(PROBE)
        env = {
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(code),
            "PYTHONDONTWRITEBYTECODE": "1",
            "UMWI_STATE_DIR": str(work / "state"),
        }
        times: list[float] = []
        firsts: list[float] = []
        compiled = 0
        for _ in range(options.runs):
            done = subprocess.run(
                [str(interpreter), "-S", str(work / "probe.py")],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                sys.stderr.write(f"lambda_cold_start: import failed\n{done.stderr[-1500:]}\n")
                return 1
            elapsed, first, missing = done.stdout.split()
            times.append(float(elapsed))
            firsts.append(float(first))
            compiled = max(compiled, int(missing))
        load = os.getloadavg()[0]
        print(f"bundle:        {bundle}")
        print(f"interpreter:   {interpreter}")
        print(
            f"cold import:   best {min(times):.0f} ms, median {statistics.median(times):.0f} ms "
            f"({options.runs} fresh processes; goal ≤ 250 ms idle)"
        )
        totals = sorted(t + f for t, f in zip(times, firsts, strict=True))
        print(
            f"+ first answer: best {min(firsts):.0f} ms, median {statistics.median(firsts):.0f} ms "
            f"(`/health`, which builds the app; import + it: best {totals[0]:.0f} ms, "
            f"median {statistics.median(totals):.0f} ms)"
        )
        print(f"compiled:      {compiled} modules without valid bytecode in the bundle")
        print(f"load average:  {load:.2f} (1 min; figures mean little on a busy machine)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
