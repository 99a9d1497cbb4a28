"""Compare mode: do two models streaming at once each keep their single-thread speed?

Two tiny real models (../shared/models stories260K and TinyStories-656K-F16 by default),
each in its own worker with one thread, through the product's own path (``CompareRun``:
column threads, session, metered engine, listener). Per round, interleaved and in rotating
order: model A alone, model B alone, A and B at once. Greedy decoding, so alone and together
write the same tokens. Generation speed is the worker's own figure (tokens after the first,
over the time after the first).

Reported per model: median tokens/s alone, median tokens/s concurrent, and their ratio as the
median over rounds of (together / alone within the same round): the runs of one round are
back to back, so a noisy neighbour or a clock change hits both sides of each pair. And
``concurrent_ratio_min`` (the smaller ratio; target >= 0.85 on a 2-core machine). To tell
the design's own cost from other programs' load, also the share of a CPU each worker got
while generating (its CPU seconds over the wall time, Linux) and the machine's load average:
on an idle 2-core machine both workers get a whole core each.

A control runs in the same rounds: the same two models in two bare llama-cpp-python processes
(no app, no worker protocol), alone and at once. Its ratio (``machine_ratio``) is what the
machine itself allows two single-threaded llama.cpp loops; on a virtual machine whose two
vCPUs sometimes share a physical core it falls well below 1, and the app's ratio with it.
``vs_machine`` = ratio / machine_ratio is the app's own share of any loss.

    python bench/compare.py [--json] [--rounds N] [--tokens N] [--models A.gguf B.gguf]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import SHARED_MODELS, emit_json, median, plain_greedy, print_table
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


class Bare:
    """A plain llama-cpp-python loop in a process of its own: the control."""

    def __init__(self, model: Path, tokens: int, n_ctx: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--bare", str(model), str(tokens), str(n_ctx)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # llama.cpp's context-size notices
            text=True,
        )
        self._read()  # "ready"

    def _read(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit("the bare llama.cpp control process died")
        return line.strip()

    def go(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def result(self) -> float:
        return float(self._read())

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(10)


def bare_main(model: str, tokens: int, n_ctx: int) -> None:
    """Child mode: on each "go", generate greedily and print tokens/s after the first token."""
    import llama_cpp

    llm = llama_cpp.Llama(
        model_path=model, n_ctx=n_ctx, n_threads=1, n_threads_batch=1, seed=1, verbose=False
    )
    prompt = llm.tokenize(PROMPT.encode())
    print("ready", flush=True)
    for _ in sys.stdin:
        llm.reset()
        count, t_first = 0, 0.0
        for _ in plain_greedy(llm, prompt, tokens):
            count += 1
            if count == 1:
                t_first = time.perf_counter()
        print((count - 1) / (time.perf_counter() - t_first), flush=True)


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
    bare = [Bare(m, tokens, settings.n_ctx) for m in models]
    bare_alone: list[list[float]] = [[] for _ in models]
    bare_together: list[list[float]] = [[] for _ in models]
    load_before = os.getloadavg()[0]
    try:
        # Warm-up: load every worker and touch every code path once.
        for i, m in enumerate(models):
            run_once(alone_pools[i], [m], settings)
        run_once(together_pool, models, settings)
        for b in bare:
            b.go()
            b.result()
        for r in range(rounds):
            steps = ["alone0", "alone1", "together", "bare0", "bare1", "bare"]
            steps = steps[r % 6 :] + steps[: r % 6]  # rotate, so no step always goes first
            for step in steps:
                if step == "bare":
                    for b in bare:
                        b.go()
                    for i, b in enumerate(bare):
                        bare_together[i].append(b.result())
                elif step.startswith("bare"):
                    i = int(step[-1])
                    bare[i].go()
                    bare_alone[i].append(bare[i].result())
                elif step == "together":
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
        for b in bare:
            b.close()
    per_model = []
    for i, m in enumerate(models):
        a, t = median(alone[i]), median(together[i])
        paired = median([tr / ar for ar, tr in zip(alone[i], together[i], strict=True) if ar])
        machine = median(
            [tr / ar for ar, tr in zip(bare_alone[i], bare_together[i], strict=True) if ar]
        )
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
                "ratio": round(paired, 3),
                "ratio_of_medians": round(t / a, 3) if a else 0.0,
                "machine_ratio": round(machine, 3),
                "vs_machine": round(paired / machine, 3) if machine else float("nan"),
                "bare_alone_tok_s": round(median(bare_alone[i]), 1),
                "bare_concurrent_tok_s": round(median(bare_together[i]), 1),
                "alone_cpu_share": round(sa, 3),
                "concurrent_cpu_share": round(st, 3),
                "cpu_efficiency_ratio": round(efficiency, 3),
                "alone_runs": [round(x, 1) for x in alone[i]],
                "concurrent_runs": [round(x, 1) for x in together[i]],
            }
        )
    return {
        "concurrent_ratio_min": min(p["ratio"] for p in per_model),
        "machine_ratio_min": min(p["machine_ratio"] for p in per_model),
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
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--tokens", type=int, default=800, help="tokens per generation")
    parser.add_argument("--models", nargs=2, type=Path, default=list(DEFAULT_MODELS))
    parser.add_argument("--bare", nargs=3, help=argparse.SUPPRESS)  # child mode: the control
    args = parser.parse_args(argv)
    if args.bare:
        bare_main(args.bare[0], int(args.bare[1]), int(args.bare[2]))
        return 0
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
         "tok/CPU-s ratio", "bare llama.cpp ratio", "vs bare"],
        [
            [
                p["model"], p["tokens"], p["alone_tok_s"], p["concurrent_tok_s"], p["ratio"],
                p["alone_cpu_share"], p["concurrent_cpu_share"], p["cpu_efficiency_ratio"],
                p["machine_ratio"], p["vs_machine"],
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
