"""A 360° video's projection and a 3D video's stereo layout, carried through a re-encode.

A 360 camera (Insta360, GoPro Max, Ricoh Theta) or an editor exporting for 360 playback
says so in the video track: Spherical Video V2 puts an ``sv3d`` box (the projection:
equirectangular or cubemap, its bounds, the initial view) and an ``st3d`` box (mono, or two
eyes packed top-bottom or side by side) into the video's sample entry; V1 puts an XML
``uuid`` box into the track. A player shows the video as a sphere around the viewer only
when it finds them. FFmpeg's MP4 muxer writes them from stream side data, which PyAV cannot
set, so a re-encode (``watermark embed``, ``stamp``) gave a flat, stretched panorama that
platforms no longer offered as 360. Its spatial sound (ambisonics, an ``SA3D`` box in the
audio's sample entry, which the audio keeps through a copy) lost the box that says so and
played as plain four-channel sound. Here they are copied byte for byte from the source's
index into the new file's (:mod:`provenant.moovedit`).

A Matroska or WebM source (a 360 video downloaded from a platform) says the same in its
``Projection`` and ``StereoMode`` elements, which FFmpeg's decoder reports with each picture:
those are written as the MP4 boxes that say the same. The copy must be MP4/MOV; into another
container, or for a projection MP4 has no box for, the loss is named in a notice
(:func:`provenant.errors.notice`).
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

from provenant.errors import notice
from provenant.moovedit import Box, read_moov, rewrite_moov, sample_entry, tracks, video_entry
from provenant.orientation import first_frame

__all__ = ["Projection", "read_projection", "carry_projection", "SPHERICAL_V1_UUID"]

#: The ``uuid`` of Spherical Video V1's XML box (Google's spatial-media specification).
SPHERICAL_V1_UUID = bytes.fromhex("ffcc8263f8554a938814587a02521fdd")
_ENTRY_KINDS = (b"sv3d", b"st3d")
#: FFmpeg's projections (AVSphericalProjection), as its decoders report them with a picture.
_EQUIRECTANGULAR, _CUBEMAP, _EQUIRECTANGULAR_TILE = 0, 1, 2
_PROJECTIONS = {3: "half-equirectangular", 4: "rectilinear", 5: "fisheye",
                6: "parametric immersive"}
#: AVStereo3DType side by side and top-bottom to an ``st3d`` stereo mode.
_ST3D_MODES = {2: 1, 1: 2}
_STEREO_UNSPECIFIED = 8


@dataclass(frozen=True)
class Projection:
    """The boxes that make a video 360° or stereo 3D, and its sound spatial, as found in
    its source."""

    entry: tuple[Box, ...]  # sv3d and st3d, from the video's sample entry
    track: tuple[Box, ...]  # V1 spherical uuid boxes, from the video track
    #: Each audio track's SA3D box (ambisonic sound), or None, in track order.
    audio: tuple[Box | None, ...] = ()

    def describe(self) -> str:
        kinds = {b.kind for b in self.entry}
        parts = (["360° projection"] if b"sv3d" in kinds or self.track else []) + (
            ["stereo 3D layout"] if b"st3d" in kinds else []) + (
            ["spatial (ambisonic) sound"] if any(self.audio) else [])
        return _listed(parts)


def read_projection(path: str | os.PathLike[str]) -> Projection | None:
    """The projection boxes of an MP4/MOV file's video track; None when it has none, or it
    is not an MP4/MOV file its index can be read from."""
    return _projection(read_moov(path))


def _projection(found: tuple[Box, int, int] | None) -> Projection | None:
    video = video_entry(found)
    if found is None or video is None:
        return None
    trak, entry = video
    boxes = tuple(b for b in entry.children or () if b.kind in _ENTRY_KINDS)
    v1 = tuple(b for b in trak.find(b"uuid") if b.body[:16] == SPHERICAL_V1_UUID)
    sounds = [sample_entry(t) for t in tracks(found[0], b"soun")]
    audio = tuple(next(iter(e.find(b"SA3D")), None) if e else None for e in sounds)
    return Projection(boxes, v1, audio) if boxes or v1 or any(audio) else None


def carry_projection(source: str | os.PathLike[str], output: str | os.PathLike[str],
                     shown_as: str | os.PathLike[str] | None = None) -> bool:
    """Give ``output`` (a re-encode of ``source``'s first video track and its audio tracks,
    just written) the source's 360° projection, stereo layout and spatial sound. Returns
    whether there was one to carry and it was carried; one that could not be is named in a
    notice (``shown_as``: the output's name there, where ``output`` is a temporary file)."""
    name = Path(shown_as if shown_as is not None else output).name
    index = read_moov(source)
    projection, untold = _projection(index), ""
    if projection is None and index is None:  # not MP4/MOV: as FFmpeg's decoder reports it
        projection, untold = _decoded_projection(source)
    if untold:
        notice(f"{source}: its {untold} {_is(untold)} not carried into {name} (an MP4 "
               "holds an equirectangular or cubemap projection, and two eyes side by side "
               "or top-bottom)")
    if projection is None:
        return False
    if _insert(projection, output):  # an output with no MP4 index (Matroska) cannot say it
        return True
    lost = projection.describe()
    notice(f"{source}: its {lost} {_is(lost)} not carried into {name} (only into an MP4 or "
           f"MOV file): {_consequence(lost)}")
    return False


def _consequence(lost: str) -> str:
    return "the copy plays " + ", ".join(words for key, words in (
        ("360", "as a flat panorama, not around the viewer"),
        ("stereo", "with both eyes' pictures in one frame"),
        ("sound", "with sound that does not turn with the view")) if key in lost)


def _listed(parts: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return " and ".join(filter(None, (", ".join(parts[:-1]), *parts[-1:])))


def _is(subject: str) -> str:
    return "are" if " and " in subject else "is"


def _insert(projection: Projection, output: str | os.PathLike[str]) -> bool:
    found = read_moov(output)
    video = video_entry(found)
    if found is None or video is None:
        return False
    trak, entry = video
    kinds = {b.kind for b in projection.entry}
    entry.children = ([b for b in entry.children or () if b.kind not in kinds]
                      + list(projection.entry))
    if projection.track:
        trak.children = ([b for b in trak.children or ()
                          if not (b.kind == b"uuid" and b.body[:16] == SPHERICAL_V1_UUID)]
                         + list(projection.track))
    # every audio track is copied, in order (a PCM one converted sample for sample, so its
    # channels keep their ambisonic order)
    sounds = [sample_entry(t) for t in tracks(found[0], b"soun")]
    for box, sound in zip(projection.audio, sounds if len(sounds) == len(projection.audio)
                          else []):
        if box is not None and sound is not None and sound.children is not None:
            sound.children = [b for b in sound.children if b.kind != b"SA3D"] + [box]
    rewrite_moov(output, *found)
    return True


def _decoded_projection(source: str | os.PathLike[str]) -> tuple[Projection | None, str]:
    """The projection and stereo layout FFmpeg's decoder reports with the first picture of
    a file that is not MP4/MOV (a Matroska or WebM file's ``Projection`` and ``StereoMode``,
    as a 360 video downloaded from a platform has them), as the MP4 boxes that say the same;
    and, in words, a projection that MP4 has no box for (fisheye, rectilinear)."""
    side = _first_side_data(source)
    boxes, untold = [], []
    stereo = struct.unpack("<i", side["STEREO3D"][:4])[0] if len(
        side.get("STEREO3D", b"")) >= 4 else 0
    if stereo in _ST3D_MODES:
        boxes.append(Box(b"st3d", bytes(4) + bytes([_ST3D_MODES[stereo]])))
    elif stereo not in (0, _STEREO_UNSPECIFIED):  # 2D, or not said
        untold.append("stereo 3D layout (frame-sequential or interleaved)")
    spherical = side.get("SPHERICAL", b"")
    if len(spherical) >= 36:  # AVSphericalMapping: projection, yaw, pitch, roll, bounds
        kind, yaw, pitch, roll, left, top, right, bottom, padding = struct.unpack(
            "<iiiiIIIII", spherical[:36])
        if kind in (_EQUIRECTANGULAR, _EQUIRECTANGULAR_TILE):
            shape = Box(b"equi", bytes(4) + struct.pack(">IIII", top, bottom, left, right))
        elif kind == _CUBEMAP:
            shape = Box(b"cbmp", bytes(4) + struct.pack(">II", 0, padding))
        else:
            shape = None
            untold.append(f"{_PROJECTIONS.get(kind, 'unknown')} 360° projection")
        if shape is not None:
            pose = Box(b"prhd", bytes(4) + struct.pack(">iii", yaw, pitch, roll))
            boxes.append(Box(b"sv3d", b"", [Box(b"svhd", bytes(4) + b"Provenant\0"),
                                             Box(b"proj", b"", [pose, shape])]))
    return (Projection(tuple(boxes), ()) if boxes else None), _listed(untold)


def _first_side_data(source: str | os.PathLike[str]) -> dict[str, bytes]:
    """The side data of the first picture FFmpeg decodes, by type; empty when none."""
    import av

    try:
        with av.open(str(source), "r", metadata_errors="ignore") as container:
            video = container.streams.video
            frame = first_frame(container, video[0]) if video else None
    except (av.FFmpegError, OSError, ValueError):
        return {}
    return {getattr(s.type, "name", ""): bytes(s) for s in frame.side_data} if frame else {}
