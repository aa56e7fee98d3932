"""The C2PA soft-binding resolution API: manifests found by a soft binding's value, by the
watermark an upload carries, and by id.

* ``GET /matches/byBinding?alg=&value=``: the manifests this installation issued under a
  soft binding (e.g. the watermark's payload). Matches are exact lookups in the manifest
  store, so ``similarityScore`` is 100.
* ``POST /matches/byContent``: the same for an uploaded file, whose watermark is read here
  (the store's issued payloads are tested too, as ``POST /v1/watermark/detect`` does).
* ``GET /manifests/{manifestId}``: the store's record of the manifest as JSON, or, with
  ``Accept: application/c2pa``, the manifest store as it was signed (what a ``.c2pa`` file
  holds), which anyone can validate with a C2PA SDK, against the file or on its own.
* ``GET /services/supportedAlgorithms``: the algorithms these resolve.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response

from api.deps import run_on_upload
from api.errors import ApiError
from api.keys import Principal, optional_read
from api.schemas import (ERROR_RESPONSES, ManifestOut, MatchesOut, MatchOut,
                         SupportedAlgorithmsOut)
from api.services import require_watermark, watermark_detect_file
from api.settings import ApiSettings, get_api_settings
from api.uploads import Upload, multipart_body
from provenant.recovery import issued_with_another_key

__all__ = ["router", "C2PA_MEDIA_TYPE"]

router = APIRouter(tags=["soft-binding resolution"])

#: The media type of a C2PA manifest store (a ``.c2pa`` file).
C2PA_MEDIA_TYPE = "application/c2pa"


def _matches(request: Request, alg: str, value: str, max_results: int,
             found_with: str | None = None) -> MatchesOut:
    """The records under ``(alg, value)``; ``found_with``: the key id that found the mark in
    an upload, which leaves out records whose mark the store says another key made (their
    payload was copied onto the upload by whoever holds that key)."""
    records = [r for r in request.app.state.store.find_by_binding(alg, value)
               if issued_with_another_key(r, found_with) is None][:max_results]
    return MatchesOut(matches=[MatchOut(manifestId=r.manifest_id, similarityScore=100)
                               for r in records])


@router.get("/matches/byBinding", response_model=MatchesOut, responses=ERROR_RESPONSES["read"],
            summary="Manifests registered under a soft binding")
def by_binding(request: Request,
               alg: str = Query(min_length=1, max_length=256,
                                description="soft-binding algorithm, e.g. io.provenant.watermark.v2"),
               value: str = Query(min_length=1, max_length=4096,
                                  description="the binding's value (the watermark payload, hex)"),
               max_results: int = Query(10, ge=1, le=100, alias="maxResults"),
               principal: Principal = Depends(optional_read)) -> MatchesOut:
    return _matches(request, alg, value, max_results)


def _detect(upload: Upload, store: Any) -> dict[str, Any]:
    return watermark_detect_file(upload.path, upload.filename, store)


@router.post("/matches/byContent", response_model=MatchesOut,
             responses=ERROR_RESPONSES["upload"], openapi_extra=multipart_body(),
             summary="Manifests registered under the watermark an upload carries")
async def by_content(request: Request,
                     alg: str | None = Query(None, max_length=256,
                                             description="the algorithm to read (default: "
                                                         "the service's watermark)"),
                     max_results: int = Query(10, ge=1, le=100, alias="maxResults"),
                     settings: ApiSettings = Depends(get_api_settings),
                     principal: Principal = Depends(optional_read)) -> MatchesOut:
    """Read the upload's watermark (false-positive rate 1e-6 per file; the store's issued
    payloads are tested too) and answer the manifests registered under its payload: none
    when no watermark is found, and none whose mark the store says another key made than
    the one that found it here."""
    wm = require_watermark()
    if alg is not None and alg != wm.ALGORITHM:
        raise ApiError(422, "validation_error",
                       f"alg: {alg!r} is not read from content here; supported: {wm.ALGORITHM}")
    result = await run_on_upload(request, settings, _detect, request.app.state.store)
    request.app.state.metrics.watermarks.labels(str(result["detected"]).lower()).inc()
    if not result["detected"] or not result["payload"]:
        return MatchesOut(matches=[])
    return _matches(request, result["algorithm"], result["payload"], max_results,
                    result.get("key_id"))


@router.get("/manifests/{manifest_id}", response_model=ManifestOut,
            responses={**ERROR_RESPONSES["read"],
                       200: {"content": {C2PA_MEDIA_TYPE: {"schema": {"type": "string",
                                                                       "format": "binary"}}},
                             "description": "the record (JSON), or with Accept: "
                                            "application/c2pa the manifest store as signed"}},
            summary="A manifest issued by this installation")
def manifest(manifest_id: str, request: Request,
             principal: Principal = Depends(optional_read)) -> Any:
    if len(manifest_id) > 512:
        raise ApiError(404, "not_found", "no such manifest")
    store = request.app.state.store
    record = store.get(manifest_id)  # NotFoundError: 404
    if C2PA_MEDIA_TYPE not in request.headers.get("accept", "").lower():
        return record.to_dict()
    data = store.signed_manifest(manifest_id)
    if data is None:
        raise ApiError(404, "not_found", "the store keeps no signed copy of this manifest "
                                         "(it was registered before copies were kept)")
    return Response(data, media_type=C2PA_MEDIA_TYPE,
                    headers={"Content-Disposition": 'attachment; filename="manifest.c2pa"'})


@router.get("/services/supportedAlgorithms", response_model=SupportedAlgorithmsOut,
            responses=ERROR_RESPONSES["read"], summary="Soft-binding algorithms resolved here")
def supported_algorithms(principal: Principal = Depends(optional_read)) -> SupportedAlgorithmsOut:
    """Every watermark algorithm whose bindings ``/matches/byBinding`` resolves (the current
    one is also read from uploads by ``/matches/byContent``); no fingerprints."""
    from provenant.manifest import SOFT_BINDING_ALGORITHMS

    return SupportedAlgorithmsOut(watermarks=[{"alg": a} for a in SOFT_BINDING_ALGORITHMS])
