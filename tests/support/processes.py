"""Waiting for a server a test (or a benchmark) started as a child process."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import httpx


def wait_until_healthy(
    url: str,
    process: subprocess.Popen[Any],
    timeout_s: float,
    *,
    request_timeout_s: float = 1.0,
    interval_s: float = 0.1,
    log: Path | None = None,
) -> None:
    """Poll `url` until it answers 200. RuntimeError when `process` exits first or
    `timeout_s` pass, carrying what the server wrote: its piped stderr once it has exited,
    or the tail of `log` (where its output was sent)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(url, timeout=request_timeout_s).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        exited = process.poll() is not None
        if exited or time.monotonic() > deadline:
            problem = (
                f"exited with {process.returncode}" if exited else f"no answer in {timeout_s} s"
            )
            raise RuntimeError(f"{url}: {problem}\n{_output(process, exited, log)}")
        time.sleep(interval_s)


def _output(process: subprocess.Popen[Any], exited: bool, log: Path | None) -> str:
    if log is not None:
        return log.read_text(errors="replace")[-2000:]
    if exited and process.stderr is not None:
        err = process.stderr.read()
        return err.decode(errors="replace") if isinstance(err, bytes) else str(err)
    return ""
