"""Hooks through which components extend the core without the core importing them.

Dependencies point one way (``api → detector, generator → watermark → provenant``), yet
``provenant verify`` must gather watermark and classifier evidence and ``provenant`` must
offer ``watermark``/``generate``/``detect`` commands. Components therefore announce
themselves through Python entry points declared in ``pyproject.toml``:

``provenant.cli``
    ``register(subparsers) -> None`` adds sub-commands to the ``provenant`` parser.
``provenant.evidence``
    an :class:`EvidenceProvider`; each fills its part of a :class:`~provenant.report.VerificationReport`.
    ``options`` may carry ``key`` (the watermark key), ``limits`` (:class:`MediaLimits`) and
    ``store`` (the manifest store :func:`provenant.provenance.verify` reads).
    Providers run in ascending ``order`` (watermark 10, store recovery 20, classifier 30).
``provenant.stampers``
    a :class:`Stamper`, which embeds an invisible payload before signing (``provenant stamp``).
``provenant.generators``
    ``generate(prompt, out_path, *, seed) -> SignResult``: writes a generated clip that is
    watermarked, signed and registered (used by ``provenant demo``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from functools import lru_cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from provenant.report import VerificationReport

__all__ = [
    "EvidenceProvider", "Stamper", "cli_registrars", "evidence_providers", "generators", "stampers",
]


@runtime_checkable
class EvidenceProvider(Protocol):
    """Fills one part of a verification report from a media file."""

    name: str
    order: int

    def __call__(self, path: Path, report: VerificationReport, options: dict[str, Any]) -> None: ...


@runtime_checkable
class Stamper(Protocol):
    """Embeds ``payload`` (bytes) invisibly into ``src``, writing ``dst``; returns facts for the
    manifest: the soft binding's ``alg`` and ``value``, and optionally ``key_id``, the public
    name of the key that made the mark, which the manifest store records (see
    :func:`provenant.recovery.recover_from_store`)."""

    name: str
    soft_binding_alg: str

    def __call__(self, src: Path, dst: Path, payload: bytes) -> dict[str, Any]: ...


def _load(group: str) -> list[tuple[str, Any]]:
    """A group's entry points as ``(name, object)``, by name. One that fails to import is
    skipped with a warning, so a broken component cannot stop the core (for example C2PA
    verification) from working."""
    loaded = []
    for ep in sorted(entry_points(group=group), key=lambda e: e.name):
        try:
            loaded.append((ep.name, ep.load()))
        except Exception as exc:  # any import-time failure of a third-party component
            warnings.warn(f"provenant: skipping plugin {ep.name!r} ({ep.value}): {exc}",
                          RuntimeWarning, stacklevel=2)
    return loaded


@lru_cache(maxsize=None)
def cli_registrars() -> tuple[Callable[[Any], None], ...]:
    """Every component's ``register(subparsers)`` function."""
    return tuple(obj for _, obj in _load("provenant.cli"))


@lru_cache(maxsize=None)
def evidence_providers() -> tuple[EvidenceProvider, ...]:
    """Every installed evidence provider, in the order they run."""
    return tuple(sorted((obj for _, obj in _load("provenant.evidence")), key=lambda p: p.order))


@lru_cache(maxsize=None)
def stampers() -> dict[str, Stamper]:
    """Installed stampers by name."""
    return {obj.name: obj for _, obj in _load("provenant.stampers")}


@lru_cache(maxsize=None)
def generators() -> dict[str, Callable[..., Any]]:
    """Installed clip generators by entry-point name."""
    return dict(_load("provenant.generators"))
