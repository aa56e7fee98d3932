"""HTTP API under load: a real uvicorn server on loopback, concurrent clients, latencies.

Scenarios (each a bounded number of requests from ``--clients`` concurrent clients):
``POST /v1/verify`` on a 2 s 256×256 clip that is watermarked and signed, ``POST
/v1/watermark/detect`` on the same clip, and ``GET /matches/byBinding`` lookups of its
payload. Then an overload run, many more clients than the server's pool and queue, which
must be answered 503 + Retry-After instead of queueing without bound, while the server's
resident memory is sampled. The server is started and stopped by the script.

Run: ``python -m benchmarks.api_bench [--quick] [--clients 4]``.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from api.localserver import start_local_server
from benchmarks.common import machine, save_figure, write_results

SERVER_WORKERS, SERVER_QUEUE = 2, 8
BIG_UPLOAD_MIB = 32


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_mib(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def make_media(folder: Path) -> tuple[Path, str]:
    """A 2 s 256×256 clip, watermarked with a payload and signed with that soft binding."""
    import watermark
    from provenant.manifest import SignOptions
    from provenant.media import write_video
    from provenant.provenance import sign
    from provenant.samples import render_clip

    payload = "5eed0fa1c0ffee00"
    raw = write_video(render_clip(48, 256, 256), folder / "raw.mp4", fps=24)
    marked = watermark.embed_file(raw, folder / "marked.mp4", payload)
    out = folder / "clip.mp4"
    sign(marked, out, SignOptions(source_type="trainedAlgorithmicMedia", watermarked=True,
                                  soft_bindings=((watermark.ALGORITHM, payload),)))
    return out, payload


def watermark_evidence_shim(folder: Path) -> Path | None:
    """When no ``watermark`` evidence provider is declared yet, a throwaway distribution
    that declares ``watermark.evidence:provider``, for the server process only, so that
    verify is measured with the watermark evidence it will gather once the entry point lands.
    Returns the folder to put on the server's PYTHONPATH, or None when it is declared."""
    from importlib.metadata import entry_points

    if any(ep.name == "watermark" for ep in entry_points(group="provenant.evidence")):
        return None
    info = folder / "shim" / "provenant_bench_shim-0.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: provenant-bench-shim\n"
                                   "Version: 0.0\n")
    (info / "entry_points.txt").write_text("[provenant.evidence]\n"
                                           "watermark = watermark.evidence:provider\n")
    return info.parent


def start_server(port: int, data_dir: Path, shim: Path | None) -> subprocess.Popen:
    env = {**os.environ, "PROVENANT_DATA_DIR": str(data_dir),
           "PROVENANT_API_WORKERS": str(SERVER_WORKERS),
           "PROVENANT_API_QUEUE_SIZE": str(SERVER_QUEUE)}
    if shim is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(shim), env.get("PYTHONPATH")]))
    return start_local_server(port, env, timeout_s=120, extra_args=("--no-access-log",))


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def load(base: str, send: Any, clients: int, requests: int) -> dict[str, Any]:
    """``requests`` calls of ``send(client)`` from ``clients`` threads; latencies in ms."""
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    todo = iter(range(requests))

    def worker() -> None:
        with httpx.Client(base_url=base, timeout=120) as http:
            while True:
                with lock:
                    if next(todo, None) is None:
                        return
                t0 = time.perf_counter()
                try:
                    status = send(http).status_code
                except httpx.TransportError:
                    status = -1
                dt = (time.perf_counter() - t0) * 1000
                with lock:
                    statuses[status] += 1
                    if status == 200:
                        latencies.append(dt)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    ok = statuses.get(200, 0)
    return {"clients": clients, "requests": requests, "ok": ok,
            "statuses": {str(k): v for k, v in sorted(statuses.items())},
            "wall_s": round(wall, 3), "throughput_rps": round(ok / wall, 2),
            "p50_ms": round(_percentile(latencies, 50), 1),
            "p95_ms": round(_percentile(latencies, 95), 1),
            "p99_ms": round(_percentile(latencies, 99), 1),
            "mean_ms": round(statistics.fmean(latencies), 1) if latencies else None}


