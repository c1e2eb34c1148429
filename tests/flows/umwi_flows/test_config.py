from __future__ import annotations

from pathlib import Path

import pytest
from umwi_core.errors import InputError
from umwi_flows import jobs_from_config, load_config, parse_config

EXAMPLE = Path(__file__).resolve().parents[3] / "umwi.toml.example"


def test_the_shipped_example_is_valid() -> None:
    config = load_config(EXAMPLE)
    assert [loc.model_dump()["location_id"] for loc in config.sources.instances("weather")] == [
        "paris-centre",
        "paris-la-defense",
    ]
    assert config.sources.names() == ["weather", "navitia", "gtfs_rt"]
    assert config.schedules.realtime_interval_s == 300
    streams = [job.stream for job in jobs_from_config(config.sources)]
    assert streams == [
        "open_meteo:paris-centre",
        "open_meteo:paris-la-defense",
        "navitia:fr-idf:stop_area:IDFM:71370,stop_area:IDFM:71517",
        "gtfs_rt:auckland",
    ]


def test_defaults_when_sections_are_absent() -> None:
    config = parse_config("[sources.sample]\n", Path("umwi.toml"))
    assert config.sources.names() == ["sample"]
    (sample,) = config.sources.instances("sample")
    assert sample.model_dump()["days"] == 30
    assert config.backfill.concurrency == 2
    assert config.schedules.gold == "30 2 * * *"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[sources.weather]\nlocations = [{location_id='a', latitude=91, longitude=0}]",
            "umwi.toml: sources.weather.locations.0.latitude: Input should be less than or equal",
        ),
        ("[sources.weather]\nlocatons = []", "sources.weather.locatons: Extra inputs"),
        ("[[sources.file]]\nnetwork='x'", "sources.file.0: give departures, weather or both"),
        ("[schedules]\ngold = 'nightly'", "gold: 'nightly' is not a 5-field cron expression"),
        ("[sources\n", "umwi.toml: not valid TOML"),
        (
            "[sources.weather]\nlocations = [{location_id='a', latitude=1, longitude=1},"
            " {location_id='a', latitude=2, longitude=2}]",
            "location_id 'a' is listed twice",
        ),
    ],
)
def test_bad_config_names_the_field(text: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_config(text, Path("umwi.toml"))
    assert message in str(caught.value)


def test_missing_file_says_how_to_start(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"copy umwi\.toml\.example"):
        load_config(tmp_path / "umwi.toml")


def test_unconfigured_source_is_refused() -> None:
    config = parse_config("[sources.sample]\n", Path("umwi.toml"))
    with pytest.raises(InputError, match=r"'weather' is not configured in umwi\.toml"):
        jobs_from_config(config.sources, ["weather"])
