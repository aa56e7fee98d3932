"""Bad input: damaged copies of every format read, through the commands users run on them.

Each base file (videos in every container and codec read, photos in every image format,
signed and stamped ones, GIFs) is damaged in the ways downloads and uploads damage files and
the ways a hostile upload might: cut short, header bytes changed, body bytes changed, a box
or chunk size blown up or shrunk to nothing, a run of bytes cut out or repeated. Each damaged
copy goes through ``verify``, ``watermark detect``, ``sign``, ``stamp`` and ``detect``, in
this process, as the CLI runs them. What is counted is how each run ended: a result (exit
0), a clear error (a ``ProvenanceError``: exit 2, or 1 for a signing failure), an internal
error (an exception the code did not expect: exit 1, "internal error"), or a hang (over 60 s).
The aim is no internal error and no hang.

Run: ``python -m benchmarks.inputs_bench [--quick] [--seed N]``. Writes
``results/inputs.json``, ``inputs.md`` and ``inputs.png``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import random
import signal
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import machine, save_area, save_figure

COMMANDS = ("verify", "watermark detect", "sign", "stamp", "detect")
TIMEOUT_S = 60
#: Box (ISO BMFF) and chunk (PNG, WebP, HEIF) types whose size field is blown up and zeroed.
_SIZED = (b"moov", b"mdat", b"meta", b"iloc", b"stsz", b"stco", b"avcC", b"hvcC", b"jumb",
          b"IHDR", b"IDAT", b"VP8 ")


def mutants(data: bytes, rng: random.Random) -> Iterator[tuple[str, bytes]]:
    """``(kind, damaged bytes)``: every kind of damage this benchmark applies to ``data``."""
    n = len(data)
    for share in (10, 50, 95):
        yield f"cut to {share}%", data[: n * share // 100]
    yield "first 64 bytes", data[:64]
    for k in range(3):
        d = bytearray(data)
        for _ in range(20):
            d[rng.randrange(min(n, 4096))] = rng.randrange(256)
        yield f"20 header bytes changed ({k + 1})", bytes(d)
    for k in range(2):
        d = bytearray(data)
        for _ in range(50):
            d[rng.randrange(n)] = rng.randrange(256)
        yield f"50 bytes changed ({k + 1})", bytes(d)
    for tag in _SIZED:
        at = data.find(tag)
        if at >= 4:
            name = tag.decode().strip()
            yield f"'{name}' size 4 GB", data[:at - 4] + b"\xff\xff\xff\xf0" + data[at:]
            yield f"'{name}' size 1", data[:at - 4] + b"\x00\x00\x00\x01" + data[at:]
    i = rng.randrange(n)
    j = min(n, i + rng.randrange(1, 2000))
    yield "a run of bytes cut out", data[:i] + data[j:]
    yield "a run of bytes repeated", data[:j] + data[i:j] + data[j:]


def base_media(folder: Path, quick: bool) -> list[Path]:
    """The files damaged: made here from the generator-free sample renderer and the
    registry's sample photos, then signed and stamped as users would."""
    import av
    from PIL import Image

    from provenant.colour import ColourTags
    from provenant.media import read_image, write_image, write_video
    from provenant.provenance import sign, stamp
    from provenant.samples import render_clip, sample_photos

    frames = list(render_clip(24, 128, 160))
    clip = write_video(frames, folder / "clip.mp4", fps=24)
    photo = read_image(sample_photos()["astronaut"])[::2, ::2]  # 256x256
    png = write_image(np.ascontiguousarray(photo), folder / "photo.png")
    out = [clip, sign(clip, folder / "signed.mp4").path, png,
           write_image(photo, folder / "photo.jpg", quality=90),
           write_image(photo, folder / "photo.heic", quality=80)]
    images = [Image.fromarray(f) for f in frames[:12]]
    images[0].save(folder / "anim.gif", save_all=True, append_images=images[1:], duration=40)
    out.append(folder / "anim.gif")
    if quick:
        return out
    planes = [np.concatenate([np.clip(f[..., 1].astype(np.uint16) * 4, 64, 940),
                              np.full((64, 160), 512, np.uint16)]) for f in frames[:12]]
    out += [stamp(clip, folder / "stamped.mp4").path,
            write_video(planes, folder / "hevc10.mp4", 24, codec="libx265",
                        pixel_format="yuv420p10le", colour=ColourTags(9, 1, 9, 18, 10)),
            write_image(photo, folder / "photo.webp", quality=80),
            write_image(photo, folder / "photo.avif", quality=60),
            sign(folder / "photo.jpg", folder / "signed.jpg").path,
            sign(folder / "photo.heic", folder / "signed.heic").path,
            stamp(png, folder / "stamped.png").path]
    Image.fromarray(photo).save(folder / "photo.tif", compression="tiff_lzw")
    out += [folder / "photo.tif", sign(folder / "photo.tif", folder / "signed.tif").path]
    images[0].save(folder / "still.gif")
    out.append(folder / "still.gif")
    for name in ("anim.png", "anim.webp", "anim.avif"):
        images[0].save(folder / name, save_all=True, append_images=images[1:], duration=40)
        out += [folder / name, sign(folder / name, folder / f"signed-{name}").path]
    for name, codec, fmt in (("clip.webm", "libvpx-vp9", "webm"),
                             ("clip.mkv", "libx264", "matroska"),
                             ("capture.ts", "libx264", "mpegts"),
                             ("clip.mpg", "mpeg2video", "mpeg"),
                             ("camera.avi", "mjpeg", "avi"), ("news.mxf", "mpeg2video", "mxf"),
                             ("archive.flv", "libx264", "flv"), ("archive.wmv", "wmv2", "asf")):
        with av.open(str(folder / name), "w", format=fmt) as container:
            stream = container.add_stream(codec, rate=24)
            stream.width, stream.height = 160, 128
            stream.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
            for f in frames[:12]:
                for packet in stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        out.append(folder / name)
    out.append(sign(folder / "camera.avi", folder / "signed.avi").path)
    out.append(_with_sound(folder / "sound.mkv", frames[:12]))
    out += [_with_text(folder / "broadcast.ts", frames[:12]),
            _with_text(folder / "film.mkv", frames[:12]), _ultra_hdr(folder, photo),
            _phone_360(folder / "phone360.mov", frames[:12])]
    return out


