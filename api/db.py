"""All of the service's SQL: the ``jobs`` and ``api_keys`` tables.

They live in the core's embedded SQLite file (``get_settings().store_path``) beside the
manifest store's tables, opened through :class:`provenant.sqlite.SqliteDatabase` (WAL, one
short-lived connection per operation, so one object is safe to share between threads and
server processes). State changes are single UPDATE statements, atomic on their own.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provenant.errors import NotFoundError, StoreError
from provenant.sqlite import SqliteDatabase, failure_hint

__all__ = ["JobRecord", "KeyRecord", "Database", "open_database"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id        TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,
    state         TEXT NOT NULL,
    owner_key     TEXT,
    worker        TEXT,
    params        TEXT NOT NULL,
    input_path    TEXT,
    result        TEXT,
    result_path   TEXT,
    error_code    TEXT,
    error_message TEXT,
    created_at    REAL NOT NULL,
    started_at    REAL,
    finished_at   REAL
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state);
CREATE TABLE IF NOT EXISTS api_keys (
    key_id       TEXT PRIMARY KEY,
    name         TEXT,
    secret_hash  TEXT NOT NULL,
    scopes       TEXT NOT NULL,
    created_at   REAL NOT NULL,
    revoked_at   REAL
);
"""

_JOB_COLUMNS = ("job_id, kind, state, owner_key, worker, params, input_path, result, result_path,"
                " error_code, error_message, created_at, started_at, finished_at")


@dataclass(frozen=True)
class JobRecord:
    job_id: str
    kind: str
    state: str  # queued | running | succeeded | failed
    owner_key: str | None = None
    worker: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    input_path: str | None = None
    result: dict[str, Any] | None = None
    result_path: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    created_at: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None


@dataclass(frozen=True)
class KeyRecord:
    key_id: str
    name: str | None
    secret_hash: str
    scopes: tuple[str, ...]
    created_at: float
    revoked_at: float | None = None


def _job(row: tuple[Any, ...]) -> JobRecord:
    (jid, kind, state, owner, worker, params, inp, result, rpath, ecode, emsg,
     created, started, finished) = row
    return JobRecord(jid, kind, state, owner, worker, json.loads(params), inp,
                     json.loads(result) if result else None, rpath, ecode, emsg,
                     created, started, finished)


class Database(SqliteDatabase):
    """Repository of jobs and API keys over one SQLite file (:mod:`provenant.sqlite`)."""

    def __init__(self, path: str | Path, *, timeout_s: float = 30.0) -> None:
        super().__init__(path, _SCHEMA, label="service database", timeout_s=timeout_s)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection whose SQLite errors become :class:`StoreError` (503)."""
        try:
            with self.connect() as conn:
                yield conn
        except sqlite3.Error as exc:
            raise StoreError(f"the {self.label} at {self.path} failed: {exc}",
                             hint=failure_hint(exc, self.path)) from None

    # -- jobs ---------------------------------------------------------------------------
    def insert_job(self, job: JobRecord) -> JobRecord:
        with self._connect() as conn:
            conn.execute(
                f"INSERT INTO jobs ({_JOB_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (job.job_id, job.kind, job.state, job.owner_key, job.worker,
                 json.dumps(job.params), job.input_path, None, None, None, None,
                 job.created_at or time.time(), None, None))
        return self.get_job(job.job_id)

    def get_job(self, job_id: str) -> JobRecord:
        with self._connect() as conn:
            row = conn.execute(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE job_id = ?",
                               (job_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no job {job_id!r}")
        return _job(row)

    def jobs_in_state(self, state: str) -> list[JobRecord]:
        with self._connect() as conn:
            rows = conn.execute(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE state = ?"
                                " ORDER BY created_at", (state,)).fetchall()
        return [_job(r) for r in rows]

    def claim_job(self, job_id: str, worker: str) -> bool:
        """Move a queued job to running for ``worker``; false if someone else has it."""
        with self._connect() as conn:
            cur = conn.execute("UPDATE jobs SET state = 'running', worker = ?, started_at = ?"
                               " WHERE job_id = ? AND state = 'queued'",
                               (worker, time.time(), job_id))
            return cur.rowcount == 1

    def finish_job(self, job_id: str, result: dict[str, Any], result_path: str | None) -> None:
        with self._connect() as conn:
            conn.execute("UPDATE jobs SET state = 'succeeded', result = ?, result_path = ?,"
                         " finished_at = ? WHERE job_id = ?",
                         (json.dumps(result, default=str), result_path, time.time(), job_id))

    def fail_job(self, job_id: str, code: str, message: str) -> None:
        with self._connect() as conn:
            conn.execute("UPDATE jobs SET state = 'failed', error_code = ?, error_message = ?,"
                         " finished_at = ? WHERE job_id = ? AND state IN ('queued', 'running')",
                         (code, message, time.time(), job_id))

    def count_jobs(self) -> dict[str, int]:
        with self._connect() as conn:
            rows = conn.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state").fetchall()
        return {state: int(n) for state, n in rows}

    def expired_jobs(self, before: float) -> list[JobRecord]:
        with self._connect() as conn:
            rows = conn.execute(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE finished_at IS NOT NULL"
                                " AND finished_at < ?", (before,)).fetchall()
        return [_job(r) for r in rows]

    def delete_job(self, job_id: str) -> None:
        with self._connect() as conn:
            conn.execute("DELETE FROM jobs WHERE job_id = ?", (job_id,))

    # -- API keys -----------------------------------------------------------------------
    def insert_key(self, key: KeyRecord) -> None:
        with self._connect() as conn:
            conn.execute("INSERT INTO api_keys VALUES (?,?,?,?,?,?)",
                         (key.key_id, key.name, key.secret_hash, ",".join(key.scopes),
                          key.created_at, key.revoked_at))

    def get_key(self, key_id: str) -> KeyRecord | None:
        with self._connect() as conn:
            row = conn.execute("SELECT key_id, name, secret_hash, scopes, created_at, revoked_at"
                               " FROM api_keys WHERE key_id = ?", (key_id,)).fetchone()
        return _key(row) if row else None

    def list_keys(self) -> list[KeyRecord]:
        with self._connect() as conn:
            rows = conn.execute("SELECT key_id, name, secret_hash, scopes, created_at, revoked_at"
                                " FROM api_keys ORDER BY created_at").fetchall()
        return [_key(r) for r in rows]

    def revoke_key(self, key_id: str) -> bool:
        with self._connect() as conn:
            cur = conn.execute("UPDATE api_keys SET revoked_at = ? WHERE key_id = ?"
                               " AND revoked_at IS NULL", (time.time(), key_id))
            return cur.rowcount == 1


def _key(row: tuple[Any, ...]) -> KeyRecord:
    kid, name, digest, scopes, created, revoked = row
    return KeyRecord(kid, name, digest, tuple(s for s in scopes.split(",") if s), created, revoked)


def open_database(path: str | Path | None = None) -> Database:
    """The service database in the core's store file (``get_settings().store_path``)."""
    if path is None:
        from provenant.config import get_settings

        path = get_settings().store_path
    return Database(path)
