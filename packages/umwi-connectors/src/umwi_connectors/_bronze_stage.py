"""Re-staging landed web payloads (Open-Meteo, Navitia) for `replay_bronze`."""

from __future__ import annotations

from umwi_core import Lake, SourceError
from umwi_core.arrow import StagedBatch

from umwi_connectors._bronze import read_meta
from umwi_connectors._navitia import stage_navitia_payload
from umwi_connectors._openmeteo import stage_openmeteo_payload

__all__ = ["HTTP_SOURCES", "replay_landed", "stage_bronze_payload"]

#: The bronze sources `stage_bronze_payload` reads, with their datasets.
HTTP_SOURCES = {
    "open_meteo": ("forecast", "archive"),
    "navitia": ("departures", "stop_schedules"),
}


def stage_bronze_payload(
    source: str,
    dataset: str,
    payload: bytes,
    meta: dict[str, object],
    *,
    run_id: str,
    input_key: str,
) -> StagedBatch:
    """The staged records of one landed payload, parsed as when it was fetched.

    `meta` is the payload's `.meta.json` (see `_bronze.read_meta`); `as_of` comes from it
    (Open-Meteo) or from the payload itself (Navitia), so a replay converges on the same rows.
    """
    if dataset not in HTTP_SOURCES.get(source, ()):
        raise SourceError(f"{input_key}: no parser for bronze {source}/{dataset}")
    if source == "open_meteo":
        return stage_openmeteo_payload(payload, meta, run_id=run_id, input_key=input_key)
    return stage_navitia_payload(payload, meta, run_id=run_id, input_key=input_key)


def replay_landed(
    source: str, lake: Lake, key: str, dataset: str, run_id: str
) -> list[StagedBatch]:
    """`Source.replay` of a web source: the payload landed at `key`, with its metadata,
    staged as when it was fetched."""
    payload, meta = lake.read_bytes(key), read_meta(lake, key)
    return [stage_bronze_payload(source, dataset, payload, meta, run_id=run_id, input_key=key)]
