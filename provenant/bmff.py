"""The C2PA hard binding of MP4/MOV files, computed here, and append-only manifest embedding.

The C2PA SDK signs an MP4 by rewriting it: it copies the file with a placeholder manifest box
after ``ftyp``, then hashes the copy with its own SHA-256. Here the ``c2pa.hash.bmff.v3``
assertion is computed with hashlib (hardware SHA where the CPU has it) while the kernel copies
the file, and the signed manifest box is appended after the last top-level box. Appending
moves no other box, so no chunk offset changes, and the hash (which covers each non-excluded
top-level box as its 8-byte file offset followed by its bytes) is that of the source.

A file signed this way, signed again (an edit's manifest added to it, the first one becoming
its parent ingredient), is copied up to its manifest box, which the new one replaces: the
SDK's rewrite held about twice the file in memory (a 400 MB MP4: 0.9 GB). Files this cannot
handle exactly (fragmented MP4, a manifest embedded elsewhere than at the end, as the SDK
writes it, a box that runs "to the end of the file", trailing bytes that are not boxes) are
left to the SDK's own path; :func:`appendable_boxes` returns ``None`` for them.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import struct
import threading
from pathlib import Path
from typing import Any

from provenant.boxes import TopLevelBox, copy_prefix, top_level_boxes

__all__ = ["C2PA_UUID", "appendable_boxes",
           "hard_binding_assertion", "copy_and_hash", "MANIFEST_BOX_PREFIX"]

#: The ``uuid`` box type of a C2PA manifest store (C2PA spec, BMFF embedding).
C2PA_UUID = bytes.fromhex("D8FEC3D61B0E483C92975828877EC481")
#: What precedes the JUMBF store in a C2PA ``uuid`` box: size, type, UUID, version+flags,
#: purpose "manifest", 64-bit merkle offset.
MANIFEST_BOX_PREFIX = 8 + 16 + 4 + len(b"manifest\0") + 8
#: Top-level box types the assertion excludes (the SDK's defaults).
_EXCLUDED_TYPES = (b"ftyp", b"mfra", b"free", b"skip")
_CHUNK = 4 << 20


def appendable_boxes(path: str | os.PathLike[str]) -> list[TopLevelBox] | None:
    """The top-level boxes when a manifest can be appended to the file (less a manifest box
    appended to it before, which the new one replaces), else ``None``."""
    boxes, exact = top_level_boxes(path)
    if not exact or not boxes or boxes[0].kind != b"ftyp":
        return None
    if boxes[-1].kind == b"uuid" and boxes[-1].tag == C2PA_UUID and boxes[-1].header == 8:
        boxes = boxes[:-1]  # signed by appending: copied up to its store
    kinds = {b.kind for b in boxes}
    if b"moof" in kinds or b"moov" not in kinds or b"mdat" not in kinds:
        return None  # fragmented (merkle-hashed by the SDK), or not a plain movie
    if any(b.kind == b"uuid" and (b.tag == C2PA_UUID or b.header != 8) for b in boxes):
        return None  # a store the SDK put elsewhere: replacing it is its job (as is any
        # 64-bit-sized uuid box, whose type the 8-byte exclusion offset would not see)
    return boxes


def hard_binding_assertion(digest: bytes) -> dict[str, Any]:
    """The ``c2pa.hash.bmff.v3`` assertion for a SHA-256 ``digest`` from :func:`copy_and_hash`."""
    exclusions: list[dict[str, Any]] = [
        {"xpath": "/uuid", "data": [{"offset": 8, "value": list(C2PA_UUID)}]}]
    exclusions += [{"xpath": "/" + t.decode()} for t in _EXCLUDED_TYPES]
    return {"label": "c2pa.hash.bmff.v3",
            "data": {"exclusions": exclusions, "alg": "sha256", "hash": list(digest),
                     "name": "jumbf manifest"}}


def _excluded(box: TopLevelBox) -> bool:
    """Whether the v3 hash skips ``box``: the SDK's exclusion list, matched byte for byte."""
    return box.kind in _EXCLUDED_TYPES or (box.kind == b"uuid" and box.tag == C2PA_UUID)


def _v3_digest(path: Path, boxes: list[TopLevelBox]) -> bytes:
    h = hashlib.sha256()
    buf = bytearray(_CHUNK)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as fh:
        for box in boxes:
            if _excluded(box):
                continue
            h.update(struct.pack(">Q", box.start))
            fh.seek(box.start)
            left = box.size
            while left:
                n = fh.readinto(view[:min(left, _CHUNK)])
                if not n:
                    raise OSError(f"{path} shrank while it was being signed")
                h.update(view[:n])
                left -= n
    return h.digest()


def copy_and_hash(src: Path, dst: Path, boxes: list[TopLevelBox]) -> bytes:
    """Copy ``boxes`` of ``src`` (the file up to the end of the last) to ``dst`` (a kernel
    copy, in a second thread) while hashing them for the v3 hard binding; returns the
    digest once both are done."""
    failure: list[BaseException] = []
    end = boxes[-1].start + boxes[-1].size

    def copy() -> None:
        try:
            if os.path.getsize(src) == end:
                shutil.copyfile(src, dst)
            else:  # up to a manifest box that the new one replaces
                with open(dst, "wb") as out:
                    copy_prefix(src, out, end)
        except BaseException as exc:  # re-raised in the caller's thread
            failure.append(exc)

    worker = threading.Thread(target=copy, name="provenant-copy", daemon=True)
    worker.start()
    try:
        digest = _v3_digest(src, boxes)
    finally:
        worker.join()
    if failure:
        raise failure[0]
    if os.path.getsize(dst) != end:
        raise OSError(f"{src} changed while it was being signed")
    return digest
