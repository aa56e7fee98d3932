"""The C2PA and API benchmarks render their JSON as speed bars, and say what native I/O shows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks import api_bench, c2pa_bench

PNG = b"\x89PNG\r\n\x1a\n"


def _c2pa(native_s: float) -> dict[str, Any]:
    return {"machine": {"cpu": "CPU X", "cores": 2, "date": "2026-12-02"}, "mode": "full",
            "file_mb": 100.4, "repeats": 5, "sha256_s": 0.07, "sign_s": 0.4, "verify_s": 0.13,
            "sign_ratio": 5.7, "verify_ratio": 1.9, "state": "Valid", "sdk_sign_s": 0.3,
            "sdk_sign_ratio": 4.3, "sdk_sign_native_io_s": native_s,
            "sdk_sign_native_io_ratio": native_s / 0.07, "target_ratio": 3.0}


def test_c2pa_plot_and_the_native_io_reading(tmp_path: Path) -> None:
    r = _c2pa(0.31)
    assert c2pa_bench.plot(r, tmp_path / "c.png").read_bytes()[:8] == PNG
    md = c2pa_bench.markdown(r)
    assert "native (libc on file descriptors) | 0.310 | 4.43 |" in md
    assert "callbacks are not what costs" in md
    assert "are a large part of the cost" in c2pa_bench.markdown(_c2pa(0.1))


def test_api_plot(tmp_path: Path) -> None:
    s = {"clients": 4, "throughput_rps": 4.0, "p50_ms": 900.0, "p95_ms": 1000.0, "p99_ms": 1100.0}
    r = {"mode": "quick", "scenarios": {"POST /v1/verify": s,
                                        "GET /matches/byBinding": {**s, "p50_ms": 9.0}}}
    assert api_bench.plot(r, tmp_path / "a.png").read_bytes()[:8] == PNG
