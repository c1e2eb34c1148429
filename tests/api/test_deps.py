"""The reader reaches the routes through `deps.get_reader`, so a test can replace it."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from umwi_api import create_app
from umwi_api.deps import get_reader
from umwi_api.queries import GoldReader
from umwi_core.resources import build_resources, make_lake
from umwi_core.settings import Settings, load_settings

from tests.api.gold_sample import write_sample_gold


def test_dependency_override_replaces_the_reader(settings: Settings, tmp_path: Path) -> None:
    """The app's own lake has nothing published; only the overriding reader can answer.

    Mutation: read `request.app.state.reader` in a route instead of declaring `ReaderDep`
    (the reader captured, not injected) → that route answers 503 and this fails.
    """
    app = create_app(build_resources(settings), serve_web=False)
    other = load_settings(state_dir=tmp_path / "other")
    publication = write_sample_gold(make_lake(other))
    reader = GoldReader(build_resources(other))
    app.dependency_overrides[get_reader] = lambda: reader
    with TestClient(app) as client:
        for path in ("/kpi/weather-impact", "/kpi/hourly", "/correlation", "/lines"):
            response = client.get(path)
            assert response.status_code == 200, (path, response.text)
            assert response.headers["ETag"] == f'"{publication.publication_id}"'
        assert client.get("/freshness").json()["publication_id"] == publication.publication_id

    app.dependency_overrides.clear()
    with TestClient(app) as client:
        assert client.get("/kpi/weather-impact").status_code == 503
