"""``/v1/sign`` and ``/v1/watermark/embed``: synchronous answers with the file, or jobs."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.settings import ApiSettings
from provenant.provenance import verify
from provenant.store import open_store
from tests.api.conftest import leftovers, upload
from watermark.config import KEY_ENV, RETIRED_KEYS_ENV, key_id, resolve_key


def wait_for(client: TestClient, job_id: str, headers: dict[str, str], timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(f"/v1/jobs/{job_id}", headers=headers).json()
        if job["state"] in ("succeeded", "failed") or time.monotonic() > deadline:
            return job
        time.sleep(0.05)


def test_sign_answers_the_signed_file(client: TestClient, settings: ApiSettings, clip: Path,
                                      sign_headers: dict[str, str], workdir: Path) -> None:
    r = client.post("/v1/sign", files=upload(clip, "holiday.mp4"), headers=sign_headers,
                    data={"source_type": "trainedAlgorithmicMedia", "title": "Holiday"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "video/mp4"
    assert 'filename="holiday-signed.mp4"' in r.headers["content-disposition"]
    out = workdir / "signed.mp4"
    out.write_bytes(r.content)
    report = verify(out)
    assert report.c2pa is not None and report.c2pa.state == "Valid"
    assert report.c2pa.ai_generated is True
    manifest_id = r.headers["x-provenant-manifest-id"]
    assert report.c2pa.manifest_id == manifest_id
    assert open_store().get(manifest_id).title == "Holiday"
    assert leftovers(settings) == []
    r = client.post("/v1/sign", files=upload(clip, "beach.mp4"), headers=sign_headers)
    untitled = open_store().get(r.headers["x-provenant-manifest-id"])
    assert untitled.title == "beach-signed.mp4"  # as downloaded, not the server's work file


@pytest.mark.parametrize("fixture, mime", [("jpeg", "image/jpeg"), ("webp", "image/webp"),
                                           ("heic", "image/heic"), ("avif", "image/avif")])
def test_sign_an_image(client: TestClient, request, fixture: str, mime: str,
                       sign_headers: dict[str, str], workdir: Path) -> None:
    image: Path = request.getfixturevalue(fixture)
    r = client.post("/v1/sign", files=upload(image), headers=sign_headers)
    assert r.status_code == 200
    assert r.headers["content-type"] == mime
    out = workdir / f"signed{image.suffix}"
    out.write_bytes(r.content)
    assert verify(out).c2pa.state == "Valid"


def test_a_signed_upload_is_the_parent_and_says_how_it_was_made(
        client: TestClient, png: Path, sign_headers: dict[str, str], workdir: Path) -> None:
    """Without a source_type, an upload with no manifest is declared a capture (the API's
    default); one that has a manifest becomes the parent, whose declaration stands, with or
    without the watermark (it was declared a capture over an AI parent)."""
    from provenant.manifest import SignOptions
    from provenant.provenance import sign

    r = client.post("/v1/sign", files=upload(png, "plain.png"), headers=sign_headers)
    assert r.status_code == 200 and r.headers["x-provenant-manifest-id"]
    (workdir / "plain-signed.png").write_bytes(r.content)
    assert verify(workdir / "plain-signed.png").c2pa.actions[0].get(
        "digitalSourceType", "").endswith("digitalCapture")
    ai = sign(png, workdir / "ai.png", SignOptions(source_type="trainedAlgorithmicMedia")).path
    for fields in ({}, {"watermark": "true"}):
        r = client.post("/v1/sign", files=upload(ai, "ai.png"), headers=sign_headers,
                        data=fields)
        assert r.status_code == 200, r.text
        (workdir / "again.png").write_bytes(r.content)
        report = verify(workdir / "again.png")
        assert report.c2pa.actions[0]["action"] == "c2pa.opened"
        assert report.verdict.label == "verified-ai-generated"
        assert not any("digitalSourceType" in a for a in report.c2pa.actions)


def test_sign_refuses_a_bad_source_type(client: TestClient, settings: ApiSettings, clip: Path,
                                        sign_headers: dict[str, str]) -> None:
    r = client.post("/v1/sign", files=upload(clip), headers=sign_headers,
                    data={"source_type": "madeUp"})
    assert r.status_code == 422
    assert "source_type='madeUp'" in r.json()["error"]["message"]
    assert leftovers(settings) == []


def test_sign_as_a_job(client: TestClient, clip: Path, sign_headers: dict[str, str],
                       workdir: Path) -> None:
    r = client.post("/v1/sign?mode=job", files=upload(clip, "a.mp4"), headers=sign_headers)
    assert r.status_code == 202
    job = r.json()
    assert job["state"] in ("queued", "running", "succeeded")
    assert r.headers["location"] == f"/v1/jobs/{job['id']}"
    job = wait_for(client, job["id"], sign_headers)
    assert job["state"] == "succeeded", job
    assert job["result"]["manifest_id"].startswith("urn:")
    r = client.get(job["result_url"], headers=sign_headers)
    assert r.status_code == 200 and 'filename="a-signed.mp4"' in r.headers["content-disposition"]
    (workdir / "s.mp4").write_bytes(r.content)
    assert verify(workdir / "s.mp4").c2pa.manifest_id == job["result"]["manifest_id"]


def test_sign_of_webm_is_415_from_the_library(client: TestClient, workdir: Path,
                                              sign_headers: dict[str, str]) -> None:
    from provenant.media import write_video
    from provenant.samples import render_clip

    webm = write_video(render_clip(4, 32, 32), workdir / "c.webm", fps=8, codec="libvpx-vp9")
    r = client.post("/v1/sign", files=upload(webm), headers=sign_headers)
    assert r.status_code == 415
    assert "C2PA signing supports" in r.json()["error"]["message"]


def test_watermark_embed_then_detect(client: TestClient, clip2s: Path,
                                     sign_headers: dict[str, str]) -> None:
    r = client.post("/v1/watermark/embed", files=upload(clip2s), headers=sign_headers,
                    data={"payload": "0xa1b2c3d4e5f60718"})
    assert r.status_code == 200, r.text
    assert r.headers["x-provenant-payload"] == "a1b2c3d4e5f60718"
    marked = r.content
    r = client.post("/v1/watermark/detect", files={"file": ("w.mp4", marked)})
    assert r.json()["detected"] is True and r.json()["payload"] == "a1b2c3d4e5f60718"
    assert r.json()["key_id"] == key_id(resolve_key(None)) and not r.json()["key_retired"]


def test_watermark_detect_tests_the_server_s_retired_keys(
        client: TestClient, clip2s: Path, sign_headers: dict[str, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    r = client.post("/v1/watermark/embed", files=upload(clip2s), headers=sign_headers,
                    data={"payload": "0xa1b2c3d4e5f60718"})
    old = resolve_key(None)
    monkeypatch.setenv(KEY_ENV, "the-rotated-key")
    monkeypatch.setenv(RETIRED_KEYS_ENV, old.decode())
    found = client.post("/v1/watermark/detect", files={"file": ("w.mp4", r.content)}).json()
    assert found["detected"] and found["key_retired"] and found["key_id"] == key_id(old)
    report = client.post("/v1/verify", files={"file": ("w.mp4", r.content)}).json()
    assert report["watermark"]["key_retired"] and "retired key" in " ".join(
        report["verdict"]["reasons"])


def _encoded(src: Path, dst: Path, fmt: str) -> Path:
    """``src``'s frames as H.264 in another container."""
    from provenant.media import iter_frames, probe
    from tests.conftest import encode_clip

    return encode_clip(dst, iter_frames(src), fmt=fmt, rate=round(probe(src).fps))


