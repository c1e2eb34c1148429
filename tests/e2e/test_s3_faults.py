"""S3 throttling (503 SlowDown) and 500s injected into aws mode are retried without loss.

A proxy in front of moto fails a seeded share of S3 requests before moto sees them; every
umwi AWS client goes through it (`UMWI_AWS_ENDPOINT_URL`): botocore for umwi's own S3
calls (adaptive retries, 10 attempts) and deltalake's object_store for the Delta tables
(its own retries). The runs still complete and the data equals the clean baseline's.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from umwi_core.resources import make_lake

from tests.e2e._fault_proxy import FaultProxy
from tests.e2e._lake_checks import assert_same_data, check_readable, snapshot
from tests.e2e._rounds import (
    BASELINE_DAYS,
    RUN_TIMEOUT_S,
    Baseline,
    day_args,
    local_env,
)
from tests.e2e._support import last_line, run_umwi, umwi_variables
from tests.support.aws import REGION, AwsResources

DAYS = BASELINE_DAYS
FAULT_SHARE = 0.08


def test_proxy_fails_the_share_it_is_given(moto_server: str) -> None:
    # Without retries a client sees the injected errors: the proxy really fails requests.
    with FaultProxy(moto_server, share=0.5, seed=2) as proxy:
        s3: Any = boto3.client(
            "s3",
            endpoint_url=proxy.url,
            region_name=REGION,
            config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
        )
        codes = []
        for _ in range(40):
            try:
                s3.list_buckets()
                codes.append("ok")
            except ClientError as error:
                codes.append(error.response["Error"]["Code"])
    assert {"ok", "SlowDown", "InternalError"} <= set(codes), codes
    assert 8 <= codes.count("SlowDown") + codes.count("InternalError") <= 32
    assert proxy.counts["s3"] == 40


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_faulty_s3_loses_nothing(
    baseline: Baseline,
    prefect_api: str,
    aws_resources: AwsResources,
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = tmp_path_factory.mktemp("s3-faults")
    aws = {key: value for key, value in umwi_variables().items() if key != "UMWI_STATE_DIR"}
    with FaultProxy(aws_resources.endpoint, share=FAULT_SHARE, seed=11) as proxy:
        env = local_env(prefect_api, folder) | aws | {"UMWI_AWS_ENDPOINT_URL": proxy.url}
        done = run_umwi(day_args(0, DAYS), env, folder, RUN_TIMEOUT_S)
        assert done.returncode == 0, f"{last_line(done.output)}\n{done.output[-3000:]}"
    # Read back around the proxy: what moto holds is what a clean reader sees.
    lake = make_lake(aws_resources.settings)
    check_readable(lake)
    rows = assert_same_data(snapshot(lake), baseline.after_day[DAYS])
    with capsys.disabled():
        print(f"\n[s3 faults] {proxy.summary()}; {rows} rows equal the clean run's")
    assert proxy.counts["fault 503"] > 0
    assert proxy.counts["fault 500"] > 0
    # Both S3 clients met faults and retried through them.
    assert proxy.counts["fault by botocore"] > 0
    assert proxy.counts["fault by object_store"] > 0
