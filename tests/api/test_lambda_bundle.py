"""The Lambda bundle run as Lambda runs it: built once (api/build_lambda.py), unzipped,
installed alone into a clean python3.12 venv holding only what the Lambda runtime adds
(boto3 and its dependencies), and invoked with API Gateway v2 events for every route
against gold published in moto S3."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from umwi_api.queries import GoldReader, KpiFilters, parse_time
from umwi_core.resources import build_resources, make_lake
from umwi_core.settings import load_settings

from tests.api.gold_sample import write_sample_gold
from tests.api.test_lambda_handler import event
from tests.support.lambda_bundle import load_build_lambda, unzip_as_lambda

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SIZE_LIMIT_MB = 100.0
#: What the python3.12 Lambda runtime provides besides the standard library.
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six",
                    "urllib3")  # fmt: skip

DRIVER = """
import json, sys
import umwi_api.lambda_handler as module  # the init phase: settings read once
events = json.load(sys.stdin)
print(json.dumps([module.handler(e, None) for e in events]))
"""


@pytest.fixture(scope="module")
def python312() -> Path:
    found = load_build_lambda().find_python("3.12")
    if found is None:
        pytest.skip("no CPython 3.12 on this machine (Lambda's runtime): cannot run the bundle")
    return Path(found)


@pytest.fixture(scope="module")
def bundle(python312: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "lambda.zip"
    done = subprocess.run(
        [sys.executable, str(ROOT / "api" / "build_lambda.py"), "--out", str(out),
         "--target-python", str(python312), "--no-measure"],
        capture_output=True, text=True, check=False, timeout=300, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def task_folder(bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The zip unzipped as Lambda does into /var/task, every mtime one fixed value."""
    folder = tmp_path_factory.mktemp("var-task")
    unzip_as_lambda(bundle, folder)
    return folder


