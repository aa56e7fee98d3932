"""Sign and read C2PA manifests with c2pa-python; trust settings; the report's ``c2pa`` part."""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

import c2pa

from provenant import __version__
from provenant.bmff import (C2PA_UUID, MANIFEST_BOX_PREFIX, appendable_boxes, copy_and_hash,
                            hard_binding_assertion)
from provenant.boxes import TopLevelBox
from provenant.credentials import SigningCredentials
from provenant.errors import (CredentialError, InputError, MediaError, SigningError,
                             TimestampError, UnsupportedMediaError)
from provenant.jumbf import active_manifest_label, has_manifest_store
from provenant.manifest_evidence import evidence_from_store
from provenant.media import (
    MP4_SUFFIXES,
    MediaInfo,
    MediaLimits,
    check_output_suffix,
    checked_mime,
    poster_frame,
    probe,
    sibling_temp,
)
from provenant.remotemanifest import manifest_bytes, remote_url_in, sidecar_of
from provenant.report import AI_SOURCE_TYPES, C2paEvidence, Failure
from provenant.sdkffi import embeddable_signing_available, sign_embeddable
from provenant.sniff import credential_only_mime
from provenant.tempnames import file_title, naming
from provenant.trustanchors import anchors_pem, read_anchors_file
from provenant.truncation import refuse_truncated

__all__ = [
    "SOURCE_TYPES",
    "AI_SOURCE_TYPES",
    "SOFT_BINDING_ALGORITHMS",
    "SignOptions",
    "SignResult",
    "sign_file",
    "read_manifest",
    "validation_context",
]

_IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
SOURCE_TYPES = (
    "trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia", "algorithmicMedia",
    "compositeSynthetic", "digitalCapture", "computationalCapture", "digitalCreation",
    "minorHumanEdits", "humanEdits", "composite", "screenCapture", "dataDrivenMedia",
)
#: Soft-binding algorithms the validator is told about, so they validate cleanly: the current
#: watermark (v2: payload with CRC-16) and v1, which manifests signed before it carry.
SOFT_BINDING_ALGORITHMS: tuple[str, ...] = ("io.provenant.watermark.v2",
                                            "io.provenant.watermark.v1")
_BMFF = {"video/mp4", "video/quicktime"}
_SIGNABLE = _BMFF | {"video/x-msvideo", "image/jpeg", "image/png", "image/webp", "image/heic",
                     "image/avif", "image/gif", "image/tiff"}
#: The names a signed copy may have, by the source's media type (the copy keeps its format).
_SIGNED_SUFFIXES = {"image/png": (".png",), "image/jpeg": (".jpg", ".jpeg"),
                    "image/webp": (".webp",), "image/heic": (".heic", ".heif"),
                    "image/avif": (".avif",), "image/gif": (".gif",),
                    "video/x-msvideo": (".avi",), "image/tiff": (".tif", ".tiff")}
_IO_BUFFER = 1 << 20
#: The SDK refuses a manifest definition this long (``StringTooLong: manifest_json``);
#: measured with c2pa-python here: 1,048,564 bytes signed, 1,048,580 did not.
_SDK_MAX_DEFINITION_BYTES = 1 << 20


@dataclass(frozen=True)
class SignOptions:
    """What the manifest says. ``source_type`` is an IPTC digitalSourceType term. Left out,
    new content (no ``parent``) is declared ``digitalCapture``, and an edit of ``parent``
    declares none: its parent's manifest says how the content was made, and an edited
    picture is not a camera's capture."""

    source_type: str | None = None
    parent: Path | None = None
    title: str | None = None
    extra_assertions: tuple[dict[str, Any], ...] = ()
    soft_bindings: tuple[tuple[str, str], ...] = ()  # (alg, value)
    watermarked: bool = False
    software_agent: dict[str, str] | None = None
    thumbnail: bool = True

    def __post_init__(self) -> None:
        if self.source_type is not None and self.source_type not in SOURCE_TYPES:
            raise InputError(
                f"source_type={self.source_type!r} is not one of: {', '.join(SOURCE_TYPES)}"
            )
        for a in self.extra_assertions:
            if not isinstance(a, dict) or not isinstance(a.get("label"), str) or "data" not in a:
                raise InputError(
                    f"extra assertion {str(a)[:80]!r} must be an object with 'label' and 'data'",
                    hint='e.g. [{"label": "org.example.note", "data": {"text": "hello"}}]',
                )
        if self.watermarked and not self.soft_bindings:
            raise InputError("watermarked=True needs the watermark's soft binding (alg, value)")

    @property
    def declared_source(self) -> str | None:
        """The source type the manifest declares (None: an edit that declares none)."""
        return self.source_type or (None if self.parent is not None else "digitalCapture")


