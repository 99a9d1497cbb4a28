#!/usr/bin/env python3
"""Download throughput: our verified, resumable downloader against a plain HTTP client.

    python bench/download.py                 # a readable table
    python bench/download.py --json          # one JSON object; key "throughput_ratio"
    python bench/download.py --size-mib 512 --rounds 7 --baseline curl

Both clients fetch the same file from the same loopback hub (tests/core/library/hubserver.py,
run in its own process so it does not share a GIL with the clients), in alternating rounds
of the same run. Ours resolves nothing during the timing: it streams with Range support into a
partial file, hashes sha256 while writing, verifies and moves the file into place. The
baseline streams the same URL into a file with httpx (or curl) and checks nothing.
``throughput_ratio`` is the median over rounds of ours / baseline within the round (each
pair ran back to back, so a noisy neighbour hits both); >= 0.9 is the goal. Ours reads the
body straight into its own buffers (one recv per read, no copies on the way) and hashes in a
thread of its own, which runs beside the reads where the machine has a spare core; the CPU
each client spent is reported as ``*_cpu_s_per_gib``. ``--link-mib-s`` caps the server like a
real network link.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

REPO = "bench-org/bench-GGUF"
FILE = "bench.gguf"
MiB = 1024 * 1024
GiB = 1024 * MiB


def serve(path: Path, link_mib_s: float | None) -> None:
    """Child mode: serve ``path`` from a loopback hub until stdin closes."""
    from tests.core.library.hubserver import HubServer, Repo

    with HubServer({REPO: Repo({FILE: path.read_bytes()}, on_disk={FILE: path})}) as hub:
        if link_mib_s:
            hub.faults.rate_limit_bps = int(link_mib_s * MiB)
        print(hub.endpoint, flush=True)
        sys.stdin.read()


def _cpu() -> float:
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def timed(fn, *args) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(bytes per second, CPU seconds of this process) of one download."""
    cpu0 = _cpu()
    rate = fn(*args)
    return rate, _cpu() - cpu0


def ours(endpoint: str, workdir: Path) -> float:
    import huggingface_hub.constants

    from gptoss_desktop.core.library import DownloadJob, Hub

    huggingface_hub.constants.HF_HUB_OFFLINE = False  # this is an explicit download
    remote = Hub(endpoint).resolve(REPO, FILE).files[0]
    dest = workdir / "ours" / FILE
    job = DownloadJob(remote, dest, partial_dir=workdir / ".partial", quarantine_dir=workdir / ".q")
    t0 = time.perf_counter()
    assert job.run() == dest
    elapsed = time.perf_counter() - t0
    dest.unlink()
    return remote.size / elapsed


def plain_httpx(url: str, size: int, workdir: Path) -> float:
    import httpx

    dest = workdir / "plain.bin"
    t0 = time.perf_counter()
    with (
        httpx.Client(timeout=60) as client,
        client.stream("GET", url, headers={"Accept-Encoding": "identity"}) as r,
    ):
        r.raise_for_status()
        with open(dest, "wb", buffering=0) as fh:
            for chunk in r.iter_raw():
                fh.write(chunk)
    elapsed = time.perf_counter() - t0
    assert dest.stat().st_size == size
    dest.unlink()
    return size / elapsed


def plain_curl(url: str, size: int, workdir: Path) -> float:
    dest = workdir / "plain.bin"
    t0 = time.perf_counter()
    subprocess.run(["curl", "-sSf", "-o", str(dest), url], check=True)
    elapsed = time.perf_counter() - t0
    assert dest.stat().st_size == size
    dest.unlink()
    return size / elapsed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--size-mib", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--baseline", choices=("httpx", "curl"), default="httpx")
    ap.add_argument(
        "--link-mib-s",
        type=float,
        default=None,
        help="limit the server to this speed, like a real network link (default: no limit)",
    )
    ap.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.serve:
        serve(args.serve, args.link_mib_s)
        return 0
    if args.baseline == "curl" and not shutil.which("curl"):
        ap.error("curl is not installed; use --baseline httpx")

    with tempfile.TemporaryDirectory(prefix="gptoss-bench-") as tmp:
        workdir = Path(tmp)
        src = workdir / "source.bin"
        with open(src, "wb") as fh:
            for _ in range(args.size_mib):
                fh.write(os.urandom(MiB))
        size = src.stat().st_size
        link = ["--link-mib-s", str(args.link_mib_s)] if args.link_mib_s else []
        server = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(src), *link],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        try:
            assert server.stdout is not None
            endpoint = server.stdout.readline().strip()
            import huggingface_hub.constants

            from gptoss_desktop.core.library import Hub

            huggingface_hub.constants.HF_HUB_OFFLINE = False
            url = Hub(endpoint).resolve(REPO, FILE).files[0].url
            baseline = plain_curl if args.baseline == "curl" else plain_httpx
            baseline(url, size, workdir)  # warm-up: page cache, connections, imports
            ours(endpoint, workdir)
            ours_runs, base_runs, ours_cpu, base_cpu = [], [], [], []
            for _ in range(args.rounds):
                rate, cpu = timed(baseline, url, size, workdir)
                base_runs.append(rate)
                base_cpu.append(cpu)
                rate, cpu = timed(ours, endpoint, workdir)
                ours_runs.append(rate)
                ours_cpu.append(cpu)
        finally:
            if server.stdin:
                server.stdin.close()
            server.wait(10)

    ours_med, base_med = statistics.median(ours_runs), statistics.median(base_runs)
    paired = statistics.median(o / b for o, b in zip(ours_runs, base_runs, strict=True))
    result = {
        "throughput_ratio": round(paired, 3),
        "ratio_of_medians": round(ours_med / base_med, 3),
        "ours_mib_s": round(ours_med / MiB, 1),
        "baseline_mib_s": round(base_med / MiB, 1),
        "baseline": args.baseline,
        "link_mib_s": args.link_mib_s,
        "size_bytes": size,
        "rounds": args.rounds,
        "ours_runs_mib_s": [round(x / MiB, 1) for x in ours_runs],
        "baseline_runs_mib_s": [round(x / MiB, 1) for x in base_runs],
        "ours_includes": "Range streaming, sha256 while writing, verify, fsync, atomic rename",
        # CPU seconds of the client process per GiB (curl runs in a child: not counted)
        "ours_cpu_s_per_gib": round(statistics.median(ours_cpu) * GiB / size, 3),
        "baseline_cpu_s_per_gib": round(statistics.median(base_cpu) * GiB / size, 3),
        "cpu_count": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"file {size / MiB:.0f} MiB from a loopback hub, {args.rounds} alternating rounds (median)"
        )
        print(f"{'client':<44}{'MiB/s':>10}")
        print(f"{'gptoss-desktop (sha256 + verify + rename)':<44}{result['ours_mib_s']:>10}")
        print(f"{args.baseline + ' (no hashing)':<44}{result['baseline_mib_s']:>10}")
        print(f"{'throughput ratio':<44}{result['throughput_ratio']:>10}")
        print(
            f"client CPU s/GiB: ours {result['ours_cpu_s_per_gib']}, baseline {result['baseline_cpu_s_per_gib']}; "
            f"{result['cpu_count']} CPUs, load average {result['load_average_1m']}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
