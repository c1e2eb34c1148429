"""The ledger in SQLite: one `BEGIN IMMEDIATE` transaction per claim serialises writers."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from umwi_core.errors import LedgerError
from umwi_core.ledger import DEFAULT_LEASE_S, WindowRecord, WindowStatus, lease_end, utc_now

_SCHEMA = """
CREATE TABLE IF NOT EXISTS windows (
    source TEXT NOT NULL,
    window TEXT NOT NULL,
    status TEXT NOT NULL,
    run_id TEXT NOT NULL,
    claimed_at TEXT NOT NULL,
    lease_until TEXT NOT NULL,
    finished_at TEXT,
    info TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (source, window)
)
"""


class SqliteLedger:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as connection:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            yield connection
        finally:
            connection.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    def claim(
        self,
        source: str,
        window: str,
        run_id: str,
        *,
        lease_s: float = DEFAULT_LEASE_S,
        force: bool = False,
    ) -> bool:
        now = utc_now()
        with self._transaction() as connection:
            row = connection.execute(
                "SELECT status, run_id, lease_until FROM windows WHERE source=? AND window=?",
                (source, window),
            ).fetchone()
            if row is not None:
                status, holder, lease_until = row
                live = datetime.fromisoformat(lease_until) > now
                if status == WindowStatus.DONE and not force:
                    return False
                if status == WindowStatus.RUNNING and live and holder != run_id:
                    return False
            connection.execute(
                "INSERT INTO windows (source, window, status, run_id, claimed_at, lease_until)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (source, window) DO UPDATE SET"
                " status=excluded.status, run_id=excluded.run_id,"
                " claimed_at=excluded.claimed_at, lease_until=excluded.lease_until,"
                " finished_at=NULL, info='{}'",
                (
                    source,
                    window,
                    WindowStatus.RUNNING.value,
                    run_id,
                    now.isoformat(),
                    lease_end(now, lease_s).isoformat(),
                ),
            )
        return True

    def renew(
        self, source: str, window: str, run_id: str, *, lease_s: float = DEFAULT_LEASE_S
    ) -> bool:
        with self._transaction() as connection:
            cursor = connection.execute(
                "UPDATE windows SET lease_until=? WHERE source=? AND window=? AND run_id=?"
                " AND status=?",
                (
                    lease_end(utc_now(), lease_s).isoformat(),
                    source,
                    window,
                    run_id,
                    WindowStatus.RUNNING.value,
                ),
            )
            return cursor.rowcount == 1

    def _finish(
        self, source: str, window: str, run_id: str, status: WindowStatus, info: dict[str, Any]
    ) -> None:
        with self._transaction() as connection:
            cursor = connection.execute(
                "UPDATE windows SET status=?, finished_at=?, info=? WHERE source=? AND window=?"
                " AND run_id=?",
                (
                    status.value,
                    utc_now().isoformat(),
                    json.dumps(info, default=str, sort_keys=True),
                    source,
                    window,
                    run_id,
                ),
            )
            if cursor.rowcount != 1:
                raise LedgerError(f"run {run_id} does not hold window {source}/{window}")

    def complete(self, source: str, window: str, run_id: str, info: dict[str, Any]) -> None:
        self._finish(source, window, run_id, WindowStatus.DONE, info)

    def fail(self, source: str, window: str, run_id: str, reason: str) -> None:
        self._finish(source, window, run_id, WindowStatus.FAILED, {"reason": reason})

    @staticmethod
    def _record(row: tuple[Any, ...]) -> WindowRecord:
        source, window, status, run_id, claimed_at, lease_until, finished_at, info = row
        return WindowRecord(
            source=source,
            window=window,
            status=WindowStatus(status),
            run_id=run_id,
            claimed_at=datetime.fromisoformat(claimed_at),
            lease_until=datetime.fromisoformat(lease_until),
            finished_at=datetime.fromisoformat(finished_at) if finished_at else None,
            info=json.loads(info),
        )

    def get(self, source: str, window: str) -> WindowRecord | None:
        with self._connect() as connection:
            row = connection.execute(
                "SELECT source, window, status, run_id, claimed_at, lease_until, finished_at,"
                " info FROM windows WHERE source=? AND window=?",
                (source, window),
            ).fetchone()
        return None if row is None else self._record(row)

    def records(self, source: str | None = None) -> list[WindowRecord]:
        query = (
            "SELECT source, window, status, run_id, claimed_at, lease_until, finished_at, info"
            " FROM windows"
        )
        parameters: tuple[str, ...] = ()
        if source is not None:
            query += " WHERE source=?"
            parameters = (source,)
        with self._connect() as connection:
            rows = connection.execute(query + " ORDER BY source, window", parameters).fetchall()
        return [self._record(row) for row in rows]