@dataclass(frozen=True)
class SignResult:
    path: Path
    manifest_id: str
    signer: str
    development_credentials: bool
    soft_bindings: tuple[tuple[str, str], ...]
    source_type: str | None  # None: an edit that declares no source of its own
    #: The signed manifest store (JUMBF, what a ``.c2pa`` file holds), kept by the store so
    #: that a stripped copy's recovered manifest can still have its signature checked.
    manifest_store: bytes = field(default=b"", repr=False)


def validation_context(trust_anchors: Path | bytes | None = None) -> c2pa.Context:
    """An offline validation context: no OCSP or remote fetches, our soft-binding algorithms,
    and ``trust_anchors`` (PEM path or bytes) as the only trusted roots when given."""
    settings: dict[str, Any] = {
        "verify": {"ocsp_fetch": False, "remote_manifest_fetch": False},
        "soft_binding": {"soft_binding_algorithms": list(SOFT_BINDING_ALGORITHMS)},
    }
    if trust_anchors is not None:
        pem = (anchors_pem(trust_anchors, "the trust anchors") if isinstance(trust_anchors, bytes)
               else read_anchors_file(trust_anchors))
        settings["trust"] = {"trust_anchors": pem.decode()}
        settings["verify"]["verify_trust"] = True
    return c2pa.Context.from_dict(settings)


def _actions(options: SignOptions) -> list[dict[str, Any]]:
    agent = options.software_agent or {"name": "Provenant", "version": __version__}
    if options.parent is None:
        source = _IPTC + (options.source_type or "digitalCapture")
        actions = [{"action": "c2pa.created", "digitalSourceType": source, "softwareAgent": agent}]
    else:
        actions = [{"action": "c2pa.opened", "parameters": {"ingredientIds": ["parent"]}}]
        if options.source_type or not options.watermarked:
            # an edit (a stamp of the parent that declares nothing has only its watermark)
            edited: dict[str, Any] = {"action": "c2pa.edited", "softwareAgent": agent}
            if options.source_type:
                edited["digitalSourceType"] = _IPTC + options.source_type
            actions.append(edited)
    if options.watermarked:
        actions.append({"action": "c2pa.watermarked", "softwareAgent": agent})
    return actions


def _definition(info: MediaInfo, options: SignOptions) -> dict[str, Any]:
    assertions: list[dict[str, Any]] = [
        {"label": "c2pa.actions.v2", "data": {"actions": _actions(options)}}
    ]
    for alg, value in options.soft_bindings:
        assertions.append({"label": "c2pa.soft-binding",
                           "data": {"alg": alg, "blocks": [{"scope": {}, "value": value}]}})
    assertions.extend(options.extra_assertions)
    definition: dict[str, Any] = {
        "claim_generator_info": [{"name": "Provenant", "version": __version__}],
        "title": options.title or info.path.name,
        "format": info.mime,
        "assertions": assertions,
    }
    if options.thumbnail:
        definition["thumbnail"] = {"format": "image/jpeg", "identifier": "poster.jpg"}
    return definition


def _poster_jpeg(info: MediaInfo) -> bytes:
    """A JPEG poster from the middle frame, long edge at most 480 px."""
    import cv2

    frame = poster_frame(info.path, info=info)
    h, w = frame.shape[:2]
    scale = min(1.0, 480 / max(h, w))
    if scale < 1.0:
        frame = cv2.resize(frame, (max(1, round(w * scale)), max(1, round(h * scale))),
                           interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, 85])
    if not ok:
        raise SigningError("could not encode the poster thumbnail as JPEG")
    return buf.tobytes()


def _make_signer(creds: SigningCredentials) -> c2pa.Signer:
    alg = getattr(c2pa.C2paSigningAlg, creds.alg.upper())
    try:
        if creds.sign_callback is not None:
            return c2pa.Signer.from_callback(creds.sign_callback, alg,
                                             creds.cert_chain_pem.decode(), creds.tsa_url)
        info = c2pa.C2paSignerInfo(creds.alg.encode(), creds.cert_chain_pem,
                                   creds.private_key_pem, creds.tsa_url)
        return c2pa.Signer.from_info(info)
    except c2pa.C2paError as exc:
        raise CredentialError(f"the signing credentials were refused: {exc}") from None


def _add_parent(builder: c2pa.Builder, parent: Path, limits: MediaLimits | None) -> None:
    pinfo = probe(parent, limits)
    if pinfo.mime not in _SIGNABLE:
        raise UnsupportedMediaError(f"parent {parent} is {pinfo.mime}, which C2PA cannot read")
    ingredient = {"title": file_title(parent), "relationship": "parentOf", "label": "parent",
                  "instance_id": "parent"}
    with open(parent, "rb") as fh:
        builder.add_ingredient(json.dumps(ingredient), pinfo.mime, fh)


