"""Hostile and broken uploads get the documented 4xx JSON error, and leave no temp files."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import av
import numpy as np
import pytest
from fastapi.testclient import TestClient

from api.settings import ApiSettings
from tests.api.conftest import LIMIT_BYTES, leftovers, upload


def _png_header_only(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return b"\x89PNG\r\n\x1a\n" + chunk


def _huge_mp4(path: Path, side: int = 4096) -> Path:
    """One black frame at ``side``×``side``: a valid MP4 whose header is beyond the limits."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=1)
        stream.width = stream.height = side
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "ultrafast"}
        frame = av.VideoFrame.from_ndarray(np.zeros((side, side, 3), np.uint8), format="rgb24")
        for packet in [*stream.encode(frame), *stream.encode()]:
            out.mux(packet)
    return path


def _error(response) -> tuple[int, str]:
    body = response.json()
    assert set(body) == {"error"} and body["error"]["message"], body
    return response.status_code, body["error"]["code"]


@pytest.mark.parametrize("endpoint", ["/v1/verify", "/v1/watermark/detect"])
def test_garbage_bytes_are_415(client: TestClient, settings: ApiSettings, endpoint: str) -> None:
    r = client.post(endpoint, files={"file": ("x.mp4", b"\x00garbage" * 500)})
    assert _error(r) == (415, "unsupported_media")
    assert "'x.mp4'" in r.json()["error"]["message"]  # the client's name, not a server path
    assert leftovers(settings) == []


def test_zero_byte_file_is_422(client: TestClient, settings: ApiSettings) -> None:
    r = client.post("/v1/verify", files={"file": ("empty.mp4", b"")})
    assert _error(r) == (422, "empty_file")
    assert leftovers(settings) == []


def test_truncated_mp4_is_422(client: TestClient, settings: ApiSettings, clip: Path) -> None:
    r = client.post("/v1/verify", files={"file": ("cut.mp4", clip.read_bytes()[:2000])})
    assert _error(r) == (422, "media")
    assert "truncated or corrupt" in r.json()["error"]["message"]
    assert str(settings.resolved_upload_dir()) not in r.text
    assert leftovers(settings) == []


def test_decompression_bomb_png_header_is_422(client: TestClient, settings: ApiSettings) -> None:
    r = client.post("/v1/verify", files={"file": ("bomb.png", _png_header_only(100_000, 100_000))})
    assert _error(r) == (422, "media_limit")
    assert leftovers(settings) == []


def test_huge_dimension_video_header_is_422(client: TestClient, settings: ApiSettings,
                                            workdir: Path) -> None:
    r = client.post("/v1/verify", files=upload(_huge_mp4(workdir / "huge.mp4")))
    assert _error(r) == (422, "media_limit")
    assert "4096x4096" in r.json()["error"]["message"]
    assert leftovers(settings) == []


def test_oversized_upload_is_413_from_content_length(client: TestClient,
                                                     settings: ApiSettings) -> None:
    r = client.post("/v1/verify", files={"file": ("big.mp4", b"\x00" * (LIMIT_BYTES + 300_000))})
    assert _error(r) == (413, "upload_too_large")
    assert leftovers(settings) == []


def test_oversized_upload_is_413_while_streaming(client: TestClient, settings: ApiSettings) -> None:
    """Without Content-Length (chunked), the count stops the upload as it passes the limit:
    driven at the ASGI level to see how much of the body the app actually read."""
    import anyio

    chunks = [b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.mp4\"\r\n\r\n"]
    chunks += [b"\x00" * (256 * 1024)] * 64 + [b"\r\n--b--\r\n"]  # 16 MiB, 8x the limit
    received: list[int] = []
    sent: list[dict] = []

    async def receive() -> dict:
        i = len(received)
        received.append(i)
        return {"type": "http.request", "body": chunks[i], "more_body": i + 1 < len(chunks)}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": "/v1/verify", "raw_path": b"/v1/verify",
             "query_string": b"", "root_path": "", "client": ("127.0.0.1", 1),
             "server": ("testserver", 80), "app": client.app, "state": {},
             "headers": [(b"host", b"testserver"), (b"transfer-encoding", b"chunked"),
                         (b"content-type", b"multipart/form-data; boundary=b")]}
    anyio.run(client.app, scope, receive, send)
    assert sent[0]["status"] == 413
    assert b"upload_too_large" in sent[1]["body"]
    assert len(received) <= LIMIT_BYTES // (256 * 1024) + 2  # stopped just past the limit
    assert leftovers(settings) == []