@pytest.fixture(scope="module")
def runtime(python312: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean python3.12 venv with only the Lambda runtime's packages (locked versions)."""
    venv = tmp_path_factory.mktemp("runtime") / "venv"
    subprocess.run([str(python312), "-m", "venv", "--without-pip", str(venv)], check=True)
    exported = subprocess.run(
        ["uv", "export", "--package", "umwi-core", "--no-dev", "--no-emit-workspace",
         "--format", "requirements-txt"],
        capture_output=True, text=True, check=True, cwd=ROOT,
    ).stdout  # fmt: skip
    builder = load_build_lambda()
    wanted = {builder._canonical(name) for name in RUNTIME_PACKAGES}
    lines = [
        line
        for line in builder.filter_requirements_all(exported)
        if builder._canonical(line.split("==", 1)[0]) in wanted
    ]
    assert len(lines) == len(wanted), lines
    requirements = venv.parent / "runtime.txt"
    requirements.write_text("\n".join(lines) + "\n")
    subprocess.run(
        ["uv", "pip", "install", "--python", str(venv / "bin" / "python"), "--require-hashes",
         "--only-binary", ":all:", "-r", str(requirements)],
        check=True, capture_output=True, cwd=ROOT,
    )  # fmt: skip
    return venv / "bin" / "python"


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {
        str(path.relative_to(folder)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in folder.rglob("*")
        if path.is_file()
    }


def test_bundle_is_small_and_its_bytecode_survives_unzipping(
    task_folder: Path, python312: Path, tmp_path: Path
) -> None:
    """Mutation: compile with `--invalidation-mode timestamp` (or uv's --compile-bytecode)
    in build_lambda.py and Python rewrites every pyc here."""
    size_mb = sum(p.stat().st_size for p in task_folder.rglob("*") if p.is_file()) / 1e6
    assert size_mb <= SIZE_LIMIT_MB
    pycs = list(task_folder.rglob("*.cpython-312.pyc"))
    assert len(pycs) > 300
    for pyc in pycs:
        flags = int.from_bytes(pyc.read_bytes()[4:8], "little")
        assert flags == 0b01, f"{pyc} is not an unchecked hash-based pyc (flags {flags})"
    before = _snapshot(task_folder)
    # Bytecode writing on and the folder writable: any stale or missing pyc would be
    # rewritten (Lambda's read-only folder would instead recompile it on every start).
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(task_folder),
           "UMWI_STATE_DIR": str(tmp_path / "state")}  # fmt: skip
    done = subprocess.run(
        [str(python312), "-S", "-c", "import umwi_api.lambda_handler"],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert _snapshot(task_folder) == before


def _routes() -> list[tuple[str, str, str | None, KpiFilters]]:
    """(path, query, KPI[:grain], filters the API builds from that query) of every route."""
    april = {"start": parse_time("2024-04-01", "start"), "end": parse_time("2024-04-02", "end")}
    return [
        ("/kpi/weather-impact", "line_id=*&period=all", "weather-impact",
         KpiFilters(line_id="*", period="all")),
        ("/kpi/punctuality", "line_id=L1&start=2024-04-01&end=2024-04-02", "punctuality",
         KpiFilters(line_id="L1", **april)),
        ("/kpi/hourly", "start=2024-04-01&end=2024-04-02", "hourly", KpiFilters(**april)),
        ("/kpi/correlation", "variable=rain_mm&lag_h=1", "correlation",
         KpiFilters(variable="rain_mm", lag_h=1)),
        ("/correlation", "line_id=*&period=all&variable=precipitation_mm&lag_h=0&y_kind=raw",
         "correlation", KpiFilters(line_id="*", period="all", variable="precipitation_mm",
                                   lag_h=0, y_kind="raw")),
        ("/kpi/hourly", "grain=day&line_id=*", "hourly:day", KpiFilters(line_id="*")),
        ("/lines", "", None, KpiFilters()),
        ("/coverage", "", None, KpiFilters()),
        ("/freshness", "", None, KpiFilters()),
        ("/health", "", None, KpiFilters()),
    ]  # fmt: skip


def test_handler_from_the_bundle_answers_every_route_like_the_query_layer(
    task_folder: Path,
    runtime: Path,
    aws_resources: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Mutation: leave `duckdb-extension-httpfs` out of the bundle (EXCLUDED in
    build_lambda.py) and every KPI route answers 503 here."""
    publication = write_sample_gold(make_lake(aws_resources.settings))
    routes = _routes()
    env = {
        key: value
        for key, value in os.environ.items()
        if key.startswith(("UMWI_", "AWS_")) and key != "UMWI_STATE_DIR"
    } | {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(task_folder),  # Lambda puts /var/task first on sys.path
        "PYTHONDONTWRITEBYTECODE": "1",
        "UMWI_STATE_DIR": str(tmp_path / "lambda-tmp"),
        "AWS_SESSION_TOKEN": "session-token-from-lambda",
    }
    done = subprocess.run(
        [str(runtime), "-c", DRIVER],
        input=json.dumps([event(path, query) for path, query, _, _ in routes]),
        env=env, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    responses = json.loads(done.stdout)

    # The same sample gold in local mode, read by the query layer of this checkout.
    for name in list(os.environ):
        if name.startswith("UMWI_"):
            monkeypatch.delenv(name)
    local = load_settings(env="local", state_dir=str(tmp_path / "local"))
    write_sample_gold(make_lake(local))
    reader = GoldReader(build_resources(local))
    for (path, _, kpi, filters), response in zip(routes, responses, strict=True):
        assert response["statusCode"] == 200, (path, response["body"][:500])
        assert not response["isBase64Encoded"], path
        if kpi is not None:
            name, _, grain = kpi.partition(":")
            expected = reader.page(name, filters, grain=grain or "hour", limit=1000)
            assert json.loads(response["body"]) == expected.rows, path
            assert response["headers"]["x-total-count"] == str(expected.total), path
            assert response["headers"]["etag"] == f'"{publication.publication_id}"', path
        elif path == "/lines":
            assert json.loads(response["body"]) == reader.lines()
        elif path == "/coverage":
            assert json.loads(response["body"]) == reader.coverage()
        elif path == "/freshness":
            assert json.loads(response["body"])["publication_id"] == publication.publication_id
    # The Lambda wrote its results cache to DynamoDB, as its role allows.
    items = aws_resources.client("dynamodb").scan(TableName=aws_resources.settings.cache_table)
    assert items["Count"] >= 5
