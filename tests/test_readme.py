"""The README stays true: every setting is documented and the quick start is two commands."""

from __future__ import annotations

import re
from pathlib import Path

from umwi_core.settings import Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_every_setting_is_in_the_configuration_table() -> None:
    documented = set(re.findall(r"`(UMWI_[A-Z0-9_]+)`", README))
    expected = {f"UMWI_{name.upper()}" for name in Settings.model_fields}
    assert expected - documented == set(), "settings missing from README"
    assert documented - expected == set(), "README documents settings that do not exist"


def test_quick_start_is_exactly_two_commands() -> None:
    quick_start = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = quick_start.split("```bash", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["uv run umwi demo", "uv run pytest"]
