"""Provenance by construction: every generated file is signed and watermarked, or not written."""

from __future__ import annotations

import json

import c2pa
import pytest

from generator.generate import GENERATION_ASSERTION, generate_clip
from provenant.cli import main
from provenant.config import get_settings
from provenant.errors import CapabilityUnavailableError
from provenant.plugins import stampers

PROMPT = "a red circle moving left on a blue background, camera panning right"
HAS_WATERMARK = "watermark" in stampers()
needs_watermark = pytest.mark.skipif(
    not HAS_WATERMARK,
    reason="no 'watermark' stamper installed (provenant.stampers entry point); "
           "generate refuses to write unwatermarked output")


def _assertions(path) -> dict[str, dict]:
    with open(path, "rb") as fh:
        store = json.loads(c2pa.Reader("video/mp4", fh).json())
    manifest = store["manifests"][store["active_manifest"]]
    return {a["label"]: a["data"] for a in manifest["assertions"]}


@needs_watermark
def test_generated_clip_is_signed_watermarked_and_registered(tiny_weights, tmp_path):
    from provenant.media import probe
    from provenant.provenance import verify

    result = generate_clip(PROMPT, tmp_path / "out.mp4", weights=tiny_weights, seed=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]  # the temp is gone
    info = probe(result.path)
    assert min(info.width, info.height) >= 256 and info.codec in ("h264", "libx264")
    ca = get_settings().credentials_dir / "ca.pem"
    report = verify(result.path, trust_anchors=ca)
    assert report.c2pa.state == "Trusted" and report.c2pa.ai_generated is True
    actions = {a["action"]: a for a in report.c2pa.actions}
    assert actions["c2pa.created"]["digitalSourceType"].endswith("trainedAlgorithmicMedia")
    assert actions["c2pa.created"]["softwareAgent"]["name"] == "tiny-test"
    assert "c2pa.watermarked" in actions
    assert report.watermark.detected and report.recovered is not None
    assert report.recovered["manifest_id"] == result.manifest_id
    raw = _assertions(result.path)
    params = raw[GENERATION_ASSERTION]
    assert params["prompt"] == PROMPT and params["seed"] == 1 and len(params["model"]["sha256"]) == 64
    assert {"steps", "guidance", "scheduler"} <= set(params)
    assert raw["cawg.training-mining"]["entries"]["cawg.ai_generative_training"]["use"] == "notAllowed"


@needs_watermark
def test_cli_generate(tiny_weights, tmp_path, capsys):
    out = tmp_path / "cli.mp4"
    code = main(["generate", "a cyan square moving up", "-o", str(out), "--seed", "2",
                 "--steps", "2", "--guidance", "2", "--weights", str(tiny_weights), "--json"])
    assert code == 0 and json.loads(capsys.readouterr().out)["manifest_id"]
    assert out.is_file()


def test_without_stamper_nothing_is_written(tiny_weights, tmp_path, monkeypatch):
    import provenant.provenance

    monkeypatch.setattr(provenant.provenance, "stampers", lambda: {})
    with pytest.raises(CapabilityUnavailableError, match="watermark"):
        generate_clip(PROMPT, tmp_path / "out.mp4", weights=tiny_weights)
    assert list(tmp_path.iterdir()) == []


def test_cli_unknown_word_is_a_usage_error(tmp_path, capsys):
    code = main(["generate", "a purple circle", "-o", str(tmp_path / "x.mp4")])
    err = capsys.readouterr().err
    assert code == 2 and "'purple'" in err and "known words" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_cli_help_lists_train_and_eval(capsys):
    with pytest.raises(SystemExit):
        main(["train", "generator", "--help"])
    assert "--resume" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["eval", "generator", "--help"])
    assert "--prompts" in capsys.readouterr().out


def test_generate_frames_takes_a_guidance_interval(tiny_weights):
    """``generate_frames`` samples with the interval it is given and records it; a bad one is
    an input error, not a silent default."""
    import numpy as np

    from generator.generate import generate_frames
    from provenant.errors import InputError

    kw = dict(num_frames=4, seed=3, steps=4, guidance=3.0, weights=tiny_weights)
    every, p_every = generate_frames(PROMPT, **kw, guidance_interval=(0.0, 1.0))
    late, p_late = generate_frames(PROMPT, **kw, guidance_interval=(0.5, 1.0))
    assert p_every["guidance_interval"] == [0.0, 1.0] and p_late["guidance_interval"] == [0.5, 1.0]
    assert not np.array_equal(every, late)
    with pytest.raises(InputError):
        generate_frames(PROMPT, **kw, guidance_interval=(0.8, 0.2))
    for zero in ({"steps": 0}, {"num_frames": 0}):  # refused, not read as "the default"
        with pytest.raises(InputError):
            generate_frames(PROMPT, **{**kw, **zero})
