"""Just enough JUMBF (ISO/IEC 19566-5) to name the active manifest of a C2PA manifest store."""

from __future__ import annotations

from provenant.boxes import iter_boxes
from provenant.errors import SigningError

__all__ = ["active_manifest_label"]


def _label(data: bytes, start: int, end: int) -> str | None:
    """The label of a ``jumb`` superbox: its ``jumd`` box holds UUID(16), toggles(1), label."""
    for kind, s, e in iter_boxes(data, start, end):
        if kind == b"jumd":
            if e - s > 17 and data[s + 16] & 0x02:
                return data[s + 17:e].split(b"\x00", 1)[0].decode("utf-8", "replace")
            return None
    return None


def active_manifest_label(store: bytes) -> str:
    """The label (``urn:c2pa:…``) of the last manifest in a manifest store: the active one."""
    for kind, s, e in iter_boxes(store):
        if kind != b"jumb" or _label(store, s, e) != "c2pa":
            continue
        labels = [_label(store, cs, ce) for k, cs, ce in iter_boxes(store, s, e) if k == b"jumb"]
        labels = [lb for lb in labels if lb]
        if labels:
            return labels[-1]
    raise SigningError("the signed manifest store has no manifest; the C2PA SDK misbehaved")
