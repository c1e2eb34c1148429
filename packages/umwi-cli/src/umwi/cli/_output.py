"""Data output: a table for people, JSON or CSV for programs, Parquet for analysts.

Rows arrive in chunks (a KPI page, an Arrow batch of a query) and JSON, CSV and Parquet are
written chunk by chunk, so an export of any size runs in constant memory. A table is built
whole: it is for reading, and it falls back to one record per block when its columns do
not fit the terminal, so no header or number is ever cut.
"""

from __future__ import annotations

import csv
import json
import math
import os
import sys
import tempfile
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

import typer
from rich.console import Console, Group
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text
from umwi_core.errors import InputError


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    PARQUET = "parquet"


FORMAT_OPTION = typer.Option(
    OutputFormat.TABLE,
    "--format",
    help="table (default), json (a list of objects), csv, or parquet (needs --output).",
)
OUTPUT_OPTION = typer.Option(
    None,
    "--output",
    "-o",
    help="Write to this file instead of standard output (required for parquet).",
    dir_okay=False,
)

#: Rows per chunk when a query's result is streamed.
CHUNK_ROWS = 10_000


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


def printable(text: str) -> str:
    """`text` with control characters shown as escapes: lake strings must not move the
    cursor, recolour the terminal or inject links."""
    if text.isprintable():
        return text
    return "".join(
        char
        if not unicodedata.category(char).startswith("C")
        else char.encode("unicode_escape").decode("ascii")
        for char in text
    )


def cell(value: Any) -> Text:
    """A table cell as plain text: never read as Rich markup."""
    if value is None:
        return Text("–", style="dim")
    if isinstance(value, bool):
        return Text(str(value).lower())
    if isinstance(value, float):
        if not math.isfinite(value):
            return Text("–", style="dim")
        return Text(f"{value:.4g}" if abs(value) < 1e5 else f"{value:.0f}")
    return Text(printable(str(jsonable(value))))


def fits(console: Console, table: Table) -> bool:
    """Whether `table` shows every cell whole within the console's width."""
    # The maximum, not the minimum: the minimum assumes cells wrap at spaces, and
    # `show_table` forbids wrapping, so a cell of several words would be cut instead.
    needed = Measurement.get(console, console.options.update_width(1 << 16), table)
    return needed.maximum <= console.width


def records_view(table: Table) -> Group:
    """The same cells as `table`, one block of `column  value` lines per row."""
    headers = [printable(str(column.header)) for column in table.columns]
    cells = [list(column.cells) for column in table.columns]
    width = max((len(header) for header in headers), default=0)
    blocks: list[Text] = []
    if table.title:
        blocks.append(Text(printable(str(table.title)), style="bold"))
    for index in range(table.row_count):
        block = Text(f"── row {index + 1} ──", style="dim")
        for header, column in zip(headers, cells, strict=True):
            value = column[index]
            shown = value if isinstance(value, Text) else Text(printable(str(value)))
            block.append("\n" + header.ljust(width) + "  ", style="bold")
            block.append_text(shown)
        blocks.append(block)
    if table.caption:
        blocks.append(Text(printable(str(table.caption))))
    return Group(*blocks)


def show_table(table: Table, console: Console | None = None) -> None:
    """Print `table` whole, or as records when it is wider than the terminal."""
    console = console or Console()
    for column in table.columns:
        column.no_wrap = True
    console.print(table if fits(console, table) else records_view(table))


def data_table(
    rows: Sequence[dict[str, Any]], columns: Sequence[str], title: str | None = None
) -> Table:
    table = Table(title=None if title is None else Text(printable(title)), show_lines=False)
    for name in columns:
        table.add_column(Text(printable(name)))
    for row in rows:
        table.add_row(*(cell(row.get(name)) for name in columns))
    return table


@dataclass(frozen=True)
class Chunks:
    """A result as it streams: column names, then lists of rows (dicts by column)."""

    columns: Sequence[str]
    rows: Iterable[list[dict[str, Any]]]
    #: For Parquet: the chunks as Arrow record batches (a query's own types), or None to
    #: build them from the rows with `arrow_schema`.
    batches: Iterable[Any] | None = None
    arrow_schema: Any = None


@contextmanager
def _target(path: Path | None, binary: bool) -> Iterator[IO[Any]]:
    """Standard output, or a file replaced atomically once the export is complete."""
    if path is None:
        yield sys.stdout.buffer if binary else sys.stdout
        return
    path = path.expanduser()
    if not path.parent.is_dir():
        raise InputError(f"--output: folder {path.parent} does not exist")
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        mode = "wb" if binary else "w"
        with os.fdopen(descriptor, mode, newline=None if binary else "") as handle:
            yield handle
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _write_json(chunks: Chunks, handle: IO[str]) -> int:
    count = 0
    handle.write("[")
    for rows in chunks.rows:
        for row in rows:
            handle.write("," if count else "")
            record = {name: jsonable(row.get(name)) for name in chunks.columns}
            handle.write(json.dumps(record, ensure_ascii=False))
            count += 1
    handle.write("]\n")
    return count


def _write_csv(chunks: Chunks, handle: IO[str]) -> int:
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(chunks.columns)
    count = 0
    for rows in chunks.rows:
        for row in rows:
            writer.writerow(
                "" if (value := jsonable(row.get(name))) is None else value
                for name in chunks.columns
            )
            count += 1
    return count


def _write_parquet(chunks: Chunks, handle: IO[bytes]) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    batches: Iterable[Any]
    if chunks.batches is not None:
        batches = chunks.batches
    else:
        schema = chunks.arrow_schema
        batches = (
            pa.RecordBatch.from_pylist(_typed(rows, schema), schema=schema) for rows in chunks.rows
        )
    writer: Any = None
    count = 0
    try:
        for batch in batches:
            if writer is None:
                writer = pq.ParquetWriter(handle, batch.schema)
            writer.write_batch(batch)
            count += batch.num_rows
        if writer is None:
            empty = pa.schema([(name, pa.null()) for name in chunks.columns])
            writer = pq.ParquetWriter(handle, chunks.arrow_schema or empty)
    finally:
        if writer is not None:
            writer.close()
    return count


def _typed(rows: list[dict[str, Any]], schema: Any) -> list[dict[str, Any]]:
    """JSON rows (times as ISO text) with their times as datetimes, for an Arrow schema."""
    import pyarrow as pa

    times = [field.name for field in schema if pa.types.is_timestamp(field.type)]
    if not times:
        return rows
    typed = []
    for row in rows:
        copy = dict(row)
        for name in times:
            value = copy.get(name)
            if isinstance(value, str):
                copy[name] = datetime.fromisoformat(value)
        typed.append(copy)
    return typed


def emit(
    chunks: Chunks,
    output: OutputFormat,
    *,
    path: Path | None = None,
    title: str | None = None,
) -> int:
    """Write the result in `output` format; returns the number of rows written."""
    if output is OutputFormat.PARQUET:
        if path is None:
            raise InputError("--format parquet: give the file with --output PATH")
        with _target(path, binary=True) as handle:
            return _write_parquet(chunks, handle)
    if output is OutputFormat.JSON:
        with _target(path, binary=False) as handle:
            return _write_json(chunks, handle)
    if output is OutputFormat.CSV:
        with _target(path, binary=False) as handle:
            return _write_csv(chunks, handle)
    if path is not None:
        raise InputError("--output: a table is for the terminal; use --format csv, json or parquet")
    rows = [row for part in chunks.rows for row in part]
    show_table(data_table(rows, chunks.columns, title))
    if not rows:
        Console(stderr=True).print("(no rows)")
    return len(rows)
