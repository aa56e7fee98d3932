"""Request and response schemas of the HTTP API (pydantic), separate from the library's types.

They document the answers in the OpenAPI spec; the routers build them from the library's
results. Field names follow DESIGN.md; the soft-binding resolution API uses the C2PA
spelling (``manifestId``, ``similarityScore``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ErrorBody", "ErrorOut", "HealthOut", "FailureOut", "C2paOut", "WatermarkEvidenceOut",
    "ClassifierOut", "VerdictOut", "ReportOut", "DetectOut", "WatermarkDetectOut",
    "SoftBindingOut", "ManifestOut", "MatchOut", "MatchesOut", "AlgorithmOut",
    "SupportedAlgorithmsOut", "JobErrorOut", "JobOut",
    "GenerateIn", "SignedOut", "ERROR_RESPONSES",
]


class ErrorBody(BaseModel):
    code: str = Field(description="stable machine-readable code, e.g. upload_too_large")
    message: str
    hint: str | None = None


class ErrorOut(BaseModel):
    error: ErrorBody


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {s: {"model": ErrorOut} for s in statuses}


#: Error answers each kind of endpoint documents.
ERROR_RESPONSES = {
    "upload": _errors(400, 401, 403, 408, 413, 415, 422, 501, 503, 504),
    "read": _errors(401, 403, 404, 422),
    "job": _errors(401, 403, 404, 409),
}


class HealthOut(BaseModel):
    status: Literal["ok"]
    version: str
    capabilities: dict[str, bool]
    inflight: int
    capacity: int
    jobs_pending: int


class FailureOut(BaseModel):
    code: str
    explanation: str


class C2paOut(BaseModel):
    present: bool
    state: Literal["Trusted", "Valid", "Invalid"] | None = None
    signer: str | None = None
    ai_generated: bool | None = None
    actions: list[dict[str, Any]] = []
    ingredients: list[dict[str, Any]] = []
    failures: list[FailureOut] = []
    soft_bindings: list[dict[str, str]] = []
    manifest_id: str | None = None
    development_credentials: bool = False
    ai_ingredients: list[str] = []
    ingredient_sources: dict[str, list[str]] = {}
    altered_ingredients: dict[str, list[str]] = {}
    #: The time an RFC 3161 timestamp authority vouches for (ISO 8601), when the signature
    #: carries a valid timestamp.
    signed_at: str | None = None
    #: The URL the file gives for content credentials kept elsewhere (never fetched).
    remote_url: str | None = None
    #: Where the manifest came from when not embedded in the file (a sidecar's name).
    manifest_source: str | None = None


class WatermarkEvidenceOut(BaseModel):
    detected: bool
    payload: str | None
    p_value: float
    frames_used: int
    algorithm: str = ""
    false_positive_rate: float | None = None
    method: str = Field("decode", description="'decode' (read blindly) or 'lookup' (matched "
                        "among the payloads the manifest store has issued)")
    candidates: int = Field(0, description="issued payloads the store-aided test tried")
    transform: str | None = Field(None, description="set when found in a changed copy: the "
                                  "change undone, e.g. 'mirrored', 'rotated 90° clockwise', "
                                  "or where it was shown, 'shown in the bottom-right quarter "
                                  "of the frame'")
    key_id: str | None = Field(None, description="public name of the server's watermark key "
                               "that found it (not the key); null when not found")
    key_retired: bool = Field(False, description="found with a key the server has retired "
                              "(PROVENANT_WATERMARK_RETIRED_KEYS): marked before the key was "
                              "rotated, or by someone who still holds it")


class ClassifierOut(BaseModel):
    score: float = Field(description="calibrated probability that the content is AI-generated")
    threshold: float
    frame_scores: list[float] = Field(description="one calibrated score per window of consecutive "
                                      "frames the classifier read, in time order")
    model: str


class VerdictOut(BaseModel):
    label: Literal["verified-ai-generated", "tampered", "likely-ai-generated", "signed-capture",
                   "no-evidence"]
    reasons: list[str]


class ReportOut(BaseModel):
    """The verification report (same schema as ``provenant verify --json``)."""

    file: str
    c2pa: C2paOut | None = None
    watermark: WatermarkEvidenceOut | None = None
    recovered: dict[str, Any] | None = None
    classifier: ClassifierOut | None = None
    verdict: VerdictOut | None = None


class DetectOut(ClassifierOut):
    file: str


class WatermarkDetectOut(BaseModel):
    file: str
    detected: bool
    payload: str | None = Field(description="hex payload when detected")
    p_value: float
    frames_used: int
    algorithm: str
    false_positive_rate: float | None = Field(None, description="the test's rate per file")
    bit_confidences: list[float]
    method: str = Field("decode", description="'decode' (read blindly) or 'lookup' (matched "
                        "among the payloads the manifest store has issued)")
    candidates: int = Field(0, description="issued payloads the store-aided test tried")
    transform: str | None = Field(None, description="set when found in a changed copy: the "
                                  "change undone, e.g. 'mirrored', 'rotated 90° clockwise', "
                                  "or where it was shown, 'shown in the bottom-right quarter "
                                  "of the frame'")
    key_id: str | None = Field(None, description="public name of the server's watermark key "
                               "that found it (not the key); null when not found")
    key_retired: bool = Field(False, description="found with a key the server has retired "
                              "(PROVENANT_WATERMARK_RETIRED_KEYS): marked before the key was "
                              "rotated, or by someone who still holds it")


class SoftBindingOut(BaseModel):
    alg: str
    value: str


class ManifestOut(BaseModel):
    """What the manifest store keeps of an issued manifest."""

    manifest_id: str
    signer: str | None = None
    source_type: str | None = None
    ai_generated: bool = False
    title: str | None = None
    development: bool = False
    soft_bindings: list[SoftBindingOut] = []
    details: dict[str, Any] = {}
    created_at: float = 0.0


class MatchOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    manifestId: str  # noqa: N815 (C2PA spelling)
    similarityScore: int = Field(ge=0, le=100, description="100 for an exact binding match")  # noqa: N815


class MatchesOut(BaseModel):
    matches: list[MatchOut]


class AlgorithmOut(BaseModel):
    alg: str


class SupportedAlgorithmsOut(BaseModel):
    """The soft-binding algorithms this service resolves, by kind."""

    watermarks: list[AlgorithmOut]
    fingerprints: list[AlgorithmOut] = []


class JobErrorOut(BaseModel):
    code: str
    message: str


class JobOut(BaseModel):
    id: str
    kind: str
    state: Literal["queued", "running", "succeeded", "failed"]
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    error: JobErrorOut | None = None
    result: dict[str, Any] | None = None
    status_url: str
    result_url: str | None = Field(None, description="set once the job has succeeded")


class GenerateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(min_length=1, max_length=500)
    # Within the pipeline's bounds (generator.pipeline.MAX_*), so that a request the
    # pipeline would refuse is refused here, before it becomes a job; steps tighter still.
    frames: int | None = Field(None, ge=1, le=64)
    seed: int | None = Field(None, ge=0, le=2**31 - 1)
    steps: int | None = Field(None, ge=1, le=200)
    guidance: float | None = Field(None, ge=0.0, le=20.0)


class SignedOut(BaseModel):
    manifest_id: str
    signer: str
    development_credentials: bool
    source_type: str
    soft_bindings: list[SoftBindingOut]
