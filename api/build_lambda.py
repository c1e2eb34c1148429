"""Build the API's AWS Lambda bundle (a zip for the python3.12 x86_64 runtime).

    uv run python api/build_lambda.py [--out api/dist/lambda.zip] [--python-version 3.12]

The pinned dependencies of `umwi-api` come from the workspace lock (`uv export`, with
hashes), installed with `--require-hashes` from x86_64 manylinux wheels only (no source
builds, so the bundle matches Lambda whatever machine builds it), beside wheels of
umwi-core and umwi-api built from this checkout. boto3 and its dependencies
ship with the Lambda runtime and uvicorn is for local serving only: they are left out.

Why python3.12: DuckDB 1.5.5 publishes only manylinux_2_28 wheels (glibc ≥ 2.28). Lambda's
python3.11 runtime runs on Amazon Linux 2 (glibc 2.26) and cannot load them; python3.12 and
later run on Amazon Linux 2023 (glibc 2.34). The code itself supports 3.11 and later.

Lambda cannot write `__pycache__` into the code folder, so the bundle ships bytecode
compiled by a CPython of the target version (found with `uv python find`, pyenv, or
`--target-python`), hash-based (`unchecked-hash`) so it stays valid whatever mtimes the
zip and Lambda's unzip give the files; without such a CPython the bundle still works but
imports from source (about three times slower to start) and the script says so.

The script prints the unzipped size (goal ≤ 100 MB) and the cold import time of the handler
module (goal ≤ 250 ms): the median of fresh target interpreters that see only the bundle
(`--no-measure` skips it; bench/lambda_cold_start.py measures the unzipped zip).
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
SIZE_GOAL_MB = 100.0
IMPORT_GOAL_MS = 250.0

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
    """`name==version --hash=…` lines from `uv export`, without the excluded packages."""
    return [
        line
        for line in filter_requirements_all(exported)
        if _canonical(re.split(r"[=<>!~\[ ]", line, maxsplit=1)[0]) not in EXCLUDED
    ]


def filter_requirements_all(exported: str) -> list[str]:
    """Every `name==version --hash=…` line of a `uv export`, markers dropped.

    `uv export` writes each requirement over several lines (its hashes continued with
    `\\`); each is joined back into one line, so `--require-hashes` sees every hash.
    """
    joined = re.sub(r"\\\n\s*", " ", exported)
    kept = []
    for line in joined.splitlines():
        text = line.split("#", 1)[0].strip() if not line.lstrip().startswith("--hash") else ""
        if not text or text.startswith("-"):
            continue
        requirement, *hashes = text.split(" --hash=")
        requirement = requirement.split(";", 1)[0].strip()
        kept.append(" ".join([requirement, *(f"--hash={h.strip()}" for h in hashes)]))
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
    """Install the locked requirements (every wheel checked against the lock's hashes) and
    the two umwi wheels into `target`, then compile the bundle's bytecode."""
    wheels = work / "wheels"
    exported = _run(
        [
            "uv",
            "export",
            "--package",
            "umwi-api",
            "--no-dev",
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
    common = [
        "--target",
        str(target),
        "--python-platform",
        PLATFORM,
        "--python-version",
        python_version,
        "--only-binary",
        ":all:",
        "--no-deps",
    ]
    # A downloaded wheel whose hash is not in uv.lock stops the build.
    _run(["uv", "pip", "install", *common, "--require-hashes", "-r", str(requirements)])
    # umwi's own wheels are built from this checkout just now: nothing to check them against.
    _run(["uv", "pip", "install", *common, *(str(w) for w in sorted(wheels.glob("*.whl")))])
    for leftover in target.glob("bin"):
        shutil.rmtree(leftover)
    if interpreter is not None:
        compile_bytecode(target, interpreter)


def compile_bytecode(target: Path, interpreter: Path) -> None:
    """Hash-based `.pyc` files that Python never revalidates against the source.

    Timestamp-based ones record each source's mtime; the zip then normalizes every mtime
    (reproducible builds) and Lambda unzips with yet others, so every timestamp pyc would
    be stale and the whole bundle recompiled on each cold start. Lambda's code folder is
    read-only and the bundle is immutable: unchecked-hash is exact.
    """
    for stale in target.rglob("__pycache__"):
        shutil.rmtree(stale)
    done = subprocess.run(
        [
            str(interpreter),
            "-m",
            "compileall",
            "-q",
            "-j",
            "0",
            "--invalidation-mode",
            "unchecked-hash",
            str(target),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise BuildError(f"compileall failed: {(done.stdout + done.stderr).strip()[-2000:]}")


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
    parser.add_argument(
        "--no-measure", action="store_true", help="Skip the cold import measurement."
    )
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
            elif args.no_measure:
                print(f"bytecode:        compiled by {interpreter} (unchecked-hash)")
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
