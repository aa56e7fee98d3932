from __future__ import annotations

import multiprocessing as mp
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from provenant.errors import NotFoundError, StoreError
import provenant.store as store_module
from provenant.store import ManifestRecord, ManifestStore


def _record(i: int, value: str = "") -> ManifestRecord:
    return ManifestRecord(f"urn:c2pa:{i:08d}", signer="S", source_type="trainedAlgorithmicMedia",
                          ai_generated=True, title=f"clip{i}", details={"n": i},
                          soft_bindings=(("io.provenant.watermark.v2", value or f"{i:016x}"),))


def test_round_trip(tmp_path: Path) -> None:
    store = ManifestStore(tmp_path / "s.db")
    saved = store.register(_record(1))
    got = store.get("urn:c2pa:00000001")
    assert got == saved
    assert got.details == {"n": 1} and got.ai_generated and got.created_at > 0
    assert store.find_by_binding("io.provenant.watermark.v2", f"{1:016x}") == [got]
    assert store.find_by_binding("io.provenant.watermark.v2", "ffff") == []
    assert store.find_by_binding("other.alg", f"{1:016x}") == []


def test_wal_mode_and_missing_ids(tmp_path: Path) -> None:
    store = ManifestStore(tmp_path / "s.db")
    with sqlite3.connect(tmp_path / "s.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with pytest.raises(NotFoundError, match="no manifest"):
        store.get("urn:c2pa:missing")


def test_reregistering_replaces_bindings(tmp_path: Path) -> None:
    store = ManifestStore(tmp_path / "s.db")
    store.register(_record(1, "aa"))
    store.register(_record(1, "bb"))
    assert store.find_by_binding("io.provenant.watermark.v2", "aa") == []
    assert [r.manifest_id for r in store.find_by_binding("io.provenant.watermark.v2", "bb")] == [
        "urn:c2pa:00000001"]
    assert store.count() == 1


def test_one_binding_can_resolve_to_several_manifests_newest_first(tmp_path: Path) -> None:
    store = ManifestStore(tmp_path / "s.db")
    store.register(ManifestRecord("urn:a", soft_bindings=(("alg", "v"),), created_at=1.0))
    store.register(ManifestRecord("urn:b", soft_bindings=(("alg", "v"),), created_at=2.0))
    assert [r.manifest_id for r in store.find_by_binding("alg", "v")] == ["urn:b", "urn:a"]


def test_concurrent_threads(tmp_path: Path) -> None:
    store = ManifestStore(tmp_path / "s.db")
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: store.register(_record(i)), range(200)))
    assert store.count() == 200
    assert store.get("urn:c2pa:00000199").details == {"n": 199}


def _writer(path: str, start: int) -> None:
    store = ManifestStore(path)
    for i in range(start, start + 50):
        store.register(_record(i))


def test_concurrent_processes(tmp_path: Path) -> None:
    path = str(tmp_path / "s.db")
    ManifestStore(path)
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, k * 50)) for k in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    store = ManifestStore(path)
    assert store.count() == 200
    assert len(store.find_by_binding("io.provenant.watermark.v2", f"{123:016x}")) == 1


def test_unwritable_location(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="cannot open"):
        ManifestStore(blocker / "s.db")


def test_binding_values_newest_first_by_algorithm(tmp_path: Path) -> None:
    store = ManifestStore(tmp_path / "s.db")
    for i in range(5):
        store.register(ManifestRecord(**{**_record(i).__dict__, "created_at": 100.0 + i}))
    store.register(ManifestRecord("urn:c2pa:dup", soft_bindings=(
        ("io.provenant.watermark.v2", f"{4:016x}"), ("other.alg", "abc")), created_at=50.0))
    alg = "io.provenant.watermark.v2"
    assert store.binding_values(alg, 10) == [f"{i:016x}" for i in (4, 3, 2, 1, 0)]
    assert store.binding_values(alg, 2) == [f"{4:016x}", f"{3:016x}"]
    assert store.binding_values("other.alg", 10) == ["abc"]
    assert store.binding_values("missing.alg", 10) == []


