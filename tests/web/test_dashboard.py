"""The dashboard in a real browser (Debian chromium via Playwright) against a live local API."""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
import uvicorn
from umwi_api import create_app
from umwi_core.lake import Lake
from umwi_core.resources import build_resources
from umwi_core.settings import Settings

from tests.api.gold_sample import LINES, NETWORK, write_sample_gold
from tests.api.gold_year import SHORT, YEAR, write_year_gold

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


class LiveServer:
    def __init__(self, app: Any) -> None:
        # The server gets the bound socket itself: no port is free between two binds.
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.port = int(self.socket.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.socket.close()


def _web_copy(tmp_path: Path, line_names: dict[str, dict[str, str]]) -> Path:
    """The committed site, with a config.json naming lines (as a deployment would)."""
    site = tmp_path / "site"
    shutil.copytree(REPO / "web", site)
    (site / "config.json").write_text(json.dumps({"apiUrl": "", "lineNames": line_names}))
    return site


@pytest.fixture
def live(settings: Settings, lake: Lake, tmp_path: Path) -> Iterator[LiveServer]:
    write_sample_gold(lake)
    site = _web_copy(tmp_path, {NETWORK: {"L1": LINES["L1"]}})
    with LiveServer(create_app(build_resources(settings), web_dir=site)) as server:
        yield server


def _overall(rows: list[dict[str, Any]]) -> dict[str, float]:
    """The dashboard's totals over the weather classes, computed independently."""
    departures = kept = on_time = delay_sum = 0.0
    for row in rows:
        if row["weather_class"] == "wet":
            continue
        not_cancelled = row["departures"] * (1 - row["cancellation_rate"])
        departures += row["departures"]
        kept += not_cancelled
        on_time += row["on_time_rate"] * not_cancelled
        delay_sum += row["mean_delay_s"] * not_cancelled
    return {
        "card-ontime": on_time / kept,
        "card-reliability": on_time / departures,
        "card-delay": delay_sum / kept,
    }


def _card(page: Any, card: str) -> tuple[float, str]:
    node = page.locator(f"#{card} .value")
    return float(node.get_attribute("data-value")), node.inner_text()


def _wait_ready(page: Any, shown: str | None = None) -> None:
    """Until the figures show `shown` (network|line|period|variable|lag|y_kind|start|end)."""
    if shown is not None:
        page.wait_for_selector(f'main[data-shown="{shown}"]', state="attached", timeout=15_000)
    page.wait_for_selector('#status[data-state="ready"]', state="attached", timeout=15_000)


def _check_cards(page: Any, api: httpx.Client, line_id: str, period: str, y_kind: str) -> None:
    impact = api.get("/kpi/weather-impact", params={"line_id": line_id, "period": period}).json()
    assert impact, "sample gold must have rows for this selection"
    for card, expected in _overall(impact).items():
        shown, _ = _card(page, card)
        assert shown == pytest.approx(expected, rel=1e-12), card
    wet = next(row for row in impact if row["weather_class"] == "wet")
    uplift, text = _card(page, "card-uplift")
    assert uplift == wet["uplift_s"]
    assert text == f"+{wet['uplift_s']:.1f} s"
    correlation = api.get(
        "/correlation",
        params={
            "line_id": line_id,
            "period": period,
            "variable": "precipitation_mm",
            "lag_h": 0,
            "y_kind": y_kind,
        },
    ).json()[0]
    r, r_text = _card(page, "card-r")
    assert r == correlation["pearson_r"]
    assert r_text == f"{correlation['pearson_r']:.2f}"
    sub = page.locator("#card-r .sub").inner_text()
    assert f"[{correlation['ci_low']:.2f}, {correlation['ci_high']:.2f}]" in sub
    assert f"adjusted [{correlation['ci_low_adj']:.2f}, {correlation['ci_high_adj']:.2f}]" in sub
    assert f"n = {correlation['n']}, n_eff = {correlation['n_eff']:.0f}" in sub
    _check_issue19_charts(page, api, line_id, period, y_kind)


def _check_issue19_charts(
    page: Any, api: httpx.Client, line_id: str, period: str, y_kind: str
) -> None:
    """The sensitivity bars follow the API's ranking with its intervals as error bars;
    the lag profile shows r at lags 0–3 with the adjusted intervals."""
    ranking = [
        row
        for row in api.get("/kpi/sensitivity", params={"period": period}).json()
        if row["line_id"] != "*"
    ]
    assert ranking
    assert ranking[0]["rank"] == 1
    labels = _chart(page, "sensitivity-chart", "chart.data.labels")
    assert labels[0].startswith("#1 ")
    assert _chart(page, "sensitivity-chart", "chart.data.datasets[0].data") == [
        row["uplift_s"] for row in ranking
    ]
    assert _chart(page, "sensitivity-chart", "chart.data.datasets[0].errorBars") == [
        [row["uplift_low_s"], row["uplift_high_s"]] for row in ranking
    ]
    lags = api.get(
        "/correlation",
        params={
            "line_id": line_id,
            "period": period,
            "variable": "precipitation_mm",
            "y_kind": y_kind,
        },
    ).json()
    lags.sort(key=lambda row: row["lag_h"])
    assert [row["lag_h"] for row in lags] == [0, 1, 2, 3]
    assert _chart(page, "lag-chart", "chart.data.datasets[0].data") == [
        row["pearson_r"] for row in lags
    ]
    assert _chart(page, "lag-chart", "chart.data.datasets[0].errorBars") == [
        [row["ci_low_adj"], row["ci_high_adj"]] for row in lags
    ]
    for canvas in ("sensitivity-chart", "lag-chart"):
        assert _painted(page, canvas) > 1000, canvas


def _anomaly_points(
    api: httpx.Client, line_id: str, start: str, end: str
) -> list[tuple[float, float]]:
    """(precipitation, delay anomaly) of each location-hour in [start, end), baseline over
    the whole history per location, UTC weekday and hour (DESIGN.md build_resources(5)."""
    history = api.get("/kpi/hourly", params={"line_id": line_id, "limit": 5000}).json()
    sums: dict[tuple[str, int, int], list[float]] = {}
    for row in history:
        when = datetime.fromisoformat(row["hour"])
        sums.setdefault((row["location_id"], when.weekday(), when.hour), []).append(
            row["mean_delay_s"]
        )
    points = []
    for row in history:
        if not start <= row["hour"] < end:
            continue
        when = datetime.fromisoformat(row["hour"])
        values = sums[(row["location_id"], when.weekday(), when.hour)]
        anomaly = row["mean_delay_s"] - sum(values) / len(values)
        points.append((round(row["precipitation_mm"], 6), round(anomaly, 6)))
    assert len(points) == 2 * 48  # two locations × 48 hours
    assert any(abs(y) > 1 for _, y in points)
    return sorted(points)


def _chart(page: Any, canvas: str, script: str) -> Any:
    return page.evaluate(f"() => {{ const chart = Chart.getChart('{canvas}'); return {script}; }}")


def _painted(page: Any, canvas: str) -> int:
    """How many pixels of the canvas are not transparent (0 = nothing drawn)."""
    return int(
        page.evaluate(
            """(id) => {
                const c = document.getElementById(id);
                const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                let n = 0;
                for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) n++;
                return n;
            }""",
            canvas,
        )
    )


def test_dashboard_shows_the_api_numbers_and_follows_the_selectors(
    browser: Any, live: LiveServer
) -> None:
    errors: list[str] = []
    page = browser.new_page(viewport={"width": 1280, "height": 1300})
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    api = httpx.Client(base_url=live.url)

    page.goto(live.url + "/")
    _wait_ready(page, f"{NETWORK}|*|all|precipitation_mm|0|raw||")
    assert "gate passed" in page.locator("#freshness").inner_text()

    # Defaults: the all-lines rows of the whole history, raw delay.
    _check_cards(page, api, "*", "all", "raw")
    for canvas in ("class-chart", "scatter-chart", "series-chart"):
        assert _painted(page, canvas) > 1000, canvas
    classes = _chart(page, "class-chart", "chart.data.labels")
    assert classes[0] == "Dry"
    assert "Wet (rain or snow)" in classes
    hourly_total = int(api.get("/kpi/hourly", params={"line_id": "*"}).headers["X-Total-Count"])
    assert _chart(page, "scatter-chart", "chart.data.datasets[0].data.length") == hourly_total
    assert _chart(page, "scatter-chart", "chart.data.datasets[1].data.length") == 2
    hours = _chart(page, "series-chart", "chart.data.labels.length")
    assert hours == 24 * 14
    _check_outlook(page, api, "*")

    # Lines are offered by name where the deployment names them.
    options = page.locator("#line option").all_inner_texts()
    assert options == ["All lines", "Harbour Express (L1)", "L2"]

    page.select_option("#line", "L1")
    _wait_ready(page, f"{NETWORK}|L1|all|precipitation_mm|0|raw||")
    _check_cards(page, api, "L1", "all", "raw")

    page.select_option("#period", "2024-04")
    _wait_ready(page, f"{NETWORK}|L1|2024-04|precipitation_mm|0|raw||")
    _check_cards(page, api, "L1", "2024-04", "raw")

    page.check('input[name="ykind"][value="anomaly"]')
    _wait_ready(page, f"{NETWORK}|L1|2024-04|precipitation_mm|0|anomaly||")
    _check_cards(page, api, "L1", "2024-04", "anomaly")
    assert "anomaly" in _chart(page, "series-chart", "chart.data.datasets[0].label").lower()

    page.fill("#start", "2024-03-30")
    page.fill("#end", "2024-04-01")
    page.locator("#end").dispatch_event("change")
    _wait_ready(page, f"{NETWORK}|L1|2024-04|precipitation_mm|0|anomaly|2024-03-30|2024-04-01")
    assert _chart(page, "series-chart", "chart.data.labels.length") == 48
    points = _chart(page, "scatter-chart", "chart.data.datasets[0].data.map((p) => [p.x, p.y])")
    assert sorted((round(x, 6), round(y, 6)) for x, y in points) == _anomaly_points(
        api, "L1", "2024-03-30T00:00:00Z", "2024-04-01T00:00:00Z"
    )

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    assert errors == []


def _check_outlook(page: Any, api: httpx.Client, line: str) -> None:
    """The "next 48 h" panel (issue 20): per forecast hour, the mean over the line's weather
    locations of the published expected delay, and the forecast precipitation beside it.

    Mutation: drop `renderOutlook(outlook)` from `refresh` in web/app.js → no hours: red."""
    rows = api.get("/kpi/outlook", params={"line_id": line, "limit": 1000}).json()
    frame = pd.DataFrame([r for r in rows if r["expected_mean_delay_s"] is not None])
    assert len(frame) > 0
    per_hour = frame.groupby("hour")[["expected_mean_delay_s", "precipitation_mm"]].mean()
    assert _painted(page, "outlook-chart") > 1000
    delays = _chart(page, "outlook-chart", "chart.data.datasets[0].data")
    rain = _chart(page, "outlook-chart", "chart.data.datasets[1].data")
    assert len(delays) == len(per_hour)
    assert delays == pytest.approx(list(per_hour["expected_mean_delay_s"]))
    assert rain == pytest.approx(list(per_hour["precipitation_mm"]))
    assert "forecast issued" in page.locator("#outlook-caption").inner_text()
    _check_outlook_strip(page, api)


def _check_outlook_strip(page: Any, api: httpx.Client) -> None:
    """The heat strip: one row per line, each forecast hour's cell holding the largest
    expected delay over the line's weather locations (DESIGN.md §8).

    Mutation: `value > seen` → `value < seen` in `renderOutlookStrip` (the best place, not
    the worst) → the cells differ from the worst-location maxima: red."""
    rows = api.get("/kpi/outlook", params={"limit": 5000}).json()
    frame = pd.DataFrame([r for r in rows if r["expected_mean_delay_s"] is not None])
    worst = frame.groupby(["line_id", "hour"])["expected_mean_delay_s"].max()
    cells = page.eval_on_selector_all(
        "#outlook-strip td[data-delay]",
        "tds => tds.map(td => [td.dataset.line, td.dataset.hour, Number(td.dataset.delay)])",
    )
    assert len(cells) == len(worst)
    shown = {(line, hour): delay for line, hour, delay in cells}
    assert shown == pytest.approx({key: float(value) for key, value in worst.items()})
    assert page.locator("#outlook-strip tbody tr").count() == frame["line_id"].nunique()


def _minute(moment: Any) -> str:
    return pd.Timestamp(moment).strftime("%Y-%m-%d %H:%M")


def _series(page: Any) -> tuple[list[str], list[float | None]]:
    labels = _chart(page, "series-chart", "chart.data.labels")
    delays = _chart(page, "series-chart", "chart.data.datasets[0].data")
    return labels, delays


def test_a_year_shows_its_data_span_and_daily_points(
    browser: Any, settings: Settings, lake: Lake, tmp_path: Path
) -> None:
    """The header's dates are the data's first and last hour, the publication time is
    apart, and a year is drawn one point per day (the API's daily rows) while a week or a
    ten-day network stays hourly.

    Mutations: in app.js `freshness()`, show the newest table `updated_at` or
    `published_at` as the span → the header assertion is red; make `seriesGrain` answer
    "hour" → ~13,000 points, red; weight the daily delay by departures instead of
    departures − cancelled in `_daily.py` → the first day's delay differs, red.
    """
    publication, tables = write_year_gold(lake)
    departures = tables["punctuality_hourly"]
    hourly = tables["mobility_weather_hourly"]
    errors: list[str] = []
    site = _web_copy(tmp_path, {})
    with LiveServer(create_app(build_resources(settings), web_dir=site)) as server:
        page = browser.new_page(viewport={"width": 1280, "height": 1300})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(server.url + "/")
        _wait_ready(page, f"{YEAR}|*|all|precipitation_mm|0|raw||")

        # The span of the data, not of the publication.
        year = departures[departures["network"] == YEAR]["hour"]
        weather = hourly[hourly["network"] == YEAR]["hour"]
        span = page.locator("#data-span").inner_text()
        assert span == (
            f"Data {_minute(year.min())} – {_minute(year.max())} UTC "
            f"(with weather {_minute(weather.min())} – {_minute(weather.max())})"
        )
        assert span.startswith("Data 2025-01-01 04:00 – 2025-12-31 22:00 UTC")
        published = page.locator("#published").inner_text()
        assert f"published {_minute(publication.published_at)} UTC" in published
        assert _minute(publication.published_at) not in span
        assert "gate passed" in published

        # A year: one point per UTC day, aggregated by the API.
        assert page.locator("main").get_attribute("data-grain") == "day"
        labels, delays = _series(page)
        all_lines = hourly[(hourly["network"] == YEAR) & (hourly["line_id"] == "*")]
        days = all_lines["hour"].dt.strftime("%Y-%m-%d")
        assert labels == sorted(days.unique())
        assert len(labels) <= 400
        first_day = all_lines[days == labels[0]]
        kept = first_day["departures"] - first_day["cancelled"]
        expected = float((first_day["mean_delay_s"] * kept).sum() / kept.sum())
        assert delays[0] == pytest.approx(expected, rel=1e-9)
        assert _painted(page, "series-chart") > 1000
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "dashboard-year.png"), full_page=True)

        # A week of the same network: hourly again.
        page.fill("#start", "2025-03-03")
        page.fill("#end", "2025-03-10")
        page.locator("#end").dispatch_event("change")
        _wait_ready(page, f"{YEAR}|*|all|precipitation_mm|0|raw|2025-03-03|2025-03-10")
        assert page.locator("main").get_attribute("data-grain") == "hour"
        labels, _ = _series(page)
        assert len(labels) == 7 * 18  # service hours 05:00-22:00
        assert labels[0] == "2025-03-03 05h"

        # Another network: its own span, ten days of hours.
        page.fill("#start", "")
        page.fill("#end", "")
        page.select_option("#network", SHORT)
        _wait_ready(page, f"{SHORT}|*|all|precipitation_mm|0|raw||")
        short = departures[departures["network"] == SHORT]["hour"]
        assert page.locator("#data-span").inner_text() == (
            f"Data {_minute(short.min())} – {_minute(short.max())} UTC"
        )
        assert page.locator("main").get_attribute("data-grain") == "hour"
        labels, _ = _series(page)
        assert len(labels) == short.nunique() == 10 * 16
    assert errors == []


