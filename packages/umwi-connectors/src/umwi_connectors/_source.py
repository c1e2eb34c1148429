"""`Source`: everything umwi needs to know about one kind of source, declared once.

A source names itself, gives its options as a pydantic model (what `umwi.toml` and
`umwi ingest <name>` accept), fetches a span of windows as staged batches, and re-parses
its landed bronze payloads. The flows, the config, the CLI and `replay_bronze` only
iterate the registry (`_registry.py`), so a new source is one module.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, JsonValue
from umwi_core import Lake, Settings
from umwi_core.arrow import StagedBatch

Batches = Iterable[StagedBatch] | AsyncIterable[StagedBatch]

Options = TypeVar("Options", bound=BaseModel)


class Windowing(StrEnum):
    """What the ledger's windows of a source are."""

    DAYS = "days"  # one UTC day each: a run covers [start, end)
    INPUTS = "inputs"  # one input each (a poll's minute, a file's digest)


class Layout(StrEnum):
    """How `umwi.toml` lists the source's instances."""

    ONE = "one"  # `[sources.<name>]`: one instance
    MANY = "many"  # `[[sources.<name>]]` (or a list under `list_key`): any number


class Schedule(StrEnum):
    """Which scheduled deployment ingests the source (`umwi deploy`)."""

    ON_DEMAND = "on_demand"  # only `umwi run`, `umwi backfill` and the pipeline deployment
    LOOKBACK = "lookback"  # the hourly deployment re-fetches its last days
    POLL = "poll"  # the real-time deployment polls it


@dataclass(frozen=True)
class Cli:
    """`Annotated` metadata of an options field: its `umwi ingest` flag and default there.

    Without it the flag is `--<field-name>` (dashes) and the default the field's.
    """

    flag: str | None = None
    default: object = None


@dataclass(frozen=True)
class Span:
    """The part of the requested range one fetch covers: [start, end) days, or one input."""

    windows: tuple[str, ...]
    start: date | None = None
    end: date | None = None


class Source(ABC, Generic[Options]):
    """One kind of source. Subclass it, set the attributes, implement the methods."""

    #: `[sources.<name>]` in umwi.toml, `umwi ingest <name>` (dashes), `umwi run --source`.
    name: str
    #: One instance's options; field descriptions are the CLI's help.
    options: type[Options]
    #: One line: what the source is (the help of `umwi ingest <name>`).
    help: str
    #: `bronze/<bronze>/…`, the `source` of its records and of its run manifests.
    bronze: str
    windowing: Windowing = Windowing.DAYS
    layout: Layout = Layout.MANY
    #: With `Layout.MANY`: the instances are a list under this key of `[sources.<name>]`.
    list_key: str | None = None
    schedule: Schedule = Schedule.ON_DEMAND

    @abstractmethod
    def stream(self, options: Options) -> str:
        """The ledger's key of one instance, stable across runs with the same options."""

    def parameters(self, options: Options) -> dict[str, JsonValue]:
        """JSON-ready parameters for the run manifest."""
        dumped: dict[str, JsonValue] = options.model_dump(mode="json")
        return dumped

    def input_window(self, options: Options, now: datetime) -> str:
        """The window of a run of an `INPUTS` source."""
        raise NotImplementedError(f"{type(self).__name__} has day windows")

    def default_range(self, options: Options) -> tuple[date, date] | None:
        """The days of a `DAYS` instance when the run gives none (its options may)."""
        return None

    def check(self, instances: Sequence[Options]) -> None:
        """Rules across the instances of umwi.toml; `ValueError` says what is wrong."""

    @abstractmethod
    def fetch(
        self, options: Options, settings: Settings, lake: Lake, run_id: str, span: Span
    ) -> Batches:
        """The staged batches of the span; each raw payload lands in bronze first."""

    @abstractmethod
    def replay(self, lake: Lake, key: str, dataset: str, run_id: str) -> Iterable[StagedBatch]:
        """The staged records of the payload landed at `bronze/<bronze>/<dataset>/…/key`.

        Raise `SourceError` for a dataset the source does not land.
        """

    def job(self, options: Options) -> SourceJob:
        return SourceJob(self, options)


@dataclass(frozen=True)
class SourceJob:
    """One configured instance of a source: one ledger stream."""

    spec: Source[Any]
    options: BaseModel

    @property
    def source(self) -> str:
        """The source of its records and run manifests (the bronze name)."""
        return self.spec.bronze

    @property
    def stream(self) -> str:
        return self.spec.stream(self.options)

    @property
    def by_day(self) -> bool:
        return self.spec.windowing is Windowing.DAYS

    def parameters(self) -> dict[str, JsonValue]:
        return self.spec.parameters(self.options)

    def input_window(self, now: datetime) -> str:
        return self.spec.input_window(self.options, now)

    def default_range(self) -> tuple[date, date] | None:
        return self.spec.default_range(self.options)

    def fetch(self, settings: Settings, lake: Lake, run_id: str, span: Span) -> Batches:
        return self.spec.fetch(self.options, settings, lake, run_id, span)


__all__ = ["Batches", "Cli", "Layout", "Schedule", "Source", "SourceJob", "Span", "Windowing"]
