"""Stopping a server the tests started in its own session (`start_new_session=True`)."""

from __future__ import annotations

import os
import signal
import subprocess


def stop_process_group(process: subprocess.Popen[bytes], *, timeout_s: float) -> None:
    """SIGTERM the whole group (scripts and the server they exec'd), SIGKILL it if it
    outlives `timeout_s`."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
