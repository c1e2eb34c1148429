"""`umwi serve`: a real uvicorn process serving the API and the dashboard on one origin."""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from umwi_core.lake import Lake
from umwi_core.settings import Settings

from tests.api.gold_sample import write_sample_gold
from tests.conftest import reserved_port
from tests.support.processes import wait_until_healthy

pytestmark = pytest.mark.slow


def _environment(settings: Settings) -> dict[str, str]:
    keep = {"PATH", "HOME", "LANG", "TMPDIR"}
    env = {name: value for name, value in os.environ.items() if name in keep}
    env["UMWI_STATE_DIR"] = str(settings.state_dir)
    return env


def test_serve_answers_api_and_dashboard(settings: Settings, lake: Lake, tmp_path: Path) -> None:
    publication = write_sample_gold(lake)
    # Held until the server answers: no one else gets the port meanwhile.
    holding = ExitStack()
    port = holding.enter_context(reserved_port())
    process = subprocess.Popen(
        [sys.executable, "-m", "umwi", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=_environment(settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base + "/health", process, 30)
        holding.close()
        page = httpx.get(base + "/")
        assert page.status_code == 200
        assert 'src="vendor/chart.umd.min.js"' in page.text
        assert httpx.get(base + "/vendor/chart.umd.min.js").status_code == 200
        kpi = httpx.get(base + "/kpi/weather-impact", params={"line_id": "*", "period": "all"})
        assert kpi.status_code == 200
        assert kpi.headers["etag"] == f'"{publication.publication_id}"'
        assert httpx.get(base + "/openapi.json").json()["info"]["title"] == "umwi KPI API"
    finally:
        holding.close()
        process.terminate()
        _, err = process.communicate(timeout=15)
    assert f"http://127.0.0.1:{port}/" in err


def test_serve_refuses_a_bad_port(settings: Settings, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "umwi", "serve", "--port", "70000"],
        cwd=tmp_path,
        env=_environment(settings),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "--port" in done.stderr
