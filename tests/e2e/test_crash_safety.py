"""SIGKILL `umwi run` at seeded random moments, in local and aws mode.

After every kill a reader sees no partial table (the published pointer names versions and
serving copies that exist and agree; silver opens without duplicate keys), the next run
completes, and at the end silver and published gold equal an uninterrupted run's on every
column but `as_of`, `ingested_at` and `run_id`. The counts go to the test report.
"""

from __future__ import annotations

import pytest
from umwi_core.resources import make_lake, make_ledger

from tests.e2e._lake_checks import assert_same_data, snapshot
from tests.e2e._rounds import (
    Baseline,
    KillReport,
    kill_rounds,
    local_env,
    local_lake,
    local_ledger,
)
from tests.e2e._support import umwi_variables
from tests.support.aws import AwsResources

# Dozens of `umwi run`s in a row: far over the suite's per-test default on a busy machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

LOCAL_KILLS = 6
AWS_KILLS = 4


def _report(
    capsys: pytest.CaptureFixture[str], report: KillReport, rows: int, baseline: Baseline
) -> None:
    with capsys.disabled():
        print(
            f"\n[crash safety] {report.line()}; {rows} rows of silver and gold equal an "
            f"uninterrupted run's (kills drawn in [0, {baseline.kill_horizon_s:.1f} s))"
        )


def _assert_killed(report: KillReport, wanted: int) -> None:
    assert report.kills == wanted, report.line()


def test_sigkill_local(
    baseline: Baseline,
    prefect_api: str,
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = tmp_path_factory.mktemp("crash-local")
    lake = local_lake(folder)
    report = kill_rounds(
        mode="local",
        days=LOCAL_KILLS,
        env=local_env(prefect_api, folder),
        lake=lake,
        ledger=local_ledger(folder),
        folder=folder,
        horizon_s=baseline.kill_horizon_s,
        seed=9,
    )
    rows = assert_same_data(snapshot(lake), baseline.after_day[LOCAL_KILLS])
    _report(capsys, report, rows, baseline)
    _assert_killed(report, LOCAL_KILLS)


def test_sigkill_aws(
    baseline: Baseline,
    prefect_api: str,
    aws_resources: AwsResources,
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = tmp_path_factory.mktemp("crash-aws")
    aws = {key: value for key, value in umwi_variables().items() if key != "UMWI_STATE_DIR"}
    env = local_env(prefect_api, folder) | aws
    lake = make_lake(aws_resources.settings)
    report = kill_rounds(
        mode="aws",
        days=AWS_KILLS,
        env=env,
        lake=lake,
        ledger=make_ledger(aws_resources.settings),
        folder=folder,
        horizon_s=baseline.kill_horizon_s,
        seed=10,
    )
    rows = assert_same_data(snapshot(lake), baseline.after_day[AWS_KILLS])
    _report(capsys, report, rows, baseline)
    _assert_killed(report, AWS_KILLS)
