"""Compare mode: do two models streaming at once each keep their single-thread speed?

Two tiny real models (../shared/models stories260K and TinyStories-656K-F16 by default),
each in its own worker with one thread, through the product's own path (``CompareRun``:
column threads, session, metered engine, listener). Per round, interleaved and in rotating
order: model A alone, model B alone, A and B at once. Greedy decoding, so alone and together
write the same tokens. Generation speed is the worker's own figure (tokens after the first,
over the time after the first).

Reported per model: median tokens/s alone, median tokens/s concurrent, their ratio; and
``concurrent_ratio_min`` (the smaller ratio; target >= 0.85 on a 2-core machine). To tell
the design's own cost from other programs' load, also the share of a CPU each worker got
while generating (its CPU seconds over the wall time, Linux) and the machine's load average:
on an idle 2-core machine both workers get a whole core each.

    python bench/compare.py [--json] [--rounds N] [--tokens N] [--models A.gguf B.gguf]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import SHARED_MODELS, emit_json, median, print_table
from gptoss_desktop.core.compare.engines import EnginePool
from gptoss_desktop.core.compare.runner import (
    ColumnResult,
    ColumnSetup,
    CompareRun,
    CompareSettings,
)
from gptoss_desktop.core.engine import SamplingOptions

DEFAULT_MODELS = (SHARED_MODELS / "stories260K.gguf", SHARED_MODELS / "TinyStories-656K-F16.gguf")
PROMPT = "Lily and Ben were best friends. They"  # both models write 900+ tokens greedily
TARGET = 0.85


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (Linux /proc), for the CPU-share figures."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def run_once(
    pool: EnginePool, models: list[Path], settings: CompareSettings
) -> list[tuple[ColumnResult, float | None]]:
    """Results of one run, each with the share of a CPU its worker got while generating."""
    run = CompareRun([ColumnSetup(m) for m in models], settings, pool=pool)
    workers = [pool.get(i) for i in range(len(models))]
    before = [cpu_seconds(w.pid) if w else None for w in workers]
    run.start(PROMPT)
    results = run.wait(300)
    out: list[tuple[ColumnResult, float | None]] = []
    for i, r in enumerate(results):
        if r.state != "done":
            raise SystemExit(f"{r.label}: {r.state}: {r.error}")
        worker = pool.get(i)
        after = cpu_seconds(worker.pid) if worker else None
        b = before[i]
        share = None
        if after is not None and b is not None and r.metrics.total_s:
            share = (after - b) / r.metrics.total_s
        out.append((r, share))
    return out


def measure(models: list[Path], rounds: int, tokens: int) -> dict[str, Any]:
    settings = CompareSettings(
        sampling=SamplingOptions(temperature=0.0),
        max_tokens=tokens,
        n_ctx=max(512, tokens + 64),
        n_threads=1,
        schedule="concurrent",
    )
    alone_pools = [EnginePool() for _ in models]
    together_pool = EnginePool()
    alone: list[list[float]] = [[] for _ in models]
    together: list[list[float]] = [[] for _ in models]
    alone_share: list[list[float]] = [[] for _ in models]
    together_share: list[list[float]] = [[] for _ in models]
    counts: list[int] = [0 for _ in models]
    load_before = os.getloadavg()[0]
    try:
        # Warm-up: load every worker and touch every code path once.
        for i, m in enumerate(models):
            run_once(alone_pools[i], [m], settings)
        run_once(together_pool, models, settings)
        for r in range(rounds):
            steps = ["alone0", "alone1", "together"]
            steps = steps[r % 3 :] + steps[: r % 3]  # rotate, so no step always goes first
            for step in steps:
                if step == "together":
                    for i, (res, share) in enumerate(run_once(together_pool, models, settings)):
                        together[i].append(res.metrics.tokens_per_s or 0.0)
                        counts[i] = res.metrics.tokens
                        if share is not None:
                            together_share[i].append(share)
                else:
                    i = int(step[-1])
                    res, share = run_once(alone_pools[i], [models[i]], settings)[0]
                    alone[i].append(res.metrics.tokens_per_s or 0.0)
                    if share is not None:
                        alone_share[i].append(share)
    finally:
        for pool in [*alone_pools, together_pool]:
            pool.close()
    per_model = []
    for i, m in enumerate(models):
        a, t = median(alone[i]), median(together[i])
        sa, st = median(alone_share[i]), median(together_share[i])
        # tokens per CPU-second together vs. alone: what running side by side costs the
        # work itself, apart from how much CPU the machine's other programs left over
        efficiency = (t / st) / (a / sa) if a and sa > 0 and st > 0 else float("nan")
        per_model.append(
            {
                "model": m.name,
                "tokens": counts[i],
                "alone_tok_s": round(a, 1),
                "concurrent_tok_s": round(t, 1),
                "ratio": round(t / a, 3) if a else 0.0,
                "alone_cpu_share": round(sa, 3),
                "concurrent_cpu_share": round(st, 3),
                "cpu_efficiency_ratio": round(efficiency, 3),
                "alone_runs": [round(x, 1) for x in alone[i]],
                "concurrent_runs": [round(x, 1) for x in together[i]],
            }
        )
    return {
        "concurrent_ratio_min": min(p["ratio"] for p in per_model),
        "target": TARGET,
        "rounds": rounds,
        "threads_per_worker": 1,
        "cores": os.cpu_count(),
        "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "per_model": per_model,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--tokens", type=int, default=400, help="tokens per generation")
    parser.add_argument("--models", nargs=2, type=Path, default=list(DEFAULT_MODELS))
    args = parser.parse_args(argv)
    models: list[Path] = args.models
    missing = [str(m) for m in models if not m.is_file()]
    if missing:
        print(f"missing model file(s): {', '.join(missing)}; pass --models A.gguf B.gguf")
        return 2
    result = measure(models, args.rounds, args.tokens)
    if args.json:
        emit_json(result)
        return 0
    print_table(
        f"Two models at once vs. alone, one thread each, {args.rounds} interleaved rounds "
        f"(median tokens/s)",
        ["model", "tokens", "alone tok/s", "together tok/s", "ratio", "CPU alone", "CPU together",
         "tok/CPU-s ratio"],
        [
            [
                p["model"], p["tokens"], p["alone_tok_s"], p["concurrent_tok_s"], p["ratio"],
                p["alone_cpu_share"], p["concurrent_cpu_share"], p["cpu_efficiency_ratio"],
            ]
            for p in result["per_model"]
        ],
    )  # fmt: skip
    load = result["load_average_1min"]
    print(f"machine: {result['cores']} cores, 1-min load average {load[0]} -> {load[1]}")
    verdict = "meets" if result["concurrent_ratio_min"] >= TARGET else "misses"
    print(
        f"concurrent_ratio_min = {result['concurrent_ratio_min']:.3f} ({verdict} the target {TARGET})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
