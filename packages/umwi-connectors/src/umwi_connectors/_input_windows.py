"""Windows of `INPUTS` sources: a poll's UTC minute, or the digest of the inputs read."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

from umwi_core import InputError

__all__ = ["digest", "file_digest", "poll_window"]


def digest(*parts: bytes | str) -> str:
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(part.encode() if isinstance(part, str) else part)
        hasher.update(b"\0")
    return "sha256:" + hasher.hexdigest()[:32]


def file_digest(path: Path, option: str) -> bytes:
    """The SHA-256 of a file; `InputError` naming `option` when it cannot be read."""
    try:
        hasher = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                hasher.update(block)
        return hasher.digest()
    except FileNotFoundError:
        raise InputError(f"{option}: no such file: {path}") from None
    except OSError as error:
        raise InputError(f"{option}: cannot read {path}: {error.strerror}") from None


def poll_window(now: datetime) -> str:
    """A poll's window is its UTC minute: polling twice in a minute adds nothing."""
    return "poll:" + now.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")
