"""The README's first hour, run as a newcomer types it: in a fresh folder, at 80 columns.

Every `uv run umwi …` line of the README's "The first hour" block runs in order (as
`python -m umwi …`, which is what `uv run umwi` starts), against the local fake Open-Meteo and
Navitia servers instead of the internet. Any traceback, exit code other than 0, cut table or
command the CLI does not know fails the test; so does a command in the README's command table
that does not exist.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest

from tests.conftest import reserved_port
from tests.support.fake_servers import load_navitia_fixture

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
AUCKLAND = ROOT / "tests" / "fixtures" / "gtfs" / "auckland"


def _section(title: str) -> str:
    return README.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def _block(text: str, language: str) -> str:
    return text.split(f"```{language}\n", 1)[1].split("```", 1)[0]


def first_hour_lines() -> list[str]:
    """The shell lines of the README's first hour, comments and blanks dropped."""
    lines = _block(_section("The first hour"), "bash").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def table_commands() -> list[list[str]]:
    """`umwi <command> [<subcommand>]` of every row of the README's command table."""
    rows = re.findall(r"^\| `umwi ([a-z-]+)(?: ([a-z-]+))?", _section("Command line"), re.M)
    return [[command, *([sub] if sub and command == "ingest" else [])] for command, sub in rows]


def _check_output(line: str, done: subprocess.CompletedProcess[str]) -> None:
    """Exit 0, no traceback; tables (no `--format`) within 80 columns. (Whether a cell is
    cut is tested where the data is known, tests/packages/umwi_cli/test_output.py: here a
    check's own text may hold an ellipsis.)"""
    shown = (
        f"{line}\nexit {done.returncode}\n--- stdout\n{done.stdout[-3000:]}"
        f"\n--- stderr\n{done.stderr[-3000:]}"
    )
    assert done.returncode == 0, shown
    assert "Traceback" not in done.stdout + done.stderr, shown
    printed_a_table = "┃" in done.stdout or "── row 1 ──" in done.stdout
    if "--format" not in line and printed_a_table:
        too_wide = [text for text in done.stdout.splitlines() if len(text) > 80]
        assert too_wide == [], shown


def test_every_command_in_the_readme_exists() -> None:
    """Mutation: a README row for `umwi report` (no such command) turns this red."""
    commands = table_commands()
    assert ["ingest", "file"] in commands
    assert len(commands) >= 12
    for command in commands:
        done = subprocess.run(
            [sys.executable, "-m", "umwi", *command, "--help"],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "COLUMNS": "80"},
        )
        assert done.returncode == 0, f"umwi {' '.join(command)}: {done.stderr[-500:]}"


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_server")
def test_the_first_hour_runs_as_the_readme_shows(tmp_path: Path, fake_api: Any) -> None:
    from prefect.settings import PREFECT_API_URL

    lines = first_hour_lines()
    assert lines[0] == "uv run umwi demo --no-serve"
    (tmp_path / "departures.csv").write_text(_block(_section("The first hour"), "csv"))
    shutil.copy(AUCKLAND / "gtfs.zip", tmp_path / "gtfs.zip")
    feeds = sorted((AUCKLAND / "realtime").glob("*.pb"))
    shutil.copy(feeds[0], tmp_path / "trip-updates.pb")
    fake_api.add_navitia(
        "fr-idf", "stop_area:IDFM:71517", load_navitia_fixture("departures_dst.json")
    )

    env = {k: v for k, v in os.environ.items() if not k.startswith(("UMWI_", "PREFECT_"))}
    env |= fake_api.settings_env() | {"COLUMNS": "80", "PREFECT_API_URL": PREFECT_API_URL.value()}
    # Held until `umwi serve` answers: no one else gets the port meanwhile.
    holding = ExitStack()
    port = holding.enter_context(reserved_port())
    server: subprocess.Popen[str] | None = None
    ran: list[str] = []
    try:
        for line in lines:
            if line.startswith("export "):
                name, _, value = line.removeprefix("export ").partition("=")
                env[name] = value
                continue
            if line.startswith("curl "):
                url = shlex.split(line)[-1].replace(":8000/", f":{port}/")
                rows = httpx.get(url, timeout=30).json()
                assert rows, url
                assert {"weather_class", "on_time_rate"} <= set(rows[0]), rows
                ran.append("curl")
                continue
            words = shlex.split(line.removesuffix("&").strip())
            assert words[:3] == ["uv", "run", "umwi"], line
            args = words[3:]
            target = None
            if ">" in args:
                target = tmp_path / args[args.index(">") + 1]
                args = args[: args.index(">")]
            command = [sys.executable, "-m", "umwi", *args]
            if line.endswith("&"):
                command = [part.replace("8000", str(port)) for part in command]
                server = subprocess.Popen(command, cwd=tmp_path, env=env, text=True)
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    try:
                        if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).is_success:
                            break
                    except httpx.HTTPError:
                        time.sleep(0.2)
                else:
                    pytest.fail("umwi serve did not answer within 60 s")
                holding.close()
                ran.append(args[0])
                continue
            done = subprocess.run(
                command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
            )
            _check_output(line, done)
            if target is not None:
                target.write_text(done.stdout)
            ran.append(" ".join(args[:2]))
    finally:
        holding.close()
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
    assert "serve" in ran
    assert "curl" in ran

    # What the exports and queries left behind is what they promised.
    csv_lines = (tmp_path / "correlation.csv").read_text().splitlines()
    assert csv_lines[0].startswith("network,line_id,")
    assert len(csv_lines) > 1
    assert pq.read_table(tmp_path / "hourly.parquet").num_rows > 0
    state = tmp_path / ".umwi" / "lake"
    published = json.loads((state / "gold" / "_published.json").read_text())
    assert published["run_id"]