def test_dashboard_is_keyboard_usable_and_fits_a_phone(browser: Any, live: LiveServer) -> None:
    errors: list[str] = []
    page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(live.url + "/")
    _wait_ready(page)
    # No horizontal scrolling on a phone.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    # Every control has a label.
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('select, input')].filter(
            (el) => !(el.labels && el.labels.length)).map((el) => el.id || el.name)"""
    )
    assert unlabelled == []
    page.keyboard.press("Tab")  # the skip link
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "line"
    before = page.locator("#card-ontime .value").get_attribute("data-value")
    page.keyboard.press("ArrowDown")
    page.wait_for_function(
        f"document.querySelector('#card-ontime .value').dataset.value !== '{before}'"
    )
    _wait_ready(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard-phone.png"), full_page=True)
    assert errors == []


def test_dashboard_error_state_before_any_publication(
    browser: Any, settings: Settings, tmp_path: Path
) -> None:
    with LiveServer(
        create_app(build_resources(settings), web_dir=_web_copy(tmp_path, {}))
    ) as server:
        page = browser.new_page()
        page.goto(server.url + "/")
        page.wait_for_selector('#status[data-state="error"]', state="attached", timeout=15_000)
        assert "no gold has been published yet" in page.locator("#status").inner_text()
        assert page.locator("#status").get_attribute("role") == "alert"


def test_dashboard_empty_state(browser: Any, live: LiveServer) -> None:
    page = browser.new_page()
    page.goto(live.url + "/")
    _wait_ready(page)
    page.fill("#start", "2030-01-01")
    page.fill("#end", "2030-01-02")
    page.locator("#end").dispatch_event("change")
    page.wait_for_selector('#status[data-state="empty"]', state="attached", timeout=15_000)
    assert "No hourly data" in page.locator("#status").inner_text()


def test_api_docs_render_with_no_other_origin(browser: Any, live: LiveServer) -> None:
    """Swagger UI at /docs draws the API's operations while every request to another
    origin is refused, as on an offline or locked-down network.

    Mutation: serve FastAPI's default `/docs` (CDN assets) → nothing renders and the
    refused list names cdn.jsdelivr.net, red.
    """
    refused: list[str] = []
    errors: list[str] = []
    page = browser.new_page()

    def only_same_origin(route: Any) -> None:
        if route.request.url.startswith(live.url + "/"):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    page.route("**/*", only_same_origin)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(live.url + "/docs")
    page.wait_for_selector(".swagger-ui .info .title", timeout=15_000)
    assert "umwi KPI API" in page.locator(".swagger-ui .info .title").inner_text()
    page.wait_for_selector('.opblock-summary-path[data-path="/kpi/weather-impact"]')
    assert refused == []
    assert errors == []
