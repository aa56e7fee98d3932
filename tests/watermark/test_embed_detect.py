"""Round trips on arrays, frame streams and stills; wrong key; unwatermarked input."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from provenant.errors import MediaError, PayloadError
from tests.watermark.conftest import KEY, PAYLOAD
from watermark import WatermarkConfig, detect, embed
from watermark.testing import psnr


def test_round_trip_recovers_the_exact_payload(small_marked: np.ndarray) -> None:
    r = detect(small_marked, KEY)
    assert r.detected
    assert r.payload == PAYLOAD
    assert r.p_value <= WatermarkConfig().fpr
    assert r.frames_used == len(small_marked)
    assert r.bit_confidences.shape == (64,)
    assert r.bit_confidences.mean() > 0.9


def test_wrong_key_detects_nothing(small_marked: np.ndarray) -> None:
    r = detect(small_marked, "not-the-key")
    assert not r.detected
    assert r.payload is None
    assert r.p_value > WatermarkConfig().fpr


def test_unwatermarked_clip_is_not_detected(small_clip: np.ndarray) -> None:
    r = detect(small_clip, KEY)
    assert not r.detected and r.payload is None
    assert r.p_value > 1e-3


def test_a_miss_reports_every_frame_examined(small_clip: np.ndarray,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """On a miss ``frames_used`` is what was examined, not the frames of whichever look
    scored best: a store-aided test whose best (still failing) hypothesis came from the
    one-frame key-frame look made a 24-frame check read "1 frame"."""
    import watermark.detection as detection
    from watermark.api import detect_clip, frames_to_sample, sample_plan
    from watermark.attacks import Clip

    def weak_lookup(codebook, tried, hypotheses):  # the key-frame look's last hypothesis
        k = max(i for i, t in enumerate(tried) if t[4] == 1)
        return 0.5, 1.0, k, codebook.payloads[0]

    monkeypatch.setattr(detection, "lookup_test", weak_lookup)
    even, _ = sample_plan(24, (0,), frames_to_sample(192, 256))
    r = detect_clip(Clip(list(small_clip), 24.0, keyframes=(0,)), KEY, candidates=[PAYLOAD])
    assert not r.detected and r.method == "lookup" and r.p_value == 1.0
    assert r.frames_used == len(even) > 1


def test_a_decode_failing_its_crc_is_a_miss_not_another_payload(
        small_marked: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    """Integrity before attribution: however strong the correlation, a message whose CRC-16
    does not hold is never reported as a payload."""
    import watermark.detection as detection

    monkeypatch.setattr(detection, "crc_ok", lambda message: False)
    r = detect(small_marked, KEY)
    assert not r.detected and r.payload is None and r.p_value == 1.0
    assert r.decoded == PAYLOAD and r.z_score > 11  # the evidence itself was there


def test_other_payload_round_trips(small_clip: np.ndarray) -> None:
    marked = embed(small_clip[:12], 0xFEDCBA9876543210, KEY)
    assert detect(marked, KEY).payload == "fedcba9876543210"


def test_invisibility_and_flat_areas(small_clip: np.ndarray, small_marked: np.ndarray) -> None:
    assert psnr(small_clip, small_marked) >= 40.0
    flat = np.full((192, 256, 3), 117, np.uint8)
    assert np.array_equal(embed(flat, PAYLOAD, KEY), flat)  # no texture: no pattern
    frame = small_clip[0].copy()
    frame[:, :96] = 90  # a flat band inside a textured frame stays untouched
    out = embed(frame, PAYLOAD, KEY)
    assert np.array_equal(out[4:-4, :88], frame[4:-4, :88])
    assert not np.array_equal(out[:, 128:], frame[:, 128:])


def test_still_image_round_trip(small_clip: np.ndarray) -> None:
    still = small_clip[3]
    marked = embed(still, PAYLOAD, KEY)
    assert marked.shape == still.shape and marked.dtype == np.uint8
    assert detect(marked, KEY).payload == PAYLOAD


def test_detect_reads_each_image_array_embed_writes(small_clip: np.ndarray) -> None:
    """Grey, RGBA and 16-bit stills, as embed() takes and gives them, are detected as the
    8-bit RGB picture they show: alpha ignored, 16-bit samples read at the 8-bit scale."""
    still = small_clip[3]
    marked = embed(still, PAYLOAD, KEY)
    noisy = np.clip(marked + np.random.default_rng(1).normal(0, 12, marked.shape), 0, 255)
    seen = noisy.round().astype(np.uint8)
    reference = detect(seen, KEY)
    assert reference.payload == PAYLOAD
    rgba = np.dstack([seen, np.full(seen.shape[:2], 7, np.uint8)])
    assert detect(rgba, KEY).p_value == reference.p_value
    deep = detect(seen.astype(np.uint16) * 257, KEY)  # the same picture in 16-bit samples
    assert deep.payload == PAYLOAD
    assert np.log(deep.p_value) == pytest.approx(np.log(reference.p_value), rel=0.01)
    grey = embed(still[..., 1], PAYLOAD, KEY)
    assert grey.ndim == 2 and detect(grey, KEY).payload == PAYLOAD
    with pytest.raises(MediaError, match="float32"):
        detect(marked.astype(np.float32) / 255, KEY)


def test_streaming_is_lazy_and_detect_takes_iterables(small_clip: np.ndarray) -> None:
    def frames() -> Iterator[np.ndarray]:
        yield from small_clip[:8]
        raise AssertionError("read past what was consumed")

    stream = embed(frames(), PAYLOAD, KEY)
    first = [next(stream) for _ in range(8)]
    assert len(first) == 8
    r = detect(iter(first), KEY)
    assert r.frames_used == 8 and r.payload == PAYLOAD


def test_portrait_and_odd_sizes(small_clip: np.ndarray) -> None:
    portrait = np.ascontiguousarray(np.transpose(small_clip[:12], (0, 2, 1, 3))[:, :255, :191])
    assert detect(embed(portrait, PAYLOAD, KEY), KEY).payload == PAYLOAD


def test_bad_inputs_raise_input_errors(small_clip: np.ndarray) -> None:
    with pytest.raises(PayloadError):
        embed(small_clip[0], "nothex", KEY)
    with pytest.raises(MediaError, match="uint8"):
        embed(small_clip[0].astype(np.float32), PAYLOAD, KEY)
    with pytest.raises(MediaError, match="too small"):
        embed(small_clip[0, :40, :40], PAYLOAD, KEY)
    with pytest.raises(MediaError, match="shape"):
        detect(np.zeros((4, 4, 2)), KEY)
    with pytest.raises(MediaError, match="differs"):
        detect([small_clip[0], small_clip[0, :100]], KEY)


def test_yuv420_embedding_matches_the_rgb_path(small_clip: np.ndarray) -> None:
    """Marking the Y plane of a 4:2:0 frame makes the same luma change as the RGB path."""
    import cv2

    from watermark.config import parse_payload, resolve_key
    from watermark.embedding import embed_frame, embed_yuv420

    bits, key, cfg = parse_payload(PAYLOAD), resolve_key(KEY), WatermarkConfig()
    rgb = small_clip[3]
    planes = cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420)  # (H*3/2, W)
    h = rgb.shape[0]
    marked = embed_yuv420(planes.copy(), key, bits, cfg)
    assert np.array_equal(marked[h:], planes[h:])  # chroma untouched
    change_yuv = marked[:h].astype(np.float32) - planes[:h]
    rgb_marked = embed_frame(rgb, key, bits, cfg)
    change_rgb = (cv2.cvtColor(rgb_marked, cv2.COLOR_RGB2GRAY).astype(np.float32)
                  - cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
    assert np.abs(change_yuv).mean() > 0.2  # something was embedded
    assert np.corrcoef(change_yuv.ravel(), change_rgb.ravel())[0, 1] > 0.9
    with pytest.raises(MediaError, match="YUV"):
        embed_yuv420(rgb, key, bits, cfg)


def test_a_10_bit_frame_gets_the_same_mark_at_10_bit_precision(small_clip: np.ndarray) -> None:
    import cv2

    from watermark.config import parse_payload, resolve_key
    from watermark.embedding import embed_yuv420

    bits, key, cfg = parse_payload(PAYLOAD), resolve_key(KEY), WatermarkConfig()
    planes = cv2.cvtColor(small_clip[3], cv2.COLOR_RGB2YUV_I420)
    deep = planes.astype(np.uint16) * 4  # the same picture in 10-bit codes
    h = small_clip.shape[1]
    change8 = embed_yuv420(planes.copy(), key, bits, cfg)[:h].astype(np.float32) - planes[:h]
    marked = embed_yuv420(deep.copy(), key, bits, cfg)
    assert marked.dtype == np.uint16 and marked.max() <= 1023
    assert np.array_equal(marked[h:], deep[h:])  # chroma untouched
    change10 = marked[:h].astype(np.float32) - deep[:h]
    assert np.abs(change10).mean() > 2.0  # measured 6.1
    # 4x the 8-bit change, which was rounded to whole 8-bit levels (±2 codes), up to the
    # 10-bit rounding of its own
    assert np.abs(change10 - 4 * change8).max() <= 2.5
    assert np.abs(change10 - 4 * change8).mean() < 1.2
    assert np.count_nonzero(change10 % 4) > 0.2 * change10.size  # not whole 8-bit steps


def test_edge_preserving_residual_leaves_edges_out_and_both_filters_detect(
        small_clip: np.ndarray, small_marked: np.ndarray) -> None:
    from watermark.residuals import residual

    step = np.zeros((128, 128), np.uint8)
    step[:, 64:] = 200  # one strong edge and nothing else
    bilateral, gaussian = residual(step, 400, "bilateral"), residual(step, 400, "gaussian")
    assert np.abs(bilateral).max() < 0.1 * np.abs(gaussian).max()
    assert np.abs(residual(step, 400, "nlm")).max() < 0.1 * np.abs(gaussian).max()
    for name in ("bilateral", "gaussian", "nlm"):
        cfg = WatermarkConfig(residual_filter=name)
        assert detect(small_marked, KEY, cfg).payload == PAYLOAD
        assert not detect(small_clip, KEY, cfg).detected


def test_key_frames_get_their_own_content_prediction(
        small_marked: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    import watermark.detection as detection

    used: list[str] = []
    real = detection.predict_residual

    def spy(g: np.ndarray, method: str = "bilateral") -> np.ndarray:
        used.append(method)
        return real(g, method)

    import watermark.looks as looks

    monkeypatch.setattr(detection, "predict_residual", spy)
    monkeypatch.setattr(looks, "predict_residual", spy)  # the bilateral one, made for two looks
    cfg = WatermarkConfig(key_frame_filter="nlm", fine_look_pixels=0)  # no fine look
    result = detect(small_marked, KEY, cfg, keyframes=[0])
    assert result.payload == PAYLOAD
    assert used.count("nlm") == 1 and used.count("bilateral") == len(small_marked)
    assert used.count("median") == len(small_marked)  # the median look
    used.clear()
    # the fine look (every frame again through non-local means) is only computed when the
    # other looks find nothing: here they find the mark, so it is skipped ...
    fine = WatermarkConfig(key_frame_filter="nlm")
    assert detect(small_marked, KEY, fine, keyframes=[0]).payload == PAYLOAD
    assert used.count("nlm") == 1
    used.clear()
    # ... and under another key (nothing to find) it is computed on every frame
    assert not detect(small_marked, "another key", fine, keyframes=[0]).detected
    assert used.count("nlm") == 1 + len(small_marked)
