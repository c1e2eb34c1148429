"""`umwi demo --no-serve` as a user runs it: a subprocess on a fresh state folder."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest


@pytest.mark.slow
def test_demo_runs_the_whole_pipeline_on_a_fresh_lake(tmp_path: Path) -> None:
    umwi = shutil.which("umwi")
    assert umwi is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UMWI_", "PREFECT_"))}
    env |= {"UMWI_STATE_DIR": str(tmp_path / "state"), "COLUMNS": "80"}
    done = subprocess.run(
        [umwi, "demo", "--no-serve", "--days", "7"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "quality gate: passed; published: pub-" in out
    # A default terminal: every table whole (or as records), nothing cut.
    assert "…" not in out
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "weather impact on umwi-sample, all lines, whole period" in out
    for weather_class in ("dry", "wet"):
        assert re.search(rf"│ {weather_class}\s+│\s+\d+ │", out), weather_class
    total = re.search(r"│ total\s+│\s+([\d.]+) │", out)
    assert total is not None
    assert float(total.group(1)) > 0
    # Prefect's home is inside the state folder, and the run left its manifests there.
    state = tmp_path / "state"
    assert (state / "prefect").is_dir()
    published = json.loads((state / "lake" / "gold" / "_published.json").read_text())
    assert set(published["tables"]) == {
        "punctuality_hourly",
        "mobility_weather_hourly",
        "weather_impact",
        "correlation",
        "line_sensitivity",
        "outlook_baseline",
        "outlook_class_effect",
        "outlook_hourly",
    }
    # The sample city's forecast for the 48 h after its week (issue 20).
    assert "next 48 h, forecast issued 2026-01-12 00:00Z" in out
    assert published["tables"]["outlook_hourly"]["rows"] > 0
    kinds = {
        json.loads(path.read_text())["kind"] for path in (state / "lake" / "runs").glob("*.json")
    }
    assert {"ingest", "flow:ingest", "build", "pipeline"} <= kinds
