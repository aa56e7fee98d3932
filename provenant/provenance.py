"""The public operations: sign (and register), stamp, and verify.

The CLI and the HTTP API are thin layers over these three functions.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from provenant.animwrite import ANIMATION_SUFFIXES
from provenant.certchain import reaches_anchor
from provenant.config import get_settings
from provenant.credentials import SigningCredentials, ensure_dev_credentials, load_credentials
from provenant.errors import (
    AudioOnlyError,
    CapabilityUnavailableError,
    ConfigurationError,
    InputError,
    MediaError,
    MediaLimitError,
    StoreError,
    UnsupportedMediaError,
    notice,
)
from provenant.media import (IMAGE_KINDS, IMAGE_SUFFIXES, MP4_SUFFIXES, MediaLimits,
                             check_not_the_input, check_output_suffix, probe, sibling_temp)
from provenant.manifest import AI_SOURCE_TYPES, SignOptions, SignResult, read_manifest, sign_file
from provenant.plugins import evidence_providers, stampers
from provenant.recovery import StoreRecovery, recover_from_store
from provenant.resolver import recover_from_services, resolver_urls
from provenant.report import C2paEvidence, VerificationReport, decide_verdict
from provenant.sniff import credential_only_mime
from provenant.store import WATERMARK_KEY_FIELD, ManifestRecord, ManifestStore, open_store
from provenant.tempnames import file_title, naming
from provenant.trustanchors import read_anchors_file
from provenant.truncation import refuse_truncated, truncation

__all__ = ["default_credentials", "configured_trust_anchors", "sign", "stamp", "verify",
           "recover_from_store"]


def default_credentials() -> SigningCredentials:
    """The configured signing chain (``PROVENANT_SIGN_CERT``/``_KEY``), else the dev credentials."""
    s = get_settings()
    if s.sign_cert or s.sign_key:
        if not (s.sign_cert and s.sign_key):
            raise ConfigurationError("set both PROVENANT_SIGN_CERT and PROVENANT_SIGN_KEY")
        return load_credentials(s.sign_cert, s.sign_key, tsa_url=s.tsa_url,
                                password=s.sign_key_passphrase)
    creds = ensure_dev_credentials(s.credentials_dir)
    if s.tsa_url:
        creds = replace(creds, tsa_url=s.tsa_url)
    return creds


def configured_trust_anchors() -> bytes | None:
    """The certificates of ``PROVENANT_TRUST_ANCHORS``, checked (see
    :mod:`provenant.trustanchors`), or None when it is not set."""
    path = get_settings().trust_anchors
    if path is None:
        return None
    try:
        return read_anchors_file(path)
    except InputError as exc:
        raise ConfigurationError(f"PROVENANT_TRUST_ANCHORS: {exc.message}",
                                 hint=exc.hint) from None


def sign(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    options: SignOptions = SignOptions(),
    *,
    credentials: SigningCredentials | None = None,
    store: ManifestStore | None = None,
    limits: MediaLimits | None = None,
) -> SignResult:
    """Sign ``src`` into ``dst`` and register the issued manifest in the store (as
    AI-generated when its source type says so or its ``parent`` is declared AI-generated, so
    a stripped copy of an edit recovers that declaration).

    A ``src`` that already carries a manifest is its own parent when none is given: its
    manifest goes into the new one as the ``parentOf`` ingredient (``c2pa.opened``), instead
    of being replaced by a manifest that says the content was just created."""
    parent = None if options.parent is None else read_manifest(options.parent, limits=limits)
    if parent is None:
        own = read_manifest(src, limits=limits)
        if own.present:
            options, parent = replace(options, parent=Path(src)), own
    return _sign_and_register(src, dst, options, parent, credentials, store, limits)


def _sign_and_register(src: str | os.PathLike[str], dst: str | os.PathLike[str],
                       options: SignOptions, parent: C2paEvidence | None,
                       credentials: SigningCredentials | None, store: ManifestStore | None,
                       limits: MediaLimits | None,
                       recorded: dict[str, Any] | None = None) -> SignResult:
    """:func:`sign` once ``parent`` (the manifest of ``options.parent``, read) is known.
    ``recorded``: more facts for the store's record (the key a stamp's mark was made with).

    The store is opened first, so a damaged or unwritable one stops the work before it is
    done; a signed copy whose manifest then cannot be registered is removed (a new file: one
    signed in place stays), since its watermark would resolve to nothing. Before, the copy
    was left beside an error."""
    store = store or open_store()
    existed = Path(dst).exists()
    credentials = credentials or default_credentials()
    _say_if_untrusted(credentials)
    result = sign_file(src, dst, credentials, options, limits=limits)
    ai_generated = result.source_type in AI_SOURCE_TYPES or bool(
        parent is not None and parent.ai_generated)
    try:
        store.register(ManifestRecord(
            manifest_id=result.manifest_id,
            signer=result.signer,
            source_type=result.source_type,
            ai_generated=ai_generated,
            title=options.title or file_title(dst),
            development=result.development_credentials,
            soft_bindings=result.soft_bindings,
            details={"assertions": [a.get("label") for a in options.extra_assertions],
                     "parent": str(options.parent) if options.parent else None,
                     **(recorded or {})},
        ), signed=result.manifest_store)
    except StoreError as exc:
        if not existed:
            Path(dst).unlink(missing_ok=True)
            exc.message += f"; the signed copy {dst} was removed"
        raise
    return result


def _say_if_untrusted(credentials: SigningCredentials) -> None:
    """A notice when a chain of one's own does not lead to ``PROVENANT_TRUST_ANCHORS``
    (where set): what it signs reads as untrusted to verifiers that trust those, as a rule
    for want of an intermediate certificate. (Anchors that cannot be read are left to
    verification to report.)"""
    if credentials.development:
        return
    try:
        anchors = configured_trust_anchors()
    except ConfigurationError:
        return
    if anchors is not None and not reaches_anchor(credentials.cert_chain_pem, anchors):
        notice("the signing chain does not lead to any certificate in PROVENANT_TRUST_ANCHORS, "
               "so verifiers that trust those will read what it signs as untrusted; as a rule "
               "an intermediate certificate is missing: add it to the chain, after the signer's")


#: What ``stamp`` declares for a source that has no manifest of its own.
STAMP_SOURCE_TYPE = "trainedAlgorithmicMedia"


def stamp(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    options: SignOptions = SignOptions(),
    *,
    credentials: SigningCredentials | None = None,
    store: ManifestStore | None = None,
    stamper: str = "watermark",
    limits: MediaLimits | None = None,
    default_source_type: str = STAMP_SOURCE_TYPE,
) -> SignResult:
    """Watermark ``src`` with a fresh short id, sign it (``c2pa.watermarked`` + soft binding)
    and register it, so the manifest can be recovered after the metadata is stripped.

    An image stays an image (PNG, JPEG, WebP, HEIC or AVIF, chosen by ``dst``'s suffix; a still
    GIF becomes one of these); a video (an animated GIF, PNG, WebP or AVIF too) becomes an
    H.264 MP4 (``dst`` named .mp4, .mov or .m4v; a 10-bit source stays 10-bit, as HEVC), and
    an animation stays an animated GIF, PNG, WebP or AVIF when ``dst`` is named so.

    A source that carries a C2PA manifest (a camera's, another generator's, an earlier
    stamp's) becomes the new manifest's parent ingredient (``c2pa.opened``, its manifest
    kept inside), so the copy's history still reaches it; the re-encode would otherwise drop
    it, and the copy would start a history of its own. ``options.source_type``: what the
    copy declares; None (the default) lets the parent's manifest say how the content was
    made, and declares ``default_source_type`` (``trainedAlgorithmicMedia``: a clip from a
    generator that signs nothing) for a source without one. ``options.parent``, when given,
    is used instead.
    """
    info = probe(src, limits)  # refuse bad or oversized input before the stamper decodes it
    check_not_the_input(info.path, dst, "stamping")
    if info.kind == "image":
        dst = check_output_suffix(dst, IMAGE_SUFFIXES, IMAGE_KINDS)
    elif info.animation:
        dst = check_output_suffix(dst, MP4_SUFFIXES + ANIMATION_SUFFIXES,
                                  "an H.264 MP4 video or an animated GIF, PNG, WebP or AVIF")
    else:
        dst = check_output_suffix(dst, MP4_SUFFIXES, "an H.264 MP4 video")
    refuse_truncated(info.path, info.mime, "stamping")  # else: the frames that decode, signed
    available = stampers()
    if stamper not in available:
        raise CapabilityUnavailableError(
            f"no {stamper!r} stamper is installed (found: {sorted(available) or 'none'})"
        )
    embed = available[stamper]
    store = store or open_store()  # a damaged store stops the work before it starts
    # read once: the copy's signature takes it as the parent's (the copy itself has none)
    parent = read_manifest(options.parent or info.path, limits=limits)
    if options.parent is None and parent.present:
        options = replace(options, parent=info.path)  # its history goes on in the copy
    elif options.parent is None:
        parent = None
        if options.source_type is None:
            options = replace(options, source_type=default_source_type)
    payload = secrets.token_bytes(8)
    keeps_kind = info.kind == "image" or dst.suffix.lower() in ANIMATION_SUFFIXES
    suffix = dst.suffix.lower() if keeps_kind else ".mp4"
    tmp = sibling_temp(dst, suffix)  # the marked copy, signed into dst
    try:
        facts = embed(Path(src), Path(tmp), payload)
        binding = (facts.get("alg", embed.soft_binding_alg), facts.get("value", payload.hex()))
        opts = replace(options, watermarked=True,
                       soft_bindings=options.soft_bindings + (binding,))
        # the key's public name, so a mark found with another key is not taken for this one
        recorded = {WATERMARK_KEY_FIELD: str(facts["key_id"])} if facts.get("key_id") else {}
        return _sign_and_register(tmp, dst, opts, parent, credentials, store, limits, recorded)
    except OSError as exc:
        raise naming(exc, dst, tmp) from None
    finally:
        Path(tmp).unlink(missing_ok=True)


def verify(
    path: str | os.PathLike[str],
    *,
    trust_anchors: Path | bytes | None = None,
    options: dict[str, Any] | None = None,
    store: ManifestStore | None = None,
    limits: MediaLimits | None = None,
    manifest: str | os.PathLike[str] | bytes | None = None,
    resolver: str | Sequence[str] | None = None,
) -> VerificationReport:
    """All the evidence about ``path`` and a verdict: C2PA, then every installed evidence
    provider (watermark, classifier), with manifest recovery through the store.
    ``manifest``: a ``.c2pa`` manifest kept outside the file (fetched from its remote URL) to
    validate against it, see :func:`provenant.manifest.read_manifest`. ``resolver``: the
    base URL of another installation's soft-binding resolution service (or several, asked in
    turn), asked (the file is uploaded to it) when the file carries no manifest and nothing
    was recovered here, see :mod:`provenant.resolver`."""
    path = Path(path)
    services = resolver_urls(resolver)
    anchors = trust_anchors if trust_anchors is not None else configured_trust_anchors()
    report = VerificationReport(file=str(path), c2pa=read_manifest(path, anchors, limits=limits,
                                                                   manifest=manifest))
    opts = dict(options or {})
    if limits is not None:
        opts.setdefault("limits", limits)
    recovery = StoreRecovery.open(store, trust_anchors=anchors, limits=limits)
    if recovery.store is not None:  # its issued payloads: a store-aided watermark test
        opts.setdefault("store", recovery.store)
    # A signed file whose pictures no longer decode still gets its report: the manifest's
    # finding (tampered, as a rule) stands, and the reasons say what could not be read.
    # Without a manifest the error is the answer; a limit the user set is never reported around.
    undecodable: MediaError | None = None
    cut: str | None = None
    try:
        cut = truncation(path, probe(path, limits).mime)
        for step in sorted([*evidence_providers(), recovery], key=lambda p: p.order):
            step(path, report, opts)
    except MediaLimitError:
        raise
    except MediaError as exc:
        if not report.c2pa.present and isinstance(exc, UnsupportedMediaError) \
                and (isinstance(exc, AudioOnlyError) or credential_only_mime(path)):
            raise UnsupportedMediaError(
                f"{exc.message}, and it carries no C2PA manifest, so there is nothing to verify",
                hint="a sound recording is checked by its content credentials alone: ask its "
                     "source for a signed copy, or for the video it belongs to"
                if isinstance(exc, AudioOnlyError) else
                "convert a picture or video to PNG, JPEG, WebP, HEIC, AVIF or MP4 to have "
                "its watermark and the classifier examine it") from None
        if not report.c2pa.present:
            raise
        undecodable = exc
    remote_problems: list[str] = []
    if services and report.recovered is None and not report.c2pa.present:
        report.recovered, remote_problems = recover_from_services(path, services, anchors,
                                                                  limits)
    report.verdict = decide_verdict(report, store_readable=recovery.problem is None)
    if undecodable is not None:
        detail = undecodable.message.replace(str(path), "the file")  # no server paths
        report.verdict.reasons.append(
            f"Its content was not examined ({detail}): the watermark and the classifier read "
            "video and images only, so the content credentials are the only evidence."
            if isinstance(undecodable, UnsupportedMediaError)  # a format read for them alone
            else f"Its pictures could not be read ({detail}), so the evidence that reads them "
                 "(watermark, classifier) is missing.")
    if cut is not None:  # a broken download, as a rule; what it lost was never examined
        report.verdict.reasons.append(
            f"The file is cut short ({cut}): what is missing was not examined, and content "
            "credentials kept at the end of a file are lost with it.")
    recovery.explain(report)
    for problem in remote_problems:
        notice(problem)
        report.verdict.reasons.append(f"{problem[0].upper()}{problem[1:]}, so what it knows "
                                      "of the file is missing here.")
    return report
