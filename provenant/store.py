"""The manifest store: issued manifests keyed by manifest id and by soft binding (alg, value).

Embedded SQLite in WAL mode (:mod:`provenant.sqlite`: one short-lived connection per
operation, writers serialised by ``BEGIN IMMEDIATE``), so one store object is safe to share
between threads and processes. All of the store's SQL lives in this module, behind
:class:`ManifestStore`, so that a Postgres repository with the same methods can follow.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from provenant.errors import NotFoundError, StoreError
from provenant.sqlite import SqliteDatabase, failure_hint

__all__ = ["ManifestRecord", "ManifestStore", "open_store", "WATERMARK_KEY_FIELD"]

#: The ``details`` field of a record that names the watermark key its mark was made with (its
#: public ``key_id``), where the stamper said.
WATERMARK_KEY_FIELD = "watermark_key_id"
#: The SQL of a record's watermark key id (indexed, ``manifests_watermark_key``); NULL for a
#: record whose details are not JSON (a damaged row must not stop the store from opening).
_KEY_EXPR = (f"(CASE WHEN json_valid(details) THEN json_extract(details, "
             f"'$.{WATERMARK_KEY_FIELD}') END)")

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS manifests (
    manifest_id   TEXT PRIMARY KEY,
    created_at    REAL NOT NULL,
    signer        TEXT,
    source_type   TEXT,
    ai_generated  INTEGER NOT NULL,
    title         TEXT,
    development   INTEGER NOT NULL,
    details       TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS soft_bindings (
    alg          TEXT NOT NULL,
    value        TEXT NOT NULL,
    manifest_id  TEXT NOT NULL REFERENCES manifests(manifest_id) ON DELETE CASCADE,
    PRIMARY KEY (alg, value, manifest_id)
);
CREATE INDEX IF NOT EXISTS soft_bindings_manifest ON soft_bindings(manifest_id);
CREATE INDEX IF NOT EXISTS manifests_watermark_key
    ON manifests({_KEY_EXPR});
CREATE TABLE IF NOT EXISTS signed_manifests (
    manifest_id   TEXT PRIMARY KEY REFERENCES manifests(manifest_id) ON DELETE CASCADE,
    data          BLOB NOT NULL
);
"""


@dataclass(frozen=True)
class ManifestRecord:
    """What the store keeps of one issued manifest."""

    manifest_id: str
    signer: str | None = None
    source_type: str | None = None
    ai_generated: bool = False
    title: str | None = None
    development: bool = False
    soft_bindings: tuple[tuple[str, str], ...] = ()
    details: dict[str, Any] = field(default_factory=dict)
    created_at: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["soft_bindings"] = [{"alg": a, "value": v} for a, v in self.soft_bindings]
        return d


