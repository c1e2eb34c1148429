"""Data output: a rich table for people, a JSON list of objects for programs."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import typer
from rich.console import Console
from rich.table import Table


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


FORMAT_OPTION = typer.Option(
    OutputFormat.TABLE, "--format", help="table (default) or json (a list of objects)."
)


def jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e5 else f"{value:.0f}"
    return str(jsonable(value))


def emit(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    output: OutputFormat,
    *,
    title: str | None = None,
) -> None:
    if output is OutputFormat.JSON:
        payload = [{name: jsonable(row.get(name)) for name in columns} for row in rows]
        typer.echo(json.dumps(payload, ensure_ascii=False))
        return
    table = Table(title=title, show_lines=False)
    for name in columns:
        table.add_column(name, overflow="fold")
    for row in rows:
        table.add_row(*(_cell(row.get(name)) for name in columns))
    Console().print(table)
    if not rows:
        Console(stderr=True).print("(no rows)")
