"""The image benchmark's summary: recovery per kind of image, false and wrong-key hits."""

from __future__ import annotations

from benchmarks import image_bench


def _ours(exact: bool, detected: bool, wrong_key: bool = False, in_scope: bool = True) -> dict:
    return {"exact": exact, "detected": detected, "bit_acc": 1.0 if exact else 0.8,
            "p_value": 1e-9 if detected else 1.0, "wrong_key_detected": wrong_key,
            "in_scope": in_scope}


def _row(name: str, kind: str, jpeg: dict, unmarked_hit: bool = False) -> dict:
    return {"image": name, "kind": kind, "shape": [512, 512],
            "embed_seconds": {"ours": 0.01, "dwtDctSvd": 0.1},
            "quality": {"ours": {"psnr": 42.5, "ssim": 0.99},
                        "dwtDctSvd": {"psnr": 40.0, "ssim": 0.98}},
            "attacks": {"none": {"ours": _ours(True, True),
                                 "dwtDctSvd": {"exact": True, "bit_acc": 1.0, "in_scope": True}},
                        "jpeg_75": {"ours": jpeg,
                                    "dwtDctSvd": {"exact": False, "bit_acc": 0.7,
                                                  "in_scope": True}}},
            "unmarked": {"none": {"detected": False, "p_value": 1.0},
                         "jpeg_75": {"detected": unmarked_hit, "p_value": 1e-7 if unmarked_hit
                                     else 0.5}}}


def test_summary_splits_photos_from_graphics_and_counts_every_false_hit() -> None:
    rows = [_row("a", "photo", _ours(True, True)),
            _row("b", "photo", _ours(False, True, wrong_key=True)),
            _row("c", "photo", _ours(False, False, in_scope=False)),
            _row("d", "graphic", _ours(False, False), unmarked_hit=True)]
    s = image_bench.summarise(rows, ["none", "jpeg_75"])
    assert s["methods"] == ["ours", "dwtDctSvd"]
    photo = s["table"]["ours/photo"]["jpeg_75"]
    assert photo["recovery"] == 0.5 and (photo["images"], photo["images_all"]) == (2, 3)
    assert s["table"]["ours/graphic"]["jpeg_75"]["recovery"] == 0.0
    assert s["table"]["dwtDctSvd/photo"]["none"]["recovery"] == 1.0
    assert s["false_positives"] == {"reads": 8, "detections": 1, "min_p_value": 1e-7}
    assert s["wrong_key"] == {"reads": 8, "detections": 1}
    assert s["wrong_payload"] == {"detections": 6, "wrong": 1}
    result = {"mode": "quick", "fpr": 1e-6, "attacks": ["none", "jpeg_75"], "photos": 3,
              "graphics": 1, "summary": s, "rows": rows,
              "detect_seconds": {"ours": 0.2, "dwtDctSvd": 0.05}}
    text = image_bench.markdown(result)
    assert "| jpeg_75 | 0.50 (acc 0.90, n=3)" in text and "1 of 8 reads" in text
    assert image_bench.headline(result).startswith("exact 64-bit payload on photos after "
                                                   "jpeg 75 50%")
