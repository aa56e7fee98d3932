"""Temporary files written beside an output: their names, kept within the file system's
limit, and the output's name on an error writing them."""

from __future__ import annotations

import os

__all__ = ["NAME_MAX", "short_stem", "naming"]

#: The longest file name most file systems take, in bytes.
NAME_MAX = 255


def short_stem(stem: str, room: int) -> str:
    """``stem`` cut, at a character boundary, so that it and ``room`` more bytes fit in one
    file name: a temporary name beside an output whose own name is near the limit (a valid
    246-character output name failed with "File name too long" on its temporary twin)."""
    data = stem.encode("utf-8", "surrogateescape")
    keep = max(1, NAME_MAX - room)
    return stem if len(data) <= keep else data[:keep].decode("utf-8", "ignore")


def naming(exc: OSError, path: str | os.PathLike[str],
           tmp: str | os.PathLike[str] | None = None) -> OSError:
    """``exc`` naming the output ``path`` where it names no file or the temporary file
    ``tmp`` written in its place: a failed write (a full disk) names no file, and "No space
    left on device" alone, or with a hidden temporary name, did not say which output failed."""
    if exc.errno is not None and (exc.filename is None or (
            tmp is not None and str(exc.filename) == str(tmp))):
        return OSError(exc.errno, exc.strerror or str(exc), str(path))
    return exc
