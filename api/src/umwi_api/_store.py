"""The serving copies of published gold, loaded into an in-memory DuckDB.

Gold is small: loading each serving Parquet file once per publication makes every request a
query on memory. On aws the files are read from S3 through DuckDB's httpfs, loaded by path
from the `duckdb_extension_httpfs` package (Lambda cannot download extensions).

DuckDB is imported and its connection opened on the first query, not when the store is
made: the Lambda handler makes the store at import, and a cold start that answers `/health`
or a cached request never needs DuckDB (api/README.md, "Lambda bundle").
"""

from __future__ import annotations

import hashlib
import importlib.util
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from umwi_core.contracts import GOLD_CONTRACTS, OUTLOOK_HOURLY_TABLE, ColumnType
from umwi_core.errors import LakeError
from umwi_core.lake import Lake
from umwi_core.publication import Publication
from umwi_core.resources import Resources, S3Access

if TYPE_CHECKING:
    import duckdb

DUCKDB_VERSION = "v1.5.5"
# On Lambda the temporary folder is /tmp, the only writable place.
SCRATCH = Path(tempfile.gettempdir()) / "umwi-duckdb"


def httpfs_extension_path() -> Path:
    spec = importlib.util.find_spec("duckdb_extension_httpfs")
    if spec is None or spec.origin is None:
        raise LakeError("the duckdb-extension-httpfs package is missing; S3 reads need it")
    package = Path(spec.origin).parent
    return package / "extensions" / DUCKDB_VERSION / "httpfs.duckdb_extension"


_SQL_TYPES: dict[ColumnType, str] = {
    "string": "VARCHAR",
    "timestamp_us_utc": "TIMESTAMPTZ",
    "int16": "SMALLINT",
    "int32": "INTEGER",
    "int64": "BIGINT",
    "float64": "DOUBLE",
    "bool": "BOOLEAN",
}


def _literal(value: str) -> str:
    # CREATE SECRET takes no prepared parameters; quoting is the only way in.
    return "'" + value.replace("'", "''") + "'"


class ServingStore:
    """Per publication, one DuckDB table per gold table, loaded on first use."""

    def __init__(self, resources: Resources) -> None:
        self._lake: Lake = resources.lake
        self._s3: S3Access | None = resources.s3_access
        self._lock = threading.Lock()
        self._loaded: dict[tuple[str, str], str] = {}
        self._columns: dict[tuple[str, str], frozenset[str]] = {}
        self._opening = threading.Lock()  # not `_lock`: a table load holds that one
        self._opened: duckdb.DuckDBPyConnection | None = None

    def open(self) -> duckdb.DuckDBPyConnection:
        """The DuckDB connection, opened now if no query has opened it yet."""
        opened = self._opened
        if opened is None:
            with self._opening:
                if self._opened is None:
                    self._opened = self._connect()
                opened = self._opened
        return opened

    @property
    def _connection(self) -> duckdb.DuckDBPyConnection:
        return self.open()

    def _connect(self) -> duckdb.DuckDBPyConnection:
        import duckdb

        if self._s3 is None:
            connection = duckdb.connect(":memory:")
            connection.execute("SET TimeZone = 'UTC'")
            return connection
        home = SCRATCH / "home"
        extensions = SCRATCH / "extensions"
        home.mkdir(parents=True, exist_ok=True)
        extensions.mkdir(parents=True, exist_ok=True)
        connection = duckdb.connect(
            ":memory:",
            config={
                "home_directory": str(home),
                "extension_directory": str(extensions),
                "autoinstall_known_extensions": "false",
                "autoload_known_extensions": "false",
            },
        )
        connection.execute("SET TimeZone = 'UTC'")
        connection.execute(f"INSTALL {_literal(str(httpfs_extension_path()))}")
        connection.execute("LOAD httpfs")
        return connection

    def _refresh_secret(self, s3: S3Access) -> None:
        """An S3 secret from the current (temporary, on Lambda) credentials."""
        key_id, secret, token = s3.credentials()
        parts = [
            "TYPE s3",
            f"KEY_ID {_literal(key_id)}",
            f"SECRET {_literal(secret)}",
            f"REGION {_literal(s3.region)}",
        ]
        if token:
            parts.append(f"SESSION_TOKEN {_literal(token)}")
        endpoint = s3.endpoint_url
        if endpoint:
            split = urlsplit(endpoint)
            parts.append(f"ENDPOINT {_literal(split.netloc)}")
            parts.append("URL_STYLE 'path'")
            parts.append(f"USE_SSL {'true' if split.scheme == 'https' else 'false'}")
        self._connection.execute(f"CREATE OR REPLACE SECRET umwi_lake ({', '.join(parts)})")

    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        # A cursor per query: DuckDB connections are not shared across threads.
        cursor = self._connection.cursor()
        try:
            yield cursor
        finally:
            cursor.close()

    def relation(self, publication: Publication, table: str) -> str:
        """The DuckDB table holding `table` at `publication`, loading it if needed."""
        key = (publication.publication_id, table)
        found = self._loaded.get(key)
        if found is not None:
            return found
        with self._lock:
            found = self._loaded.get(key)
            if found is None:
                found = self._load(publication, table)
        return found

    def optional_column(self, publication: Publication, table: str, column: str) -> str | None:
        self.relation(publication, table)
        columns = self._columns[(publication.publication_id, table)]
        return column if column in columns else None

    def _load(self, publication: Publication, table: str) -> str:
        import duckdb

        entry = publication.tables.get(table)
        digest = hashlib.sha256(publication.publication_id.encode()).hexdigest()[:16]
        name = f"gold_{table}_{digest}"
        if entry is None:
            if table != OUTLOOK_HOURLY_TABLE:
                raise LakeError(f"publication {publication.publication_id} has no table {table}")
            # Published before any forecast was (or before the outlook existed): no rows.
            columns = ", ".join(
                f"{column.name} {_SQL_TYPES[column.type]}"
                for column in GOLD_CONTRACTS[table].columns
            )
            with self.cursor() as cursor:
                cursor.execute(f"CREATE OR REPLACE TABLE {name} ({columns})")
            self._columns[(publication.publication_id, table)] = frozenset(
                GOLD_CONTRACTS[table].column_names
            )
            self._loaded[(publication.publication_id, table)] = name
            return name
        uri = self._lake.uri(entry.serving)
        if self._s3 is not None:
            self._refresh_secret(self._s3)
        try:
            with self.cursor() as cursor:
                cursor.execute(
                    f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM read_parquet(?)", [uri]
                )
                described: list[Any] = cursor.execute(f"DESCRIBE {name}").fetchall()
        except duckdb.Error as error:
            message = str(error).splitlines()[0]
            raise LakeError(f"cannot read the serving copy of {table} ({uri}): {message}") from None
        self._columns[(publication.publication_id, table)] = frozenset(
            str(row[0]) for row in described
        )
        self._forget_older(publication.publication_id, table, name)
        self._loaded[(publication.publication_id, table)] = name
        return name

    def _forget_older(self, publication_id: str, table: str, keep: str) -> None:
        # Keep the previous publication too: requests already running may still read it.
        older = [key for key in self._loaded if key[1] == table and key[0] != publication_id]
        for key in older[:-1]:
            name = self._loaded.pop(key)
            self._columns.pop(key, None)
            if name != keep:
                with self.cursor() as cursor:
                    cursor.execute(f"DROP TABLE IF EXISTS {name}")


__all__ = ["ServingStore", "httpfs_extension_path"]
