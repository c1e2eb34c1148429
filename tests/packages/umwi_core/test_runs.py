"""`recorded_run` (one manifest per run, however it ends) and `RunStatus` on disk."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError
from umwi_core.lake import Lake
from umwi_core.runs import (
    ERROR_CHARS,
    RunManifest,
    RunStatus,
    TableCounts,
    manifest_key,
    read_manifest,
    recorded_run,
    write_manifest,
)


def test_a_finished_block_writes_its_manifest_done(lake: Lake) -> None:
    """Mutation: drop `manifest.status = RunStatus.DONE` in `recorded_run` → status `running`."""
    started = datetime(2026, 3, 2, 3, tzinfo=UTC)
    with recorded_run(
        lake, "build", started_at=started, parameters={"x": 1}, outputs={"flow": "f"}
    ) as run:
        run.counts["departures"] = TableCounts(read=2, inserted=2)
        run.outputs["rows"] = 2
    stored = read_manifest(lake, run.run_id)
    assert run.run_id.startswith("20260302T030000Z-")
    assert stored.status is RunStatus.DONE
    assert stored.kind == "build"
    assert stored.parameters == {"x": 1}
    assert stored.outputs == {"flow": "f", "rows": 2}
    assert stored.counts["departures"].inserted == 2
    assert stored.error is None
    assert stored.finished_at is not None
    assert stored.finished_at >= stored.started_at
    assert stored == run


def test_an_exception_writes_the_manifest_failed_and_propagates(lake: Lake) -> None:
    """Mutation: drop `manifest.status = RunStatus.FAILED` → the manifest says `running`;
    drop the `raise` → `pytest.raises` fails."""
    with (  # noqa: PT012
        pytest.raises(RuntimeError, match="source went away"),
        recorded_run(lake, "ingest", run_id="run-x", source="file") as run,
    ):
        run.timings_s["commit"] = 1.5
        raise RuntimeError("source went away")
    stored = read_manifest(lake, "run-x")
    assert stored.status is RunStatus.FAILED
    assert stored.error == "source went away"
    assert stored.source == "file"
    assert stored.timings_s == {"commit": 1.5}
    assert stored.finished_at is not None


def test_the_error_names_a_silent_exception_and_is_bounded(lake: Lake) -> None:
    """Mutation: drop `or type(error).__name__` → the error is the empty string."""
    with pytest.raises(KeyboardInterrupt), recorded_run(lake, "maintain", run_id="quiet"):
        raise KeyboardInterrupt
    assert read_manifest(lake, "quiet").error == "KeyboardInterrupt"
    with pytest.raises(ValueError, match="x"), recorded_run(lake, "maintain", run_id="loud"):
        raise ValueError("x" * (ERROR_CHARS * 3))
    assert read_manifest(lake, "loud").error == "x" * ERROR_CHARS


def test_what_the_block_recorded_is_kept(lake: Lake) -> None:
    """Mutation: drop `if manifest.error is None:` → the redacted reason is overwritten."""
    with pytest.raises(RuntimeError), recorded_run(lake, "ingest", run_id="r-err") as run:  # noqa: PT012
        run.error = "HTTPError: token=***"
        raise RuntimeError("token=secret")
    assert read_manifest(lake, "r-err").error == "HTTPError: token=***"
    with recorded_run(lake, "build", run_id="r-gate") as run:
        run.status = RunStatus.GATE_FAILED
    assert read_manifest(lake, "r-gate").status is RunStatus.GATE_FAILED


@pytest.mark.parametrize("status", list(RunStatus))
def test_every_status_round_trips_as_its_word(lake: Lake, status: RunStatus) -> None:
    """Mutation: rename a member's value (e.g. `GATE_FAILED = "gate-failed"`) → the word on
    disk differs from the one older manifests hold."""
    manifest = RunManifest(run_id="r1", kind="build", started_at=datetime.now(UTC), status=status)
    write_manifest(lake, manifest)
    assert json.loads(lake.read_bytes(manifest_key("r1")))["status"] == status.value
    assert read_manifest(lake, "r1").status is status


def test_manifests_written_before_the_enum_still_read(lake: Lake) -> None:
    """The words earlier releases wrote as free strings."""
    words = ["running", "done", "succeeded", "skipped", "failed", "gate_failed"]
    assert sorted(status.value for status in RunStatus) == sorted(words)
    for word in words:
        document = {"run_id": f"old-{word}", "kind": "ingest", "started_at":
                    "2026-01-05T00:00:00Z", "status": word}  # fmt: skip
        lake.write_bytes(manifest_key(f"old-{word}"), json.dumps(document).encode())
        assert read_manifest(lake, f"old-{word}").status == word


def test_an_unknown_status_is_refused_by_name() -> None:
    with pytest.raises(ValidationError, match="status"):
        RunManifest(run_id="r", kind="build", started_at=datetime.now(UTC), status="finished")
