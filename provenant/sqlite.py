"""One way to open Provenant's embedded SQLite databases: WAL mode, short-lived connections.

Every operation opens its own connection, so one database object can be shared between
threads and processes; writers serialise on SQLite's lock through :meth:`transaction`
(``BEGIN IMMEDIATE`` with a busy timeout).
"""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from provenant.errors import StoreError

__all__ = ["SqliteDatabase", "failure_hint"]

_DAMAGED = ("malformed", "not a database", "corrupt", "file is encrypted")


def _unwritable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot be written here (not that it is damaged or
    locked: a locked store is read normally once it is free, never around its lock)."""
    if isinstance(exc, OSError):
        return exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM)
    text = str(exc).lower()
    return any(w in text for w in ("readonly", "read-only", "unable to open", "permission"))


def failure_hint(exc: BaseException, path: Path) -> str | None:
    """What to do about ``exc`` on the database at ``path``: a damaged file is not a
    permission problem (None: the error class's own hint)."""
    text = str(exc).lower()
    if any(word in text for word in _DAMAGED):
        return (f"the file is damaged: restore it from a backup, or move it aside (for "
                f"example to {path.name}.damaged) and a new, empty one is made; what it held "
                "is then no longer found")
    if "readonly" in text or "read-only" in text:
        return ("it can only be read here (a read-only mount or another account's file): "
                "verifying works, signing and stamping need a writable data directory "
                "(PROVENANT_DATA_DIR)")
    if "locked" in text or "busy" in text:
        return "another process holds it locked for longer than the busy timeout; try again"
    return None


class SqliteDatabase:
    """A SQLite file with ``schema`` applied on open. ``label`` names it in error messages."""

    def __init__(self, path: str | Path, schema: str, *, label: str, timeout_s: float = 30.0,
                 read_only_ok: bool = False) -> None:
        self.path = Path(path)
        self.label = label
        self.timeout_s = timeout_s
        #: How a file that cannot be written here (``read_only_ok``) is read: "" (it can
        #: be written), "ro" (read-only, with SQLite's locks: another account's store that
        #: is still written) or "immutable" (no locks and no -wal/-shm files: a read-only
        #: mount, a verifier's replica).
        self.read_only = ""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.connect() as conn:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.executescript(schema)
        except (sqlite3.Error, OSError, StoreError) as exc:
            if read_only_ok and _unwritable(exc) and self.path.is_file() \
                    and self._readable_as_is():
                return
            if isinstance(exc, StoreError):  # from connect(): already says what to do
                raise
            raise StoreError(f"cannot open the {label} at {self.path}: {exc}",
                             hint=failure_hint(exc, self.path)) from None

    def _readable_as_is(self) -> bool:
        """Whether the file reads read-only: with locks where SQLite can keep them, else as
        immutable (where it cannot even make its -shm file)."""
        for mode in ("ro", "immutable"):
            self.read_only = mode
            try:
                with self.connect() as conn:
                    conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
                return True
            except (sqlite3.Error, StoreError):
                continue
        self.read_only = ""
        return False

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A connection in autocommit mode, with foreign keys on and a busy timeout."""
        try:
            if self.read_only:
                uri = f"{self.path.resolve().as_uri()}?mode=ro" + (
                    "&immutable=1" if self.read_only == "immutable" else "")
                conn = sqlite3.connect(uri, uri=True, timeout=self.timeout_s,
                                       isolation_level=None)
            else:
                conn = sqlite3.connect(self.path, timeout=self.timeout_s, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the {self.label} at {self.path}: {exc}",
                             hint=failure_hint(exc, self.path)) from None
        try:
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute(f"PRAGMA busy_timeout={int(self.timeout_s * 1000)}")
            yield conn
        finally:
            conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that takes the lock up front and rolls back on any error."""
        with self.connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