def test_a_store_that_can_only_be_read_here_serves_lookups(tmp_path: Path, monkeypatch) -> None:
    """A verifier's replica on a read-only mount: opening it normally writes (WAL mode, the
    schema); lookups fall back to reading it as it is, and writing says why it cannot."""
    path = tmp_path / "store.sqlite3"
    ManifestStore(path).register(_record(1, "v1"))
    real = sqlite3.connect

    def read_only_mount(database, *args, **kwargs):
        if "immutable=1" not in str(database):  # nothing can be written, not even -shm
            raise sqlite3.OperationalError("attempt to write a readonly database")
        return real(database, *args, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", read_only_mount)
    with pytest.raises(StoreError, match="readonly") as err:
        ManifestStore(path)  # signing needs to write: refused, with what to do
    assert "verifying works" in err.value.hint
    store = ManifestStore(path, read_only_ok=True)
    assert store.read_only == "immutable"
    assert store.find_by_binding("io.provenant.watermark.v2", "v1")
    with pytest.raises(StoreError):
        store.register(_record(2, "v2"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store.sqlite3"]  # no -wal, -shm

    def other_accounts_file(database, *args, **kwargs):  # read-only, but SQLite may lock
        if not kwargs.get("uri"):
            raise sqlite3.OperationalError("attempt to write a readonly database")
        return real(database, *args, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", other_accounts_file)
    store = ManifestStore(path, read_only_ok=True)
    assert store.read_only == "ro" and store.find_by_binding("io.provenant.watermark.v2", "v1")
    monkeypatch.setattr(sqlite3, "connect", lambda *a, **k: (_ for _ in ()).throw(
        sqlite3.DatabaseError("database is locked")))
    with pytest.raises(StoreError, match="locked"):  # a locked store is not read around
        ManifestStore(path, read_only_ok=True)


def _keyed(i: int, key: str | None) -> ManifestRecord:
    details = {"n": i} if key is None else {"n": i, "watermark_key_id": key}
    return ManifestRecord(**{**_record(i).__dict__, "details": details, "created_at": 100.0 + i})


def test_manifests_by_the_watermark_key_that_marked_them(tmp_path: Path) -> None:
    store = ManifestStore(tmp_path / "s.db")
    for i, key in enumerate(["aaaa1111", "bbbb2222", "aaaa1111", None, "aaaa1111"]):
        store.register(_keyed(i, key))
    assert store.count_by_watermark_key() == {"aaaa1111": 3, "bbbb2222": 1}  # no key: left out
    assert store.count_by_watermark_key("bbbb2222") == {"bbbb2222": 1}
    assert store.count_by_watermark_key("cccc3333") == {}
    newest = [r.manifest_id for r in store.find_by_watermark_key("aaaa1111", 10)]
    assert newest == ["urn:c2pa:00000004", "urn:c2pa:00000002", "urn:c2pa:00000000"]
    assert [r.manifest_id for r in store.find_by_watermark_key("aaaa1111", 1)] == newest[:1]
    assert store.find_by_watermark_key("cccc3333", 10) == []
    with sqlite3.connect(store.path) as conn:  # the lookup uses the index, not a scan
        plan = conn.execute("EXPLAIN QUERY PLAN SELECT manifest_id FROM manifests WHERE "
                            f"{store_module._KEY_EXPR} = 'x'").fetchall()
    assert "manifests_watermark_key" in str(plan)


def test_an_older_store_gains_the_key_index_and_a_damaged_row_does_not_stop_it(
        tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:  # as stores were made before keys were recorded
        conn.executescript(
            "CREATE TABLE manifests (manifest_id TEXT PRIMARY KEY, created_at REAL NOT NULL,"
            " signer TEXT, source_type TEXT, ai_generated INTEGER NOT NULL, title TEXT,"
            " development INTEGER NOT NULL, details TEXT NOT NULL);"
            "INSERT INTO manifests VALUES ('urn:c2pa:bad', 1, NULL, NULL, 0, NULL, 0, '{cut');")
    store = ManifestStore(path)
    store.register(_keyed(1, "aaaa1111"))
    assert store.count_by_watermark_key() == {"aaaa1111": 1}
    assert store.count() == 2
