"""Day-by-day `umwi run`s of the sample city: the uninterrupted baseline and killed rounds.

Two kinds of kill: at a seeded random moment (`kill_rounds`), and at a named failpoint
(`phase_rounds`, `umwi_core.failpoints`), where the test also asserts what the killed run
had and had not changed. Each round runs one new day, so every kill lands on real work.
"""

from __future__ import annotations

import random
import shutil
import statistics
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
from umwi_core.contracts import SILVER_TABLES
from umwi_core.failpoints import ENVIRONMENT_VARIABLE, parse
from umwi_core.lake import Lake
from umwi_core.ledger import Ledger, WindowStatus
from umwi_core.publication import GOLD_TABLES, read_publication
from umwi_core.resources import make_lake, make_ledger
from umwi_core.settings import Settings, load_settings
from umwi_transform import open_delta

from tests.e2e._lake_checks import api_publication, assert_same_data, check_readable, snapshot
from tests.e2e._support import (
    SAMPLE_START,
    child_env,
    last_line,
    run_and_kill,
    run_umwi,
    sample_config,
)

#: Days the baseline covers: day 0 takes the random kills, day 1 the failpoint kills.
BASELINE_DAYS = 2
RUN_TIMEOUT_S = 300
#: A killed run's windows stay claimed until their lease ends; short here so the next run
#: (the resume) may start right after the kill instead of 15 minutes later.
LEASE_S = 3


def day_args(index: int, days: int = 1) -> list[str]:
    """`run` over `days` days of the sample city from its day `index` (0-based)."""
    first = date.fromisoformat(SAMPLE_START) + timedelta(days=index)
    last = first + timedelta(days=days)
    return ["run", "--start", first.isoformat(), "--end", last.isoformat()]


def local_env(prefect_api: str, folder: Path) -> dict[str, str]:
    config = sample_config(folder, days=BASELINE_DAYS)
    return child_env(
        {
            "PREFECT_API_URL": prefect_api,
            "UMWI_STATE_DIR": str(folder / "state"),
            "UMWI_CONFIG_FILE": str(config),
            "UMWI_LEDGER_LEASE_S": str(LEASE_S),
        }
    )


def local_settings(folder: Path) -> Settings:
    """Local mode whatever the environment says (an aws test reads its seed with these)."""
    return load_settings(env="local", state_dir=folder / "state", lake_uri=None)


def local_lake(folder: Path) -> Lake:
    return make_lake(local_settings(folder))


def local_ledger(folder: Path) -> Ledger:
    return make_ledger(local_settings(folder))


#: The baseline runs one day at a time and keeps the data after each day.
BASELINE_STEP_DAYS = 1


@dataclass
class Baseline:
    durations: list[float]
    #: silver + published gold after day n (1-based), without the run columns.
    after_day: dict[int, dict[str, pa.Table]]
    #: A copy of the local state (lake and ledger) after day 1, for `seed`.
    after_first_day: Path

    @property
    def kill_horizon_s(self) -> float:
        """The fastest uninterrupted run: kills are drawn in [0, this)."""
        return min(self.durations)


def run_baseline(prefect_api: str, folder: Path) -> Baseline:
    env = local_env(prefect_api, folder)
    lake = local_lake(folder)
    durations = []
    after_day = {}
    copy = folder.parent / f"{folder.name}-after-day-1"
    for index in range(0, BASELINE_DAYS, BASELINE_STEP_DAYS):
        done = run_umwi(day_args(index, BASELINE_STEP_DAYS), env, folder, RUN_TIMEOUT_S)
        assert done.returncode == 0, f"baseline from day {index}: {done.output[-3000:]}"
        durations.append(done.seconds)
        after_day[index + BASELINE_STEP_DAYS] = snapshot(lake)
        if index == 0:
            shutil.copytree(folder / "state", copy / "state")
    return Baseline(durations, after_day, copy)


def seed(target: Target, folder: Path) -> int:
    """Copy a local lake and its ledger's done windows (`Baseline.after_first_day`) into
    `target`, whose next run then starts where that day ended without running it; returns
    the number of objects copied."""
    source = local_lake(folder)
    keys = list(source.list(""))
    for key in keys:
        target.lake.write_bytes(key, source.read_bytes(key))
    for record in local_ledger(folder).records():
        if record.status is WindowStatus.DONE:
            held = (record.lease_until - record.claimed_at).total_seconds()
            claimed = target.ledger.claim(record.source, record.window, record.run_id, lease_s=held)
            assert claimed, record
            target.ledger.complete(record.source, record.window, record.run_id, record.info)
    return len(keys)


