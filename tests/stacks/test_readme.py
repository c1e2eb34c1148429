"""stacks/README.md documents every stack output and every configuration key."""

from __future__ import annotations

import re
from pathlib import Path

from umwi_core.deployment import SECRETS

from tests.stacks.stack import OUTPUTS

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "stacks" / "README.md").read_text()
CONFIG_SOURCE = (ROOT / "stacks" / "src" / "umwi_stacks" / "_config.py").read_text()


def test_every_output_is_documented() -> None:
    for output in OUTPUTS:
        assert f"`{output}`" in README, output


def test_every_config_key_is_documented() -> None:
    keys = set(re.findall(r'config(?:\.get|\.get_secret)?\("(\w+)"', CONFIG_SOURCE))
    keys |= set(
        re.findall(r'_(?:int|optional_int|float|bool|strings)\(config, "(\w+)"', CONFIG_SOURCE)
    )
    # The secret settings are the shared contract's (umwi_core.deployment.SECRETS).
    assert "for key in (secret.key for secret in SECRETS)" in CONFIG_SOURCE
    keys |= {secret.key for secret in SECRETS}
    assert len(keys) >= 25, sorted(keys)
    for key in keys:
        assert f"`umwi:{key}`" in README, key
