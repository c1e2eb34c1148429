"""The vendored Chart.js is the one its SHA256SUMS, VERSION and licence describe."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

WEB = Path(__file__).resolve().parents[2] / "web"
VENDOR = WEB / "vendor"


def test_vendored_files_match_their_sha256() -> None:
    lines = (VENDOR / "SHA256SUMS").read_text().splitlines()
    listed = {}
    for line in lines:
        digest, name = line.split(maxsplit=1)
        listed[name.strip()] = digest
    assert set(listed) == {"chart.umd.min.js", "LICENSE"}
    for name, digest in listed.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name


def test_version_licence_and_build_agree() -> None:
    version = re.match(r"chart\.js (\d+\.\d+\.\d+) ", (VENDOR / "VERSION").read_text())
    assert version is not None
    assert "MIT License" in (VENDOR / "LICENSE").read_text()
    head = (VENDOR / "chart.umd.min.js").read_text()[:300]
    assert f"Chart.js v{version.group(1)}" in head
    assert 'VERSION="${1:-' + version.group(1) + '}"' in (WEB / "vendor.sh").read_text()


def test_the_site_loads_nothing_from_elsewhere() -> None:
    for page in ("index.html", "app.js", "style.css"):
        text = (WEB / page).read_text()
        assert not re.search(r"(src|href)=\"(https?:)?//", text), page
        assert "cdn" not in text.lower(), page
