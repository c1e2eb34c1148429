"""`/docs` is Swagger UI from same-origin assets: it works with no network."""

from __future__ import annotations

from html.parser import HTMLParser

from fastapi.testclient import TestClient
from umwi_api import create_app
from umwi_core.resources import build_resources
from umwi_core.settings import Settings


class _References(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found += [value for name, value in attrs if name in ("src", "href") and value]


def test_docs_reference_only_same_origin_assets(client: TestClient) -> None:
    """Mutation: build the app with FastAPI's default `docs_url="/docs"` (CDN assets) and no
    `install_docs` → the page names cdn.jsdelivr.net, red."""
    page = client.get("/docs")
    assert page.status_code == 200
    assert "http://" not in page.text
    assert "https://" not in page.text
    parser = _References()
    parser.feed(page.text)
    assert len(parser.found) >= 3, parser.found  # stylesheet, icon, script
    for reference in parser.found:
        assert reference.startswith("/"), reference
        assert not reference.startswith("//"), reference  # another host, scheme-relative
        asset = client.get(reference)
        assert asset.status_code == 200, reference
        assert len(asset.content) > 1000, reference
    assert "url: '/openapi.json'" in page.text
    assert '"validatorUrl": null' in page.text  # its badge is an image from elsewhere


def test_docs_are_not_offered_without_local_serving(settings: Settings) -> None:
    with TestClient(create_app(build_resources(settings), serve_web=False)) as client:
        assert client.get("/docs").status_code == 404
        assert client.get("/docs/assets/swagger-ui-bundle.js").status_code == 404
        assert client.get("/openapi.json").status_code == 200
