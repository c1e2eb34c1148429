"""`umwi backtest`: the outlook's rolling-origin backtest against the naive baseline."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer
from umwi_core.errors import InputError

from umwi.cli._app import app, state
from umwi.cli._output import FORMAT_OPTION, OUTPUT_OPTION, Chunks, OutputFormat, emit


def _day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{option} {value!r}: not a day YYYY-MM-DD") from None


@app.command()
def backtest(
    start: str = typer.Option(..., "--start", help="First UTC day predicted, YYYY-MM-DD."),
    end: str = typer.Option(..., "--end", help="Day after the last predicted, exclusive."),
    output: OutputFormat = FORMAT_OPTION,
    path: Path | None = OUTPUT_OPTION,
) -> None:
    """Predict each day from the days before it only (observed weather as a perfect
    forecast) and show per line the mean absolute error of the expected hourly mean delay,
    the model's and the naive weekday-hour mean's (DESIGN.md §8)."""
    from umwi_transform import backtest as run_backtest
    from umwi_transform._backtest import BACKTEST_SCHEMA

    result = run_backtest(
        state.resources.lake, state.settings, _day(start, "--start"), _day(end, "--end")
    )
    chunks = Chunks(BACKTEST_SCHEMA.names, rows=[result.to_pylist()], arrow_schema=BACKTEST_SCHEMA)
    emit(chunks, output, path=path, title=f"backtest {start} to {end} ({result.num_rows} lines)")