def test_a_transport_stream_is_watermarked_into_an_mp4(client: TestClient, clip2s: Path,
                                                        sign_headers: dict[str, str],
                                                        workdir: Path) -> None:
    ts = _encoded(clip2s, workdir / "capture.ts", "mpegts")
    r = client.post("/v1/watermark/embed", files=upload(ts), headers=sign_headers,
                    data={"payload": "0123456789abcdef"})
    assert r.status_code == 200, r.text
    assert r.content[4:8] == b"ftyp" and 'filename="capture-watermarked.mp4"' in \
        r.headers["content-disposition"]
    r = client.post("/v1/watermark/detect", files=upload(ts))
    assert r.status_code == 200 and r.json()["detected"] is False


def test_subtitles_an_mp4_cannot_hold_are_named_in_a_warning(
        client: TestClient, sign_headers: dict[str, str], workdir: Path) -> None:
    import warnings

    from provenant.errors import ProvenanceWarning
    from tests.provenant.test_subtitles import clip_with_subtitles

    ts = clip_with_subtitles(workdir / "broadcast.ts", "dvbsub")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ProvenanceWarning)  # said in the answer, not warned
        r = client.post("/v1/watermark/embed", files=upload(ts), headers=sign_headers,
                        data={"payload": "0123456789abcdef"})
    assert r.status_code == 200, r.text
    assert "subtitle track 1 (dvbsub) is not kept" in r.headers["x-provenant-warning"]
    r = client.post("/v1/watermark/embed?mode=job", files=upload(ts), headers=sign_headers,
                    data={"payload": "0123456789abcdef"})
    job = wait_for(client, r.json()["id"], sign_headers)
    assert any("(dvbsub) is not kept" in w for w in job["result"]["warnings"])
    text = clip_with_subtitles(workdir / "film.mkv")  # text subtitles are converted: no warning
    r = client.post("/v1/watermark/embed", files=upload(text), headers=sign_headers,
                    data={"payload": "0123456789abcdef"})
    assert r.status_code == 200 and "x-provenant-warning" not in r.headers


