"""The sample city's injected rain effect comes back out of the gold tables."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from umwi_connectors import SAMPLE_EFFECT, generate_sample
from umwi_core.lake import Lake
from umwi_core.settings import Settings
from umwi_transform import build_gold, ingest_batches, read_gold


@pytest.mark.slow
def test_injected_rain_effect_is_recovered(lake: Lake, settings: Settings) -> None:
    batches = generate_sample(lake=lake, run_id="sample", start=date(2026, 1, 5), days=14)
    manifest = ingest_batches(batches, lake, settings, "sample", source="sample", parameters={})
    assert all(counts.balanced for counts in manifest.counts.values())
    candidates = build_gold(lake, settings, "build")
    hourly = read_gold(
        lake, "mobility_weather_hourly", candidates["mobility_weather_hourly"].version
    )
    frame = hourly.to_pandas()
    # Snow moves delays too (and falls with precipitation): judge rain on snow-free hours.
    rain = frame[(frame["line_id"] == "*") & (frame["snowfall_cm"] == 0)]
    assert len(set(rain["network"])) == 1
    x = rain["precipitation_mm"].to_numpy()
    y = rain["mean_delay_s"].to_numpy()
    weights = (rain["departures"] - rain["cancelled"]).to_numpy(dtype=float)
    slope, intercept = np.polyfit(x, y, 1, w=np.sqrt(weights))
    residual = y - (slope * x + intercept)
    se = np.sqrt(np.sum(weights * residual**2) / (weights.sum() * (len(x) - 2))) / np.sqrt(
        np.average((x - np.average(x, weights=weights)) ** 2, weights=weights)
    )
    assert abs(slope - SAMPLE_EFFECT.per_mm_s) < 4 * se + 2.0, (slope, se)
    impact = read_gold(lake, "weather_impact", candidates["weather_impact"].version).to_pandas()
    both = impact[(impact["line_id"] == "*") & (impact["period"] == "all")]
    uplift = both.set_index("weather_class")["uplift_s"]
    assert 0 < uplift["light_rain"] < uplift["moderate_rain"] < uplift["heavy_rain"]
