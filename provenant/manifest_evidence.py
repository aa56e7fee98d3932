"""The report's ``c2pa`` part from the C2PA SDK's reading of a manifest store (its JSON):
the active manifest's signer, actions, ingredients, soft bindings and failures, and whether
the content is declared AI-generated, by the active manifest or through the ingredients it
was made from. Pure functions of that JSON; :mod:`provenant.manifest` does the reading.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from provenant.credentials import DEV_ORGANIZATION
from provenant.glossary import explain
from provenant.report import (AI_SOURCE_TYPES, TRUST_CODES, C2paEvidence, Failure,
                              declared_sources)

__all__ = ["evidence_from_store"]


def _actions_of(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    return [action for a in manifest.get("assertions", [])
            if a.get("label", "").startswith("c2pa.actions")
            for action in a.get("data", {}).get("actions", [])]


def _made_from(manifests: dict[str, Any], manifest: dict[str, Any],
               seen: set[str]) -> Iterator[tuple[str, dict[str, Any], list[str]]]:
    """``(title, own manifest, failures)`` of each ingredient the content was made from
    (``parentOf``, ``componentOf``; not ``inputTo``) that carries a manifest not seen yet;
    ``failures``: the integrity codes its validation recorded when it was used (a parent
    altered after it was signed: ``assertion.bmffHash.mismatch``, ...)."""
    for ingredient in manifest.get("ingredients", []):
        label = ingredient.get("active_manifest")
        if ingredient.get("relationship") == "inputTo" or label in seen or label not in manifests:
            continue
        seen.add(label)
        yield str(ingredient.get("title") or label), manifests[label], _failures_of(ingredient)


def _failures_of(ingredient: dict[str, Any]) -> list[str]:
    """The integrity failures an ingredient's validation recorded (C2PA 2 ingredients:
    ``validation_results``; older ones: ``validation_status``), trust codes left out."""
    results = ingredient.get("validation_results") or {}
    entries = (results.get("activeManifest") or {}).get("failure", []) if results \
        else ingredient.get("validation_status") or []
    return sorted({str(e.get("code", "")) for e in entries
                   if not str(e.get("code", "")).startswith(TRUST_CODES)} - {""})


def _ai_ingredients(manifests: dict[str, Any], manifest: dict[str, Any],
                    seen: set[str]) -> list[str]:
    """Titles of the ingredients the content was made from whose own manifest declares them
    AI-generated, at any depth: an edit of an AI-generated picture is AI-derived even when
    the edit itself declares no AI."""
    found: list[str] = []
    for title, own, _ in _made_from(manifests, manifest, seen):
        if declared_sources(_actions_of(own)) & AI_SOURCE_TYPES:
            found.append(title)
        else:
            found += _ai_ingredients(manifests, own, seen)
    return found


def _ingredient_sources(manifests: dict[str, Any], manifest: dict[str, Any], seen: set[str],
                        altered: dict[str, list[str]]) -> dict[str, list[str]]:
    """What the ingredients the content was made from say about how they were made: title ->
    the source types of the nearest manifest down each ingredient's chain that declares any
    (an edit that declares none defers to its parent). An ingredient whose validation failed
    when it was used goes into ``altered`` (title -> codes) instead: what its manifest
    declares is not relied on."""
    found: dict[str, list[str]] = {}
    for title, own, failures in _made_from(manifests, manifest, seen):
        sources = declared_sources(_actions_of(own))
        if failures:
            altered[title] = failures
        elif sources:
            found[title] = sorted(sources)
        else:
            found.update(_ingredient_sources(manifests, own, seen, altered))
    return found


def evidence_from_store(store: dict[str, Any], state: str | None) -> C2paEvidence:
    """The report's ``c2pa`` part from a manifest store as the SDK reads it (its JSON) and
    the SDK's validation state."""
    label = store.get("active_manifest")
    manifests = store.get("manifests", {})
    manifest = manifests.get(label, {})
    sig = manifest.get("signature_info", {})
    actions = _actions_of(manifest)
    bindings: list[dict[str, str]] = []
    for a in manifest.get("assertions", []):
        if a.get("label") == "c2pa.soft-binding":
            data = a.get("data", {})
            for block in data.get("blocks", []):
                bindings.append({"alg": data.get("alg", ""), "value": block.get("value", "")})
    sources = declared_sources(actions)
    ai_ingredients = _ai_ingredients(manifests, manifest, {label})
    # An edit that declares no source of its own is what its (unaltered) ingredients were.
    altered: dict[str, list[str]] = {}
    inherited = _ingredient_sources(manifests, manifest, {label}, altered)
    inherited = {} if sources else inherited
    failures = [Failure(s["code"], explain(s["code"], s.get("explanation")))
                for s in store.get("validation_status", [])]
    ingredients = [{k: i.get(k) for k in ("title", "format", "relationship", "active_manifest")}
                   for i in manifest.get("ingredients", [])]
    issuer = sig.get("issuer")
    timestamp_failed = any(f.code.lower().startswith("timestamp.") for f in failures)
    return C2paEvidence(
        present=True,
        state=state if state in ("Trusted", "Valid", "Invalid") else "Invalid",
        signer=issuer or sig.get("common_name"),
        ai_generated=(bool(sources & AI_SOURCE_TYPES) or bool(ai_ingredients)
                      if sources or ai_ingredients or inherited else None),
        ai_ingredients=ai_ingredients,
        ingredient_sources=inherited,
        altered_ingredients=altered,
        actions=[{k: v for k, v in a.items() if k in ("action", "digitalSourceType", "softwareAgent")}
                 for a in actions],
        ingredients=ingredients,
        failures=failures,
        soft_bindings=bindings,
        manifest_id=label,
        development_credentials=issuer == DEV_ORGANIZATION,
        signed_at=None if timestamp_failed else sig.get("time"),
    )
