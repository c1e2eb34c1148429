"""The dashboard on one origin calling the API on another, as in AWS (CloudFront → API
Gateway), with the allow-list that `umwi_core.cors.cors_policy` gives both sides."""

from __future__ import annotations

import json
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.staticfiles import StaticFiles
from umwi_api import create_app
from umwi_core.cors import CorsPolicy, cors_policy
from umwi_core.resources import build_resources, make_lake
from umwi_core.settings import load_settings

from tests.api.gold_sample import LINES, NETWORK, write_sample_gold
from tests.web.test_dashboard import (
    LiveServer,
    _check_cards,
    _wait_ready,
    _web_copy,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@dataclass
class Origins:
    site: LiveServer  # the static dashboard (web/ as deployed, config.json naming the API)
    api: LiveServer
    policy: CorsPolicy


def _start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, allow_dashboard: bool, stack: ExitStack
) -> Origins:
    site_dir = _web_copy(tmp_path, {})
    site = LiveServer(StaticFiles(directory=str(site_dir), html=True))
    # The stack's policy for a dashboard at the site's origin; without `allow_dashboard`,
    # the policy of some other dashboard (the browser must then refuse the answers).
    dashboard = site.url if allow_dashboard else "https://d111111abcdef8.cloudfront.net"
    policy = cors_policy(dashboard, ["https://dashboard.example.org"])
    for name, value in policy.environment().items():
        monkeypatch.setenv(name, value)
    settings = load_settings(state_dir=tmp_path / "state")
    assert settings.api_cors_origins == list(policy.origins)
    write_sample_gold(make_lake(settings))
    api = LiveServer(create_app(build_resources(settings), serve_web=False))
    (site_dir / "config.json").write_text(
        json.dumps({"apiUrl": api.url, "lineNames": {NETWORK: {"L1": LINES["L1"]}}})
    )
    stack.enter_context(api)
    stack.enter_context(site)
    return Origins(site=site, api=api, policy=policy)


def _collect_errors(page: Any) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def test_dashboard_reads_the_api_across_origins(
    browser: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Mutation: leave the dashboard's origin out of `cors_policy` (umwi_core/cors.py), or
    `X-Total-Count` out of EXPOSED_HEADERS, and this fails."""
    with ExitStack() as stack:
        origins = _start(tmp_path, monkeypatch, allow_dashboard=True, stack=stack)
        assert origins.site.port != origins.api.port
        page = browser.new_page(viewport={"width": 1280, "height": 1300})
        errors = _collect_errors(page)
        page.goto(origins.site.url + "/")
        _wait_ready(page, f"{NETWORK}|*|all|precipitation_mm|0|raw||")
        api = httpx.Client(base_url=origins.api.url)
        _check_cards(page, api, "*", "all", "raw")
        # The paging header and the validator are readable by the page's own script.
        seen = page.evaluate(
            """async (base) => {
                const r = await fetch(base + "/kpi/hourly?line_id=*&limit=1");
                return [r.headers.get("X-Total-Count"), r.headers.get("ETag")];
            }""",
            origins.api.url,
        )
        direct = api.get("/kpi/hourly", params={"line_id": "*", "limit": 1})
        assert seen == [direct.headers["X-Total-Count"], direct.headers["ETag"]]
        assert int(seen[0]) > 0
        assert errors == []


def test_dashboard_of_another_origin_is_refused(
    browser: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same set-up with a policy for another dashboard: the browser blocks the API."""
    with ExitStack() as stack:
        origins = _start(tmp_path, monkeypatch, allow_dashboard=False, stack=stack)
        page = browser.new_page()
        errors = _collect_errors(page)
        page.goto(origins.site.url + "/")
        page.wait_for_selector('#status[data-state="error"]', state="attached", timeout=15_000)
        assert "cannot be reached" in page.locator("#status").inner_text()
        assert any("CORS" in error for error in errors), errors
