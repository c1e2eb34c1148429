"""SIGKILL `umwi run` at named phases (failpoints) and at seeded random moments, in local
and aws mode.

Day 0 takes random kills, then runs to its end; day 1 is killed at one failpoint after
another (each run resuming what the previous kill left), then runs to its end. After every
kill: the killed run stopped where it was told to (the child's own failpoint line, and the
lake markers it did and did not move), a reader sees the previous or the new publication
and never an error (the published pointer names versions and serving copies that exist and
agree; neither silver nor published gold has a duplicate key; the API answers with that
publication's ETag). After each day, silver and published gold equal an uninterrupted
run's on every column but `as_of`, `ingested_at` and `run_id`.

Local mode runs every failpoint; aws mode (moto) the four whose writes differ there: a
silver MERGE window (Delta on S3, the DynamoDB ledger's claim taken over), gold half
written, the serving copies written and the pointer replaced (S3's conditional write).
The random kills are local mode's: aws mode starts day 1 from a copy of the baseline's
lake and ledger after day 0 (`seed`) instead of running that day again on moto.
"""

from __future__ import annotations

import pytest
from umwi_core.failpoints import PHASES, parse
from umwi_core.resources import make_lake, make_ledger

from tests.e2e._lake_checks import assert_same_data, snapshot
from tests.e2e._rounds import (
    Baseline,
    Kill,
    KillReport,
    Target,
    kill_rounds,
    local_env,
    local_lake,
    local_ledger,
    local_settings,
    phase_rounds,
    seed,
)
from tests.e2e._support import umwi_variables
from tests.support.aws import AwsResources

# A dozen `umwi run`s in a row: far over the suite's per-test default on a busy machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

_AFTER_SILVER = ("gold", "quality", "serving", "published")

#: Killed mid silver MERGE: one silver table committed, the other not, the windows still
#: claimed (the same in both modes).
_MERGE_WINDOW = Kill(
    "silver.merge.window",
    changed=("ledger claim", "bronze"),
    unchanged=("ledger done", *_AFTER_SILVER),
    partly=("silver", 1),
)

#: Every failpoint in pipeline order, each run resuming the previous one's leftovers.
LOCAL_KILLS = [
    Kill(
        "bronze.landed",
        changed=("ledger claim", "bronze"),
        unchanged=("silver", "ledger done", *_AFTER_SILVER),
    ),
    _MERGE_WINDOW,
    Kill(
        "silver.committed",
        changed=("ledger claim", "bronze", "silver"),
        unchanged=("ledger done", *_AFTER_SILVER),
        silver_complete=True,
    ),
    # A re-ingest of what silver holds commits nothing: silver keeps its versions.
    Kill(
        "gold.table.written:2",
        changed=("ledger done",),
        unchanged=("silver", "quality", "serving", "published"),
        partly=("gold", 2),
    ),
    Kill(
        "gate.running",
        changed=("gold",),
        unchanged=("ledger claim", "silver", "quality", "serving", "published"),
    ),
    Kill(
        "publish.serving.written",
        changed=("quality", "serving"),
        unchanged=("ledger claim", "silver", "gold", "published"),
    ),
    Kill(
        "publish.pointer.replaced",
        changed=("quality", "serving", "published"),
        unchanged=("ledger claim", "silver", "gold"),
    ),
]

AWS_KILLS = [
    _MERGE_WINDOW,
    Kill(
        "gold.table.written:2",
        changed=("ledger done", "silver"),
        unchanged=("quality", "serving", "published"),
        partly=("gold", 2),
    ),
    Kill(
        "publish.serving.written",
        changed=("gold", "quality", "serving"),
        unchanged=("silver", "published"),
    ),
    Kill(
        "publish.pointer.replaced",
        changed=("quality", "serving", "published"),
        unchanged=("silver", "gold"),
    ),
]

LOCAL_RANDOM_KILLS = 2


def _report(capsys: pytest.CaptureFixture[str], *reports: KillReport, rows: int) -> None:
    with capsys.disabled():
        for report in reports:
            print(f"\n[crash safety] {report.line()}")
        print(f"[crash safety] {rows} rows of silver and gold equal an uninterrupted run's")


def _named_rounds(target: Target, baseline: Baseline, kills: list[Kill]) -> tuple[KillReport, int]:
    """Day 1 killed at each of `kills`, then run to its end: equal to the baseline."""
    named = phase_rounds(target, index=1, kills=kills, expected=baseline.after_day[2])
    assert named.landings == {kill.at: 1 for kill in kills}, named.line()
    return named, assert_same_data(snapshot(target.lake), baseline.after_day[2])


def test_the_local_kills_cover_every_failpoint() -> None:
    """A new failpoint needs its kill here. Mutation: dropping a `Kill` from LOCAL_KILLS."""
    assert [parse(kill.at)[0] for kill in LOCAL_KILLS] == list(PHASES)
    assert {parse(kill.at)[0] for kill in AWS_KILLS} < set(PHASES)


def test_sigkill_local(
    baseline: Baseline,
    prefect_api: str,
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Mutations that turn it red, one at a time: in `umwi_transform._publish`,
    `serving_key(publication_id, table)` → `serving_key("pub-fixed", table)` (the killed
    run overwrites the serving copies readers follow; checked: red at the
    `publish.serving.written` kill); in `umwi_flows._ingest`, the windows completed in the
    ledger before `loader.finish()` (after the `silver.merge.window` kill `ledger done` has
    moved); `failpoint("gate.running")` deleted (that run ends 0 instead of being killed)."""
    folder = tmp_path_factory.mktemp("crash-local")
    target = Target(
        mode="local",
        env=local_env(prefect_api, folder),
        lake=local_lake(folder),
        ledger=local_ledger(folder),
        settings=local_settings(folder),
        folder=folder,
    )
    randomly = kill_rounds(
        target, index=0, kills=LOCAL_RANDOM_KILLS, horizon_s=baseline.kill_horizon_s, seed=9
    )
    assert randomly.kills == LOCAL_RANDOM_KILLS, randomly.line()
    rows = assert_same_data(snapshot(target.lake), baseline.after_day[1])
    named, more = _named_rounds(target, baseline, LOCAL_KILLS)
    _report(capsys, randomly, named, rows=rows + more)


def test_sigkill_aws(
    baseline: Baseline,
    prefect_api: str,
    aws_resources: AwsResources,
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Mutations: in `umwi_flows._ingest`, the windows completed in the ledger before
    `loader.finish()` (after the `silver.merge.window` kill `ledger done` has moved, and
    the next run would skip the day); the fixed serving key of `test_sigkill_local`."""
    folder = tmp_path_factory.mktemp("crash-aws")
    aws = {key: value for key, value in umwi_variables().items() if key != "UMWI_STATE_DIR"}
    target = Target(
        mode="aws",
        env=local_env(prefect_api, folder) | aws,
        lake=make_lake(aws_resources.settings),
        ledger=make_ledger(aws_resources.settings),
        settings=aws_resources.settings,
        folder=folder,
    )
    assert seed(target, baseline.after_first_day) > 0
    named, rows = _named_rounds(target, baseline, AWS_KILLS)
    _report(capsys, named, rows=rows)
