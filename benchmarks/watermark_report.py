"""The watermark benchmark's Markdown table and PNG plot, rendered from its result dict."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["MIN_SIDE", "markdown", "plot"]

#: Attacked clips count only while both sides keep at least this (the supported input range
#: starts at 128x128).
MIN_SIDE = 128


def _fmt(x: float) -> str:
    return "n/a" if x != x else f"{x:.2f}"


def markdown(result: dict[str, Any]) -> str:
    s, methods = result["summary"], result["summary"]["methods"]
    lines = [f"# Watermark benchmark ({result['mode']})", "",
             f"{len(result['clips'])} clips; pipeline: embed -> H.264 CRF 18 -> attack -> detect. "
             f"Ours: exact 64-bit payload with p <= {result['fpr']:g}; peers: 32 bits, "
             f"bits averaged over {result['peer_frames']} decoded frames. Recovery counts clips "
             f"whose attacked frames keep >= {MIN_SIDE} px (all clips in brackets). "
             f"'ours+store': the same detections with the payloads of a manifest store of "
             f"{result.get('store_size', 0):,} issued payloads also tested "
             "(store-aided; the blind 'ours' is what the acceptance bars are about).", "",
             "| attack | " + " | ".join(f"{m} recovery | {m} bit acc" for m in methods) + " |",
             "|---|" + "---|---|" * len(methods)]
    for a in result["attacks"]:
        cells = []
        for m in methods:
            c = s["table"][m][a]
            cells += [f"{_fmt(c['recovery'])} ({_fmt(c['recovery_all'])}, n={c['clips_all']})",
                      _fmt(c["bit_acc"])]
        lines.append(f"| {a} | " + " | ".join(cells) + " |")
    lines += ["", "| method/footage | PSNR dB (min) | SSIM | clips |", "|---|---|---|---|"]
    for k, q in s["quality"].items():
        lines.append(f"| {k} | {q['psnr']:.2f} ({q['min_psnr']:.2f}) | {q['ssim']:.4f} | {q['clips']} |")
    fp = result["false_positives"]
    lines += ["", f"False detections: {fp['false_detections']} of {fp['clips']} unwatermarked clips "
              f"(smallest p {fp['min_p_value']:.2g}); {s['wrong_key']['false_detections']} of "
              f"{s['wrong_key']['trials']} watermarked+attacked clips read with a wrong key."]
    if "wrong_payload" in s:
        wp = s["wrong_payload"]
        lines += [f"Detections reporting a payload other than the embedded one: {wp['wrong']} of "
                  f"{wp['detections']} (the payload's CRC-16 turns such decodes into misses)."]
    if "wrong_key_store" in s:
        wk, wp = s["wrong_key_store"], s["wrong_payload_store"]
        lines += [f"Store-aided: {fp.get('store_false_detections')} of {fp['clips']} "
                  f"unwatermarked clips (smallest p {fp.get('store_min_p_value', 1):.2g}), "
                  f"{wk['false_detections']} of {wk['trials']} wrong-key reads, and "
                  f"{wp['wrong']} of {wp['detections']} detections with another payload."]
    lines += [""]
    lines += ["| speed | value |", "|---|---|"]
    lines += [f"| {k} | {v:.3f} |" if isinstance(v, float) else f"| {k} | {v} |"
              for k, v in result["speed"].items()]
    lines += ["", "| criterion | holds |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in result["criteria"].items()]
    return "\n".join(lines) + "\n"


def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s, attacks = result["summary"], result["attacks"]
    fig, ax = plt.subplots(figsize=(16, 5))
    width = 0.8 / len(s["methods"])
    for j, m in enumerate(s["methods"]):
        vals = [s["table"][m][a]["bit_acc"] for a in attacks]
        ax.bar(np.arange(len(attacks)) + j * width, vals, width, label=f"{m} bit accuracy")
    rec = [s["table"]["ours"][a]["recovery"] for a in attacks]
    ax.plot(np.arange(len(attacks)) + 0.4 - width / 2, rec, "k^", label="ours exact recovery")
    if "ours+store" in s["table"]:
        aided = [s["table"]["ours+store"][a]["recovery"] for a in attacks]
        ax.plot(np.arange(len(attacks)) + 0.4 - width / 2, aided, "rv",
                label="ours+store exact recovery (store-aided)")
    ax.axhline(0.95, color="grey", ls="--", lw=0.8)
    ax.set_xticks(np.arange(len(attacks)) + 0.4 - width / 2, attacks, rotation=60, ha="right")
    ax.set_ylim(0.0, 1.02)
    ax.set_title(f"Watermark robustness ({result['mode']})")
    ax.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