def _version(lake: Lake, layer: str, table: str) -> int:
    delta = open_delta(lake, layer, table)
    return -1 if delta is None else delta.version()


def progress(lake: Lake, ledger: Ledger) -> dict[str, object]:
    """How far the pipeline got, one marker per stage, in pipeline order."""
    found = read_publication(lake)
    records = ledger.records()
    return {
        "ledger claim": tuple((r.window, r.run_id) for r in records),
        "bronze": sum(1 for _ in lake.list("bronze/")),
        "silver": tuple(_version(lake, "silver", table) for table in SILVER_TABLES),
        "ledger done": tuple(r.window for r in records if r.status is WindowStatus.DONE),
        "gold": tuple(_version(lake, "gold", table) for table in GOLD_TABLES),
        "quality": sum(1 for key in lake.list("quality/") if key.endswith("results.json")),
        "serving": sum(1 for _ in lake.list("gold/_serving/")),
        "published": None if found is None else found[0].publication_id,
    }


def landed(before: Mapping[str, object], after: Mapping[str, object]) -> str:
    """The last stage the killed run changed: where the kill landed."""
    reached = [stage for stage in before if before[stage] != after[stage]]
    if not reached:
        return "before any write"
    return f"after {reached[-1]}"


@dataclass(frozen=True)
class Kill:
    """A kill at a failpoint (`UMWI_TEST_KILL_AT` value `at`) and where the killed run
    must have stopped: the `progress` markers it changed and those it left alone."""

    at: str
    changed: tuple[str, ...]
    unchanged: tuple[str, ...]
    #: (marker, n): of that marker's tables exactly n changed, the others did not.
    partly: tuple[str, int] | None = None
    #: Silver equals the uninterrupted run's after this kill.
    silver_complete: bool = False


@dataclass
class KillReport:
    mode: str
    kills: int = 0
    finished_first: int = 0
    landings: dict[str, int] = field(default_factory=dict)
    resume_s: list[float] = field(default_factory=list)

    def line(self) -> str:
        where = ", ".join(f"{count} {stage}" for stage, count in sorted(self.landings.items()))
        mean = f"mean {statistics.fmean(self.resume_s):.1f} s" if self.resume_s else "none"
        return (
            f"{self.mode}: {self.kills} SIGKILLs ({where}); {self.finished_first} runs beat "
            f"their kill; every next run completed ({mean})"
        )


@dataclass(frozen=True)
class Target:
    """The lake and ledger under test, the children's environment and folder, and the
    settings a reader (the API) opens them with."""

    mode: str
    env: Mapping[str, str]
    lake: Lake
    ledger: Ledger
    settings: Settings
    folder: Path


def _readers_see(target: Target, allowed: set[str | None]) -> str | None:
    """Check what any reader sees now; returns the published id, one of `allowed`."""
    readable = check_readable(target.lake)
    served = api_publication(target.settings)
    assert served == readable.publication_id, (
        f"the API serves {served}, the pointer names {readable.publication_id}"
    )
    assert readable.publication_id in allowed, (
        f"readers see {readable.publication_id}, neither of {sorted(map(str, allowed))}"
    )
    return readable.publication_id


def _wait_for_leases(ledger: Ledger) -> None:
    """Until no window is held by a live lease: a killed run's claims end with their lease."""
    held = [r.lease_until for r in ledger.records() if r.status is WindowStatus.RUNNING]
    if held:
        time.sleep(max(0.0, (max(held) - datetime.now(UTC)).total_seconds()) + 0.2)


def _resume(target: Target, index: int, after: str) -> float:
    _wait_for_leases(target.ledger)
    resumed = run_umwi(day_args(index), target.env, target.folder, RUN_TIMEOUT_S)
    assert resumed.returncode == 0, (
        f"{target.mode} day {index}: the run after {after} failed: "
        f"{last_line(resumed.output)}\n{resumed.output[-3000:]}"
    )
    _readers_see(target, {read_publication_id(target.lake)})
    return resumed.seconds


def read_publication_id(lake: Lake) -> str | None:
    found = read_publication(lake)
    return None if found is None else found[0].publication_id