class ManifestStore(SqliteDatabase):
    """register / get / signed_manifest / find_by_binding / binding_values over one SQLite
    file. Besides each record's facts it keeps the manifest store as signed (JUMBF bytes, in
    a table of their own so lookups never load them): the facts are this installation's
    word, the signed copy anyone's to check."""

    def __init__(self, path: str | Path, *, timeout_s: float = 30.0,
                 read_only_ok: bool = False) -> None:
        super().__init__(path, _SCHEMA, label="manifest store", timeout_s=timeout_s,
                         read_only_ok=read_only_ok)

    def register(self, record: ManifestRecord, signed: bytes | None = None) -> ManifestRecord:
        """Insert (or replace) ``record``, its soft bindings and ``signed`` (the manifest
        store as signed, see :meth:`signed_manifest`) in one transaction."""
        created = record.created_at or time.time()
        row = (record.manifest_id, created, record.signer, record.source_type,
               int(record.ai_generated), record.title, int(record.development),
               json.dumps(record.details, default=str))
        try:
            with self.transaction() as conn:
                conn.execute("DELETE FROM soft_bindings WHERE manifest_id = ?",
                             (record.manifest_id,))
                conn.execute("INSERT OR REPLACE INTO manifests VALUES (?,?,?,?,?,?,?,?)", row)
                conn.executemany(
                    "INSERT OR IGNORE INTO soft_bindings VALUES (?,?,?)",
                    [(a, v, record.manifest_id) for a, v in record.soft_bindings],
                )
                conn.execute("DELETE FROM signed_manifests WHERE manifest_id = ?",
                             (record.manifest_id,))
                if signed:
                    conn.execute("INSERT INTO signed_manifests VALUES (?,?)",
                                 (record.manifest_id, sqlite3.Binary(signed)))
        except sqlite3.Error as exc:
            raise StoreError(f"cannot register manifest {record.manifest_id}: {exc}",
                             hint=failure_hint(exc, self.path)) from None
        return ManifestRecord(**{**asdict(record), "created_at": created,
                                 "soft_bindings": record.soft_bindings})

    def get(self, manifest_id: str) -> ManifestRecord:
        """The record of ``manifest_id``; :class:`NotFoundError` if there is none."""
        try:
            with self.connect() as conn:
                row = conn.execute(
                    "SELECT manifest_id, created_at, signer, source_type, ai_generated, title,"
                    " development, details FROM manifests WHERE manifest_id = ?",
                    (manifest_id,),
                ).fetchone()
                if row is None:
                    raise NotFoundError(f"no manifest {manifest_id!r} in the manifest store")
                bindings = conn.execute(
                    "SELECT alg, value FROM soft_bindings WHERE manifest_id = ? ORDER BY alg, value",
                    (manifest_id,),
                ).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read manifest {manifest_id}: {exc}",
                             hint=failure_hint(exc, self.path)) from None
        mid, created, signer, source, ai, title, dev, details = row
        return ManifestRecord(mid, signer, source, bool(ai), title, bool(dev),
                              tuple((a, v) for a, v in bindings), json.loads(details), created)

    def signed_manifest(self, manifest_id: str) -> bytes | None:
        """The manifest store of ``manifest_id`` as it was signed (what a ``.c2pa`` file
        holds), or None where the store keeps none: a manifest registered before signed
        copies were kept, or a store made then and read where it cannot be upgraded."""
        try:
            with self.connect() as conn:
                row = conn.execute("SELECT data FROM signed_manifests WHERE manifest_id = ?",
                                   (manifest_id,)).fetchone()
        except sqlite3.Error as exc:
            if "no such table" in str(exc):  # an older store, opened read-only
                return None
            raise StoreError(f"cannot read manifest {manifest_id}: {exc}",
                             hint=failure_hint(exc, self.path)) from None
        return bytes(row[0]) if row is not None else None

    def find_by_binding(self, alg: str, value: str) -> list[ManifestRecord]:
        """Every manifest registered under soft binding ``(alg, value)``, newest first."""
        try:
            with self.connect() as conn:
                ids = [r[0] for r in conn.execute(
                    "SELECT b.manifest_id FROM soft_bindings b JOIN manifests m"
                    " ON m.manifest_id = b.manifest_id WHERE b.alg = ? AND b.value = ?"
                    " ORDER BY m.created_at DESC",
                    (alg, value),
                )]
        except sqlite3.Error as exc:
            raise StoreError(f"cannot search the store: {exc}",
                             hint=failure_hint(exc, self.path)) from None
        return [self.get(i) for i in ids]

    def binding_values(self, alg: str, limit: int) -> list[str]:
        """The values registered under soft-binding algorithm ``alg``, newest manifests
        first, at most ``limit`` (for a store-aided watermark test)."""
        try:
            with self.connect() as conn:
                rows = conn.execute(
                    "SELECT b.value FROM soft_bindings b JOIN manifests m"
                    " ON m.manifest_id = b.manifest_id WHERE b.alg = ?"
                    " GROUP BY b.value ORDER BY MAX(m.created_at) DESC LIMIT ?",
                    (alg, int(limit)),
                ).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot search the store: {exc}",
                             hint=failure_hint(exc, self.path)) from None
        return [r[0] for r in rows]

    def find_by_watermark_key(self, key_id: str, limit: int) -> list[ManifestRecord]:
        """The manifests whose marks the watermark key named ``key_id`` made (as ``stamp``
        recorded it, :data:`WATERMARK_KEY_FIELD`), newest first, at most ``limit``: what to
        re-mark or tell its owners about when that key has leaked."""
        try:
            with self.connect() as conn:
                ids = [r[0] for r in conn.execute(
                    f"SELECT manifest_id FROM manifests WHERE {_KEY_EXPR} = ?"
                    " ORDER BY created_at DESC LIMIT ?", (key_id, int(limit)))]
        except sqlite3.Error as exc:
            raise StoreError(f"cannot search the store: {exc}",
                             hint=failure_hint(exc, self.path)) from None
        return [self.get(i) for i in ids]

    def count_by_watermark_key(self, key_id: str | None = None) -> dict[str, int]:
        """How many manifests each watermark key marked, by key id (records that name no
        key, made before keys were recorded or signed after a plain embed, left out);
        ``key_id``: that key's count alone (an index lookup, not a pass over the table)."""
        where, args = ("= ?", (key_id,)) if key_id is not None else ("IS NOT NULL", ())
        try:
            with self.connect() as conn:
                rows = conn.execute(f"SELECT {_KEY_EXPR} AS k, COUNT(*) FROM manifests"
                                    f" WHERE k {where} GROUP BY k", args).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot search the store: {exc}",
                             hint=failure_hint(exc, self.path)) from None
        return {str(k): int(n) for k, n in rows}

    def count(self) -> int:
        with self.connect() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM manifests").fetchone()[0])


def open_store(path: str | Path | None = None, *, read_only_ok: bool = False) -> ManifestStore:
    """The store at ``path``, or at the configured data directory's ``store.sqlite3``.
    ``read_only_ok``: for lookups alone, a store that can only be read here (a verifier's
    read-only replica) is opened read-only instead of refused."""
    if path is None:
        from provenant.config import get_settings

        path = get_settings().store_path
    return ManifestStore(path, read_only_ok=read_only_ok)
