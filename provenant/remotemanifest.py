"""Content credentials kept outside the file: a remote manifest and a sidecar ``.c2pa``.

C2PA lets a file carry only a link to its manifest (``dcterms:provenance`` in its XMP), as
cloud services do, or keep the manifest in a sidecar of the same name with the ``.c2pa``
extension. Verification here is offline: the SDK's "must fetch remote manifests from url"
was read as "no manifest", so a newsroom was told a file with credentials had none. Now the
link is reported, and a manifest the user fetched (``verify --manifest``), or a sidecar
beside the file, is validated against the file's content.
"""

from __future__ import annotations

import re
from pathlib import Path

from provenant.errors import InputError

__all__ = ["MAX_MANIFEST_BYTES", "remote_url_in", "sidecar_of", "manifest_bytes"]

#: Manifests with thumbnails run to hundreds of kilobytes; a store of many ingredients to a
#: few megabytes. More than this is not a manifest.
MAX_MANIFEST_BYTES = 64 * 1024**2
_REMOTE = re.compile(r"must fetch remote manifests from url (\S+)", re.I)


def remote_url_in(message: str) -> str | None:
    """The URL in the SDK's error for a file whose manifest is remote, else None."""
    match = _REMOTE.search(message)
    return match.group(1).rstrip(".,;)") if match else None


def sidecar_of(path: str | Path) -> Path | None:
    """The sidecar manifest beside ``path`` (``clip.mp4`` -> ``clip.c2pa``), if there is one."""
    sidecar = Path(path).with_suffix(".c2pa")
    return sidecar if sidecar != Path(path) and sidecar.is_file() else None


def manifest_bytes(source: str | Path | bytes) -> bytes:
    """A manifest store's bytes, from a file or as given, within :data:`MAX_MANIFEST_BYTES`."""
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    else:
        path = Path(source)
        if not path.is_file():
            raise InputError(f"the manifest file {path} does not exist",
                             hint="give the .c2pa file downloaded from the file's credentials URL")
        if path.stat().st_size > MAX_MANIFEST_BYTES:
            raise InputError(f"{path} is larger than {MAX_MANIFEST_BYTES // 1024**2} MiB, "
                             "far more than a C2PA manifest store")
        data = path.read_bytes()
    if len(data) > MAX_MANIFEST_BYTES:
        raise InputError(f"the manifest is larger than {MAX_MANIFEST_BYTES // 1024**2} MiB")
    if data[4:8] != b"jumb":  # a manifest store is one JUMBF superbox
        raise InputError("the manifest given is not a C2PA manifest store (a .c2pa file is "
                         "one JUMBF box)", hint="give the .c2pa file the file's URL serves")
    return data
