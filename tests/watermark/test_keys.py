"""Key rotation: detection tests the current key and the retired ones, each at a share of
the false-positive rate, and names the key that found the mark without revealing it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from provenant.errors import PayloadError
from provenant.report import VerificationReport, WatermarkEvidence, decide_verdict, render_text
from watermark import detect, embed_file
from watermark.config import (DEFAULT_KEY, KEY_ENV, MAX_KEYS, RETIRED_KEYS_ENV, detection_keys,
                              key_id)
from watermark.detection import KeyTest

from .conftest import KEY, PAYLOAD


def test_the_environment_gives_the_current_key_then_the_retired_ones(
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert detection_keys(None) == (DEFAULT_KEY.encode(),)
    monkeypatch.setenv(KEY_ENV, "new")
    monkeypatch.setenv(RETIRED_KEYS_ENV, " old , ,older,new,old")
    assert detection_keys(None) == (b"new", b"old", b"older")  # repeats and blanks dropped
    assert detection_keys("given") == (b"given",)  # an explicit key replaces the environment
    assert detection_keys(["a", b"b", "a"]) == (b"a", b"b")


@pytest.mark.parametrize("keys", [[], [f"k{i}" for i in range(MAX_KEYS + 1)], ["ok", ""]])
def test_bad_key_lists_are_refused_with_what_to_do(keys: list[str]) -> None:
    with pytest.raises(PayloadError) as err:
        detection_keys(keys)
    assert err.value.hint


def test_looks_refuse_an_empty_key_list(small_marked: np.ndarray) -> None:
    from watermark.config import WatermarkConfig
    from watermark.looks import Looks

    looks = Looks(WatermarkConfig(), len(small_marked))
    for frame in small_marked:
        looks.add(frame, even=True, key=False)
    with pytest.raises(PayloadError):
        looks.analyse([])
    assert looks.analyse(KEY.encode()).detected  # one key as bytes is still taken


def test_a_key_id_names_a_key_without_revealing_it() -> None:
    ids = {key_id(k) for k in (b"alpha", b"beta", b"gamma")}
    assert len(ids) == 3 and all(len(i) == 8 and set(i) <= set("0123456789abcdef")
                                 for i in ids)
    assert key_id(b"alpha") == key_id(b"alpha")
    # keyed: not a plain digest of the key, which a short or guessable key would give away
    assert key_id(b"alpha") != hashlib.sha256(b"alpha").hexdigest()[:8]


def test_a_mark_made_with_a_retired_key_is_found_and_said_so(small_marked: np.ndarray) -> None:
    alone = detect(small_marked, KEY)
    assert alone.detected and alone.key_id == key_id(KEY.encode()) and not alone.key_retired
    rotated = detect(small_marked, ["the-new-key", KEY])
    assert rotated.detected and rotated.payload == PAYLOAD
    assert rotated.key_retired and rotated.key_id == key_id(KEY.encode())
    # two keys tested: the same evidence, at twice the p-value (a union bound over the keys)
    assert rotated.p_value == pytest.approx(2 * alone.p_value, rel=1e-9)
    missed = detect(small_marked, ["the-new-key", "another-key"])
    assert not missed.detected and missed.key_id is None and not missed.key_retired


def test_the_current_key_is_tried_first(small_marked: np.ndarray) -> None:
    found = detect(small_marked, [KEY, "an-old-key"])
    assert found.detected and not found.key_retired and found.key_id == key_id(KEY.encode())


def _count_searches(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Record the key (its pilot) of every search (rotation, orientation, windows) that a
    detection runs."""
    searched: list[bytes] = []
    original = KeyTest.search

    def search(self: KeyTest) -> None:
        searched.append(self.lay.pilot_pn.tobytes())  # the key's pilot: one per key
        original(self)

    monkeypatch.setattr(KeyTest, "search", search)
    return searched