def overload(base: str, pid: int, send: Any, clients: int, requests: int) -> dict[str, Any]:
    """Far more clients than workers + queue: count 503s and sample the server's memory."""
    samples: list[float] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            samples.append(_rss_mib(pid))
            time.sleep(0.05)

    before = _rss_mib(pid)
    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        result = load(base, send, clients, requests)
    finally:
        stop.set()
        sampler.join()
    result.update(rss_before_mib=round(before, 1), rss_peak_mib=round(max(samples), 1),
                  rss_after_mib=round(_rss_mib(pid), 1),
                  capacity=SERVER_WORKERS + SERVER_QUEUE)
    return result


def plot(r: dict[str, Any], path: Path) -> Path:
    """Latency bars (p50, p95, p99) per endpoint under load."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    names = list(r["scenarios"])
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(8, 3.8))
    for i, q in enumerate(("p50_ms", "p95_ms", "p99_ms")):
        ax.bar(x + (i - 1) * 0.27, [r["scenarios"][n][q] for n in names], 0.27,
               label=q.split("_")[0])
    ax.set_xticks(x, [f"{n}\n({r['scenarios'][n]['throughput_rps']} req/s)" for n in names],
                  fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("latency, ms (log)")
    clients = {s["clients"] for s in r["scenarios"].values()}
    ax.set_title(f"HTTP API latency, {'/'.join(map(str, sorted(clients)))} clients "
                 f"({r['mode']})")
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def markdown(r: dict[str, Any]) -> str:
    lines = [f"# HTTP API under load ({r['mode']})", "",
             f"Server: uvicorn, 1 process, {SERVER_WORKERS} work threads + queue of "
             f"{SERVER_QUEUE}; clients on the same machine ({r['machine']['cores']} cores, "
             f"load average {r['load_average_before']} before the run).", "",
             "| endpoint | clients | requests | ok | throughput (req/s) | p50 ms | p95 ms | "
             "p99 ms |", "|---|---|---|---|---|---|---|---|"]
    for name, s in r["scenarios"].items():
        lines.append(f"| {name} | {s['clients']} | {s['requests']} | {s['ok']} | "
                     f"{s['throughput_rps']} | {s['p50_ms']} | {s['p95_ms']} | {s['p99_ms']} |")
    o, b = r["overload"], r["overload_big_uploads"]
    lines += ["", f"Overload: {o['clients']} clients, {o['requests']} verify requests against a "
              f"capacity of {o['capacity']}: statuses {o['statuses']} (503 = refused with "
              f"Retry-After). Server RSS {o['rss_before_mib']} MiB before, peak "
              f"{o['rss_peak_mib']} MiB, {o['rss_after_mib']} MiB after.", "",
              f"Big uploads: {b['clients']} clients, {b['requests']} corrupt {BIG_UPLOAD_MIB} MiB "
              f"uploads (each streamed to a temp file, then refused): statuses {b['statuses']}"
              + (" (-1: the server answered 503 and closed before the client finished sending)"
                 if "-1" in b["statuses"] else "")
              + f"; server RSS {b['rss_before_mib']} MiB before, peak "
              f"{b['rss_peak_mib']} MiB, {b['rss_after_mib']} MiB after.", "",
              f"Evidence that verify gathered: {r['verify_evidence']}; watermark evidence "
              f"provider: {r['watermark_provider']} "
              f"(verdict {r['verify_verdict']}); byBinding resolved {r['by_binding_matches']} "
              f"manifest(s); upload temp files left: {r['leftover_upload_files']}.", "",
              r["headline"], ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="fewer requests (about a minute)")
    ap.add_argument("--clients", type=int, default=4, help="concurrent clients (default 4)")
    ap.add_argument("--no-shim", action="store_true",
                    help="measure the install as is, even if no watermark evidence is declared")
    args = ap.parse_args(argv)
    n = 24 if args.quick else 120
    with tempfile.TemporaryDirectory(prefix="api-bench-") as tmp:
        folder = Path(tmp)
        os.environ["PROVENANT_DATA_DIR"] = str(folder / "data")
        clip, payload = make_media(folder)
        data = clip.read_bytes()
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        load_avg = round(os.getloadavg()[0], 2)
        shim = None if args.no_shim else watermark_evidence_shim(folder)
        proc = start_server(port, folder / "data", shim)
        try:
            result = run_scenarios(base, proc.pid, data, payload, args.clients, n)
        finally:
            proc.terminate()
            proc.wait(30)
        leftovers = sorted(p.name for p in (folder / "data" / "api" / "uploads").glob("*"))
    result.update(watermark_provider="declared by the benchmark for its server (entry-point shim)"
                  if shim else "as installed",
                  machine=machine(), mode="quick" if args.quick else "full",
                  load_average_before=load_avg, leftover_upload_files=len(leftovers))
    v = result["scenarios"]["POST /v1/verify"]
    o = result["overload"]
    result["headline"] = (f"verify (2 s 256×256, {args.clients} clients): {v['throughput_rps']} "
                          f"req/s, p50 {v['p50_ms']} ms, p95 {v['p95_ms']} ms; overload: "
                          f"{o['statuses'].get('503', 0)}/{o['requests']} refused with 503, "
                          f"peak RSS {o['rss_peak_mib']} MiB")
    plot(result, write_results("api", result, markdown(result)).with_suffix(".png"))
    print(markdown(result))
    return 0


def run_scenarios(base: str, pid: int, data: bytes, payload: str, clients: int,
                  n: int) -> dict[str, Any]:
    def verify(http: httpx.Client) -> httpx.Response:
        return http.post("/v1/verify", files={"file": ("clip.mp4", data)})

    def wm_detect(http: httpx.Client) -> httpx.Response:
        return http.post("/v1/watermark/detect", files={"file": ("clip.mp4", data)})

    def by_binding(http: httpx.Client) -> httpx.Response:
        return http.get("/matches/byBinding",
                        params={"alg": "io.provenant.watermark.v2", "value": payload})

    with httpx.Client(base_url=base, timeout=120) as http:  # warm-up: imports, caches
        report = verify(http).json()
        wm_detect(http), by_binding(http)
        matches = by_binding(http).json()["matches"]
    scenarios = {
        "POST /v1/verify": load(base, verify, clients, n),
        "POST /v1/watermark/detect": load(base, wm_detect, clients, n),
        "GET /matches/byBinding": load(base, by_binding, clients, n * 4),
    }
    over = overload(base, pid, verify, clients=8 * (SERVER_WORKERS + SERVER_QUEUE) // 2,
                    requests=n * 2)
    big = b"\x00\x00\x00\x18ftypisom" + os.urandom(BIG_UPLOAD_MIB * 1024 * 1024)

    def big_upload(http: httpx.Client) -> httpx.Response:  # streamed to disk, then refused
        return http.post("/v1/verify", files={"file": ("big.mp4", big)})

    over_big = overload(base, pid, big_upload, clients=2 * (SERVER_WORKERS + SERVER_QUEUE),
                        requests=n)
    evidence = [k for k in ("c2pa", "watermark", "recovered", "classifier") if report.get(k)]
    return {"scenarios": scenarios, "overload": over, "overload_big_uploads": over_big,
            "verify_verdict": (report.get("verdict") or {}).get("label"),
            "verify_evidence": ", ".join(evidence), "by_binding_matches": len(matches)}


if __name__ == "__main__":
    sys.exit(main())
