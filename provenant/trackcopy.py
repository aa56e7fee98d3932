"""The sound and subtitles of a re-encoded video: every audio and subtitle track of the
source, interleaved with the new video as it is written.

A track is copied packet for packet when the output container takes it as it is. An audio
track it does not take (24-bit or float PCM from a Matroska file, which FFmpeg's MP4 muxer
refuses: the re-encode failed with "Invalid argument") is converted to ALAC, Apple's
lossless codec, which every MP4 and MOV player reads: the samples stay bit for bit (float
samples become 32-bit integers). A text subtitle track it does not take (SubRip, ASS or
WebVTT from a Matroska file, into an MP4) is converted to the output's text format
(:mod:`provenant.subtitles`); a picture subtitle track (DVB, Blu-ray, teletext) that it
does not take is left out with a :class:`~provenant.errors.ProvenanceWarning`.
"""

from __future__ import annotations

import io
import os
from fractions import Fraction
from typing import Any

from provenant.errors import MediaError, notice
from provenant.subtitles import TextTrack, text_codec_for, warn_left_out
from provenant.tracklabels import carry_labels

__all__ = ["TrackCopy", "picture_origin"]

#: Channel layouts the ALAC encoder takes, by channel count.
_ALAC_LAYOUTS = {1: "mono", 2: "stereo", 3: "3.0", 4: "4.0", 5: "5.0", 6: "5.1", 7: "6.1",
                 8: "7.1(wide)"}


class TrackCopy:
    """Every audio and subtitle track of ``source`` (a camera's several microphones, a
    film's languages and their subtitles), written into ``out`` as the video reaches each
    packet's time, so sound, text and pictures are interleaved in the file (a player that
    streams it never has to jump to the end for the sound)."""

    def __init__(self, out, source: str | os.PathLike[str]) -> None:  # av OutputContainer
        import av

        # damaged tags are skipped, not decoded (UnicodeDecodeError)
        self.out = out
        self.container = av.open(str(source), "r", metadata_errors="ignore")
        self.tracks: dict[int, _Copy | _Alac | TextTrack] = {}
        try:
            for track in self.container.streams.audio:
                fits = _fits(out.format.name, source, track.index)
                self.tracks[track.index] = _Copy(out, track) if fits else _Alac(out, track)
            self._add_subtitles(out, source)
            _warn_other_pictures(source, list(self.container.streams.video)[1:])
            _notice_telemetry(source, list(self.container.streams.data))
        except BaseException:  # a track neither copied nor converted: not left open
            self.container.close()
            raise
        tracks = [self.container.streams[i] for i in self.tracks]
        self.origin = picture_origin(self.container)
        for track in self.tracks.values():
            track.shift(self.origin)
        self.packets = self.container.demux(*tracks) if tracks else iter(())
        self.pending = None

    def _add_subtitles(self, out, source: str | os.PathLike[str]) -> None:
        """Copy the subtitle tracks ``out`` takes as they are, convert the text ones it does
        not, and warn of those left out (picture subtitles an MP4 does not hold)."""
        import av

        text = text_codec_for(out.format.name)
        left_out = []
        for track in self.container.streams.subtitles:
            if _takes(out.format.name, track):
                self.tracks[track.index] = _Copy(out, track)
                continue
            try:
                if text is not None and TextTrack.converts(track):
                    self.tracks[track.index] = TextTrack(out, track, text)
                    continue
            except (av.error.FFmpegError, ValueError):  # a damaged track header
                pass
            left_out.append(track)
        warn_left_out(source, left_out, out.format.name)

    def copy_until(self, seconds: float | None) -> None:
        """Write the packets that start at or before ``seconds`` from the first picture
        (None: all that are left)."""
        while True:
            if self.pending is None:
                self.pending = next(self.packets, None)
                if self.pending is None:
                    for track in self.tracks.values():
                        track.flush()
                    return
                if self.pending.dts is None:  # the demuxer's final empty packet
                    self.pending = None
                    continue
            packet = self.pending
            if seconds is not None and float(packet.dts * packet.time_base) - self.origin > seconds:
                return
            self.tracks[packet.stream.index].write(packet)
            self.pending = None

    def close(self) -> None:
        self.container.close()


def _warn_other_pictures(source: str | os.PathLike[str], tracks: list[Any]) -> None:
    """Warn that video tracks after the first (a 360 camera's second lens, a cover picture)
    are not in the output: only the first is watermarked, and an unmarked picture must not
    ride in a marked file."""
    if not tracks:
        return
    import av

    def kind(track: Any) -> str:
        if track.disposition & av.stream.Disposition.attached_pic:
            return "cover picture"
        return getattr(track.codec_context, "name", None) or "unknown"

    names = ", ".join(f"{t.index} ({kind(t)})" for t in tracks)
    notice(f"{source}: video track{'s' if len(tracks) > 1 else ''} {names} "
           f"{'are' if len(tracks) > 1 else 'is'} not kept: only the first video track is "
           "watermarked and written")


def _notice_telemetry(source: str | os.PathLike[str], tracks: list[Any]) -> None:
    """Say that a drone's or an action camera's telemetry (where it flew, which way it
    looked: what a verification desk checks a video's place against) is not in the copy.
    Other data tracks (a phone's camera metadata, a timecode track, carried otherwise) are
    left out without a word."""
    found = []
    for track in tracks:
        handler = str(track.metadata.get("handler_name", ""))
        if getattr(track, "name", None) == "klv":
            found.append(f"{track.index} (KLV metadata)")
        elif "GoPro MET" in handler:
            found.append(f"{track.index} (GoPro GPMF telemetry)")
    if found:
        several = len(found) > 1
        notice(f"{source}: data track{'s' if several else ''} {', '.join(found)} "
               f"{'are' if several else 'is'} not kept: a re-encode does not carry "
               "telemetry (keep the source beside the copy)")


