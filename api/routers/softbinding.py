"""The C2PA soft-binding resolution API: ``GET /matches/byBinding`` and ``GET /manifests/{id}``.

A soft binding (e.g. the watermark's payload) resolves to the manifests this installation
issued under it. Matches are exact lookups in the manifest store, so ``similarityScore`` is
100. ``/manifests/{manifestId}`` answers the store's record of the manifest as JSON (the
store keeps the facts of a manifest, not its signed bytes).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from api.keys import Principal, optional_read
from api.schemas import ERROR_RESPONSES, ManifestOut, MatchesOut, MatchOut

__all__ = ["router"]

router = APIRouter(tags=["soft-binding resolution"])


@router.get("/matches/byBinding", response_model=MatchesOut, responses=ERROR_RESPONSES["read"],
            summary="Manifests registered under a soft binding")
def by_binding(request: Request,
               alg: str = Query(min_length=1, max_length=256,
                                description="soft-binding algorithm, e.g. io.provenant.watermark.v2"),
               value: str = Query(min_length=1, max_length=4096,
                                  description="the binding's value (the watermark payload, hex)"),
               max_results: int = Query(10, ge=1, le=100, alias="maxResults"),
               principal: Principal = Depends(optional_read)) -> MatchesOut:
    records = request.app.state.store.find_by_binding(alg, value)[:max_results]
    return MatchesOut(matches=[MatchOut(manifestId=r.manifest_id, similarityScore=100)
                               for r in records])


@router.get("/manifests/{manifest_id}", response_model=ManifestOut,
            responses=ERROR_RESPONSES["read"], summary="A manifest issued by this installation")
def manifest(manifest_id: str, request: Request,
             principal: Principal = Depends(optional_read)) -> Any:
    if len(manifest_id) > 512:
        from api.errors import ApiError

        raise ApiError(404, "not_found", "no such manifest")
    return request.app.state.store.get(manifest_id).to_dict()  # NotFoundError: 404