def kill_rounds(
    target: Target, *, index: int, kills: int, horizon_s: float, seed: int
) -> KillReport:
    """SIGKILL runs of day `index` at seeded random moments, one after the other, checking
    what readers see after each; then run the day to its end."""
    rng = random.Random(seed)
    report = KillReport(f"{target.mode} random")
    for _ in range(kills):
        # A run that beats its kill is not a kill: the same day is run again with --force
        # (the same work, idempotently) and killed earlier, so every round has its kill.
        for attempt in range(3):
            delay = rng.uniform(0, horizon_s / (1 + attempt))
            args = day_args(index) + (["--force"] if attempt else [])
            before = progress(target.lake, target.ledger)
            _wait_for_leases(target.ledger)
            killed = run_and_kill(args, target.env, target.folder, delay)
            after = progress(target.lake, target.ledger)
            _readers_see(target, {before["published"], after["published"]})  # type: ignore[arg-type]
            if killed.returncode == -9:
                report.kills += 1
                stage = landed(before, after)
                report.landings[stage] = report.landings.get(stage, 0) + 1
                break
            assert killed.returncode == 0, killed.output[-3000:]
            report.finished_first += 1
    report.resume_s.append(_resume(target, index, f"{kills} random kills"))
    _assert_leases_honoured(target.ledger)
    return report


def _assert_landing(kill: Kill, before: dict[str, object], after: dict[str, object]) -> None:
    moved = [marker for marker in before if before[marker] != after[marker]]
    for marker in kill.changed:
        assert marker in moved, f"killed at {kill.at}, yet {marker} did not change (moved: {moved})"
    for marker in kill.unchanged:
        assert marker not in moved, f"killed at {kill.at}, yet {marker} changed (moved: {moved})"
    if kill.partly is not None:
        marker, wanted = kill.partly
        old, new = before[marker], after[marker]
        assert isinstance(old, tuple)
        assert isinstance(new, tuple)
        differ = sum(1 for a, b in zip(old, new, strict=True) if a != b)
        assert differ == wanted, f"killed at {kill.at}: {differ} of {marker} {new} changed"


def phase_rounds(
    target: Target, *, index: int, kills: list[Kill], expected: dict[str, pa.Table]
) -> KillReport:
    """Run day `index` killed at each failpoint of `kills` in turn, each run resuming what
    the previous one left; assert where each kill landed and what readers see after it;
    then run the day to its end. `expected` is the uninterrupted runs' `snapshot` after
    the day."""
    report = KillReport(f"{target.mode} failpoints")
    for kill in kills:
        phase, count = parse(kill.at)
        _wait_for_leases(target.ledger)
        before = progress(target.lake, target.ledger)
        env = {**target.env, ENVIRONMENT_VARIABLE: kill.at}
        killed = run_and_kill(day_args(index), env, target.folder, RUN_TIMEOUT_S)
        assert killed.returncode == -9, (
            f"{target.mode}: the run to be killed at {kill.at} ended with "
            f"{killed.returncode}: {last_line(killed.output)}\n{killed.output[-3000:]}"
        )
        assert f"umwi failpoint {phase}:{count}: SIGKILL" in killed.output, killed.output[-3000:]
        after = progress(target.lake, target.ledger)
        _assert_landing(kill, before, after)
        if kill.silver_complete:
            silver = {name: table for name, table in expected.items() if name.startswith("silver/")}
            found = snapshot(target.lake)
            assert_same_data({name: found[name] for name in silver}, silver)
        _readers_see(target, {before["published"], after["published"]})  # type: ignore[arg-type]
        report.kills += 1
        report.landings[kill.at] = 1
    report.resume_s.append(_resume(target, index, f"the kill at {kills[-1].at}"))
    _assert_leases_honoured(target.ledger)
    return report


def _assert_leases_honoured(ledger: Ledger) -> None:
    for record in ledger.records():
        # The runs honoured UMWI_LEDGER_LEASE_S; with the 15-minute default a killed run's
        # windows would have stayed claimed and the next run would have skipped them.
        # The lease is renewed after each batch, so it ends a few seconds after ingestion.
        held = record.lease_until - record.claimed_at
        assert held < timedelta(seconds=300), f"{record.window} leased for {held}"


__all__ = [
    "BASELINE_DAYS",
    "BASELINE_STEP_DAYS",
    "LEASE_S",
    "RUN_TIMEOUT_S",
    "Baseline",
    "Kill",
    "KillReport",
    "Target",
    "day_args",
    "kill_rounds",
    "landed",
    "local_env",
    "local_lake",
    "local_ledger",
    "local_settings",
    "phase_rounds",
    "progress",
    "run_baseline",
    "seed",
]
