"""Commands that read media (``verify``, ``detect``, ``watermark detect``) take several files.

Given one file, a command prints its result as it always has, and an unreadable file is an
error (exit status 2). Given several files or a folder (its media files, by suffix, sorted, not
recursive), it prints one result per file in turn: JSON Lines with ``--json``, blank-line
separated text otherwise. Models load once for the whole list. A file that cannot be read gets
an error in its place (``{"file", "error": {"code", "message"}}``), the others still run, and
the exit status is then 2. ``verify`` also takes a folder's files of the formats it reads for
their content credentials alone (DNG, JPEG XL, WAV, MP3, FLAC, M4A, PDF).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from provenant.errors import ConfigurationError, InputError, ProvenanceError
from provenant.media import IMAGE_SUFFIXES, MP4_SUFFIXES

__all__ = ["MEDIA_SUFFIXES", "VIDEO_SUFFIXES", "expand_files", "report_each"]

#: The usual names of the video files the readers take (a folder of footage: these).
VIDEO_SUFFIXES = MP4_SUFFIXES + (".3gp", ".3g2", ".mkv", ".webm", ".avi", ".ts", ".mts", ".m2ts",
                                 ".mpg", ".mpeg", ".vob", ".mxf", ".flv", ".wmv", ".asf")
#: What a folder contributes: its files with these suffixes (every format the readers take).
MEDIA_SUFFIXES = VIDEO_SUFFIXES + (".gif", ".tif", ".tiff") + IMAGE_SUFFIXES

#: One file's result: a JSON-able dict and the human-readable text.
Result = tuple[dict[str, Any], str]


def expand_files(names: list[str], suffixes: tuple[str, ...] = MEDIA_SUFFIXES) -> list[Path]:
    """The files named, with each folder replaced by its files with one of ``suffixes``
    (sorted, not recursive)."""
    files: list[Path] = []
    for name in names:
        path = Path(name)
        if path.is_dir():
            files += sorted(p for p in path.iterdir()
                            if p.is_file() and p.suffix.lower() in suffixes)
        else:
            files.append(path)
    return files


def _failure(path: Path, exc: Exception) -> tuple[str, str]:
    if isinstance(exc, ProvenanceError):
        return exc.code, str(exc)
    return "unreadable", f"{getattr(exc, 'strerror', None) or exc}: {path}"


def _the_files_fault(exc: Exception) -> bool:
    """Whether ``exc`` concerns the file at hand (unreadable, damaged, refused), not the
    command's setup (a model folder without weights, a damaged setting) or an internal
    failure, which would only repeat for every file and so stop the list."""
    if isinstance(exc, ConfigurationError):
        return False
    return isinstance(exc, (InputError, OSError))


def report_each(names: list[str], one: Callable[[Path], Result], as_json: bool,
                suffixes: tuple[str, ...] = MEDIA_SUFFIXES,
                outcome: Callable[[dict[str, Any]], str] | None = None) -> int:
    """Run ``one`` on every file ``names`` stands for (a folder: its files with one of
    ``suffixes``) and print the results; the exit status. ``outcome`` names a result's
    outcome (a verdict label): several files end, in text, with the count of each."""
    files = expand_files(names, suffixes)
    if len(names) == 1 and files == [Path(names[0])]:  # one file: as the command always did
        try:
            facts, text = one(files[0])
        except (ProvenanceError, OSError) as exc:
            if as_json and _the_files_fault(exc):
                # a script reading --json gets the file's error as with several files
                code, message = _failure(files[0], exc)
                print(json.dumps({"file": str(files[0]), "error": {"code": code,
                                                                   "message": message}},
                                 indent=2))
                exc.reported = True  # type: ignore[union-attr]  # main() prints no second one
            raise
        print(json.dumps(facts, indent=2, default=str) if as_json else text)
        return 0
    if not files:
        raise InputError(f"no media files in {', '.join(names)}",
                         hint="give video or image files, or folders that hold them")
    failed, outcomes = 0, Counter[str]()
    for i, path in enumerate(files):
        sep = "\n" if i else ""
        try:
            facts, text = one(path)
        except (ProvenanceError, OSError) as exc:
            if not _the_files_fault(exc):
                raise  # not the file's: stop, as for one file
            failed += 1
            code, message = _failure(path, exc)
            print(f"provenant: error: {message}", file=sys.stderr)
            facts, text = {"file": str(path), "error": {"code": code, "message": message}}, \
                f"File: {path}\nError: {message}"
        print(json.dumps(facts, default=str) if as_json else sep + text, flush=True)
        outcomes["could not be read" if "error" in facts else
                 outcome(facts) if outcome else "done"] += 1
    if outcome is not None and not as_json:
        print(f"\n{len(files)} files: " + ", ".join(f"{n} {label}"
                                                   for label, n in outcomes.most_common()))
    if failed:
        print(f"provenant: {failed} of {len(files)} files could not be read", file=sys.stderr)
    return 2 if failed else 0
