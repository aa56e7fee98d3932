"""The C2PA and API benchmarks render their JSON as speed bars, and say which signing path ran."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks import api_bench, c2pa_bench

PNG = b"\x89PNG\r\n\x1a\n"


def _c2pa(path: str) -> dict[str, Any]:
    return {"machine": {"cpu": "CPU X", "cores": 2, "date": "2026-12-02"}, "mode": "full",
            "file_mb": 100.4, "repeats": 5, "sha256_s": 0.07, "sign_s": 0.14, "verify_s": 0.13,
            "sign_ratio": 2.0, "verify_ratio": 1.9, "state": "Valid", "sdk_reader_state": "Valid",
            "sign_path": path, "sdk_rewrite_sign_s": 0.3, "sdk_rewrite_sign_ratio": 4.3,
            "sdk_rewrite_state": "Valid", "target_ratio": 3.0}


def test_c2pa_plot_and_table(tmp_path: Path) -> None:
    r = _c2pa("append")
    assert c2pa_bench.plot(r, tmp_path / "c.png").read_bytes()[:8] == PNG
    md = c2pa_bench.markdown(r)
    assert "append manifest) | 0.140 | 2.00 |" in md
    assert "a manifest the SDK placed) | 0.300 | 4.30 |" in md
    assert "took the append path" in md and "took the rewrite path" in c2pa_bench.markdown(
        _c2pa("rewrite"))


def test_api_plot(tmp_path: Path) -> None:
    s = {"clients": 4, "throughput_rps": 4.0, "p50_ms": 900.0, "p95_ms": 1000.0, "p99_ms": 1100.0}
    r = {"mode": "quick", "scenarios": {"POST /v1/verify": s,
                                        "GET /matches/byBinding": {**s, "p50_ms": 9.0}}}
    assert api_bench.plot(r, tmp_path / "a.png").read_bytes()[:8] == PNG
