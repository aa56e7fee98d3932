"""Subtitle tracks through a re-encode (:class:`provenant.trackcopy.TrackCopy` copies those
the output takes as they are).

An MP4 holds text subtitles in one format only, 3GPP timed text (``mov_text``); a Matroska
file's SubRip, ASS or WebVTT track was dropped when the video was written as MP4. Text
tracks are therefore converted, cue by cue, to the text format of the output (its words,
its times, and the bold, italic and underline that ``mov_text`` keeps). Picture subtitles
(DVB, Blu-ray PGS, DVD) and teletext are bitmaps or pages that an MP4 does not take and
that cannot be turned into text without reading them: such a track is left out, with a
:class:`~provenant.errors.ProvenanceWarning` that says which and how to keep it.
"""

from __future__ import annotations

import os
from fractions import Fraction
from typing import Any

from provenant.errors import notice
from provenant.tracklabels import carry_labels

__all__ = ["TextTrack", "text_codec_for", "warn_left_out"]

#: The text subtitle codec each output container holds, by FFmpeg muxer name.
_TEXT_CODECS = {"mp4": "mov_text", "mov": "mov_text", "ipod": "mov_text",
                "matroska": "subrip", "webm": "webvtt"}
#: How a warning names each output container.
_CONTAINER_NAMES = {"mp4": "an MP4", "mov": "a MOV", "ipod": "an M4V", "matroska": "a Matroska",
                    "webm": "a WebM"}
#: Times of converted cues are kept to the millisecond, as the subtitle formats count.
_MS = Fraction(1, 1000)
#: The ASS header FFmpeg's text decoders start from, for a decoder that gives none.
_ASS_HEADER = (b"[Script Info]\nScriptType: v4.00+\nPlayResX: 384\nPlayResY: 288\n\n"
               b"[V4+ Styles]\nFormat: Name, Fontname, Fontsize, PrimaryColour, "
               b"SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, "
               b"StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, "
               b"Alignment, MarginL, MarginR, MarginV, Encoding\nStyle: Default,Arial,16,"
               b"&Hffffff,&Hffffff,&H0,&H0,0,0,0,0,100,100,0,0,1,1,0,2,10,10,10,0\n\n"
               b"[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, "
               b"Effect, Text\n")


def text_codec_for(container_format: str) -> str | None:
    """The text subtitle codec the muxer ``container_format`` writes (None: none known)."""
    return _TEXT_CODECS.get(container_format)


class TextTrack:
    """A source text subtitle track, each cue decoded and encoded as ``codec``, timed as
    the source times it (less the origin, as the pictures are)."""

    @staticmethod
    def converts(track: Any) -> bool:
        """Whether ``track`` (a PyAV subtitle stream) holds text that can be decoded."""
        ctx = track.codec_context
        return ctx is not None and bool(getattr(ctx.codec, "text_sub", False))

    def __init__(self, out, track, codec: str) -> None:  # av OutputContainer, SubtitleStream
        self.out, self.origin, self.decoder = out, 0.0, track.codec_context
        self.last = 0  # the last cue's start, in ms: the muxer refuses one that goes back
        self.decoder.open()  # sets the decoder's ASS header, which the encoder starts from
        self.stream = out.add_stream(codec)
        self.stream.codec_context.subtitle_header = self.decoder.subtitle_header or _ASS_HEADER
        self.stream.codec_context.time_base = _MS
        carry_labels(track, self.stream)
        self.stream.codec_context.open()

    def shift(self, origin: float) -> None:
        """Time the cues from ``origin`` (seconds of the source's clock) instead of 0."""
        self.origin = origin

    def write(self, packet: Any) -> None:
        import av

        if packet.pts is None or not packet.time_base:
            return  # a cue with no time cannot be placed
        try:
            cue = self.decoder.decode2(packet)
            coded = self.stream.codec_context.encode_subtitle(cue) if cue is not None else None
        except (av.error.FFmpegError, ValueError):
            return  # a damaged cue: left out, as a player skips it
        if coded is None or not coded.size:
            return
        start = round((float(packet.pts * packet.time_base) - self.origin) / _MS)
        if start < 0:
            return  # shown before the first picture, which the new video does not have
        start = self.last = max(start, self.last)  # cues stored out of order: in order
        duration = packet.duration if packet.duration else None
        coded.pts = coded.dts = start
        coded.duration = (round(duration * packet.time_base / _MS) if duration
                          else max(0, cue.end_display_time - cue.start_display_time))
        coded.time_base, coded.stream = _MS, self.stream
        self.out.mux(coded)

    def flush(self) -> None:
        """Nothing is held back."""


def warn_left_out(source: str | os.PathLike[str], tracks: list[Any],
                  container_format: str) -> None:
    """Warn that ``tracks`` of ``source`` (subtitle streams the output neither takes as they
    are nor converts: pictures, teletext, or a damaged track) are not in the output."""
    if not tracks:
        return
    names = ", ".join(f"{t.index} ({getattr(t.codec_context, 'name', None) or 'unknown'})"
                      for t in tracks)
    several = len(tracks) > 1
    kind = _CONTAINER_NAMES.get(container_format, container_format)
    keep = ("a .mkv output keeps picture subtitles" if container_format != "matroska"
            else "extract them from the source to keep them")
    notice(f"{source}: subtitle track{'s' if several else ''} {names} "
           f"{'are' if several else 'is'} not kept: {kind} output does not take "
           f"{'them' if several else 'it'} as {'they are' if several else 'it is'}, "
           f"and only text subtitles are converted ({keep})")