def test_a_retired_key_s_mark_is_found_before_the_current_key_is_searched(
        small_marked: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    searched = _count_searches(monkeypatch)
    found = detect(small_marked, ["the-new-key", "a-retired-key", KEY])
    assert found.detected and found.key_retired and found.key_id == key_id(KEY.encode())
    assert searched == []  # neither the current key's searches nor the other's ran
    # the same test as with every search run first: the same p-value as the key alone, x3
    assert found.p_value == pytest.approx(3 * detect(small_marked, KEY).p_value, rel=1e-9)


def test_without_a_mark_every_key_is_searched_once(small_clip: np.ndarray,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    searched = _count_searches(monkeypatch)
    missed = detect(small_clip, ["the-new-key", "a-retired-key", KEY])
    assert not missed.detected and len(searched) == 3 and len(set(searched)) == 3


def test_the_environment_s_retired_keys_are_tested(small_marked: np.ndarray,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "the-new-key")
    assert not detect(small_marked).detected
    monkeypatch.setenv(RETIRED_KEYS_ENV, KEY)
    found = detect(small_marked)
    assert found.detected and found.key_retired and found.payload == PAYLOAD


def test_cli_detect_takes_several_keys_and_lists_their_names(
        cli, video_with_audio: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marked = embed_file(video_with_audio, tmp_path / "m.mp4", PAYLOAD, KEY)
    rc, stdout, _ = cli("watermark", "detect", str(marked), "--key", "new", "--key", KEY,
                        "--json")
    facts = json.loads(stdout)
    assert rc == 0 and facts["detected"] and facts["key_retired"]
    assert facts["key_id"] == key_id(KEY.encode())
    rc, stdout, _ = cli("watermark", "detect", str(marked), "--key", "new", "--key", KEY)
    assert rc == 0 and f"retired key {key_id(KEY.encode())}" in stdout
    monkeypatch.setenv(KEY_ENV, "new")
    monkeypatch.setenv(RETIRED_KEYS_ENV, KEY)
    rc, stdout, _ = cli("watermark", "keys", "--json")
    rows = json.loads(stdout)["keys"]
    assert rc == 0 and [r["role"] for r in rows] == ["current", "retired"]
    assert [r["key_id"] for r in rows] == [key_id(b"new"), key_id(KEY.encode())]
    assert KEY not in stdout and "new\"" not in stdout  # names only, never the keys
    monkeypatch.delenv(KEY_ENV)
    monkeypatch.delenv(RETIRED_KEYS_ENV)
    rc, stdout, _ = cli("watermark", "keys")
    assert rc == 0 and "public default" in stdout


def test_verify_takes_several_keys(cli, video_with_audio: Path, tmp_path: Path) -> None:
    marked = embed_file(video_with_audio, tmp_path / "m.mp4", PAYLOAD, KEY)
    rc, stdout, _ = cli("verify", str(marked), "--key", "new", "--key", KEY, "--json")
    wm = json.loads(stdout)["watermark"]
    assert rc == 0 and wm["detected"] and wm["key_retired"]
    assert wm["key_id"] == key_id(KEY.encode())


def test_the_report_says_a_retired_key_found_the_mark() -> None:
    wm = WatermarkEvidence(True, PAYLOAD, 1e-12, 8, "alg", key_id="1a2b3c4d", key_retired=True)
    report = VerificationReport("x.mp4", watermark=wm)
    report.verdict = decide_verdict(report)
    assert any("retired key 1a2b3c4d" in r for r in report.verdict.reasons)
    assert "retired key 1a2b3c4d" in render_text(report)
    current = WatermarkEvidence(True, PAYLOAD, 1e-12, 8, "alg", key_id="1a2b3c4d")
    report = VerificationReport("x.mp4", watermark=current)
    report.verdict = decide_verdict(report)
    assert not any("retired" in r for r in report.verdict.reasons)


def test_keys_counts_the_manifests_each_key_marked(cli, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from provenant.config import get_settings
    from provenant.store import ManifestRecord, open_store

    monkeypatch.setenv("PROVENANT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv(KEY_ENV, "new")
    monkeypatch.setenv(RETIRED_KEYS_ENV, "old")
    get_settings.cache_clear()
    rc, stdout, _ = cli("watermark", "keys", "--json")  # no store yet: none is made
    assert rc == 0 and [r["manifests_marked"] for r in json.loads(stdout)["keys"]] == [None, None]
    assert not (tmp_path / "data" / "store.sqlite3").exists()
    store = open_store()
    for i, key in enumerate([b"old", b"old", b"new", None]):
        store.register(ManifestRecord(f"urn:c2pa:{i}", details={} if key is None else
                                      {"watermark_key_id": key_id(key)}))
    rc, stdout, _ = cli("watermark", "keys", "--json")
    assert [r["manifests_marked"] for r in json.loads(stdout)["keys"]] == [1, 2]
    rc, stdout, _ = cli("watermark", "keys")
    assert f"{key_id(b'new')}  current; marked 1 manifest in the store" in stdout
    assert f"{key_id(b'old')}  retired; marked 2 manifests in the store" in stdout
    assert "store find --key-id" in stdout
