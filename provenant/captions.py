"""Closed captions that ride inside the video stream: CEA-608/708 caption data in ATSC A/53
user data (``GA94``), as US broadcast (MPEG-2 in a transport stream), cable and most
captioned H.264/HEVC files carry them, picture by picture.

A re-encode makes new pictures, and FFmpeg's encoders put captions back only from the
frames' side data, which PyAV cannot set. So :class:`Captions` takes each decoded frame's
caption bytes (what FFmpeg's H.264, HEVC and MPEG-2 decoders export as ``A53_CC``) and puts
them into the coded picture of the same frame, as an SEI message (ITU-T T.35, the form
x264 and FFmpeg write) placed before the picture's first slice. Captions stay with their
pictures through B-frame reordering, since each packet is matched by its presentation time.

    captions = Captions()
    frames = iter_timed_frames(src, "yuv420p", captions=captions)
    write_video(frames, dst, fps, pixel_format="yuv420p", captions=captions)
"""

from __future__ import annotations

import re
import threading
from typing import Any

__all__ = ["Captions", "caption_sei"]

#: ITU-T T.35 header of ATSC A/53 caption data: USA, ATSC's provider code, "GA94", cc_data.
_A53_HEADER = bytes([0xB5, 0x00, 0x31]) + b"GA94" + bytes([0x03])
#: At most 31 caption triplets fit one cc_data() (a 5-bit count).
_MAX_TRIPLETS = 31
_START_CODE = re.compile(b"\x00\x00\x01")


class Captions:
    """Caption data of a video's frames, by frame number: recorded as the source is decoded
    (:meth:`record`), given a presentation time as each frame is encoded (:meth:`timed`), and
    put into the packet of that time (:meth:`attach`). Entries leave as they are used, so
    the memory held is the few frames between decoder and muxer."""

    def __init__(self) -> None:
        self._by_frame: dict[int, bytes] = {}
        self._by_pts: dict[int, bytes] = {}
        self._lock = threading.Lock()  # the decoder may run in a background thread

    def __len__(self) -> int:
        """How many frames' captions are held, not yet written."""
        with self._lock:
            return len(self._by_frame) + len(self._by_pts)

    def record(self, index: int, frame: Any) -> None:
        """Keep the caption bytes of decoded frame number ``index`` (a PyAV ``VideoFrame``)."""
        data = b"".join(bytes(side) for side in frame.side_data
                        if getattr(side.type, "name", "") == "A53_CC")
        usable = len(data) - len(data) % 3
        if usable:
            with self._lock:
                self._by_frame[index] = data[:usable]

    def timed(self, index: int, pts: int) -> None:
        """Frame number ``index`` is encoded with presentation time ``pts``."""
        with self._lock:
            data = self._by_frame.pop(index, None)
            if data is not None:
                self._by_pts[pts] = data

    def attach(self, packet: Any, codec: str) -> Any:
        """``packet`` (a PyAV ``Packet`` from ``codec``'s encoder: libx264 or libx265) with
        its picture's captions inserted; ``packet`` itself when it has none."""
        if packet.pts is None:
            return packet
        with self._lock:
            data = self._by_pts.pop(packet.pts, None)
        if data is None or codec not in ("libx264", "libx265"):
            return packet
        import av

        coded = insert_before_picture(bytes(packet), caption_sei(data, hevc=codec == "libx265"),
                                      hevc=codec == "libx265")
        out = av.Packet(coded)
        out.pts, out.dts, out.time_base = packet.pts, packet.dts, packet.time_base
        out.stream = packet.stream
        out.is_keyframe = packet.is_keyframe
        return out


def caption_sei(triplets: bytes, hevc: bool = False) -> bytes:
    """An Annex B SEI NAL unit (H.264, or HEVC's prefix SEI) holding ``triplets`` (cc_data
    triplets, as FFmpeg's ``A53_CC`` side data holds them), split into messages of at most
    31 triplets."""
    payload = bytearray()
    for start in range(0, len(triplets), 3 * _MAX_TRIPLETS):
        chunk = triplets[start:start + 3 * _MAX_TRIPLETS]
        # process_cc_data_flag set, the triplet count, em_data, the triplets, marker bits
        body = _A53_HEADER + bytes([0x40 | len(chunk) // 3, 0xFF]) + chunk + b"\xff"
        payload += bytes([4]) + _sei_size(len(body)) + body  # 4: user data registered (T.35)
    header = bytes([39 << 1, 0x01]) if hevc else bytes([0x06])
    return b"\x00\x00\x00\x01" + header + _escape(bytes(payload) + b"\x80")


def insert_before_picture(data: bytes, nal: bytes, hevc: bool = False) -> bytes:
    """``data`` (an Annex B access unit) with ``nal`` inserted before its first slice, where
    SEI messages belong (after any access unit delimiter, parameter sets and other SEI);
    at the end when no slice is found."""
    for match in _START_CODE.finditer(data):
        at = match.end()
        if at >= len(data):
            break
        kind = (data[at] >> 1) & 0x3F if hevc else data[at] & 0x1F
        if (kind < 32) if hevc else (1 <= kind <= 5):
            start = match.start()
            if start > 0 and data[start - 1] == 0:  # a 4-byte start code
                start -= 1
            return data[:start] + nal + data[start:]
    return data + nal


def _sei_size(n: int) -> bytes:
    """An SEI payload size as H.264 codes it: 255s, then the rest."""
    return bytes([255] * (n // 255) + [n % 255])


def _escape(rbsp: bytes) -> bytes:
    """Emulation prevention: a 3 after each pair of zero bytes followed by a byte <= 3, so
    the payload never reads as a start code."""
    out, zeros = bytearray(), 0
    for byte in rbsp:
        if zeros >= 2 and byte <= 3:
            out.append(3)
            zeros = 0
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return bytes(out)
