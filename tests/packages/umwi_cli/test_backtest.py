"""`umwi backtest`: the library's backtest as a table or JSON, one-line errors."""

from __future__ import annotations

import json

import pytest
from umwi_core.lake import Lake
from umwi_core.settings import Settings
from umwi_transform import build_gold, publish_gold

from tests.packages.umwi_cli.in_process import run_cli, use_settings
from tests.packages.umwi_transform.factory import at, build, departure, weather

WEEK = 24 * 7


@pytest.fixture(autouse=True)
def _settings_from_this_test(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    use_settings(settings, monkeypatch)


def test_backtest_prints_each_lines_errors(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    lake: Lake,
    settings: Settings,
) -> None:
    """The hand-computed case of tests/packages/umwi_transform/test_backtest.py.

    Mutation: pass `_day(start, "--start")` as the end too in `umwi.cli.backtest` → the
    range is refused as empty: red."""
    delays = [60, 120, 300, 280]
    rows = [
        departure(trip=f"t{w}", scheduled=at(hours=WEEK * w), delay=d) for w, d in enumerate(delays)
    ]
    hours = [
        weather(hour=at(hours=WEEK * w), precipitation=1.0 if w >= 2 else 0.0) for w in range(4)
    ]
    build(lake, settings, rows, hours)
    publish_gold(lake, build_gold(lake, settings, "b"), run_id="b", gate={}, quality_report=None)
    args = ["backtest", "--start", "2026-03-16", "--end", "2026-03-24", "--format", "json"]
    assert run_cli(monkeypatch, *args) == 0
    printed = json.loads(capsys.readouterr().out)
    assert [(r["line_id"], r["hours"], r["model_mae_s"], r["naive_mae_s"]) for r in printed] == [
        ("*", 1, 20.0, 120.0),
        ("L1", 1, 20.0, 120.0),
    ]


def test_a_bad_day_fails_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Mutation: parse the days with `date.fromisoformat` unguarded → a traceback: red."""
    assert run_cli(monkeypatch, "backtest", "--start", "16/03/2026", "--end", "2026-03-24") == 1
    assert capsys.readouterr().err.strip() == "umwi: --start '16/03/2026': not a day YYYY-MM-DD"
