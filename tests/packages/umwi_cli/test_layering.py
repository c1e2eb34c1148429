"""The CLI reads the flows through their public API; the flows know nothing of terminals."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _imports(folder: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in sorted(folder.rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
                names |= {f"{node.module}.{alias.name}" for alias in node.names}
        found[str(path.relative_to(ROOT))] = names
    return found


def test_the_cli_imports_no_private_module_of_umwi_flows() -> None:
    """Mutation: `from umwi_flows._runner import …` in a command module → listed here."""
    private = {
        path: sorted(n for n in names if n.startswith("umwi_flows._"))
        for path, names in _imports(ROOT / "packages" / "umwi-cli" / "src").items()
    }
    assert {path: names for path, names in private.items() if names} == {}


def test_umwi_flows_imports_no_presentation_or_cli() -> None:
    """Mutation: a Rich progress bar back in umwi_flows → listed here."""
    banned = ("rich", "typer", "umwi.cli", "umwi_api", "uvicorn")
    found = {
        path: sorted(n for n in names if n.split(".")[0] in banned or n.startswith("umwi.cli"))
        for path, names in _imports(ROOT / "flows" / "src" / "umwi_flows").items()
    }
    assert {path: names for path, names in found.items() if names} == {}
