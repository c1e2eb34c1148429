"""The Lambda bundle script (api/build_lambda.py, not a package) and its bundle as Lambda
unpacks it; shared by the bundle tests and bench/lambda_cold_start.py."""

from __future__ import annotations

import importlib.util
import os
import zipfile
from pathlib import Path
from types import ModuleType

SCRIPT = Path(__file__).resolve().parents[2] / "api" / "build_lambda.py"


def load_build_lambda() -> ModuleType:
    """api/build_lambda.py as a module (it lives beside the package, not in it)."""
    spec = importlib.util.spec_from_file_location("build_lambda", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def unzip_as_lambda(bundle: Path, target: Path) -> None:
    """`bundle` unzipped as Lambda does into /var/task: every file gets one fixed mtime
    (the zip's normalized timestamps), none of them the build's."""
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(target)
    moment = 1_700_000_000
    for path in target.rglob("*"):
        os.utime(path, (moment, moment))
