"""Landing raw payloads in bronze (DESIGN.md §6), shared by every connector.

`bronze/<source>/<dataset>/date=YYYY-MM-DD/<run_id>/<part>.<ext>` holds the payload exactly as
received; `<part>.meta.json` beside it holds the request metadata with secrets redacted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from pathlib import Path

from umwi_core import Lake, LakeError, redact
from umwi_core.failpoints import failpoint

__all__ = ["BRONZE_PREFIX", "bronze_key", "land", "meta_key", "read_meta"]

BRONZE_PREFIX = "bronze"

#: One path segment: no separators or dot-dot, so a key can never leave its run folder.
_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.=+-]*$")
_EXT = re.compile(r"^[A-Za-z0-9]+(?:\.[A-Za-z0-9]+)*$")
#: Metadata keys whose values are secrets whatever their content.
_SECRET_KEYS = re.compile(r"(?i)(authorization|api_?key|token|secret|password|cookie)")


def _segment(name: str, value: str) -> str:
    if not _SEGMENT.fullmatch(value) or ".." in value:
        raise ValueError(
            f"bronze {name} {value!r} is not a plain name (letters, digits, _ . = + -)"
        )
    return value


def bronze_key(*, source: str, dataset: str, run_id: str, part: str, ext: str, day: date) -> str:
    """The key a payload lands at; validates each segment."""
    if not _EXT.fullmatch(ext):
        raise ValueError(f"bronze ext {ext!r} is not a plain extension (like json or pb)")
    if "." in part:
        # The part name without its extension names the `.meta.json`; a dot would blur it.
        raise ValueError(f"bronze part {part!r} must not contain a dot")
    return (
        f"{BRONZE_PREFIX}/{_segment('source', source)}/{_segment('dataset', dataset)}/"
        f"date={day.isoformat()}/{_segment('run_id', run_id)}/{_segment('part', part)}.{ext}"
    )


def meta_key(key: str) -> str:
    """The `.meta.json` key beside a landed payload."""
    folder, _, name = key.rpartition("/")
    return f"{folder}/{name.split('.', 1)[0]}.meta.json"


def _scrub(value: object, secrets: Iterable[str]) -> object:
    """Redact secrets in every string of a JSON-like structure."""
    secrets = tuple(secrets)
    if isinstance(value, Mapping):
        return {
            str(k): ("***" if _SECRET_KEYS.search(str(k)) and v is not None else _scrub(v, secrets))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_scrub(item, secrets) for item in value]
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def land(
    lake: Lake,
    *,
    source: str,
    dataset: str,
    run_id: str,
    part: str,
    ext: str,
    payload: bytes | Path,
    meta: dict[str, object],
    day: date | None = None,
    secrets: Iterable[str | None] = (),
) -> str:
    """Write `payload` and its redacted metadata to bronze; return the payload's key.

    Each object is one atomic write; the payload goes first and is removed again if the
    metadata cannot be written, so a failure leaves no payload without its metadata.
    Landing the same part twice replaces it with the same bytes (idempotent re-runs).
    `secrets` are values (tokens, keys) to blank wherever they appear in `meta`.
    A `Path` payload (a user's file) is streamed, so memory does not grow with its size.
    """
    day = day or datetime.now(UTC).date()
    key = bronze_key(source=source, dataset=dataset, run_id=run_id, part=part, ext=ext, day=day)
    known = [s for s in secrets if s]
    scrubbed = _scrub(meta, known)
    assert isinstance(scrubbed, dict)
    document = {
        "source": source,
        "dataset": dataset,
        "run_id": run_id,
        "key": key,
        "bytes": payload.stat().st_size if isinstance(payload, Path) else len(payload),
        **scrubbed,
    }
    try:
        meta_bytes = json.dumps(document, indent=2, sort_keys=True, allow_nan=False).encode()
    except (TypeError, ValueError) as error:
        raise ValueError(f"bronze metadata of {key} is not JSON: {error}") from None
    if isinstance(payload, Path):
        lake.write_file(key, payload)
    else:
        lake.write_bytes(key, payload)
    try:
        lake.write_bytes(meta_key(key), meta_bytes)
    except BaseException as error:
        lake.delete(key)
        if isinstance(error, Exception) and not isinstance(error, LakeError):
            raise LakeError(f"could not write the metadata of {key}: {error}") from error
        raise
    failpoint("bronze.landed")
    return key


def read_meta(lake: Lake, key: str) -> dict[str, object]:
    """The metadata landed beside the payload at `key`."""
    data = json.loads(lake.read_bytes(meta_key(key)))
    if not isinstance(data, dict):
        raise LakeError(f"{meta_key(key)} is not a JSON object")
    return data
