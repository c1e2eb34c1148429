"""`umwi.toml`: which sources `umwi run` and the scheduled deployments ingest, and when.

The schema is documented in flows/README.md and shipped as `umwi.toml.example`; the
`[sources]` table is validated by the source registry (`umwi_connectors.SourcesConfig`).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from umwi_connectors import SourcesConfig
from umwi_core.errors import InputError, first_problem


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SchedulesConfig(_Strict):
    """Cron strings (5 fields) and intervals of the deployments, in `timezone`."""

    timezone: str = "UTC"
    weather: str = "5 * * * *"
    realtime_interval_s: Annotated[int, Field(ge=60, le=86_400)] = 300
    gold: str = "30 2 * * *"
    maintenance: str = "0 4 * * 0"
    #: The forecast refresh and outlook (DESIGN.md §8): hourly, after the weather's.
    outlook: str = "20 * * * *"
    weather_lookback_days: Annotated[int, Field(ge=1, le=92)] = 2

    @model_validator(mode="after")
    def _crons(self) -> SchedulesConfig:
        for name in ("weather", "gold", "maintenance", "outlook"):
            value = getattr(self, name)
            if len(value.split()) != 5:
                raise ValueError(f"{name}: {value!r} is not a 5-field cron expression")
        return self


class BackfillConfig(_Strict):
    concurrency: Annotated[int, Field(ge=1, le=16)] = 2
    chunk_days: Annotated[int, Field(ge=1, le=92)] = 1


class UmwiConfig(_Strict):
    sources: SourcesConfig = Field(default_factory=SourcesConfig)
    schedules: SchedulesConfig = Field(default_factory=SchedulesConfig)
    backfill: BackfillConfig = Field(default_factory=BackfillConfig)


def _describe(error: ValidationError, where: object) -> str:
    """The first error of a validation: `<where>: <field path>: <message>`."""
    location, message = first_problem(error)
    field = ".".join(location)
    return f"{where}: {field}: {message}" if field else f"{where}: {message}"


def parse_config(text: str, path: Path) -> UmwiConfig:
    """Validate the TOML text; `InputError` naming the file, the field and the problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InputError(f"{path}: not valid TOML: {error}") from None
    try:
        return UmwiConfig.model_validate(data)
    except ValidationError as error:
        raise InputError(_describe(error, path)) from None


def load_config(path: Path) -> UmwiConfig:
    """Read `umwi.toml` (the `UMWI_CONFIG_FILE` setting)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(
            f"{path}: no such file (copy umwi.toml.example, or set UMWI_CONFIG_FILE)"
        ) from None
    except OSError as error:
        raise InputError(f"{path}: cannot read: {error.strerror}") from None
    return parse_config(text, path)


__all__ = [
    "BackfillConfig",
    "SchedulesConfig",
    "UmwiConfig",
    "load_config",
    "parse_config",
]