def _phone_360(path: Path, frames: list[np.ndarray]) -> Path:
    """A 360 camera's MOV: QuickTime metadata keys (place, device), an equirectangular
    projection (sv3d, st3d) and first-order ambisonic sound (SA3D)."""
    import struct

    import av

    from provenant.moovedit import Box, read_moov, rewrite_moov, sample_entry, tracks

    with av.open(str(path), "w", options={"movflags": "use_metadata_tags"}) as container:
        container.metadata.update({"com.apple.quicktime.make": "Rig",
                                   "com.apple.quicktime.location.ISO6709": "+48.85+002.29/"})
        video = container.add_stream("libx264", rate=24)
        video.width, video.height, video.pix_fmt = 160, 128, "yuv420p"
        sound = container.add_stream("aac", rate=48000, layout="quad")
        for f in frames:
            container.mux(video.encode(av.VideoFrame.from_ndarray(f, format="rgb24")))
        container.mux(video.encode())
        for start in range(0, 24000, 1024):
            block = av.AudioFrame.from_ndarray(np.zeros((4, 1024), np.float32), format="fltp",
                                               layout="quad")
            block.sample_rate, block.pts = 48000, start
            container.mux(sound.encode(block))
        container.mux(sound.encode())
    moov, start, size = read_moov(path)
    full = [Box(kind, bytes(4) + body) for kind, body in (
        (b"st3d", b"\0"), (b"svhd", b"\0"), (b"prhd", bytes(12)), (b"equi", bytes(16)))]
    sample_entry(tracks(moov, b"vide")[0]).children += [full[0], Box(b"sv3d", b"", [
        full[1], Box(b"proj", b"", full[2:])])]
    sample_entry(tracks(moov, b"soun")[0]).children.append(
        Box(b"SA3D", struct.pack(">BBIBBI4I", 0, 0, 1, 0, 0, 4, 0, 1, 2, 3)))
    rewrite_moov(path, moov, start, size)
    return path


def _ultra_hdr(folder: Path, photo: np.ndarray) -> Path:
    """A JPEG with a gain map appended and indexed, as Android's Ultra HDR photos are, and a
    motion photo's video after it."""
    import cv2

    from provenant.gainmap import GainMap
    from provenant.media import write_image
    from provenant.xmpmeta import with_xmp

    def xmp(fields: str) -> bytes:
        return (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/'
                b'1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:hdrgm="http://ns.adobe.'
                b'com/hdr-gain-map/1.0/" ' + fields.encode() + b"/></rdf:RDF></x:xmpmeta>")

    _, gain = cv2.imencode(".jpg", np.ascontiguousarray(photo[::4, ::4, 1]))
    gain_map = GainMap(with_xmp(gain.tobytes(), ".jpg", xmp('hdrgm:GainMapMax="2.0"')))
    video = (folder / "clip.mp4").read_bytes()
    return write_image(photo, folder / "ultrahdr.jpg", gain_map=gain_map, motion_video=video,
                       xmp=xmp(f'hdrgm:Version="1.0" GCamera:MotionPhoto="1" '
                               f'GCamera:MicroVideoOffset="{len(video)}"'))


