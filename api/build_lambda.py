"""Build the API's AWS Lambda bundle (a zip for the python3.12 x86_64 runtime).

    uv run python api/build_lambda.py [--out api/dist/lambda.zip] [--python-version 3.12]

The pinned dependencies of `umwi-api` come from the workspace lock (`uv export`), installed
from x86_64 manylinux wheels only (no source builds, so the bundle matches Lambda whatever
machine builds it), beside wheels of umwi-core and umwi-api. boto3 and its dependencies
ship with the Lambda runtime and uvicorn is for local serving only: they are left out.

Why python3.12: DuckDB 1.5.5 publishes only manylinux_2_28 wheels (glibc ≥ 2.28). Lambda's
python3.11 runtime runs on Amazon Linux 2 (glibc 2.26) and cannot load them; python3.12 and
later run on Amazon Linux 2023 (glibc 2.34). The code itself supports 3.11 and later.

Lambda cannot write `__pycache__` into the code folder, so the bundle ships bytecode
compiled by a CPython of the target version (found with `uv python find`, pyenv, or
`--target-python`); without one the bundle still works but imports from source (about
three times slower to start) and the script says so.

The script prints the unzipped size (goal ≤ 120 MB) and the cold import time of the handler
module (goal ≤ 400 ms): the median of fresh target interpreters that see only the bundle.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HANDLER = "umwi_api.lambda_handler.handler"
PYTHON_VERSION = "3.12"
PLATFORM = "x86_64-manylinux_2_28"
SIZE_GOAL_MB = 120.0
IMPORT_GOAL_MS = 400.0

#: In the Lambda runtime already (boto3 and what it needs), or only for local serving.
EXCLUDED = frozenset(
    {
        "boto3",
        "botocore",
        "s3transfer",
        "jmespath",
        "python-dateutil",
        "six",
        "urllib3",
        "uvicorn",
        "fastapi-offline",
        "click",
        "h11",
    }
)

PROBE = """
import os, sys, time
started = time.perf_counter()
import umwi_api.lambda_handler  # noqa: F401
elapsed = time.perf_counter() - started
print(f"{elapsed * 1000:.1f}")
"""


class BuildError(Exception):
    pass


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def filter_requirements(exported: str) -> list[str]:
    """Pinned `name==version` lines from `uv export`, without the excluded packages."""
    kept = []
    for line in exported.splitlines():
        text = line.split("#", 1)[0].strip()
        if not text or text.startswith("-"):
            continue
        requirement = text.split(";", 1)[0].strip()
        name = re.split(r"[=<>!~\[ ]", requirement, maxsplit=1)[0]
        if _canonical(name) not in EXCLUDED:
            kept.append(requirement)
    return kept


def directory_size(path: Path) -> int:
    return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())


def write_zip(source: Path, target: Path) -> None:
    """A reproducible zip: sorted entries, fixed timestamps, atomic replace."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for item in sorted(source.rglob("*")):
            if not item.is_file():
                continue
            info = zipfile.ZipInfo(str(item.relative_to(source)), date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = (0o755 if os.access(item, os.X_OK) else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, item.read_bytes())
    partial.replace(target)


def _run(command: list[str]) -> str:
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BuildError(f"{' '.join(command[:3])} failed: {done.stderr.strip()[-2000:]}")
    return done.stdout


def find_python(version: str) -> Path | None:
    """A CPython `version` interpreter on this machine (never downloaded), or None."""
    candidates: list[Path] = []
    found = subprocess.run(
        ["uv", "python", "find", version],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"},
    )
    if found.returncode == 0 and found.stdout.strip():
        candidates.append(Path(found.stdout.strip()))
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates.extend(sorted(pyenv.glob(f"{version}.*/bin/python{version}"), reverse=True))
    on_path = shutil.which(f"python{version}")
    if on_path:
        candidates.append(Path(on_path))
    for candidate in candidates:
        probe = subprocess.run(
            [str(candidate), "-S", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return candidate
    return None


def install(work: Path, python_version: str, target: Path, interpreter: Path | None) -> None:
    """Install the filtered, pinned requirements and the two umwi wheels into `target`."""
    wheels = work / "wheels"
    exported = _run(
        [
            "uv",
            "export",
            "--package",
            "umwi-api",
            "--no-dev",
            "--no-hashes",
            "--no-emit-workspace",
            "--format",
            "requirements-txt",
        ]
    )
    requirements = work / "requirements.txt"
    requirements.write_text("\n".join(filter_requirements(exported)) + "\n")
    if not wheels.is_dir():
        for package in ("umwi-core", "umwi-api"):
            _run(["uv", "build", "--wheel", "--package", package, "--out-dir", str(wheels)])
    # Lambda cannot write __pycache__ at run time, so precompiled bytecode saves cold-start
    # work; only an interpreter of the target version can compile it.
    compile_flag = ["--compile-bytecode", "--python", str(interpreter)] if interpreter else []
    _run(
        [
            "uv",
            "pip",
            "install",
            "--target",
            str(target),
            "--python-platform",
            PLATFORM,
            "--python-version",
            python_version,
            "--only-binary",
            ":all:",
            "--no-deps",
            *compile_flag,
            "-r",
            str(requirements),
            *(str(wheel) for wheel in sorted(wheels.glob("*.whl"))),
        ]
    )
    for leftover in target.glob("bin"):
        shutil.rmtree(leftover)


def cold_import_ms(package: Path, interpreter: Path, runs: int = 5) -> float:
    """Median import time of the handler module, each in a fresh interpreter."""
    probe = package.parent / "probe.py"
    probe.write_text(PROBE)
    state = package.parent / "probe-state"
    env = {
        "PYTHONPATH": str(package),
        "UMWI_STATE_DIR": str(state),
        "PATH": "/usr/bin:/bin",
        # As on Lambda's read-only code folder: no bytecode written between runs.
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    times = []
    for _ in range(runs):
        done = subprocess.run(
            [str(interpreter), "-S", str(probe)],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise BuildError(f"the handler does not import from the bundle: {done.stderr[-1500:]}")
        times.append(float(done.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "api" / "dist" / "lambda.zip")
    parser.add_argument(
        "--python-version", default=PYTHON_VERSION, help="Lambda runtime's Python (3.12)."
    )
    parser.add_argument(
        "--target-python", type=Path, help="A CPython of that version, to compile and measure."
    )
    parser.add_argument("--keep", type=Path, help="Also keep the unzipped bundle here.")
    args = parser.parse_args(argv)
    interpreter = args.target_python or find_python(args.python_version)
    with tempfile.TemporaryDirectory(prefix="umwi-lambda-") as scratch:
        work = Path(scratch)
        try:
            package = work / "package"
            install(work, args.python_version, package, interpreter)
            write_zip(package, args.out)
            unzipped_mb = directory_size(package) / 1e6
            print(f"bundle:          {args.out} ({args.out.stat().st_size / 1e6:.1f} MB zipped)")
            print(f"handler:         {HANDLER}")
            print(f"runtime:         python{args.python_version}, x86_64 ({PLATFORM} wheels)")
            print(f"unzipped size:   {unzipped_mb:.1f} MB (goal ≤ {SIZE_GOAL_MB:.0f} MB)")
            if interpreter is None:
                print(
                    f"bytecode:        none: no CPython {args.python_version} found "
                    "(pass --target-python); the handler will import from source"
                )
                print("cold import:     not measured")
            elif platform.machine() not in ("x86_64", "AMD64"):
                print("cold import:     not measured (this machine is not x86_64)")
            else:
                import_ms = cold_import_ms(package, interpreter)
                print(f"bytecode:        compiled by {interpreter}")
                print(f"cold import:     {import_ms:.0f} ms (goal ≤ {IMPORT_GOAL_MS:.0f} ms)")
            if args.keep:
                shutil.rmtree(args.keep, ignore_errors=True)
                shutil.copytree(package, args.keep)
        except BuildError as error:
            print(f"build_lambda: {error}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
