"""The three library packages build as wheels and install and import on their own."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIBRARIES = {
    # distribution: (import name, modules it must not pull in)
    "umwi-connectors": (
        "umwi_connectors",
        ("prefect", "great_expectations", "pulumi", "deltalake"),
    ),
    "umwi-transform": ("umwi_transform", ("prefect", "great_expectations", "pulumi")),
    "umwi-quality": ("umwi_quality", ("prefect", "pulumi")),
}


def test_workspace_layout() -> None:
    for folder in ("packages", "stacks", "flows", "api", "web", "tests"):
        assert (ROOT / folder).is_dir(), folder
    for name in ("Pulumi.yaml", "pyproject.toml", "uv.lock"):
        assert (ROOT / name).is_file(), name
    root = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert root["project"]["requires-python"] == ">=3.11"
    for distribution in LIBRARIES:
        package = ROOT / "packages" / distribution
        module = LIBRARIES[distribution][0]
        assert (package / "src" / module / "py.typed").is_file()
        assert (package / "README.md").is_file()


@pytest.mark.slow
def test_wheels_install_and_import_alone(tmp_path: Path) -> None:
    """Offline: the build backend and every dependency come from uv's cache, which
    `uv sync` filled, so the test does not depend on reaching the package index."""
    dist = tmp_path / "dist"
    subprocess.run(
        ["uv", "build", "--offline", "--all-packages", "--wheel", "-o", str(dist), "-q"],
        cwd=ROOT,
        check=True,
    )
    for distribution, (module, forbidden) in LIBRARIES.items():
        venv = tmp_path / f"venv-{distribution}"
        subprocess.run(["uv", "venv", "-q", "-p", sys.executable, str(venv)], check=True)
        python = venv / "bin" / "python"
        wheel = next(dist.glob(f"{distribution.replace('-', '_')}-*.whl"))
        subprocess.run(
            [
                "uv",
                "pip",
                "install",
                "--offline",
                "-q",
                "-p",
                str(python),
                "--find-links",
                str(dist),
                str(wheel),
            ],
            check=True,
            cwd=tmp_path,
        )
        script = tmp_path / f"check_{module}.py"
        script.write_text(
            "import importlib, importlib.util, sys\n"
            f"package = importlib.import_module({module!r})\n"
            "assert package.__all__, 'empty public API'\n"
            f"for name in {list(forbidden)!r}:\n"
            "    assert importlib.util.find_spec(name) is None, f'{name} is installed'\n"
            "print('ok', package.__name__)\n"
        )
        result = subprocess.run(
            [str(python), str(script)], capture_output=True, text=True, cwd=tmp_path
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == f"ok {module}"
