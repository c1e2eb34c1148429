"""`umwi ingest file`: departures or weather from CSV or Parquet with canonical column names.

A file lacking a required column (or carrying a column the contract does not know) is
refused as a whole before anything is written. Otherwise the file lands in bronze as is,
then is read in chunks (pyarrow CSV streaming / Parquet row groups), so memory stays
bounded by the chunk, not the file; a value that cannot be used becomes a `_reason`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from umwi_core import InputError, Lake
from umwi_core.arrow import StagedBatch, arrow_type, staging_schema
from umwi_core.contracts import DEPARTURES, WEATHER_HOURLY, Rejection, TableContract

from umwi_connectors._bronze import land

__all__ = ["FileSpec", "read_departures_file", "read_weather_file", "stage_file"]

SOURCE = "file"
_CHUNK_BYTES = 4 << 20
_INT_LIMITS = {"int16": 2**15, "int32": 2**31, "int64": 2**63}
_TRUE = {"true", "t", "1", "yes", "y"}
_FALSE = {"false", "f", "0", "no", "n"}


@dataclass(frozen=True)
class FileSpec:
    """What a file import was asked for; stored in the bronze metadata for replay."""

    table: str
    fmt: str  # "csv" or "parquet"
    network: str | None
    timezone: str | None
    ingested_at: datetime

    def zone(self) -> ZoneInfo | None:
        if self.timezone is None:
            return None
        try:
            return ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InputError(f"--timezone {self.timezone!r} is not a time zone") from None


def _format(path: Path) -> str:
    name = path.name.lower()
    if name.endswith((".csv", ".csv.gz")):
        return "csv"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    raise InputError(f"{path}: not a .csv, .csv.gz or .parquet file")


def _contract(table: str) -> TableContract:
    return DEPARTURES if table == "departures" else WEATHER_HOURLY


def _required(spec: FileSpec) -> list[str]:
    if spec.table == "departures":
        needed = ["line_id", "stop_id", "trip_id", "scheduled_at"]
        return ["network", *needed] if spec.network is None else needed
    return ["location_id", "latitude", "longitude", "hour"]


def _check_columns(names: list[str], spec: FileSpec, where: str) -> None:
    contract = _contract(spec.table)
    unknown = [n for n in names if n not in contract.column_names]
    if unknown:
        raise InputError(
            f"{where}: column {unknown[0]!r} is not a {spec.table} column "
            f"(expected names: {', '.join(contract.column_names)})"
        )
    for column in _required(spec):
        if column not in names:
            hint = " (or give --network)" if column == "network" else ""
            raise InputError(f"{where}: the {spec.table} file has no {column!r} column{hint}")
    if spec.table == "departures" and not {"delay_s", "observed_at"} & set(names):
        raise InputError(f"{where}: the departures file has neither 'delay_s' nor 'observed_at'")


def _csv_options(contract: TableContract) -> tuple[pa_csv.ReadOptions, pa_csv.ConvertOptions]:
    return (
        # Single-threaded so a ragged row's line number is known (its quarantine reason).
        pa_csv.ReadOptions(block_size=_CHUNK_BYTES, use_threads=False),
        # Every column as text: a bad value becomes a row-level reason, not a failed file.
        pa_csv.ConvertOptions(
            column_types={n: pa.string() for n in contract.column_names},
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
        ),
    )


def _header(source: Any, fmt: str, contract: TableContract) -> list[str]:
    if fmt == "parquet":
        return list(pq.ParquetFile(source).schema_arrow.names)
    read, convert = _csv_options(contract)
    # Only the header matters here; ragged rows are reported row by row later.
    parse = pa_csv.ParseOptions(invalid_row_handler=lambda row: "skip")
    with pa_csv.open_csv(
        source, read_options=read, convert_options=convert, parse_options=parse
    ) as reader:
        return list(reader.schema.names)


def _chunks(
    source: Any, fmt: str, contract: TableContract, bad_rows: list[pa_csv.InvalidRow]
) -> Iterator[pa.RecordBatch]:
    if fmt == "parquet":
        yield from pq.ParquetFile(source).iter_batches(batch_size=65_536)
        return

    def invalid(row: pa_csv.InvalidRow) -> str:
        bad_rows.append(row)
        return "skip"

    read, convert = _csv_options(contract)
    parse = pa_csv.ParseOptions(invalid_row_handler=invalid)
    with pa_csv.open_csv(
        source, read_options=read, convert_options=convert, parse_options=parse
    ) as reader:
        yield from reader


# --- value parsers: (value, error) -------------------------------------------------------

Parsed = tuple[Any, Rejection | None]


def _text(value: Any) -> Parsed:
    if value is None:
        return None, None
    text = str(value).strip()
    return (text or None), None


def _time(zone: ZoneInfo | None) -> Callable[[Any], Parsed]:
    def parse(value: Any) -> Parsed:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None, None
        if isinstance(value, datetime):
            moment = value
        else:
            try:
                moment = datetime.fromisoformat(str(value).strip())
            except ValueError:
                return None, Rejection(code="bad_time", text=f"{value!r} is not an ISO 8601 time")
        if moment.tzinfo is None:
            if zone is None:
                return None, Rejection(
                    code="bad_time",
                    text=f"{value!s} has no UTC offset and no --timezone was given",
                )
            moment = moment.replace(tzinfo=zone)
        return moment.astimezone(UTC), None

    return parse


def _integer(kind: str) -> Callable[[Any], Parsed]:
    limit = _INT_LIMITS[kind]

    def parse(value: Any) -> Parsed:
        if value is None:
            return None, None
        try:
            number = float(value) if not isinstance(value, int) else value
        except (TypeError, ValueError):
            return None, Rejection(code="bad_value", text=f"{value!r} is not an integer")
        if isinstance(number, float):
            if not math.isfinite(number) or number != int(number):
                return None, Rejection(code="bad_value", text=f"{value!r} is not an integer")
            number = int(number)
        if not -limit <= number < limit:
            return None, Rejection(
                code="out_of_range", text=f"{value!r} is out of the {kind} range"
            )
        return number, None

    return parse


def _float(value: Any) -> Parsed:
    if value is None:
        return None, None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None, Rejection(code="bad_value", text=f"{value!r} is not a number")
    if not math.isfinite(number):
        return None, Rejection(code="bad_value", text=f"{value!r} is not a finite number")
    return number, None


def _bool(value: Any) -> Parsed:
    if value is None or isinstance(value, bool):
        return value, None
    text = str(value).strip().lower()
    if text in _TRUE:
        return True, None
    if text in _FALSE:
        return False, None
    return None, Rejection(code="bad_value", text=f"{value!r} is not true or false")


def _parser(kind: str, zone: ZoneInfo | None) -> Callable[[Any], Parsed]:
    if kind == "string":
        return _text
    if kind == "timestamp_us_utc":
        return _time(zone)
    if kind in _INT_LIMITS:
        return _integer(kind)
    if kind == "float64":
        return _float
    return _bool


def _fast(values: pa.Array, kind: str) -> pa.Array | None:
    """The column converted by Arrow in one go, or None if any value needs a closer look.

    Only clean columns take this path; the row-by-row parsers give the reasons otherwise.
    """
    target = arrow_type(kind)
    if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
        values = pc.utf8_trim_whitespace(values)
        values = pc.if_else(pc.equal(values, ""), pa.scalar(None, values.type), values)
        if kind == "string":
            return values.cast(pa.string())
    elif pa.types.is_timestamp(values.type) and values.type.tz is None:
        return None  # naive: needs --timezone, judged row by row
    try:
        converted = pc.cast(values, target, safe=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None
    if pa.types.is_floating(target) and pc.any(pc.is_nan(converted)).as_py():
        return None
    return converted


_ESCAPES = (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t"))


def _json_text(values: pa.Array) -> pa.Array:
    """Each value as a JSON string literal (null as `null`), vectorised."""
    if pa.types.is_timestamp(values.type):
        # Casting a zoned timestamp to text converts zones row by row; as naive UTC it is
        # ~30× faster, and the "Z" says what it is.
        naive = values.cast(pa.timestamp(values.type.unit))
        text = naive.cast(pa.string())
        if values.type.tz is not None:
            text = pc.binary_join_element_wise(text, "Z", "")
    else:
        text = values.cast(pa.string())
        if (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)) and pc.any(
            pc.match_substring_regex(text, '["\\\\\\x00-\\x1f]')
        ).as_py():
            for old, new in _ESCAPES:
                text = pc.replace_substring(text, old, new)
            # Other control characters are rare in tabular data; keep the JSON valid.
            text = pc.replace_substring_regex(text, "[\\x00-\\x1f]", "\ufffd")
    quoted = pc.binary_join_element_wise('"', text, '"', "")
    return pc.fill_null(quoted, "null")


def _raw_json(chunk: pa.RecordBatch) -> pa.Array:
    """The row as read, one JSON object per row (the record quarantine keeps)."""
    parts: list[Any] = []
    for index, name in enumerate(chunk.schema.names):
        parts += [
            ("{" if index == 0 else ",") + json.dumps(name) + ":",
            _json_text(chunk.column(name)),
        ]
    if not parts:
        return pa.array(["{}"] * chunk.num_rows)
    parts.append("}")
    return pc.binary_join_element_wise(*parts, "")


def _stage_chunk(
    chunk: pa.RecordBatch,
    spec: FileSpec,
    *,
    run_id: str,
    input_key: str,
    first_seq: int,
) -> pa.Table:
    contract = _contract(spec.table)
    zone = spec.zone()
    rows = chunk.num_rows
    names = chunk.schema.names
    columns: dict[str, Any] = {}
    errors: list[Rejection | None] = [None] * rows
    for column in contract.columns:
        if column.name not in names:
            columns[column.name] = pa.nulls(rows, arrow_type(column.type))
            continue
        values = chunk.column(column.name)
        fast = _fast(values, column.type)
        if fast is not None:
            columns[column.name] = fast
            continue
        parse = _parser(column.type, zone)
        parsed = []
        for index, value in enumerate(values.to_pylist()):
            result, error = parse(value)
            parsed.append(result)
            if error is not None and errors[index] is None:
                errors[index] = error._replace(text=f"{column.name}: {error.text}")
        columns[column.name] = pa.array(parsed, arrow_type(column.type))
    _fill(columns, spec, run_id, rows)
    columns["_raw"] = _raw_json(chunk)
    columns["_reason"] = pa.array([e and e.text for e in errors], pa.string())
    columns["_reason_code"] = pa.array([e and e.code for e in errors], pa.string())
    columns["_input"] = pa.array([input_key] * rows, pa.string())
    columns["_seq"] = pa.array(range(first_seq, first_seq + rows), pa.int64())
    return pa.table(columns, schema=staging_schema(contract))


def _fill(columns: dict[str, Any], spec: FileSpec, run_id: str, rows: int) -> None:
    """Lineage columns the file may omit; `network` from --network; implied cancellations."""
    contract = _contract(spec.table)
    defaults: dict[str, Any] = {
        "source": SOURCE,
        "as_of": spec.ingested_at,
        "ingested_at": spec.ingested_at,
        "run_id": run_id,
    }
    if spec.table == "departures":
        defaults["network"] = spec.network
    for name, default in defaults.items():
        kind = arrow_type(contract.column(name).type)
        columns[name] = pc.fill_null(columns[name], pa.scalar(default, kind))
    if spec.table == "departures":
        # A file's `cancelled` true or absent cancels a departure with no real-time value
        # (DESIGN.md §3); with a value present, the transform judges it.
        no_value = pc.and_(pc.is_null(columns["observed_at"]), pc.is_null(columns["delay_s"]))
        columns["cancelled"] = pc.fill_null(columns["cancelled"], no_value)


def _invalid_rows_table(
    bad_rows: list[pa_csv.InvalidRow], spec: FileSpec, run_id: str, input_key: str, seq: int
) -> pa.Table:
    contract = _contract(spec.table)
    columns: dict[str, Any] = {
        c.name: pa.nulls(len(bad_rows), arrow_type(c.type)) for c in contract.columns
    }
    _fill(columns, spec, run_id, len(bad_rows))
    if spec.table == "departures":
        columns["cancelled"] = pa.nulls(len(bad_rows), pa.bool_())
    columns["_raw"] = [json.dumps({"csv_line": row.text}) for row in bad_rows]
    rejections = [
        Rejection(
            code="bad_row",
            text=f"CSV row {row.number}: {row.actual_columns} fields, "
            f"expected {row.expected_columns}",
        )
        for row in bad_rows
    ]
    columns["_reason"] = [rejection.text for rejection in rejections]
    columns["_reason_code"] = [rejection.code for rejection in rejections]
    columns["_input"] = [input_key] * len(bad_rows)
    columns["_seq"] = list(range(seq, seq + len(bad_rows)))
    return pa.table(columns, schema=staging_schema(contract))


def stage_file(
    source: Any, spec: FileSpec, *, run_id: str, input_key: str
) -> Iterator[StagedBatch]:
    """Staged batches of a departures/weather file (a path or an Arrow-readable buffer)."""
    contract = _contract(spec.table)
    bad_rows: list[pa_csv.InvalidRow] = []
    seq = 0
    try:
        for chunk in _chunks(source, spec.fmt, contract, bad_rows):
            tables = [_stage_chunk(chunk, spec, run_id=run_id, input_key=input_key, first_seq=seq)]
            seq += chunk.num_rows
            if bad_rows:
                tables.append(_invalid_rows_table(bad_rows, spec, run_id, input_key, seq))
                seq += len(bad_rows)
                bad_rows.clear()
            yield StagedBatch(spec.table, SOURCE, pa.concat_tables(tables), (input_key,))
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as error:
        raise InputError(f"{input_key}: cannot read the {spec.fmt} file: {error}") from None
    if bad_rows:
        yield StagedBatch(
            spec.table,
            SOURCE,
            _invalid_rows_table(bad_rows, spec, run_id, input_key, seq),
            (input_key,),
        )


def _read_file(
    path: str | Path,
    table: str,
    *,
    lake: Lake,
    run_id: str,
    network: str | None,
    timezone: str | None,
) -> Iterator[StagedBatch]:
    path = Path(path)
    spec = FileSpec(table, _format(path), network, timezone, datetime.now(UTC))
    spec.zone()
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        names = _header(str(path), spec.fmt, _contract(table))
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as error:
        # A header that is not UTF-8 fails in the decoding of its names.
        raise InputError(f"{path}: cannot read the {spec.fmt} file: {error}") from None
    _check_columns(names, spec, str(path))
    part = re.sub(r"[^A-Za-z0-9_=+-]+", "-", path.name.split(".")[0]).strip("-") or "file"
    key = land(
        lake,
        source=SOURCE,
        dataset=table,
        run_id=run_id,
        part=part,
        ext="csv.gz" if path.name.lower().endswith(".gz") else spec.fmt,
        payload=path,
        meta={
            "path": str(path),
            "table": table,
            "format": spec.fmt,
            "network": network,
            "timezone": timezone,
            "ingested_at": spec.ingested_at.isoformat(),
        },
        day=spec.ingested_at.date(),
    )
    return stage_file(str(path), spec, run_id=run_id, input_key=key)


def read_departures_file(
    path: str | Path,
    *,
    lake: Lake,
    run_id: str,
    network: str | None = None,
    timezone: str | None = None,
) -> Iterator[StagedBatch]:
    """Departures from a CSV/Parquet file; `network` fills a missing or empty `network`."""
    return _read_file(
        path, "departures", lake=lake, run_id=run_id, network=network, timezone=timezone
    )


def read_weather_file(
    path: str | Path, *, lake: Lake, run_id: str, timezone: str | None = None
) -> Iterator[StagedBatch]:
    """Hourly weather from a CSV/Parquet file with the `weather_hourly` column names."""
    return _read_file(
        path, "weather_hourly", lake=lake, run_id=run_id, network=None, timezone=timezone
    )