def picture_origin(container) -> float:
    """Where the source's pictures start, in seconds of its own clock: the new video's
    frames are timed from there (:func:`provenant.media.iter_timed_frames`), so the sound is
    too. A transport stream's clock rarely starts at 0 (a broadcast capture's can read
    hours), and B-frames delay an H.264 stream's first picture against its sound."""
    video = container.streams.video
    if video and video[0].start_time and video[0].time_base:
        return float(video[0].start_time * video[0].time_base)
    return 0.0  # as the frames are timed where the stream gives no start


class _Copy:
    """One source track whose packets go into the output as they are."""

    def __init__(self, out, track) -> None:
        self.out, self.origin = out, 0.0
        self.stream = out.add_stream_from_template(track)
        carry_labels(track, self.stream)

    def shift(self, origin: float) -> None:
        """Time the track from ``origin`` (seconds of the source's clock) instead of 0."""
        self.origin = origin

    def write(self, packet: Any) -> None:
        if self.origin:
            offset = round(self.origin / packet.time_base)
            packet.dts -= offset
            if packet.pts is not None:
                packet.pts -= offset
        packet.stream = self.stream
        self.out.mux(packet)

    def flush(self) -> None:
        """Nothing is held back."""


class _Alac:
    """One source audio track, decoded and encoded as ALAC."""

    def __init__(self, out, track) -> None:
        import av

        self.out, self.origin = out, 0.0
        self.start, self.base = track.start_time, track.time_base
        ctx = track.codec_context
        channels = ctx.layout.nb_channels if ctx is not None and ctx.layout is not None else 0
        refused = MediaError(
            f"audio track {track.index} ({getattr(ctx, 'name', 'no codec')}, {channels} "
            "channels) can neither be copied into the output nor converted to ALAC: it is "
            "damaged, or in an unusual format", hint="convert its sound to AAC first")
        if channels == 0 or not ctx.sample_rate:  # a damaged header, as a rule
            raise refused
        deep = ctx.format is None or ctx.format.name not in ("s16", "s16p", "u8", "u8p")
        fmt = "s32p" if deep else "s16p"
        # the standard layout of as many channels (a Matroska track's may be "2 channels",
        # of no named order, which the ALAC encoder refuses)
        layout = _ALAC_LAYOUTS.get(channels, ctx.layout.name)
        try:
            self.stream = out.add_stream("alac", rate=ctx.sample_rate, layout=layout)
            carry_labels(track, self.stream)
            self.stream.codec_context.format = fmt
            self.stream.codec_context.open()
            self.resampler = av.AudioResampler(format=fmt, layout=layout, rate=ctx.sample_rate)
        except (av.error.FFmpegError, ValueError):
            raise refused from None
        self.decoder, self.rate, self.damage = ctx, ctx.sample_rate, av.error.FFmpegError
        self.flushed, self.samples = False, 0

    def shift(self, origin: float) -> None:
        """Count the converted samples from where the track starts against ``origin``."""
        self.origin = origin
        start = float(self.start * self.base) if self.start is not None and self.base else 0
        self.samples = round((start - origin) * self.rate)

    def write(self, packet: Any) -> None:
        try:
            frames = self.decoder.decode(packet)
        except self.damage:  # a damaged packet: a gap in the sound, as a player leaves it
            return
        for frame in frames:
            self._encode(frame)

    def flush(self) -> None:
        if self.flushed:
            return
        self.flushed = True
        for frame in self.decoder.decode(None):
            self._encode(frame)
        self._encode(None)

    def _encode(self, frame: Any) -> None:
        frames = self.resampler.resample(frame) if frame is not None else [
            *self.resampler.resample(None), None]
        for converted in frames:
            if converted is not None:  # times in samples, from the track's start
                converted.pts, converted.time_base = self.samples, Fraction(1, self.rate)
                self.samples += converted.samples
            self.out.mux(self.stream.encode(converted))


def _takes(container_format: str, track: Any) -> bool:
    """Whether ``container_format`` takes ``track`` as it is, by its header alone: a
    subtitle track's first packet can come an hour in, or never (a forced-subtitle track),
    and :func:`_fits` would read the file that far for each one."""
    import av

    try:
        with av.open(io.BytesIO(), "w", format=container_format) as trial:
            trial.add_stream_from_template(track)
            trial.start_encoding()
        return True
    except (av.error.FFmpegError, ValueError):
        return False


def _fits(container_format: str, source: str | os.PathLike[str], index: int) -> bool:
    """Whether ``container_format`` takes track ``index`` of ``source`` as it is: its first
    packet muxed into a trial file in memory."""
    import av

    try:
        with (av.open(str(source), "r", metadata_errors="ignore") as src,
              av.open(io.BytesIO(), "w", format=container_format) as trial):
            track = src.streams[index]
            stream = trial.add_stream_from_template(track)
            for packet in src.demux(track):
                if packet.dts is not None:
                    packet.stream = stream
                    trial.mux(packet)
                    break
        return True
    except (av.error.FFmpegError, ValueError):
        return False
