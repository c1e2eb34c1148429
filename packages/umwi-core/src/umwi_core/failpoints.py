"""Test-only failpoints: a test may have umwi SIGKILL itself at a named phase.

The pipeline calls `failpoint("<phase>")` at the moments a crash matters (between two
writes whose order readers rely on). The call does nothing unless the environment variable
`UMWI_TEST_KILL_AT` names that phase, which only the crash tests set
(`tests/e2e/test_crash_safety.py`); then the process writes one line to stderr naming the
phase and sends itself SIGKILL, as a container killed at that instant would die: no
`finally`, no `atexit`, no flush. Failpoints of this kind are how FoundationDB and TiKV
test their crash recovery; a kill at a named phase proves what a kill at a random moment
only samples.

`UMWI_TEST_KILL_AT=<phase>` kills at the phase's first hit in the process;
`<phase>:<n>` at its n-th (e.g. `gold.table.written:2`, after two of the four gold tables).
Never set it in production: it exists to kill the process.
"""

from __future__ import annotations

import os
import signal
import threading
from collections import Counter

#: The variable the crash tests set; unset (always, outside those tests) makes every
#: failpoint a no-op.
ENVIRONMENT_VARIABLE = "UMWI_TEST_KILL_AT"

#: Every phase a failpoint marks, in pipeline order, and the moment it stands for.
PHASES: dict[str, str] = {
    "bronze.landed": "a raw payload and its metadata are in bronze, nothing of it in silver",
    "silver.merge.window": "one time window of one silver table is MERGEd, the rest are not",
    "silver.committed": "the run's silver is committed, its ledger windows not completed",
    "gold.table.written": "one more gold candidate is committed, the next ones are not",
    "gate.running": "the quality gate has run Great Expectations, not yet Soda or the rest",
    "publish.serving.written": "the serving copies are written, the pointer not replaced",
    "publish.pointer.replaced": "the pointer names the new publication; the run's manifests "
    "are not written",
}

_hits: Counter[str] = Counter()
_lock = threading.Lock()


def parse(value: str) -> tuple[str, int]:
    """(phase, n) from `<phase>` or `<phase>:<n>`; ValueError naming what is wrong."""
    phase, _, count = value.strip().partition(":")
    if phase not in PHASES:
        raise ValueError(
            f"{ENVIRONMENT_VARIABLE}={value!r}: unknown phase {phase!r}; "
            f"choose from {', '.join(PHASES)}"
        )
    if not count:
        return phase, 1
    if not count.isdigit() or int(count) < 1:
        raise ValueError(f"{ENVIRONMENT_VARIABLE}={value!r}: the count after ':' must be 1 or more")
    return phase, int(count)


def failpoint(phase: str) -> None:
    """SIGKILL this process here if `UMWI_TEST_KILL_AT` asks for this hit of `phase`."""
    wanted = os.environ.get(ENVIRONMENT_VARIABLE)
    if not wanted:
        return
    if phase not in PHASES:
        raise ValueError(f"failpoint {phase!r} is not one of umwi_core.failpoints.PHASES")
    target, count = parse(wanted)
    if target != phase:
        return
    with _lock:
        _hits[phase] += 1
        if _hits[phase] != count:
            return
        # The one line the test reads to know where the kill landed; unbuffered, since
        # nothing is flushed after SIGKILL.
        os.write(2, f"umwi failpoint {phase}:{count}: SIGKILL\n".encode())
        os.kill(os.getpid(), signal.SIGKILL)


__all__ = ["ENVIRONMENT_VARIABLE", "PHASES", "failpoint", "parse"]
