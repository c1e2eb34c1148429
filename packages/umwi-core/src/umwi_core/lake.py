"""Lake storage: one interface, a local folder or an S3 prefix behind it.

Keys are `/`-separated paths relative to the lake root (`gold/_published.json`).
Every write is atomic: a reader sees the old object or the new one, never a part.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol, runtime_checkable


@runtime_checkable
class Lake(Protocol):
    """Object storage under the lake root."""

    @property
    def root(self) -> str:
        """The lake root URI: an absolute folder or `s3://bucket/prefix`."""

    def uri(self, key: str) -> str:
        """The URI of `key` as other tools (deltalake, DuckDB) spell it."""

    def read_bytes(self, key: str) -> bytes:
        """The object's bytes; `FileNotFoundError` when absent."""

    def read_versioned(self, key: str) -> tuple[bytes, str] | None:
        """The object's bytes and a version token for `write_bytes(if_match=…)`, or None."""

    def write_bytes(
        self,
        key: str,
        data: bytes,
        *,
        if_match: str | None = None,
        if_absent: bool = False,
    ) -> str:
        """Write atomically and return the new version token.

        `if_match` only replaces the object whose token is that; `if_absent` only creates.
        A lost condition raises `ConflictError` and changes nothing.
        """

    def write_file(self, key: str, path: Path) -> str:
        """Copy a local file to `key` atomically, streaming (memory stays flat)."""

    def exists(self, key: str) -> bool: ...

    def list(self, prefix: str) -> Iterator[str]:
        """Keys under `prefix` (recursive), in lexicographic order."""

    def delete(self, key: str) -> None:
        """Remove one object; absent is fine."""

    def storage_options(self) -> dict[str, str]:
        """Options for deltalake / object_store to reach this lake."""

    def local_path(self, key: str) -> Path | None:
        """The file holding `key` when the lake is a local folder, else None."""
