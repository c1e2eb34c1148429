"""The lake as an S3 prefix: single PUTs are atomic; conditional PUTs guard pointers."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Any

from umwi_core._aws import aws_client
from umwi_core.errors import ConflictError, LakeError
from umwi_core.settings import Settings


def split_s3_uri(uri: str) -> tuple[str, str]:
    rest = uri.removeprefix("s3://")
    bucket, _, prefix = rest.partition("/")
    return bucket, prefix.strip("/")


class S3Lake:
    def __init__(self, root: str, settings: Settings) -> None:
        self._root = root.rstrip("/")
        self._bucket, self._prefix = split_s3_uri(self._root)
        self._settings = settings

    @cached_property
    def client(self) -> Any:
        return aws_client("s3", self._settings)

    @property
    def root(self) -> str:
        return self._root

    @property
    def bucket(self) -> str:
        return self._bucket

    def key(self, key: str) -> str:
        clean = key.strip("/")
        if ".." in clean.split("/"):
            raise LakeError(f"lake key {key!r} points outside the lake")
        return f"{self._prefix}/{clean}" if self._prefix else clean

    def uri(self, key: str) -> str:
        return f"s3://{self._bucket}/{self.key(key)}"

    def _error_code(self, error: Exception) -> str:
        response = getattr(error, "response", None) or {}
        return str(response.get("Error", {}).get("Code", ""))

    def read_bytes(self, key: str) -> bytes:
        found = self.read_versioned(key)
        if found is None:
            raise FileNotFoundError(self.uri(key))
        return found[0]

    def read_versioned(self, key: str) -> tuple[bytes, str] | None:
        from botocore.exceptions import ClientError

        try:
            response = self.client.get_object(Bucket=self._bucket, Key=self.key(key))
        except ClientError as error:
            if self._error_code(error) in ("NoSuchKey", "404", "NotFound"):
                return None
            raise LakeError(f"cannot read {self.uri(key)}: {self._error_code(error)}") from None
        return response["Body"].read(), str(response["ETag"])

    def write_bytes(
        self,
        key: str,
        data: bytes,
        *,
        if_match: str | None = None,
        if_absent: bool = False,
    ) -> str:
        from botocore.exceptions import ClientError

        arguments: dict[str, Any] = {"Bucket": self._bucket, "Key": self.key(key), "Body": data}
        if if_match is not None:
            arguments["IfMatch"] = if_match
        if if_absent:
            arguments["IfNoneMatch"] = "*"
        try:
            response = self.client.put_object(**arguments)
        except ClientError as error:
            code = self._error_code(error)
            if code in ("PreconditionFailed", "412", "ConditionalRequestConflict", "409"):
                raise ConflictError(f"{self.uri(key)} changed since it was read") from None
            raise LakeError(f"cannot write {self.uri(key)}: {code}") from None
        return str(response["ETag"])

    def write_file(self, key: str, path: Path) -> str:
        from boto3.s3.transfer import TransferConfig
        from botocore.exceptions import ClientError

        # A multipart upload streams the file; the object only appears once it completes.
        try:
            self.client.upload_file(
                str(path),
                self._bucket,
                self.key(key),
                Config=TransferConfig(multipart_chunksize=16 << 20),
            )
            head = self.client.head_object(Bucket=self._bucket, Key=self.key(key))
        except ClientError as error:
            raise LakeError(f"cannot write {self.uri(key)}: {self._error_code(error)}") from None
        return str(head["ETag"])

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self._bucket, Key=self.key(key))
        except ClientError as error:
            if self._error_code(error) in ("NoSuchKey", "404", "NotFound"):
                return False
            raise LakeError(f"cannot read {self.uri(key)}: {self._error_code(error)}") from None
        return True

    def list(self, prefix: str) -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        full = self.key(prefix)
        strip = f"{self._prefix}/" if self._prefix else ""
        for page in paginator.paginate(Bucket=self._bucket, Prefix=full):
            for item in page.get("Contents", []):
                yield str(item["Key"]).removeprefix(strip)

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self._bucket, Key=self.key(key))

    def storage_options(self) -> dict[str, str]:
        options = {"AWS_REGION": self._settings.aws_region}
        endpoint = self._settings.endpoint_url
        if endpoint:
            options["AWS_ENDPOINT_URL"] = endpoint
            if endpoint.startswith("http://"):
                options["AWS_ALLOW_HTTP"] = "true"
        return options

    def local_path(self, key: str) -> Path | None:
        return None
