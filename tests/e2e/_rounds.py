"""Day-by-day `umwi run`s of the sample city: the uninterrupted baseline and killed rounds.

Each round runs one new day, so every kill lands on real work (ingest, build, gate or
publication) instead of on a run with nothing left to do.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
from umwi_core.contracts import SILVER_TABLES
from umwi_core.lake import Lake
from umwi_core.ledger import Ledger
from umwi_core.publication import GOLD_TABLES, read_publication
from umwi_core.resources import make_lake, make_ledger
from umwi_core.settings import load_settings
from umwi_transform import open_delta

from tests.e2e._lake_checks import check_readable, snapshot
from tests.e2e._support import (
    SAMPLE_START,
    child_env,
    last_line,
    run_and_kill,
    run_umwi,
    sample_config,
)

#: Days the baseline covers: the most any test replays (6 local kills, one day each).
BASELINE_DAYS = 6
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


def local_lake(folder: Path) -> Lake:
    return make_lake(load_settings(state_dir=folder / "state", lake_uri=None))


def local_ledger(folder: Path) -> Ledger:
    return make_ledger(load_settings(state_dir=folder / "state", lake_uri=None))


#: The baseline runs two days at a time and keeps the data after each of these days.
BASELINE_STEP_DAYS = 2


@dataclass
class Baseline:
    durations: list[float]
    #: silver + published gold after day n (1-based), without the run columns.
    after_day: dict[int, dict[str, pa.Table]]

    @property
    def kill_horizon_s(self) -> float:
        """The fastest uninterrupted run: kills are drawn in [0, this)."""
        return min(self.durations)


def run_baseline(prefect_api: str, folder: Path) -> Baseline:
    env = local_env(prefect_api, folder)
    lake = local_lake(folder)
    durations = []
    after_day = {}
    for index in range(0, BASELINE_DAYS, BASELINE_STEP_DAYS):
        done = run_umwi(day_args(index, BASELINE_STEP_DAYS), env, folder, RUN_TIMEOUT_S)
        assert done.returncode == 0, f"baseline from day {index}: {done.output[-3000:]}"
        durations.append(done.seconds)
        after_day[index + BASELINE_STEP_DAYS] = snapshot(lake)
    return Baseline(durations, after_day)


def _version(lake: Lake, layer: str, table: str) -> int:
    delta = open_delta(lake, layer, table)
    return -1 if delta is None else delta.version()


def progress(lake: Lake, ledger: Ledger) -> dict[str, object]:
    """How far the pipeline got, one marker per stage, in pipeline order."""
    found = read_publication(lake)
    return {
        "ledger claim": tuple((r.window, r.run_id) for r in ledger.records()),
        "bronze": sum(1 for _ in lake.list("bronze/")),
        "silver": tuple(_version(lake, "silver", table) for table in SILVER_TABLES),
        "gold": tuple(_version(lake, "gold", table) for table in GOLD_TABLES),
        "quality": sum(1 for key in lake.list("quality/") if key.endswith("results.json")),
        "published": None if found is None else found[0].publication_id,
    }


def landed(before: Mapping[str, object], after: Mapping[str, object]) -> str:
    """The last stage the killed run changed: where the kill landed."""
    reached = [stage for stage in before if before[stage] != after[stage]]
    if not reached:
        return "before any write"
    return f"after {reached[-1]}"


@dataclass
class KillReport:
    mode: str
    kills: int = 0
    finished_first: int = 0
    landings: dict[str, int] = field(default_factory=dict)
    resume_s: list[float] = field(default_factory=list)

    def line(self) -> str:
        where = ", ".join(f"{count} {stage}" for stage, count in sorted(self.landings.items()))
        return (
            f"{self.mode}: {self.kills} SIGKILLs ({where}); {self.finished_first} runs beat "
            f"their kill; every next run completed "
            f"(mean {statistics.fmean(self.resume_s):.1f} s)"
        )


def kill_rounds(
    *,
    mode: str,
    days: int,
    env: Mapping[str, str],
    lake: Lake,
    ledger: Ledger,
    folder: Path,
    horizon_s: float,
    seed: int,
) -> KillReport:
    """Per day: SIGKILL a run at a seeded random moment, check what readers see, resume."""
    rng = random.Random(seed)
    report = KillReport(mode)
    for index in range(days):
        # A run that beats its kill is not a kill: the same day is run again with --force
        # (the same work, idempotently) and killed earlier, so every round has its kill.
        for attempt in range(3):
            delay = rng.uniform(0, horizon_s / (1 + attempt))
            args = day_args(index) + (["--force"] if attempt else [])
            before = progress(lake, ledger)
            killed = run_and_kill(args, env, folder, delay)
            after = progress(lake, ledger)
            check_readable(lake)
            if killed.returncode == -9:
                report.kills += 1
                stage = landed(before, after)
                report.landings[stage] = report.landings.get(stage, 0) + 1
                break
            assert killed.returncode == 0, killed.output[-3000:]
            report.finished_first += 1
        # The killed run's windows resume once their lease is over.
        time.sleep(LEASE_S)
        resumed = run_umwi(day_args(index), env, folder, RUN_TIMEOUT_S)
        assert resumed.returncode == 0, (
            f"{mode} day {index}: the run after a kill at {delay:.1f} s failed: "
            f"{last_line(resumed.output)}\n{resumed.output[-3000:]}"
        )
        report.resume_s.append(resumed.seconds)
        check_readable(lake)
    for record in ledger.records():
        # The runs honoured UMWI_LEDGER_LEASE_S; with the 15-minute default a killed run's
        # windows would have stayed claimed and the next run would have skipped them.
        # The lease is renewed after each batch, so it ends a few seconds after ingestion.
        held = record.lease_until - record.claimed_at
        assert held < timedelta(seconds=300), f"{record.window} leased for {held}"
    return report


__all__ = [
    "BASELINE_DAYS",
    "BASELINE_STEP_DAYS",
    "LEASE_S",
    "Baseline",
    "KillReport",
    "day_args",
    "kill_rounds",
    "landed",
    "local_env",
    "local_lake",
    "local_ledger",
    "progress",
    "run_baseline",
]
