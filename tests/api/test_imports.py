"""What the API imports: no deltalake or pyarrow (no room on Lambda), no GE/Prefect/Pulumi.

Checked in a fresh interpreter running a script file: after importing the app and the Lambda
handler, nothing forbidden is loaded; then, with the modules the Lambda bundle leaves out
made unimportable (DuckDB would otherwise import pandas and pyarrow lazily when they happen
to be installed, as in this venv), real requests still succeed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

from umwi_core.publication import Publication
from umwi_core.settings import Settings

FORBIDDEN = (
    "pyarrow",
    "deltalake",
    "great_expectations",
    "prefect",
    "pulumi",
    "pulumi_aws",
    "fastapi_offline",  # the local /docs assets: not in the Lambda bundle
)

SCRIPT = """
import json, sys

import umwi_api
from umwi_api import create_app
import umwi_api.lambda_handler as lambda_handler

after_import = sorted({name.split(".")[0] for name in sys.modules})

LEFT_OUT = ("pandas", "pyarrow", "pytz", "numpy", "deltalake", "fastapi_offline")

class Absent:
    # Not in the Lambda bundle: importing them must not be needed to serve.
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in LEFT_OUT:
            raise ImportError(name + " is not in the Lambda bundle")
        return None

sys.meta_path.insert(0, Absent())

event = {
    "version": "2.0", "routeKey": "$default", "rawPath": "/kpi/hourly",
    "rawQueryString": "limit=50", "headers": {"host": "x.example"},
    "requestContext": {"http": {"method": "GET", "path": "/kpi/hourly", "protocol": "HTTP/1.1",
        "sourceIp": "192.0.2.1", "userAgent": "t"}, "requestId": "r", "routeKey": "$default",
        "stage": "$default", "timeEpoch": 0},
    "isBase64Encoded": False,
}
statuses = [lambda_handler.handler(event, None)["statusCode"]]
for path in ("/kpi/weather-impact", "/correlation", "/freshness", "/lines"):
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["rawQueryString"] = ""
    statuses.append(lambda_handler.handler(event, None)["statusCode"])
loaded = sorted({name.split(".")[0] for name in sys.modules})
print(json.dumps({"statuses": statuses, "modules": loaded, "after_import": after_import}))
"""


def test_api_imports_stay_lean(settings: Settings, gold: Publication, tmp_path: Path) -> None:
    script = tmp_path / "import_probe.py"
    script.write_text(SCRIPT)
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={"UMWI_STATE_DIR": str(settings.state_dir), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["statuses"] == [200, 200, 200, 200, 200]
    imported = set(result["after_import"])
    assert "fastapi" in imported  # `create_app` was imported
    assert imported.isdisjoint(FORBIDDEN), sorted(imported & set(FORBIDDEN))
    loaded = set(result["modules"])
    assert {"duckdb", "mangum"} <= loaded
    assert loaded.isdisjoint(FORBIDDEN), sorted(loaded & set(FORBIDDEN))


#: What importing the Lambda handler must not load on demand: FastAPI and Mangum (the app is
#: built by the first invocation), DuckDB (opened by the first query), the flows' pydantic
#: models in umwi_core.
DEFERRED = ("fastapi", "mangum", "duckdb", "umwi_api._app", "umwi_core.alerts", "umwi_core.runs")

#: Not even the built app needs these before its first query: DuckDB, the flows' models.
NOT_FOR_THE_APP = ("duckdb", "umwi_core.alerts", "umwi_core.runs", "umwi_core.deployment")

LAMBDA_PROBE = """
import json, sys
import umwi_api.lambda_handler as module
built = module._built
modules = sorted(sys.modules)
module.app  # the app a first request builds
print(json.dumps({
    "modules": modules,
    "app_modules": sorted(sys.modules),
    "built": built is not None,
    "store_open": built is not None and built[0].state.reader.store._opened is not None,
}))
"""


class Imported(NamedTuple):
    modules: set[str]
    app_modules: set[str]
    built: bool
    store_open: bool


def _import_handler(settings: Settings, tmp_path: Path, **env: str) -> Imported:
    done = subprocess.run(
        [sys.executable, "-c", LAMBDA_PROBE],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={"UMWI_STATE_DIR": str(settings.state_dir), "PATH": "/usr/bin:/bin", **env},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return Imported(
        set(result["modules"]), set(result["app_modules"]), result["built"], result["store_open"]
    )


def test_lambda_handler_import_defers_the_app_and_duckdb(
    settings: Settings, tmp_path: Path
) -> None:
    """The cold import stays cheap (api/README.md, "Lambda bundle"), and building the app
    still loads no DuckDB (a cold `/health` needs none) nor the flows' models. Mutation:
    import `create_app` at the top of lambda_handler.py, or `duckdb` at the top of
    _store.py, or `SnsAlertSink` at the top of umwi_core/resources.py → red."""
    result = _import_handler(settings, tmp_path, AWS_LAMBDA_INITIALIZATION_TYPE="on-demand")
    assert sorted(name for name in DEFERRED if name in result.modules) == []
    assert result.built is False
    assert "fastapi" in result.app_modules
    assert sorted(name for name in NOT_FOR_THE_APP if name in result.app_modules) == []


def test_lambda_handler_builds_everything_at_init_ahead_of_requests(
    settings: Settings, tmp_path: Path
) -> None:
    """With provisioned concurrency the init runs before any request waits: the app and the
    DuckDB connection are ready when it ends. Mutation: drop the `warm()` call at the end of
    lambda_handler.py → red."""
    result = _import_handler(
        settings, tmp_path, AWS_LAMBDA_INITIALIZATION_TYPE="provisioned-concurrency"
    )
    assert result.built is True
    assert result.store_open is True
    assert {"fastapi", "mangum", "duckdb"} <= result.modules
