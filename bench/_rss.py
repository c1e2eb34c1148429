"""Peak RSS of the running benchmark process, shared by the benchmark scripts."""

from __future__ import annotations

import resource
from pathlib import Path


def peak_rss_mib() -> float:
    """This process's peak RSS since it started its program (VmHWM).

    Not `ru_maxrss` on Linux: it carries a forked child's maximum over `exec`, so a child
    of a benchmark that holds generated data would report at least the parent's size.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB elsewhere
