"""Names of temporary files written beside an output, kept within the file system's limit."""

from __future__ import annotations

__all__ = ["NAME_MAX", "short_stem"]

#: The longest file name most file systems take, in bytes.
NAME_MAX = 255


def short_stem(stem: str, room: int) -> str:
    """``stem`` cut, at a character boundary, so that it and ``room`` more bytes fit in one
    file name: a temporary name beside an output whose own name is near the limit (a valid
    246-character output name failed with "File name too long" on its temporary twin)."""
    data = stem.encode("utf-8", "surrogateescape")
    keep = max(1, NAME_MAX - room)
    return stem if len(data) <= keep else data[:keep].decode("utf-8", "ignore")
