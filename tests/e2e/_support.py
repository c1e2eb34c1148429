"""Running `umwi` as a user would, in child processes: servers, environment, kills.

Children get a clean environment (no developer UMWI_/AWS_/PREFECT_ variables) plus what
the test gives them. One Prefect server per test session serves every child, so a child
does not spend 10–15 s starting its own; each child runs in its own process group so a
SIGKILL takes down everything it started, as when a container dies.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.conftest import reserved_port
from tests.support.process_group import stop_process_group

SAMPLE_START = "2026-01-05"
SAMPLE_SEED = 7
_PREFIXES = ("UMWI_", "AWS_", "PREFECT_")
PREFECT_SERVER = [sys.executable, "-m", "prefect", "server", "start", "--no-services"]


def sample_config(folder: Path, *, days: int, start: str = SAMPLE_START) -> Path:
    """A umwi.toml whose only source is `days` days of the sample city."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "umwi.toml"
    path.write_text(f"[sources.sample]\nstart = {start}\ndays = {days}\nseed = {SAMPLE_SEED}\n")
    return path


def sample_range(days: int, start: str = SAMPLE_START) -> list[str]:
    from datetime import date, timedelta

    first = date.fromisoformat(start)
    return ["--start", first.isoformat(), "--end", (first + timedelta(days=days)).isoformat()]


#: moto accepts any credentials; these are the ones tests/conftest.py sets too.
TEST_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "eu-west-1",
}


def child_env(values: Mapping[str, str]) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(_PREFIXES)}
    env |= TEST_CREDENTIALS | {
        "SODA_CORE_TELEMETRY_ENABLED": "false",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        # No task retry waits: a killed run is finished by the next one, not by sleeping.
        "UMWI_TASK_RETRY_DELAY_S": "0",
        "NO_COLOR": "1",
        "COLUMNS": "200",
    }
    env.update(values)
    return env


def umwi_variables() -> dict[str, str]:
    """The UMWI_* variables the current test set (e.g. via `aws_resources`), for a child."""
    return {key: value for key, value in os.environ.items() if key.startswith("UMWI_")}


def umwi_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "umwi", *args]


def _wait_until_up(url: str, process: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode} on start-up")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not come up within {timeout_s} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    stop_process_group(process, timeout_s=20)


@contextmanager
def prefect_server(home: Path) -> Iterator[str]:
    """A Prefect server for the children; yields its API URL."""
    home.mkdir(parents=True, exist_ok=True)
    env = child_env({"PREFECT_HOME": str(home), "PREFECT_SERVER_LOGGING_LEVEL": "WARNING"})
    log = (home / "server.log").open("wb")
    with reserved_port() as port:
        process = subprocess.Popen(
            [*PREFECT_SERVER, "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            _wait_until_up(f"http://127.0.0.1:{port}/api/health", process, 120)
        except BaseException:
            _stop(process)
            log.close()
            raise
    try:
        yield f"http://127.0.0.1:{port}/api"
    finally:
        _stop(process)
        log.close()


@dataclass
class Finished:
    returncode: int
    output: str
    seconds: float


def run_umwi(args: list[str], env: Mapping[str, str], cwd: Path, timeout_s: float) -> Finished:
    """Run `umwi …` to its end; output is stdout and stderr together."""
    began = time.monotonic()
    done = subprocess.run(
        umwi_command(*args),
        env=dict(env),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=timeout_s,
        start_new_session=True,
        check=False,
    )
    return Finished(done.returncode, done.stdout.decode(errors="replace"), time.monotonic() - began)


def run_and_kill(args: list[str], env: Mapping[str, str], cwd: Path, after_s: float) -> Finished:
    """Start `umwi …` and SIGKILL its whole process group after `after_s` seconds.

    Returns how it ended: -9 when the kill landed, its own code when it finished first.
    """
    began = time.monotonic()
    log = cwd / f"killed-{time.time_ns()}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            umwi_command(*args),
            env=dict(env),
            cwd=cwd,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            process.wait(timeout=after_s)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        # A child that killed itself (a failpoint) may leave processes it started.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    return Finished(process.returncode, log.read_text(errors="replace"), time.monotonic() - began)


def last_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    return lines[-1] if lines else ""


__all__ = [
    "SAMPLE_SEED",
    "SAMPLE_START",
    "TEST_CREDENTIALS",
    "Finished",
    "child_env",
    "last_line",
    "prefect_server",
    "run_and_kill",
    "run_umwi",
    "sample_config",
    "sample_range",
    "umwi_command",
    "umwi_variables",
]
