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
