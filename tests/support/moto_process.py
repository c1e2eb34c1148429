"""Start and stop a moto server process (`moto_server.py`) on 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from tests.conftest import reserved_port

SERVER = Path(__file__).with_name("moto_server.py")


@contextmanager
def moto_process(env: Mapping[str, str] | None = None, log: Path | None = None) -> Iterator[str]:
    """A moto server with `env` added to its environment; yields its endpoint URL.

    With `log`, the server's output (its tracebacks of 500 answers) goes to that file.

    A separate process, not a thread: deltalake (Rust) can hold the GIL while it waits on
    S3, which would starve an in-process server thread until the request times out.
    """
    sink = log.open("wb") if log else subprocess.DEVNULL
    with reserved_port() as port:
        process = subprocess.Popen(
            [sys.executable, str(SERVER), "-H", "127.0.0.1", "-p", str(port)],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
        endpoint = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(endpoint, process)
        except BaseException:
            _stop(process, sink if log else None)
            raise
    try:
        yield endpoint
    finally:
        _stop(process, sink if log else None)


def _wait_until_up(endpoint: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).close()  # noqa: S310
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"moto server did not start on {endpoint}") from None
            time.sleep(0.1)


def _stop(process: subprocess.Popen[bytes], sink: IO[bytes] | None) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
    if sink is not None:
        sink.close()
