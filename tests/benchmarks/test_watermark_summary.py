"""The watermark benchmark's summary counts wrong-payload detections and wrong-key hits."""

from __future__ import annotations

from benchmarks import watermark_bench


def _cell(exact: bool, detected: bool, wrong_key: bool = False) -> dict:
    return {"ours": {"exact": exact, "detected": detected, "bit_acc": 1.0 if exact else 0.9,
                     "p_value": 1e-9 if detected else 1.0, "wrong_key_detected": wrong_key,
                     "in_scope": True}}


def test_summary_counts_wrong_payloads_and_the_criterion_follows() -> None:
    rows = [{"clip": "a", "source": "real", "quality": {"ours": {"psnr": 43.0, "ssim": 0.99}},
             "attacks": {"none": _cell(True, True), "h264_crf35": _cell(False, True)}},
            {"clip": "b", "source": "real", "quality": {"ours": {"psnr": 43.0, "ssim": 0.99}},
             "attacks": {"none": _cell(True, True), "h264_crf35": _cell(False, False, True)}}]
    s = watermark_bench.summarise(rows, ["none", "h264_crf35"])
    assert s["wrong_payload"] == {"detections": 3, "wrong": 1}
    assert s["wrong_key"] == {"trials": 4, "false_detections": 1}
    assert s["table"]["ours"]["h264_crf35"]["recovery"] == 0.0
    fp = {"false_detections": 0, "clips": 220}
    crit = watermark_bench.criteria(s, fp, {"embed_over_plain_ratio": 1.1,
                                            "detect_10s_720p_seconds": 0.8})
    assert crit["no_wrong_payload_detected"] is False
    rows[0]["attacks"]["h264_crf35"] = _cell(True, True)
    s = watermark_bench.summarise(rows, ["none", "h264_crf35"])
    assert watermark_bench.criteria(s, fp, {})["no_wrong_payload_detected"] is True


def test_the_blind_figure_is_a_blind_readers_own() -> None:
    """Where the store found the payload before the fine look ran, the blind test inside
    that detection lacked it; the blind figure is then a blind detection's own."""
    import numpy as np

    from watermark.detection import WatermarkResult

    payload, none = watermark_bench.PAYLOAD, np.zeros(0)
    aided = WatermarkResult(True, payload, 1e-30, none, 40, z_score=12.0, method="lookup",
                            blind_p_value=3e-5, blind_payload=payload, blind_z=10.7)
    alone = WatermarkResult(True, payload, 1e-12, none, 40, z_score=14.5)
    wrong = WatermarkResult(False, None, 1.0, none, 40)
    cell = watermark_bench._ours(aided, alone, wrong, 1e-6, True)
    assert cell["ours"]["detected"] and cell["ours"]["z"] == 14.5
    assert cell["ours+store"]["method"] == "lookup" and cell["ours+store"]["z"] == 12.0
    inside = watermark_bench._ours(aided, None, wrong, 1e-6, True)["ours"]
    assert not inside["detected"] and inside["z"] == 10.7
