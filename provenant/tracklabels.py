"""What a track is called and how players treat it, carried from a source track to the
track that replaces it in a re-encode: its language and title (the menu a player shows for
a film's dubs and subtitles) and its disposition (default, forced, for the hard of hearing,
commentary). FFmpeg's stream templates copy the codec, not these: a re-encoded film's
French track came out as ``und``, untitled."""

from __future__ import annotations

from typing import Any

__all__ = ["carry_labels"]


def carry_labels(source: Any, stream: Any) -> None:
    """Give ``stream`` (a new PyAV output stream) ``source``'s language, title and
    disposition."""
    tags = {k.lower(): v for k, v in source.metadata.items()}
    language = tags.get("language")
    if language and language != "und":
        stream.metadata["language"] = language
    title = tags.get("title") or tags.get("name")  # MP4 reads a track's title as "name"
    if title:
        stream.metadata["title"] = title
    try:
        stream.disposition = source.disposition
    except (AttributeError, TypeError, ValueError):  # a PyAV too old to set it
        pass