def test_wrong_content_type_is_415(client: TestClient) -> None:
    r = client.post("/v1/verify", content=b"{}", headers={"Content-Type": "application/json"})
    assert _error(r) == (415, "unsupported_content_type")


def test_missing_file_part_is_422(client: TestClient, settings: ApiSettings) -> None:
    r = client.post("/v1/verify", files={"other": ("a.txt", b"hello")}, data={"x": "1"})
    assert _error(r) == (422, "validation_error")
    r = client.post("/v1/verify", data={"x": "1"}, files={})
    assert r.status_code in (415, 422)  # urlencoded when there is no file at all
    assert leftovers(settings) == []


def test_malformed_multipart_is_400(client: TestClient, settings: ApiSettings) -> None:
    r = client.post("/v1/verify", content=b"--b\r\nnot a header line\r\n\r\nxx",
                    headers={"Content-Type": "multipart/form-data; boundary=b"})
    code, _ = _error(r)
    assert code in (400, 422)
    assert leftovers(settings) == []


def test_two_file_parts_are_refused(client: TestClient, clip: Path) -> None:
    data = clip.read_bytes()
    r = client.post("/v1/verify", files=[("file", ("a.mp4", data)), ("file", ("b.mp4", data))])
    assert _error(r) == (422, "validation_error")


def test_media_limits_of_the_api_apply(clip: Path) -> None:
    from api.app import create_app

    with TestClient(create_app(ApiSettings(max_frames=5))) as c:
        r = c.post("/v1/verify", files=upload(clip))
    assert _error(r) == (422, "media_limit")


def test_json_bodies_are_capped(client: TestClient) -> None:
    from tests.api.conftest import bearer

    headers = {**bearer("generate"), "Content-Type": "application/json"}
    big = b'{"prompt": "' + b"x" * 200_000 + b'"}'
    r = client.post("/v1/generate", content=big, headers=headers)
    assert _error(r) == (413, "upload_too_large")

    def chunked():
        yield b'{"prompt": "'
        for _ in range(50):
            yield b"x" * 10_000
        yield b'"}'

    r = client.post("/v1/generate", content=chunked(), headers=headers)
    assert _error(r) == (413, "upload_too_large")
    r = client.request("GET", "/healthz", content=b"x" * 100_000)
    assert _error(r) == (413, "upload_too_large")


def test_a_restart_sweeps_uploads_a_killed_server_left(settings: ApiSettings) -> None:
    import os
    import time

    from api.app import create_app

    folder = settings.resolved_upload_dir()
    folder.mkdir(parents=True, exist_ok=True)
    stale, fresh = folder / "upload-stale", folder / "upload-fresh"
    stale.write_bytes(b"x")
    fresh.write_bytes(b"y")
    old = time.time() - 10 * 3600
    os.utime(stale, (old, old))
    with TestClient(create_app(settings)):
        pass
    assert not stale.exists() and fresh.exists()  # a sibling server may still use fresh ones
    fresh.unlink()


def test_a_phone_photo_is_not_refused_by_the_video_frame_limit(
        client: TestClient, settings: ApiSettings, workdir: Path) -> None:
    """A 12 MP photo (4032x3024) is over the service's 4K frame limit, not its photo limit."""
    import numpy as np

    from provenant.media import write_image

    photo = write_image(np.full((3024, 4032, 3), 128, np.uint8), workdir / "phone.jpg")
    r = client.post("/v1/verify", files=upload(photo))
    assert r.status_code == 200, r.text
    assert r.json()["c2pa"]["present"] is False
    assert leftovers(settings) == []
