"""Each adapter test runs against the local implementation and the aws one on moto server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from umwi_core.settings import Settings, load_settings


@pytest.fixture(params=["local", "aws"])
def mode_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    if request.param == "local":
        return load_settings(state_dir=tmp_path / "state")
    resources: Any = request.getfixturevalue("aws_resources")
    settings: Settings = resources.settings
    return settings