def _with_text(path: Path, frames: list[np.ndarray]) -> Path:
    """What rides beside the pictures: a transport stream of MPEG-2 whose every picture
    carries closed captions (A/53 user data), with a DVB subtitle track; or a Matroska clip
    with a SubRip track, chapters and a start timecode."""
    import re
    from fractions import Fraction

    import av

    broadcast = path.suffix == ".ts"
    with av.open(str(path), "w") as container:
        if not broadcast:
            container.metadata["timecode"] = "10:00:00:00"
            container.set_chapters([{"id": 1, "start": 0, "end": 250,
                                     "time_base": Fraction(1, 1000),
                                     "metadata": {"title": "Part one"}}])
        video = container.add_stream("mpeg2video" if broadcast else "libx264", rate=24)
        video.width, video.height, video.pix_fmt = 160, 128, "yuv420p"
        text = container.add_stream("dvbsub" if broadcast else "subrip")
        text.codec_context.subtitle_header = b"[Script Info]\nScriptType: v4.00+\n"
        for i, f in enumerate([*frames, None]):
            for packet in video.encode(None if f is None else
                                       av.VideoFrame.from_ndarray(f, format="rgb24")):
                data = bytes(packet)
                if broadcast:  # captions before the picture's first slice
                    at = re.search(b"\x00\x00\x01[\x01-\xaf]", data).start()
                    data = (data[:at] + b"\x00\x00\x01\xb2GA94\x03\x41\xff\xfc\x94\x20\xff"
                            + data[at:])
                copy = av.Packet(data)
                copy.pts, copy.dts, copy.time_base = packet.pts, packet.dts, packet.time_base
                copy.stream, copy.is_keyframe = video, packet.is_keyframe
                container.mux(copy)
        cue = av.Packet(b"\x20\x00\x0f" + bytes(20) if broadcast else b"Hello <i>there</i>")
        cue.pts = cue.dts = 100
        cue.duration, cue.time_base, cue.stream = 200, Fraction(1, 1000), text
        container.mux(cue)
    return path


def _with_sound(path: Path, frames: list[np.ndarray]) -> Path:
    """A Matroska clip with two audio tracks: 24-bit PCM (which a re-encode converts to
    ALAC) and AAC (copied)."""
    import av

    with av.open(str(path), "w", format="matroska") as container:
        video = container.add_stream("libx264", rate=24)
        video.width, video.height, video.pix_fmt = 160, 128, "yuv420p"
        tracks = [container.add_stream("pcm_s24le", rate=48000, layout="stereo"),
                  container.add_stream("aac", rate=48000, layout="mono")]
        for f in frames:
            container.mux(video.encode(av.VideoFrame.from_ndarray(f, format="rgb24")))
        container.mux(video.encode())
        tone = np.sin(np.arange(24000) * 2 * np.pi * 440 / 48000)
        for track, fmt, channels in ((tracks[0], "s32", 2), (tracks[1], "fltp", 1)):
            for start in range(0, 24000, 1024):
                part = tone[start:start + 1024]
                if fmt == "s32":
                    data = (np.repeat(part, channels) * 2**30).astype(np.int32)[None, :]
                else:
                    data = part.astype(np.float32)[None, :]
                frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(data), format=fmt,
                                                   layout="stereo" if channels == 2 else "mono")
                frame.sample_rate, frame.pts = 48000, start
                container.mux(track.encode(frame))
            container.mux(track.encode())
    return path


class _Hang(Exception):
    pass


def _alarm(*_: Any) -> None:
    raise _Hang()


def run_one(argv: list[str]) -> tuple[str, float, str]:
    """``(outcome, seconds, last line of stderr)`` of one CLI run in this process."""
    from provenant.cli import main

    err, seconds = io.StringIO(), time.perf_counter()
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(TIMEOUT_S)
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = main(argv)
        outcome = ("internal error" if "internal error" in err.getvalue()
                   else "result" if code == 0 else "clear error")
    except _Hang:
        outcome = "hang"
    except BaseException as exc:  # noqa: BLE001 - what escapes main is what is measured
        outcome = "internal error"
        err.write(f"{type(exc).__name__}: {exc}")
    finally:
        signal.alarm(0)
    lines = err.getvalue().strip().splitlines()
    return outcome, time.perf_counter() - seconds, lines[-1][:300] if lines else ""