def _builder(definition: dict[str, Any], options: SignOptions, info: MediaInfo,
             limits: MediaLimits | None, context: c2pa.Context | None = None) -> c2pa.Builder:
    text = json.dumps(definition)
    if len(text.encode()) >= _SDK_MAX_DEFINITION_BYTES:
        raise InputError(
            f"the manifest would hold {len(text.encode()):,} bytes of JSON, over the C2PA "
            f"SDK's limit of {_SDK_MAX_DEFINITION_BYTES:,}",
            hint="keep custom assertions small: store large data elsewhere and reference it")
    builder = c2pa.Builder.from_json(text, context=context)
    if options.thumbnail:
        builder.add_resource("poster.jpg", io.BytesIO(_poster_jpeg(info)))
    if options.parent is not None:
        _add_parent(builder, Path(options.parent), limits)
    return builder


def _sign_rewriting(info: MediaInfo, tmp: Path, definition: dict[str, Any],
                    options: SignOptions, credentials: SigningCredentials,
                    limits: MediaLimits | None) -> bytes:
    """The SDK's own path: it writes the asset anew with the manifest inside and hashes it."""
    builder = _builder(definition, options, info, limits)
    signer = _make_signer(credentials)
    try:
        # 1 MiB buffers: the SDK streams in 8 KiB calls, so each need not be a system call.
        with open(info.path, "rb", buffering=_IO_BUFFER) as source, \
                open(tmp, "w+b", buffering=_IO_BUFFER) as dest:
            return builder.sign(signer, info.mime, source, dest)
    finally:
        signer.close()


def _sign_appending(info: MediaInfo, tmp: Path, boxes: list[TopLevelBox],
                    definition: dict[str, Any], options: SignOptions,
                    credentials: SigningCredentials, limits: MediaLimits | None) -> bytes:
    """MP4/MOV: hash the file here while it is copied, let the SDK sign only the claim, and
    append the manifest box (see :mod:`provenant.bmff`)."""
    digest = copy_and_hash(info.path, tmp, boxes)
    definition = {**definition, "assertions": [*definition["assertions"],
                                               hard_binding_assertion(digest)]}
    context = c2pa.Context(signer=_make_signer(credentials))
    box = sign_embeddable(_builder(definition, options, info, limits, context), info.mime)
    if box[4:8] != b"uuid" or box[8:24] != C2PA_UUID:
        raise SigningError("the C2PA SDK returned an unexpected manifest box for an MP4")
    with open(tmp, "ab") as fh:
        fh.write(box)
    return box[MANIFEST_BOX_PREFIX:]


def sign_file(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    credentials: SigningCredentials,
    options: SignOptions = SignOptions(),
    *,
    limits: MediaLimits | None = None,
) -> SignResult:
    """Embed a signed C2PA manifest into a copy of ``src`` at ``dst`` (MP4, MOV, AVI, JPEG,
    PNG, WebP, GIF, HEIC, AVIF, TIFF).

    ``dst`` appears atomically; ``src`` is never modified (``dst`` may equal ``src``).
    Inputs beyond ``limits`` (default: the configured ones) are refused.
    """
    info = probe(src, limits)
    if info.mime not in _SIGNABLE:
        raise UnsupportedMediaError(
            f"{src} is {info.mime}; C2PA signing supports MP4, MOV, AVI, JPEG, PNG, WebP, GIF, "
            "HEIC, AVIF and TIFF",
            hint="re-encode to MP4 first, e.g. with `provenant watermark embed`",
        )
    # The signed copy keeps the source's format, so its name must say so.
    dst = check_output_suffix(dst, _SIGNED_SUFFIXES.get(info.mime, MP4_SUFFIXES),
                              f"a signed copy of the {info.mime.split('/')[1].upper()} input")
    refuse_truncated(info.path, info.mime, "signing")
    # the copy's own name (not a temporary one's, nor the source's, as manifests said)
    definition = _definition(info, replace(options, title=options.title or file_title(dst)))
    boxes = appendable_boxes(info.path) if info.mime in _BMFF else None
    tmp = sibling_temp(dst, dst.suffix)
    try:
        if boxes is not None and embeddable_signing_available():
            manifest_bytes = _sign_appending(info, Path(tmp), boxes, definition, options,
                                             credentials, limits)
        else:
            manifest_bytes = _sign_rewriting(info, Path(tmp), definition, options,
                                             credentials, limits)
        os.replace(tmp, dst)
    except c2pa.C2paError as exc:
        if "could not be parsed" in str(exc):  # the input's structure, not the credentials
            raise MediaError(f"{src} cannot be signed: it is truncated or corrupt ({exc})",
                             hint="re-export or re-encode it from the original") from None
        if credentials.tsa_url and _timestamp_failed(str(exc)):
            raise TimestampError(f"the timestamp authority {credentials.tsa_url} gave no usable "
                                 f"timestamp, so {src} was not signed ({exc})") from None
        raise SigningError(f"signing {src} failed: {exc}") from None
    except OSError as exc:  # reading the source or writing the copy: as every command says
        raise naming(exc, dst, tmp) from None  # it (exit 2, naming the output), not exit 1
    finally:
        Path(tmp).unlink(missing_ok=True)
    return SignResult(dst, active_manifest_label(manifest_bytes), credentials.signer_name,
                      credentials.development, options.soft_bindings, options.declared_source,
                      manifest_bytes)


