"""Recovery through another installation's soft-binding resolution service.

A watermark is read with its deployment's secret key, so a newsroom cannot read another
platform's watermark itself. What it can do is what the C2PA soft-binding resolution API is
for: send the file to that platform's service (``POST /matches/byContent``), which reads its
own watermark and names the manifests registered under it, then fetch each manifest as it
was signed (``GET /manifests/{id}``, ``Accept: application/c2pa``) and validate it here,
against the file and under this side's trust anchors (:func:`check_signed_copy`). So what
the manifest says, and who signed it, rests on its signature, not on the service; only the
link between the file and that manifest rests on the service's word, and the report says so.

The file is uploaded to the service: :func:`recover_remote` runs only when asked to
(``verify --resolver URL``). Nothing here is fetched otherwise.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import quote, urlsplit
from urllib.request import Request, urlopen

from provenant import __version__
from provenant.errors import InputError
from provenant.media import MediaLimits
from provenant.recovery import check_signed_copy
from provenant.remotemanifest import MAX_MANIFEST_BYTES

__all__ = ["check_resolver_url", "resolver_urls", "recover_remote", "recover_from_services"]

_MAX_JSON_BYTES = 1024 * 1024
_MANIFEST_ID = re.compile(r"[!-~]{1,512}")
_CHUNK = 1024 * 1024


class _ServiceFailed(Exception):
    """The service could not be asked, or answered with something else than the API's."""


def check_resolver_url(url: str) -> str:
    """``url`` without a trailing slash; an InputError unless it is http(s) with a host."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InputError(f"the resolution service URL {url!r} is not an http(s) URL",
                         hint="give the service's base URL, e.g. https://provenance.example.org")
    return url.rstrip("/")


def resolver_urls(resolver: str | Sequence[str] | None) -> list[str]:
    """One service URL or several, checked (:func:`check_resolver_url`)."""
    if resolver is None:
        return []
    return [check_resolver_url(u) for u in ([resolver] if isinstance(resolver, str) else resolver)]


def _multipart(path: Path, boundary: str) -> tuple[Iterator[bytes], int]:
    """The file as the multipart part ``file``, streamed: (chunks, total length)."""
    name = path.name.replace('"', "").replace("\r", "").replace("\n", "")
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    def chunks() -> Iterator[bytes]:
        yield head
        with open(path, "rb") as fh:
            while block := fh.read(_CHUNK):
                yield block
        yield tail

    return chunks(), len(head) + os.path.getsize(path) + len(tail)


def _read(response: Any, limit: int, what: str) -> bytes:
    data = response.read(limit + 1)
    if len(data) > limit:
        raise _ServiceFailed(f"its {what} is larger than {limit:,} bytes")
    return bytes(data)


def _ask(request: Request, timeout_s: float, limit: int, what: str) -> bytes:
    try:
        with urlopen(request, timeout=timeout_s) as response:  # noqa: S310 (http(s) only)
            return _read(response, limit, what)
    except HTTPError as exc:
        detail = ""
        try:
            detail = json.loads(exc.read(_MAX_JSON_BYTES))["error"]["message"]
        except (ValueError, KeyError, TypeError, OSError):
            pass
        raise _ServiceFailed(f"HTTP {exc.code} for {what}" + (f": {detail}" if detail else ""))
    except (URLError, OSError) as exc:
        raise _ServiceFailed(str(getattr(exc, "reason", exc)))


def _matches(path: Path, base: str, max_results: int, timeout_s: float) -> list[str]:
    boundary = uuid.uuid4().hex
    body, length = _multipart(path, boundary)
    request = Request(f"{base}/matches/byContent?maxResults={max_results}", data=body,
                      method="POST", headers={
                          "Content-Type": f"multipart/form-data; boundary={boundary}",
                          "Content-Length": str(length), "Accept": "application/json",
                          "User-Agent": f"provenant/{__version__}"})
    try:
        answer = json.loads(_ask(request, timeout_s, _MAX_JSON_BYTES, "matches"))
        ids = [str(m["manifestId"]) for m in answer["matches"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise _ServiceFailed(f"its answer is not a list of matches ({exc})") from None
    if not all(_MANIFEST_ID.fullmatch(i) for i in ids):  # printed in the report: no escapes
        raise _ServiceFailed("its answer names a manifest id that is not one (printable "
                             "ASCII, at most 512 characters)")
    return ids[:max_results]


def _signed_manifest(base: str, manifest_id: str, timeout_s: float) -> bytes:
    request = Request(f"{base}/manifests/{quote(manifest_id, safe='')}", headers={
        "Accept": "application/c2pa", "User-Agent": f"provenant/{__version__}"})
    return _ask(request, timeout_s, MAX_MANIFEST_BYTES, f"manifest {manifest_id}")


def recover_remote(path: str | os.PathLike[str], base_url: str,
                   trust_anchors: Path | bytes | None = None, limits: MediaLimits | None = None,
                   *, max_results: int = 5, timeout_s: float = 60.0
                   ) -> tuple[dict[str, Any] | None, str | None]:
    """Ask the service at ``base_url`` which manifests the file's watermark leads to, and
    check each as signed against the file: ``(recovered, problem)``. ``recovered`` is the
    report's part (the first manifest whose copy holds, else the first; None for no match),
    ``problem`` what went wrong with the service (the report stands without it)."""
    base = check_resolver_url(base_url)
    shown = _shown(base)
    found: list[dict[str, Any]] = []
    try:
        for manifest_id in _matches(Path(path), base, max_results, timeout_s):
            copy = check_signed_copy(path, _signed_manifest(base, manifest_id, timeout_s),
                                     manifest_id, None, trust_anchors, limits)
            found.append({"manifest_id": manifest_id, "signer": copy["signer"],
                          "ai_generated": bool(copy["ai_generated"]),
                          "via": f"the resolution service {shown}", "signed_manifest": copy})
            if copy["state"] != "Invalid":
                return found[-1], None
    except _ServiceFailed as exc:
        return (found[0] if found else None), \
            f"the resolution service {shown} could not be asked ({exc})"
    return (found[0] if found else None), None


def _shown(url: str) -> str:
    """``url`` as reports may show it: without a user name or password in it."""
    parts = urlsplit(url)
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()


def recover_from_services(path: str | os.PathLike[str], urls: Sequence[str],
                          trust_anchors: Path | bytes | None = None,
                          limits: MediaLimits | None = None
                          ) -> tuple[dict[str, Any] | None, list[str]]:
    """:func:`recover_remote` with each service in turn (a newsroom asks every platform it
    knows of), until one names a manifest whose signed copy holds; else the first manifest
    found. Returns it (or None) and what went wrong with each service that failed."""
    found, problems = None, []
    for url in urls:
        recovered, problem = recover_remote(path, url, trust_anchors, limits)
        if problem is not None:
            problems.append(problem)
        if recovered is not None and recovered["signed_manifest"]["state"] != "Invalid":
            return recovered, problems
        found = found or recovered
    return found, problems
