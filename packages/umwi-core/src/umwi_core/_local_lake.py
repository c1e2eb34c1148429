"""The lake as a local folder: atomic writes by temporary file + rename."""

from __future__ import annotations

import fcntl
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from umwi_core.errors import ConflictError, LakeError


def _token(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class LocalLake:
    def __init__(self, root: str | Path) -> None:
        self._root = Path(root).resolve()
        self._root.mkdir(parents=True, exist_ok=True)

    @property
    def root(self) -> str:
        return str(self._root)

    def path(self, key: str) -> Path:
        clean = key.strip("/")
        path = (self._root / clean).resolve()
        if path != self._root and self._root not in path.parents:
            raise LakeError(f"lake key {key!r} points outside the lake")
        return path

    def uri(self, key: str) -> str:
        return str(self.path(key))

    def read_bytes(self, key: str) -> bytes:
        return self.path(key).read_bytes()

    def read_versioned(self, key: str) -> tuple[bytes, str] | None:
        try:
            data = self.read_bytes(key)
        except FileNotFoundError:
            return None
        return data, _token(data)

    def write_bytes(
        self,
        key: str,
        data: bytes,
        *,
        if_match: str | None = None,
        if_absent: bool = False,
    ) -> str:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        if if_match is None and not if_absent:
            self._replace(target, data)
            return _token(data)
        # A lock file serialises conditional writers on this machine; the rename keeps
        # readers (which take no lock) from ever seeing a partial object.
        lock_path = target.with_name(target.name + ".lock")
        with open(lock_path, "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            current = self.read_versioned(key)
            if if_absent and current is not None:
                raise ConflictError(f"{key} already exists")
            if if_match is not None and (current is None or current[1] != if_match):
                raise ConflictError(f"{key} changed since it was read")
            self._replace(target, data)
        return _token(data)

    @staticmethod
    def _replace(target: Path, data: bytes) -> None:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def write_file(self, key: str, path: Path) -> str:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        digest = hashlib.sha256()
        try:
            with os.fdopen(fd, "wb") as handle, open(path, "rb") as source:
                while chunk := source.read(1 << 20):
                    digest.update(chunk)
                    handle.write(chunk)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest.hexdigest()

    def exists(self, key: str) -> bool:
        return self.path(key).exists()

    def list(self, prefix: str) -> Iterator[str]:
        base = self.path(prefix)
        if base.is_file():
            yield prefix.strip("/")
            return
        if not base.exists():
            return
        found = sorted(
            str(p.relative_to(self._root)).replace(os.sep, "/")
            for p in base.rglob("*")
            if p.is_file() and not p.name.endswith((".tmp", ".lock"))
        )
        yield from found

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def storage_options(self) -> dict[str, str]:
        return {}

    def local_path(self, key: str) -> Path | None:
        return self.path(key)
