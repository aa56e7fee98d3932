"""Receive a multipart upload by streaming it to a temp file, with limits at every step.

The body is parsed as it arrives (python-multipart), never buffered whole: the file part goes
to a temp file in chunks while its bytes are counted, and the request is refused with 413 as
soon as the count passes ``max_upload_bytes`` (or at once, from ``Content-Length``). Then the
content is sniffed (415 for non-media), probed from its headers against the media limits
(422), and the temp file is always removed when the request ends.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from fastapi import Request
from python_multipart.multipart import MultipartParser, parse_options_header

from starlette.exceptions import HTTPException as StarletteHTTPException

from api.errors import ApiError, error_response
from api.settings import ApiSettings
from provenant.media import MediaInfo, MediaLimits, probe
from provenant.remotemanifest import MAX_MANIFEST_BYTES

__all__ = ["Upload", "receive_upload", "FILE_FIELD", "MANIFEST_FIELD", "multipart_body", "BodyLimitMiddleware",
           "sweep_stale_uploads"]

FILE_FIELD = "file"
#: The optional part that carries the file's C2PA manifest kept outside it (``/v1/verify``).
MANIFEST_FIELD = "manifest"
_MAX_FIELDS = 16
_MAX_FIELD_BYTES = 8 * 1024
_OVERHEAD_BYTES = _MAX_FIELDS * (_MAX_FIELD_BYTES + 512) + 4096  # fields, headers, boundaries


@dataclass
class Upload:
    """A received upload: its temp ``path``, the client's ``filename`` and the form fields."""

    path: Path
    filename: str | None
    size: int
    fields: dict[str, str] = field(default_factory=dict)
    info: MediaInfo | None = None
    deferred: bool = False
    #: The bytes of a ``manifest`` part: the file's C2PA manifest kept outside it.
    manifest: bytes | None = None

    def cleanup(self) -> None:
        self.path.unlink(missing_ok=True)


def multipart_body(fields: dict[str, Any] | None = None) -> dict[str, Any]:
    """OpenAPI ``requestBody`` for a multipart upload with ``file`` plus ``fields``."""
    props: dict[str, Any] = {FILE_FIELD: {
        "type": "string", "format": "binary",
        "description": "the media file (MP4/MOV/WebM/MKV/AVI, MPEG-TS/PS, MXF, FLV, WMV, PNG, "
                       "JPEG, WebP, GIF, HEIC, AVIF, TIFF)"}}
    props.update(fields or {})
    required = [FILE_FIELD] + [k for k, v in (fields or {}).items() if v.pop("x-required", False)]
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {
        "schema": {"type": "object", "properties": props, "required": required}}}}}