def _argv(command: str, path: Path, out: Path, animated: bool = False) -> list[str]:
    """``animated``: the file was made as an animation (stamped, like a WebM or MKV, as an
    MP4)."""
    if command in ("sign", "stamp"):
        dst = out / f"{command}_{path.name}"
        if command == "stamp" and (animated or path.suffix in (".webm", ".mkv", ".ts", ".mpg",
                                                               ".avi", ".mxf", ".flv", ".wmv")):
            dst = dst.with_suffix(".mp4")  # what stamp writes for a video
        elif command == "stamp" and path.suffix == ".tif":
            dst = dst.with_suffix(".png")  # a TIFF is read, not written
        return [command, str(path), "-o", str(dst)]
    return [*command.split(), str(path), "--json"]


def run(quick: bool, seed: int) -> dict[str, Any]:
    from tqdm import tqdm

    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="provenant-inputs-") as tmp:
        work = Path(tmp)
        os.environ["PROVENANT_DATA_DIR"] = str(work / "data")
        from provenant.config import get_settings

        get_settings.cache_clear()
        (work / "base").mkdir()
        (work / "out").mkdir()
        bases = base_media(work / "base", quick)
        cases = [(base, kind, data) for base in bases
                 for kind, data in list(mutants(base.read_bytes(), rng))[: 8 if quick else None]]
        counts: dict[str, Counter] = {c: Counter() for c in COMMANDS}
        bad: list[dict[str, Any]] = []
        slowest = (0.0, "")
        for base, kind, data in tqdm(cases, desc="damaged files", unit="file"):
            path = work / f"damaged{base.suffix}"
            path.write_bytes(data)
            for command in COMMANDS:
                outcome, seconds, message = run_one(_argv(command, path, work / "out",
                                                          "anim" in base.stem))
                counts[command][outcome] += 1
                if seconds > slowest[0]:
                    slowest = (seconds, f"{command} on {base.name}, {kind}")
                if outcome in ("internal error", "hang"):
                    bad.append({"file": base.name, "damage": kind, "command": command,
                                "outcome": outcome, "message": message})
            for leftover in (work / "out").iterdir():
                leftover.unlink()
    runs = sum(sum(c.values()) for c in counts.values())
    return {"mode": "quick" if quick else "full", "seed": seed, "machine": machine(),
            "bases": [b.name for b in bases], "damaged_files": len(cases), "runs": runs,
            "outcomes": {c: dict(counts[c]) for c in COMMANDS}, "failures": bad,
            "internal_errors": sum(c["internal error"] for c in counts.values()),
            "hangs": sum(c["hang"] for c in counts.values()),
            "slowest_s": round(slowest[0], 2), "slowest": slowest[1]}


def headline(r: dict[str, Any]) -> str:
    return (f"{r['runs']:,} runs of {len(COMMANDS)} commands on {r['damaged_files']} damaged "
            f"copies of {len(r['bases'])} files: {r['internal_errors']} internal errors, "
            f"{r['hangs']} hangs; slowest run {r['slowest_s']:.1f} s")


def markdown(r: dict[str, Any]) -> str:
    lines = [f"# Bad input ({r['mode']})", "",
             f"Seed {r['seed']}; base files: {', '.join(r['bases'])}.", "",
             "| command | result | clear error | internal error | hang |", "|---|---|---|---|---|"]
    for command, c in r["outcomes"].items():
        lines.append(f"| {command} | {c.get('result', 0)} | {c.get('clear error', 0)} | "
                     f"{c.get('internal error', 0)} | {c.get('hang', 0)} |")
    lines += ["", f"Slowest run: {r['slowest_s']:.2f} s ({r['slowest']}).", ""]
    if r["failures"]:
        lines += ["| file | damage | command | outcome | message |", "|---|---|---|---|---|"]
        lines += [f"| {f['file']} | {f['damage']} | {f['command']} | {f['outcome']} | "
                  f"{f['message']} |" for f in r["failures"]]
    else:
        lines.append("No internal error and no hang.")
    return "\n".join(lines) + "\n"


def plot(r: dict[str, Any], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.2))
    left = np.zeros(len(COMMANDS))
    for outcome, colour in (("result", "#1b6e3a"), ("clear error", "#999999"),
                            ("internal error", "#b00020"), ("hang", "#b35c00")):
        values = np.array([r["outcomes"][c].get(outcome, 0) for c in COMMANDS])
        ax.barh(COMMANDS, values, left=left, color=colour, label=outcome)
        left += values
    ax.set_xlabel("runs on damaged files")
    ax.legend(fontsize=8, loc="lower right")
    return save_figure(fig, path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.inputs_bench",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="6 files, 8 kinds of damage each")
    ap.add_argument("--seed", type=int, default=0, help="seed of the random damage")
    args = ap.parse_args(argv)
    r = run(args.quick, args.seed)
    save_area("inputs", r, headline, markdown, plot)
    return 0 if not r["internal_errors"] and not r["hangs"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
