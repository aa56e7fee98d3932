"""What a re-encode carries at file level from its source (``write_video(...,
metadata_from=)``), as ffmpeg keeps it:

* the tags that describe the content (creation time, title, location), not the source's
  muxer (brands, encoder); a phone's QuickTime metadata keys (``com.apple.quicktime.*``:
  the place, the device, the local capture time) as such keys again;
* the start timecode, wherever the source keeps it (a file tag in MXF, the video's or a
  ``tmcd`` track's tag in MOV/MP4): the MP4/MOV muxer writes it as a timecode track again,
  which edit systems conform to;
* the chapters (an interview's or a programme's parts), timed from the first picture as
  the new video is.

A re-encode dropped the timecode and the chapters.
"""

from __future__ import annotations

import os
import re
from typing import Any

from provenant.trackcopy import picture_origin

__all__ = ["carry_file_level"]

#: File-level tags a muxer writes itself: copied, they would describe the source's muxer.
_MUXER_TAGS = ("major_brand", "minor_version", "compatible_brands", "encoder")
#: The MP4/MOV muxers (``.m4v`` is ``ipod``).
_BMFF_MUXERS = ("mp4", "mov", "ipod")
#: SMPTE timecode as FFmpeg writes it: hh:mm:ss:ff, or hh:mm:ss;ff for drop-frame.
_TIMECODE = re.compile(r"\d{2}:[0-5]\d:[0-5]\d[:;.]\d{2,3}")
#: At most this many chapters are carried (a damaged header may claim millions).
MAX_CHAPTERS = 10_000


def carry_file_level(source: str | os.PathLike[str], out: Any) -> None:
    """Give ``out`` (a PyAV output container, before anything is written) ``source``'s
    content tags, start timecode and chapters."""
    import av

    with av.open(str(source), "r", metadata_errors="ignore") as src:
        tags = _content_tags(src)
        chapters = _chapters(src)
    out.metadata.update(tags)
    if any("." in key for key in tags) and out.format.name in _BMFF_MUXERS:
        # a phone's keys (com.apple.quicktime.location.ISO6709, .make, .model,
        # .creationdate: where, with what and when it was shot) are written only as QuickTime
        # metadata keys, as the phone wrote them; the muxer dropped them otherwise
        out.options["movflags"] = out.options.get("movflags", "") + "+use_metadata_tags"
    if chapters:
        out.set_chapters(chapters)


def _content_tags(src: Any) -> dict[str, str]:
    tags = {k: v for k, v in src.metadata.items()
            if k.lower() not in _MUXER_TAGS and "handler" not in k.lower()
            and k.lower() != "timecode"}
    candidates = [_timecode_tag(src.metadata),
                  *(_timecode_tag(t.metadata) for t in (*src.streams.video, *src.streams.data))]
    start = next((tc for tc in candidates if tc and _TIMECODE.fullmatch(tc)), None)
    if start is not None:  # one the muxer reads (a damaged one would stop the write)
        tags["timecode"] = start
    return tags


def _timecode_tag(tags: Any) -> str | None:
    """The timecode tag of ``tags`` (Matroska names it ``TIMECODE``)."""
    return next((v for k, v in tags.items() if k.lower() == "timecode"), None)


def _chapters(src: Any) -> list[dict[str, Any]]:
    """``src``'s chapters, timed from its first picture (as the new video's frames and
    sound are: :mod:`provenant.trackcopy`); those that end before it are left out."""
    origin = picture_origin(src)
    kept = []
    for chapter in src.chapters()[:MAX_CHAPTERS]:
        base = chapter.get("time_base")
        if not base or chapter.get("end") is None or chapter.get("start") is None:
            continue
        shift = round(origin / float(base))
        start, end = max(0, chapter["start"] - shift), chapter["end"] - shift
        if end <= start:
            continue
        kept.append({"id": len(kept) + 1, "start": start, "end": end, "time_base": base,
                     "metadata": dict(chapter.get("metadata") or {})})
    return kept
