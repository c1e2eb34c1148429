"""A source is one module: a toy source, declared here and registered through a real
`umwi.sources` entry point, reaches umwi.toml, `umwi ingest`, `umwi run` and replay.

The toy lands the sample city's tables as Parquet under `bronze/toy/` and stages them as
its own records (source `toy`); nothing outside this module names it.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import Annotated

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pydantic import BaseModel, ConfigDict, Field
from umwi_connectors import Cli, Source, Span, _registry, land, replay_bronze, sample_tables
from umwi_core import InputError, Lake, Settings, SourceError
from umwi_core.arrow import StagedBatch, staging_schema
from umwi_core.contracts import DEPARTURES, WEATHER_HOURLY
from umwi_flows import parse_config

CONTRACTS = {"departures": DEPARTURES, "weather_hourly": WEATHER_HOURLY}


class ToyOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    city_seed: Annotated[
        int, Field(ge=0, description="Seed of the toy city."), Cli(flag="--seed")
    ] = 3


def _stage(table: pa.Table, name: str, key: str) -> StagedBatch:
    n = table.num_rows
    table = table.set_column(
        table.schema.get_field_index("source"), "source", pa.array(["toy"] * n, pa.string())
    )
    for column, values in (
        ("_raw", pa.array(["{}"] * n, pa.string())),
        ("_reason", pa.nulls(n, pa.string())),
        ("_reason_code", pa.nulls(n, pa.string())),
        ("_input", pa.array([key] * n, pa.string())),
        ("_seq", pa.array(np.arange(n, dtype=np.int64))),
    ):
        table = table.append_column(column, values)
    schema = staging_schema(CONTRACTS[name])
    return StagedBatch(name, "toy", table.select(schema.names).cast(schema), (key,))


class ToySource(Source[ToyOptions]):
    name = "toy"
    options = ToyOptions
    help = "A toy city (the sample city under another name)."
    bronze = "toy"

    def stream(self, options: ToyOptions) -> str:
        return f"toy:{options.city_seed}"

    def fetch(
        self, options: ToyOptions, settings: Settings, lake: Lake, run_id: str, span: Span
    ) -> Iterator[StagedBatch]:
        assert span.start is not None
        assert span.end is not None
        days = (span.end - span.start).days
        for name, table in sample_tables(span.start, days, options.city_seed, run_id=run_id):
            sink = io.BytesIO()
            pq.write_table(table, sink)
            key = land(lake, source="toy", dataset=name, run_id=run_id, part=name,
                       ext="parquet", payload=sink.getvalue(), meta={}, day=span.start)  # fmt: skip
            yield _stage(table, name, key)

    def replay(self, lake: Lake, key: str, dataset: str, run_id: str) -> Iterable[StagedBatch]:
        if dataset not in CONTRACTS:
            raise SourceError(f"{key}: no parser for bronze toy/{dataset}")
        return [_stage(pq.read_table(io.BytesIO(lake.read_bytes(key))), dataset, key)]


@pytest.fixture
def toy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Install a distribution whose `umwi.sources` entry point names `ToySource`, and
    start from a fresh registry so it loads the entry points again."""
    dist = tmp_path / "site" / "umwi_toy-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: umwi-toy\nVersion: 0.1\n")
    module = ToySource.__module__
    assert sys.modules[module].ToySource is ToySource  # the entry point imports this module
    (dist / "entry_points.txt").write_text(f"[umwi.sources]\ntoy = {module}:ToySource\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setattr(_registry, "REGISTRY", _registry.SourceRegistry())


@pytest.mark.usefixtures("toy")
def test_the_toy_is_validated_in_umwi_toml() -> None:
    """Mutation: drop the entry-point loop in `SourceRegistry._ensure_loaded` → unknown source."""
    config = parse_config("[[sources.toy]]\ncity_seed = 5\n", Path("umwi.toml"))
    assert config.sources.names() == ["toy"]
    assert [job.stream for job in config.sources.jobs()] == ["toy:5"]
    with pytest.raises(InputError, match=r"umwi\.toml: sources\.toy\.0\.city_seed: Input should"):
        parse_config("[[sources.toy]]\ncity_seed = -1\n", Path("umwi.toml"))


def test_without_the_entry_point_the_toy_is_unknown() -> None:
    with pytest.raises(InputError, match=r"sources: unknown source 'toy' \(known: weather, "):
        parse_config("[[sources.toy]]\n", Path("umwi.toml"))


@pytest.mark.usefixtures("toy")
def test_the_toy_has_its_ingest_command_with_derived_options() -> None:
    """Mutation: `list_commands` returning only the built-in names → no `toy` command."""
    from typer.testing import CliRunner
    from umwi.cli import app

    listed = CliRunner().invoke(app, ["ingest", "--help"], env={"COLUMNS": "200"})
    assert "toy" in listed.output
    assert "A toy city" in listed.output
    shown = CliRunner().invoke(app, ["ingest", "toy", "--help"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    text = " ".join(shown.output.split())
    for flag in ("--seed", "--start", "--end", "--force", "Seed of the toy city."):
        assert flag in text


@pytest.mark.usefixtures("toy")
def test_the_toy_replays_from_bronze(settings: Settings, lake: Lake) -> None:
    """Mutation: `replay_bronze` without `find_bronze_source` → "no parser for bronze toy/…"."""
    from umwi_connectors import get_source

    job = get_source("toy").job(ToyOptions())
    first = list(job.fetch(settings, lake, "run-1", Span(("2026-01-05",), date(2026, 1, 5),
                                                         date(2026, 1, 6))))  # fmt: skip
    keys = sorted(k for k in lake.list("bronze/toy/") if not k.endswith(".meta.json"))
    assert len(keys) == 2
    again = [batch for key in keys for batch in replay_bronze(lake, key, run_id="run-2")]
    assert sorted(b.table for b in again) == sorted(b.table for b in first)
    for batch in again:
        (original,) = [b for b in first if b.table == batch.table]
        assert batch.records.equals(original.records)
        assert set(batch.records.column("source").to_pylist()) == {"toy"}


@pytest.mark.slow
@pytest.mark.usefixtures("toy", "prefect_server")
def test_the_toy_runs_through_umwi_ingest_umwi_run_and_the_bronze_replay(
    tmp_path: Path,
    fast_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Mutation: `jobs_from_config` keeping only built-in names → `umwi run` ingests no toy."""
    from umwi_core.ledger import WindowStatus
    from umwi_core.resources import make_lake, make_ledger
    from umwi_flows._build import replay_bronze_all
    from umwi_transform import read_silver

    from tests.packages.umwi_cli.in_process import run_cli

    code = run_cli(monkeypatch, "ingest", "toy", "--seed", "4",
                   "--start", "2026-01-05", "--end", "2026-01-06", columns=200)  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "toy:4" in captured.out

    (tmp_path / "umwi.toml").write_text("[[sources.toy]]\ncity_seed = 4\n")
    code = run_cli(monkeypatch, "run", "--source", "toy",
                   "--start", "2026-01-05", "--end", "2026-01-07", columns=200)  # fmt: skip
    # The gate checks that `source` is a source name, not that it is a built-in one: the
    # toy's rows are published like any other.
    assert code == 0, capsys.readouterr().err
    records = make_ledger(fast_settings).records("toy:4")
    assert [(r.window, r.status) for r in records] == [
        ("2026-01-05", WindowStatus.DONE),
        ("2026-01-06", WindowStatus.DONE),
    ]
    lake = make_lake(fast_settings)
    departures = read_silver(lake, "departures")
    assert set(departures.column("source").to_pylist()) == {"toy"}

    # What `umwi build --from-bronze` does first: silver again from bronze alone.
    replayed = replay_bronze_all(fast_settings, lake, "replay-run")
    # Two tables per ingestion: `umwi ingest` (the 5th), then the run (the 6th; the 5th is done).
    assert replayed.payloads == 4
    assert replayed.counts["departures"].read > 0
    assert read_silver(lake, "departures").num_rows == departures.num_rows
