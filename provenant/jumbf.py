"""Just enough JUMBF (ISO/IEC 19566-5) to name the active manifest of a C2PA manifest store,
and to tell whether a file holds one at all."""

from __future__ import annotations

import os

from provenant.boxes import iter_boxes
from provenant.errors import SigningError

__all__ = ["active_manifest_label", "has_manifest_store"]

#: A manifest store's description box: ``jumd``, then the C2PA store type UUID
#: (63327061-0011-0010-8000-00AA00389B71, "c2pa" in its first four bytes).
_STORE_DESCRIPTION = b"jumd" + bytes.fromhex("6332706100110010800000aa00389b71")
_CHUNK = 1 << 20


def has_manifest_store(path: str | os.PathLike[str]) -> bool:
    """Whether the file holds a C2PA manifest store's description box anywhere (a scan of its
    bytes, container-agnostic): told apart from a file that is merely truncated or corrupt
    when the SDK cannot parse it."""
    overlap = len(_STORE_DESCRIPTION) - 1
    tail = b""
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            if _STORE_DESCRIPTION in tail + chunk:
                return True
            tail = chunk[-overlap:]
    return False


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