def test_an_avi_is_signed_as_an_avi(client: TestClient, clip: Path, workdir: Path,
                                    sign_headers: dict[str, str]) -> None:
    avi = _encoded(clip, workdir / "camera.avi", "avi")
    r = client.post("/v1/sign", files=upload(avi), headers=sign_headers)
    assert r.status_code == 200, r.text
    assert r.content[:4] == b"RIFF" and 'filename="camera-signed.avi"' in \
        r.headers["content-disposition"]
    (workdir / "signed.avi").write_bytes(r.content)
    assert verify(workdir / "signed.avi").c2pa.state == "Valid"


def test_a_tiff_is_watermarked_into_a_png(client: TestClient, sign_headers: dict[str, str],
                                          workdir: Path) -> None:
    from PIL import Image

    from provenant.samples import sample_photos

    tiff = workdir / "scan.tif"
    Image.open(sample_photos()["astronaut"]).save(tiff)
    r = client.post("/v1/watermark/embed", files=upload(tiff), headers=sign_headers,
                    data={"payload": "0123456789abcdef"})
    assert r.status_code == 200, r.text
    assert r.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert 'filename="scan-watermarked.png"' in r.headers["content-disposition"]


def test_watermark_embed_validates_the_payload(client: TestClient, clip: Path,
                                               sign_headers: dict[str, str]) -> None:
    r = client.post("/v1/watermark/embed", files=upload(clip), headers=sign_headers)
    assert r.status_code == 422 and "payload" in r.json()["error"]["message"]
    r = client.post("/v1/watermark/embed", files=upload(clip), headers=sign_headers,
                    data={"payload": "xyz"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "payload"


def test_watermark_embed_as_a_job(client: TestClient, clip: Path,
                                  sign_headers: dict[str, str]) -> None:
    r = client.post("/v1/watermark/embed?mode=job", files=upload(clip), headers=sign_headers,
                    data={"payload": "0123456789abcdef"})
    assert r.status_code == 202
    job = wait_for(client, r.json()["id"], sign_headers)
    assert job["state"] == "succeeded" and job["result"]["payload"] == "0123456789abcdef"
    r = client.get(job["result_url"], headers=sign_headers)
    assert r.status_code == 200 and r.content[4:8] == b"ftyp"


def test_sign_with_watermark_registers_a_soft_binding(client: TestClient, clip2s: Path,
                                                      sign_headers: dict[str, str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """watermark=true stamps (watermark + sign + register), so the soft binding resolves."""
    import provenant.plugins
    import provenant.provenance
    from watermark.evidence import stamper

    installed = {"watermark": stamper}  # as the watermark's entry point declares it
    monkeypatch.setattr(provenant.plugins, "stampers", lambda: installed)
    monkeypatch.setattr(provenant.provenance, "stampers", lambda: installed)
    r = client.post("/v1/sign", files=upload(clip2s), headers=sign_headers,
                    data={"watermark": "true", "source_type": "trainedAlgorithmicMedia"})
    assert r.status_code == 200, r.text
    record = open_store().get(r.headers["x-provenant-manifest-id"])
    (alg, value), = record.soft_bindings
    r2 = client.get("/matches/byBinding", params={"alg": alg, "value": value})
    assert record.manifest_id in [m["manifestId"] for m in r2.json()["matches"]]
    detected = client.post("/v1/watermark/detect", files={"file": ("s.mp4", r.content)}).json()
    assert detected["detected"] and detected["payload"] == value


def test_sign_with_watermark_is_501_without_a_stamper(client: TestClient, clip: Path,
                                                      sign_headers: dict[str, str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import provenant.plugins

    monkeypatch.setattr(provenant.plugins, "stampers", lambda: {})
    r = client.post("/v1/sign", files=upload(clip), headers=sign_headers,
                    data={"watermark": "true"})
    assert r.status_code == 501 and "stamper" in r.json()["error"]["message"]


def test_sign_refuses_an_overlong_title(client: TestClient, clip: Path,
                                        sign_headers: dict[str, str]) -> None:
    r = client.post("/v1/sign", files=upload(clip), headers=sign_headers, data={"title": "t" * 201})
    assert r.status_code == 422 and "title" in r.json()["error"]["message"]


def test_gifs_are_watermarked_signed_and_read(client: TestClient, clip2s: Path, workdir: Path,
                                              sign_headers: dict[str, str]) -> None:
    """An animated GIF comes back as an MP4, a still one as a PNG (the watermark is not
    written into a palette); a signed GIF stays a GIF; a GIF made from a marked clip is read."""
    from PIL import Image

    from provenant.media import iter_frames, probe

    frames = [Image.fromarray(f) for f in list(iter_frames(clip2s))[:12]]
    anim, still = workdir / "a.gif", workdir / "s.gif"
    frames[0].save(anim, save_all=True, append_images=frames[1:], duration=40, loop=0)
    frames[0].save(still)
    payload = {"payload": "0123456789abcdef"}
    r = client.post("/v1/watermark/embed", files=upload(anim), headers=sign_headers, data=payload)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "video/mp4" and r.content[4:8] == b"ftyp"
    marked = [Image.fromarray(f) for f in iter_frames(_saved(workdir / "m.mp4", r.content))]
    meme = workdir / "meme.gif"
    marked[0].save(meme, save_all=True, append_images=marked[1:], duration=40, loop=0)
    r = client.post("/v1/watermark/detect", files=upload(meme))
    assert r.json()["detected"] is True and r.json()["payload"] == "0123456789abcdef"
    r = client.post("/v1/watermark/embed", files=upload(still), headers=sign_headers, data=payload)
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    r = client.post("/v1/sign", files=upload(anim), headers=sign_headers)
    assert r.status_code == 200 and r.headers["content-type"] == "image/gif"
    signed = probe(_saved(workdir / "signed.gif", r.content))
    assert (signed.kind, signed.frame_count) == ("video", 12)  # still the animation
    r = client.post("/v1/verify", files={"file": ("x.gif", r.content)})
    assert r.status_code == 200 and r.json()["c2pa"]["state"] == "Valid"
    mark = r.json()["watermark"]
    assert not mark["detected"] and mark["frames_used"] == 12  # a miss counts all it examined


@pytest.mark.parametrize("suffix", [".png", ".webp"])
def test_an_animated_png_or_webp_is_watermarked_as_an_mp4(client: TestClient, clip2s: Path,
                                                          workdir: Path, suffix: str,
                                                          sign_headers: dict[str, str]) -> None:
    """An APNG or animated WebP is an animation: marked, it comes back as an MP4 (not as an
    image file that would have to hold a video); signed, it stays what it was."""
    from PIL import Image

    from provenant.media import iter_frames, probe

    frames = [Image.fromarray(f) for f in list(iter_frames(clip2s))[:12]]
    anim = workdir / f"a{suffix}"
    frames[0].save(anim, save_all=True, append_images=frames[1:], duration=40, loop=0)
    payload = {"payload": "0123456789abcdef"}
    r = client.post("/v1/watermark/embed", files=upload(anim), headers=sign_headers, data=payload)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "video/mp4" and r.content[4:8] == b"ftyp"
    r = client.post("/v1/watermark/detect", files=upload(_saved(workdir / "m.mp4", r.content)))
    assert r.json()["payload"] == "0123456789abcdef" and r.json()["frames_used"] == 12
    r = client.post("/v1/sign", files=upload(anim), headers=sign_headers)
    assert r.status_code == 200 and r.headers["content-type"] == f"image/{suffix[1:]}"
    signed = probe(_saved(workdir / f"signed{suffix}", r.content))
    assert (signed.kind, signed.frame_count) == ("video", 12)
    r = client.post("/v1/verify", files={"file": (f"x{suffix}", r.content)})
    assert r.json()["c2pa"]["state"] == "Valid" and r.json()["watermark"]["frames_used"] == 12


def _saved(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_keep_animation_answers_a_marked_animation_of_its_kind(client: TestClient, clip2s: Path,
                                                               workdir: Path,
                                                               sign_headers: dict[str, str]
                                                               ) -> None:
    """With ``keep_animation=true`` an animated GIF comes back as an animated GIF (and a
    signed one from ``/v1/sign`` with the watermark), its frames' timing kept."""
    from PIL import Image

    from provenant.media import iter_frames, probe

    frames = [Image.fromarray(f) for f in list(iter_frames(clip2s))[:12]]
    anim = workdir / "a.gif"
    frames[0].save(anim, save_all=True, append_images=frames[1:], duration=60, loop=0)
    form = {"payload": "0123456789abcdef", "keep_animation": "true"}
    r = client.post("/v1/watermark/embed", files=upload(anim), headers=sign_headers, data=form)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/gif"
    marked = probe(_saved(workdir / "m.gif", r.content))
    assert marked.animation and marked.frame_count == 12 and abs(marked.duration - 0.72) < 1e-6
    r = client.post("/v1/watermark/detect", files=upload(marked.path))
    assert r.json()["payload"] == "0123456789abcdef"
    r = client.post("/v1/sign", files=upload(anim), headers=sign_headers,
                    data={"watermark": "true", "keep_animation": "true"})
    assert r.status_code == 200 and r.headers["content-type"] == "image/gif"
    r = client.post("/v1/verify", files={"file": ("s.gif", r.content)})
    body = r.json()
    assert body["c2pa"]["state"] == "Valid" and body["watermark"]["detected"]


@pytest.mark.parametrize("reply", ["token", "http-500"])
def test_sign_through_the_configured_timestamp_authority(
        reply: str, client: TestClient, settings: ApiSettings, clip: Path,
        sign_headers: dict[str, str], workdir: Path, monkeypatch) -> None:
    from provenant.config import get_settings
    from tests.provenant.localtsa import local_tsa

    with local_tsa(reply) as tsa:
        monkeypatch.setenv("PROVENANT_TSA_URL", tsa.url)
        get_settings.cache_clear()
        r = client.post("/v1/sign", files=upload(clip), headers=sign_headers)
        assert tsa.requests == 1
    if reply == "token":
        assert r.status_code == 200, r.text
        out = workdir / "signed.mp4"
        out.write_bytes(r.content)
        assert verify(out).c2pa.signed_at is not None
        body = client.post("/v1/verify", files=upload(out)).json()
        assert body["c2pa"]["signed_at"] == verify(out).c2pa.signed_at
    else:  # the server's authority failed, not the upload
        assert r.status_code == 502 and r.json()["error"]["code"] == "timestamp"
        assert "timestamp authority" in r.json()["error"]["message"]
    assert leftovers(settings) == []
