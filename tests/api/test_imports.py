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
    assert {"duckdb", "fastapi", "mangum"} <= imported
    assert imported.isdisjoint(FORBIDDEN), sorted(imported & set(FORBIDDEN))
    loaded = set(result["modules"])
    assert loaded.isdisjoint(FORBIDDEN), sorted(loaded & set(FORBIDDEN))