class _FormReader:
    """python-multipart callbacks: one file part to disk, small text fields in memory."""

    def __init__(self, settings: ApiSettings, make_file: Callable[[], IO[bytes]]) -> None:
        self.limit = settings.max_upload_bytes
        self.make_file = make_file
        self.fields: dict[str, str] = {}
        self.file: IO[bytes] | None = None
        self.filename: str | None = None
        self.size = 0
        self._header_name, self._header_value = b"", b""
        self._disposition = b""
        self._name: str | None = None
        self._is_file = False
        self._buffer = bytearray()
        self.manifest: bytearray | None = None

    def callbacks(self) -> dict[str, Callable[..., None]]:
        return {"on_part_begin": self._part_begin, "on_part_data": self._part_data,
                "on_part_end": self._part_end, "on_header_field": self._header_field,
                "on_header_value": self._header_val, "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished}

    def _part_begin(self) -> None:
        self._disposition, self._name, self._is_file = b"", None, False
        self._buffer = bytearray()

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _header_val(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        if self._header_name.lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name, self._header_value = b"", b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        name = options.get(b"name")
        if name is None:
            raise ApiError(400, "malformed_multipart", "a form part has no name")
        self._name = name.decode("utf-8", "replace")
        if self._name == FILE_FIELD:
            if self.file is not None:
                raise ApiError(422, "validation_error", "give exactly one 'file' part")
            self._is_file = True
            raw = options.get(b"filename")
            self.filename = os.path.basename(raw.decode("utf-8", "replace"))[:255] if raw else None
            self.file = self.make_file()
        elif self._name == MANIFEST_FIELD:
            if self.manifest is not None:
                raise ApiError(422, "validation_error", "give at most one 'manifest' part")
            self.manifest = bytearray()
        elif len(self.fields) >= _MAX_FIELDS:
            raise ApiError(422, "validation_error", f"at most {_MAX_FIELDS} form fields")

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._is_file:
            self.size += end - start
            if self.size + len(self.manifest or b"") > self.limit:
                raise ApiError(413, "upload_too_large",
                               f"the upload is larger than the limit of {self.limit} bytes")
            if self.file is not None:  # always set in _headers_finished
                self.file.write(data[start:end])
            return
        if self._name == MANIFEST_FIELD and self.manifest is not None:
            self.manifest += data[start:end]  # within the upload's limit, with the file
            if len(self.manifest) > MAX_MANIFEST_BYTES or \
                    self.size + len(self.manifest) > self.limit:
                raise ApiError(413, "upload_too_large", "the 'manifest' part is larger than "
                               f"{min(MAX_MANIFEST_BYTES, self.limit)} bytes")
            return
        self._buffer += data[start:end]
        if len(self._buffer) > _MAX_FIELD_BYTES:
            raise ApiError(422, "validation_error",
                           f"form field {self._name!r} is longer than {_MAX_FIELD_BYTES} bytes")

    def _part_end(self) -> None:
        if not self._is_file and self._name is not None and self._name != MANIFEST_FIELD:
            self.fields[self._name] = self._buffer.decode("utf-8", "replace")


def _boundary(request: Request) -> bytes:
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    if ctype != b"multipart/form-data" or not params.get(b"boundary"):
        raise ApiError(415, "unsupported_content_type",
                       "send the file as multipart/form-data with a 'file' part")
    return params[b"boundary"]


def _check_length(request: Request, settings: ApiSettings) -> None:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() \
            and int(length) > settings.max_upload_bytes + _OVERHEAD_BYTES:
        raise ApiError(413, "upload_too_large", f"the upload ({length} bytes) is larger than "
                       f"the limit of {settings.max_upload_bytes} bytes")


async def _stream(request: Request, settings: ApiSettings, reader: _FormReader,
                  boundary: bytes) -> None:
    parser = MultipartParser(boundary, reader.callbacks())  # type: ignore[arg-type]
    total, cap = 0, settings.max_upload_bytes + _OVERHEAD_BYTES
    try:
        async with asyncio.timeout(settings.upload_timeout_s):
            async for chunk in request.stream():
                total += len(chunk)
                if total > cap:
                    raise ApiError(413, "upload_too_large", "the request body is larger than "
                                   f"the limit of {settings.max_upload_bytes} bytes")
                parser.write(chunk)
        parser.finalize()
    except TimeoutError:
        raise ApiError(408, "upload_timeout", "the upload was not received within "
                       f"{settings.upload_timeout_s:g} s") from None
    except (ApiError, StarletteHTTPException):
        raise
    except Exception as exc:  # python-multipart's parse errors, a client that went away
        raise ApiError(400, "malformed_multipart",
                       f"the multipart body cannot be parsed ({type(exc).__name__})") from None


def sweep_stale_uploads(settings: ApiSettings) -> int:
    """Delete uploads and work folders that a killed server left behind: anything in the
    upload folder older than the longest a live request can hold it (sibling server
    processes share the folder, so fresh files are left alone)."""
    import shutil
    import time

    folder = settings.resolved_upload_dir()
    if not folder.is_dir():
        return 0
    cutoff = time.time() - (settings.upload_timeout_s + 2 * settings.request_timeout_s)
    removed = 0
    for entry in folder.iterdir():
        try:
            if entry.stat().st_mtime >= cutoff:
                continue
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
            removed += 1
        except OSError:
            continue
    return removed


def media_limits(settings: ApiSettings) -> MediaLimits:
    return MediaLimits(settings.max_upload_bytes, settings.max_pixels, settings.max_frames,
                       settings.max_duration_s, settings.max_image_pixels)


@asynccontextmanager
async def receive_upload(request: Request, settings: ApiSettings, *,
                         check_media: bool = True) -> AsyncIterator[Upload]:
    """Stream the request's ``file`` part to a temp file; yield it; always delete it."""
    boundary = _boundary(request)
    _check_length(request, settings)
    folder = settings.resolved_upload_dir()
    folder.mkdir(parents=True, exist_ok=True)
    opened: list[IO[bytes]] = []

    def make_file() -> IO[bytes]:
        fh = tempfile.NamedTemporaryFile(dir=folder, prefix="upload-", delete=False)
        opened.append(fh)
        return fh

    reader = _FormReader(settings, make_file)
    upload: Upload | None = None
    try:
        await _stream(request, settings, reader, boundary)
        for fh in opened:
            fh.close()
        if reader.file is None:
            raise ApiError(422, "validation_error", "file: a 'file' part is required")
        upload = Upload(Path(reader.file.name), reader.filename, reader.size, reader.fields,
                        manifest=bytes(reader.manifest) if reader.manifest is not None else None)
        request.state.upload_names = {str(upload.path): upload.filename}
        if upload.size == 0:
            raise ApiError(422, "empty_file", "the uploaded file is empty (0 bytes)")
        if check_media:
            upload.info = await asyncio.to_thread(probe, upload.path, media_limits(settings))
        yield upload
    finally:
        for fh in opened:
            fh.close()
            if upload is None or not upload.deferred:
                Path(fh.name).unlink(missing_ok=True)


class _BodyTooLarge(StarletteHTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than the limit of {limit} bytes "
                              "for this endpoint")


def _route_path(scope: dict[str, Any]) -> str:
    """The path the routes see: behind a proxy that forwards its prefix (``/provenant``,
    the ``root_path``) the request path still holds it, and uploads there were taken for
    small JSON bodies (413 on every file)."""
    path, root = scope.get("path", ""), scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root + "/") else path


class BodyLimitMiddleware:
    """Pure ASGI: caps the body of every request that is not a streamed upload (JSON bodies,
    stray bodies on GET …) at ``limit`` bytes, from Content-Length or while it is read."""

    def __init__(self, app: Any, upload_paths: frozenset[str], limit: int = 64 * 1024) -> None:
        self.app, self.upload_paths, self.limit = app, upload_paths, limit

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or _route_path(scope) in self.upload_paths:
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.limit:
            response = error_response(413, "upload_too_large",
                                      str(_BodyTooLarge(self.limit).detail))
            await response(scope, receive, send)
            return
        seen = 0

        async def limited() -> dict[str, Any]:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise _BodyTooLarge(self.limit)
            return message

        await self.app(scope, limited, send)
