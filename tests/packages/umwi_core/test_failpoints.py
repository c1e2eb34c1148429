"""The test-only failpoints: inert unless asked, a SIGKILL at exactly the asked hit."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from umwi_core import failpoints
from umwi_core.failpoints import ENVIRONMENT_VARIABLE, PHASES, failpoint, parse

REPO = Path(__file__).resolve().parents[3]
SOURCES = [REPO / "packages", REPO / "flows" / "src"]


def _run(env_value: str | None, calls: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin"}
    if env_value is not None:
        env[ENVIRONMENT_VARIABLE] = env_value
    script = f"from umwi_core.failpoints import failpoint\n{calls}\nprint('survived')\n"
    return subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False
    )


def test_inert_without_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """Mutation: `if not wanted: return` → `if wanted: return` kills every production run."""
    monkeypatch.delenv(ENVIRONMENT_VARIABLE, raising=False)
    for phase in PHASES:
        failpoint(phase)  # still alive


def test_kills_at_the_named_hit_and_says_where() -> None:
    """Mutation: `if _hits[phase] != count` → `if _hits[phase] < count` kills on later hits
    too; dropping the `os.write` leaves the test blind to where it landed."""
    calls = "\n".join(
        [
            'failpoint("silver.committed")',
            'failpoint("gold.table.written")',
            "print('after first gold table', flush=True)",
            'failpoint("gold.table.written")',
            "print('after second gold table', flush=True)",
        ]
    )
    done = _run("gold.table.written:2", calls)
    assert done.returncode == -signal.SIGKILL
    assert done.stdout.splitlines() == ["after first gold table"]
    assert done.stderr == "umwi failpoint gold.table.written:2: SIGKILL\n"


def test_another_phase_or_a_later_count_does_not_kill() -> None:
    """Mutation: `if target != phase: return` removed kills at the wrong phase."""
    calls = 'failpoint("gold.table.written")\nfailpoint("bronze.landed")'
    done = _run("gold.table.written:3", calls)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "survived\n"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("silver.merged", "unknown phase 'silver.merged'; choose from bronze.landed"),
        ("bronze.landed:0", "the count after ':' must be 1 or more"),
        ("bronze.landed:two", "the count after ':' must be 1 or more"),
    ],
)
def test_a_mistyped_phase_is_a_clear_error(value: str, message: str) -> None:
    """Mutation: `if phase not in PHASES: raise` removed turns a typo into a run that is
    silently never killed, and the crash test into one that proves nothing."""
    with pytest.raises(ValueError, match=re.escape(message)):
        parse(value)


def test_parse_reads_phase_and_count() -> None:
    assert parse("gate.running") == ("gate.running", 1)
    assert parse("silver.merge.window:3") == ("silver.merge.window", 3)


def test_every_phase_is_marked_once_in_the_pipeline() -> None:
    """A documented phase with no call site would be a crash test that cannot land.

    Mutation: deleting `failpoint("gate.running")` from `umwi_quality._gate`."""
    calls: dict[str, list[str]] = {phase: [] for phase in PHASES}
    for root in SOURCES:
        for path in root.rglob("*.py"):
            for phase in re.findall(r'\bfailpoint\("([a-z.]+)"\)', path.read_text()):
                assert phase in PHASES, f"{path}: failpoint {phase!r} is not in PHASES"
                calls[phase].append(str(path.relative_to(REPO)))
    assert {phase: len(where) for phase, where in calls.items()} == dict.fromkeys(PHASES, 1), calls


def test_the_module_exports_what_tests_use() -> None:
    assert failpoints.__all__ == ["ENVIRONMENT_VARIABLE", "PHASES", "failpoint", "parse"]
