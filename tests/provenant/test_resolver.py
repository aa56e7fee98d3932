"""The resolution-service client against services that fail or answer badly: the report
stands, and says what the service did not give."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import provenant.provenance as prov
from provenant.errors import InputError, ProvenanceWarning
from provenant.resolver import check_resolver_url, recover_remote
from provenant.store import ManifestStore


def _serve(answers: dict[str, tuple[int, str, bytes]]):
    """A service that answers each path prefix with (status, content type, body)."""
    seen: list[tuple[str, int]] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            seen.append((self.path, len(body)))
            status, kind, data = next(v for k, v in answers.items() if self.path.startswith(k))
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _answer

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}", seen


@pytest.mark.parametrize("answers, words", [
    ({"/": (500, "application/json",
            json.dumps({"error": {"code": "internal_error", "message": "boom"}}).encode())},
     "HTTP 500 for matches: boom"),
    ({"/": (200, "application/json", b"<html>not the API</html>")}, "not a list of matches"),
    ({"/matches": (200, "application/json", b'{"matches": [{"manifestId": "urn:x"}]}'),
      "/manifests": (404, "application/json", b"{}")}, "HTTP 404 for manifest urn:x"),
    ({"/": (200, "application/json", b" " * (2 * 1024 * 1024))}, "larger than"),
    ({"/": (200, "application/json", b'{"matches": [{"manifestId": "urn:\\u001b[31mx"}]}')},
     "not one"),
])
def test_a_failing_service_leaves_the_report_standing(answers, words, clip: Path,
                                                      workdir: Path, monkeypatch) -> None:
    server, url, seen = _serve(answers)
    try:
        monkeypatch.setattr(prov, "evidence_providers", lambda: ())
        with pytest.warns(ProvenanceWarning, match="could not be asked"):
            report = prov.verify(clip, store=ManifestStore(workdir / "s.db"), resolver=url)
        assert report.recovered is None and report.verdict.label == "no-evidence"
        assert any(words in r for r in report.verdict.reasons)
        assert seen[0][0] == "/matches/byContent?maxResults=5"
        assert seen[0][1] > clip.stat().st_size  # the file went up, as a multipart part
    finally:
        server.shutdown()


def test_a_manifest_that_is_not_one_is_invalid_not_an_error(clip: Path) -> None:
    server, url, _ = _serve({
        "/matches": (200, "application/json", b'{"matches": [{"manifestId": "urn:x"}]}'),
        "/manifests": (200, "application/c2pa", b"\0\0\0\x10jumb" + b"x" * 64)})
    try:
        recovered, problem = recover_remote(clip, url)
    finally:
        server.shutdown()
    assert problem is None and recovered["signed_manifest"]["state"] == "Invalid"
    assert recovered["ai_generated"] is False


def test_credentials_in_the_url_are_not_shown(clip: Path) -> None:
    server, url, _ = _serve({"/": (500, "application/json", b"{}")})
    try:
        _, problem = recover_remote(clip, url.replace("http://", "http://desk:s3cret@"))
    finally:
        server.shutdown()
    assert problem is not None and "s3cret" not in problem and url in problem


@pytest.mark.parametrize("url", ["ftp://example.org", "example.org", "http://", "file:///etc"])
def test_only_http_urls_are_taken(url: str, clip: Path) -> None:
    with pytest.raises(InputError, match="not an http"):
        check_resolver_url(url)
    with pytest.raises(InputError):
        prov.verify(clip, resolver=url)