def _timestamp_failed(message: str) -> bool:
    """Whether the SDK's signing error came from the RFC 3161 round trip: the request (its
    HTTP resolver: refused, unreachable, an HTTP error status) or the reply (not a DER
    TimeStampResp, a rejected request)."""
    text = message.lower()
    return any(word in text for word in ("http", "decode error", "timestamp", "time stamp"))


def read_manifest(
    path: str | os.PathLike[str],
    trust_anchors: Path | bytes | None = None,
    *,
    limits: MediaLimits | None = None,
    manifest: str | os.PathLike[str] | bytes | None = None,
) -> C2paEvidence:
    """Read and validate the manifest store embedded in ``path``.

    Only the file's type is checked first, not its pictures: a signed file whose pictures no
    longer decode still has its manifest read, which then reports the damage. Formats this
    toolkit does not examine but the SDK reads (DNG, JPEG XL, WAV, MP3, FLAC, M4A, PDF) have
    their manifest read too; any other file raises ``UnsupportedMediaError``.

    A manifest kept outside the file (see :mod:`provenant.remotemanifest`): ``manifest`` (a
    ``.c2pa`` file or its bytes, e.g. fetched from the file's remote URL) is validated
    against the file instead of what it embeds; without it, a file that embeds none is
    validated against a sidecar ``<name>.c2pa`` beside it, and a remote link it carries is
    reported as ``remote_url`` (this reader fetches nothing)."""
    try:
        mime = checked_mime(path, limits)
    except UnsupportedMediaError:
        mime = credential_only_mime(Path(path))
        if mime is None or mime not in _sdk_readable():
            raise
    if mime not in _SIGNABLE and mime not in _sdk_readable():
        return C2paEvidence(present=False)
    if manifest is not None:
        name = "given" if isinstance(manifest, bytes) else Path(manifest).name
        return _read_store(path, mime, trust_anchors, manifest_bytes(manifest), name)
    evidence = _read_store(path, mime, trust_anchors)
    sidecar = None if evidence.present else sidecar_of(path)
    if sidecar is None:
        return evidence
    found = _read_store(path, mime, trust_anchors, manifest_bytes(sidecar), sidecar.name)
    found.remote_url = evidence.remote_url
    return found


def _read_store(path: str | os.PathLike[str], mime: str, trust_anchors: Path | bytes | None,
                data: bytes | None = None, source: str | None = None) -> C2paEvidence:
    """The evidence of the store ``path`` embeds, or of ``data`` (from ``source``) for it."""
    try:
        with open(path, "rb", buffering=_IO_BUFFER) as fh:
            reader = c2pa.Reader(mime, fh, manifest_data=data,
                                 context=validation_context(trust_anchors))
            store, state = json.loads(reader.json()), reader.get_validation_state()
    except c2pa.C2paError as exc:
        remote = remote_url_in(str(exc))
        if data is None and (remote or "ManifestNotFound" in type(exc).__name__
                             or "ManifestNotFound" in str(exc) or not has_manifest_store(path)):
            return C2paEvidence(present=False, remote_url=remote)  # none here to read
        why = (f"The manifest {source} cannot be read for this file ({exc}); it was damaged "
               "or forged, or belongs to another file." if source else
               f"The file has a manifest store that cannot be read ({exc}); it was damaged or "
               "forged.")
        return C2paEvidence(present=True, state="Invalid", manifest_source=source,
                            failures=[Failure("manifest.unreadable", why)])
    evidence = evidence_from_store(store, state)
    evidence.manifest_source = source
    return evidence


@cache
def _sdk_readable() -> frozenset[str]:
    """The media types the installed C2PA SDK reads manifests from."""
    try:
        return frozenset(c2pa.Reader.get_supported_mime_types())
    except (AttributeError, c2pa.C2paError):  # an SDK too old to say: the types signed here
        return frozenset(_SIGNABLE)
