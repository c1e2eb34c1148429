"""Pulumi.yaml and the per-environment stack configs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parents[2]


def test_project_runs_the_stacks_folder_with_uv() -> None:
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["name"] == "umwi"
    assert project["runtime"] == {"name": "python", "options": {"toolchain": "uv"}}
    assert project["main"] == "stacks/"
    entry = (ROOT / "stacks" / "__main__.py").read_text()
    assert "from umwi_stacks import main" in entry
    assert project["config"]["apiBundle"]["default"] == "api/dist/lambda.zip"


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_stack_config_names_its_environment_and_owner(env: str) -> None:
    config = yaml.safe_load((ROOT / f"Pulumi.{env}.yaml").read_text())["config"]
    assert config["umwi:environment"] == env
    assert config["umwi:owner"]
    assert config["aws:region"]
    assert config["umwi:retainData"] == ("true" if env == "prod" else "false")
    # Nothing secret is committed in plain text.
    for key in ("umwi:navitiaToken", "umwi:prefectApiKey", "umwi:openmeteoApiKey"):
        assert key not in config or isinstance(config[key], dict)
