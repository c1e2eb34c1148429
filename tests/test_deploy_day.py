"""docs/aws-mode.md's deploy-day checklist names tests that exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_test_the_checklist_names_exists() -> None:
    """Mutation: rename a test the checklist cites and this fails."""
    text = (ROOT / "docs" / "aws-mode.md").read_text()
    checklist = text.split("## Deploy day checklist", 1)[1].split("\n## ", 1)[0]
    for step in ("Bootstrap", "`pulumi up`", "Secrets", "Flows deploy", "Dashboard deploy",
                 "First run"):  # fmt: skip
        assert f"**{step}**" in checklist, step
    assert "placeholder" not in checklist
    references = re.findall(r"`(tests/[\w/]+\.py)(?:::(\w+))?`", checklist)
    assert len(references) >= 15
    for path, name in references:
        source = ROOT / path
        assert source.is_file(), path
        if name:
            assert re.search(rf"^def {name}\(", source.read_text(), re.MULTILINE), (path, name)
