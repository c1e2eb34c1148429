"""The reader reaches the routes through `deps.get_reader`, so a test can replace it."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from umwi_api import create_app
from umwi_api.deps import get_reader
from umwi_api.queries import GoldReader
from umwi_core.publication import Publication
from umwi_core.resources import build_resources, make_lake
from umwi_core.settings import Settings, load_settings

from tests.api.gold_sample import write_sample_gold


def test_dependency_override_replaces_the_reader(
    settings: Settings, gold: Publication, tmp_path: Path
) -> None:
    """Answers come from the overriding reader, even for a request the app's own reader has
    already answered (and cached).

    Mutation: read `request.app.state.reader` in a route instead of declaring `ReaderDep`
    (the reader captured, not injected), or drop the override check in
    `_fastpath._reader` → the app's own publication is served, red.
    """
    app = create_app(build_resources(settings), serve_web=False)
    other = load_settings(state_dir=tmp_path / "other")
    replacement = write_sample_gold(make_lake(other), publication_id="pub-20240501T000000Z-x")
    reader = GoldReader(build_resources(other))
    paths = ("/kpi/weather-impact", "/kpi/hourly", "/correlation", "/lines")
    with TestClient(app) as client:
        for path in paths:
            assert client.get(path).headers["ETag"] == f'"{gold.publication_id}"'
        app.dependency_overrides[get_reader] = lambda: reader
        for path in paths:
            response = client.get(path)
            assert response.status_code == 200, (path, response.text)
            assert response.headers["ETag"] == f'"{replacement.publication_id}"', path
        freshness = client.get("/freshness").json()
        assert freshness["publication_id"] == replacement.publication_id
