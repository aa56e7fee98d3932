"""Temporary files written beside an output: their names, kept within the file system's
limit, the output's name on an error writing them, and writing a file whole. Light on
purpose (no media libraries): the generator's training imports it on hosts that have only
torch and its friends."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

from provenant.errors import MediaError

__all__ = ["NAME_MAX", "short_stem", "naming", "sibling_temp", "write_whole", "file_title"]

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


def sibling_temp(path: Path, suffix: str) -> Path:
    """A new, empty file beside ``path``, for an output to be written into and then renamed
    over ``path`` (so the output appears whole or not at all). It is created with the mode a
    plain ``open()`` gives (0666 less the umask), so the finished output is as readable as
    any other file its user writes: ``tempfile.mkstemp`` would make it private (0600)."""
    for _ in range(100):
        stem = short_stem(path.stem, 14 + len(suffix.encode()))
        tmp = path.parent / f".{stem}.{secrets.token_hex(6)}{suffix}"
        try:
            os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
        except FileExistsError:
            continue
        return tmp
    raise MediaError(f"could not create a temporary file beside {path}",
                     hint=f"check the folder {path.parent}")


def write_whole(path: str | os.PathLike[str], write: Callable[[Path], object]) -> Path:
    """Run ``write(tmp)`` on a :func:`sibling_temp` of ``path``, then rename it over ``path``
    with the mode a plain ``open()`` gives: the file appears whole or not at all (a trainer
    stopped while saving left half a ``model.safetensors``), and as readable as the user's
    other files (safetensors writes 0600, so weights trained by one account could not be
    loaded by the service account that serves them)."""
    path = Path(path)
    tmp = sibling_temp(path, path.suffix)
    mode = tmp.stat().st_mode & 0o777
    try:
        write(tmp)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def file_title(path: str | os.PathLike[str]) -> str:
    """A file's name as a manifest title: text the JSON of a manifest (and the store) takes.
    A name that is not UTF-8 (a Latin-1 ``caf\xe9.png`` from an old camera or archive) holds
    lone surrogates in Python, which the SDK refused ("lone leading surrogate"): its bytes
    are read as Latin-1 instead, which gives ``café``."""
    raw = os.fsencode(Path(path).name)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")
