"""Throughput through the worker process against a plain in-process llama-cpp-python loop.

Same model, settings and prompt; runs alternate (worker, in-process, worker, ...) so that
noise from a shared machine hits both sides alike. Each run measures what a caller sees:
wall time from the request to the last generated token, for a fixed number of tokens
(greedy decoding, no stop token). Reported: median tokens/s of each side, their ratio
(worker / in-process) and the per-token overhead of the worker in microseconds.

    python bench/engine.py [--json] [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import SHARED_MODELS, emit_json, median, plain_greedy, print_table
from bench.models import model_100m
from gptoss_desktop.core.engine import (
    EngineClient,
    GenerateRequest,
    LoadOptions,
    SamplingOptions,
)

PROMPT = "Once upon a time"


def run_worker(client: EngineClient, prompt: list[int], n: int) -> float:
    req = GenerateRequest(prompt_tokens=prompt, max_tokens=n, stop_tokens=[],
                          sampling=SamplingOptions(temperature=0.0))
    t0 = time.perf_counter()
    gen = client.generate(req)
    count = 0
    for batch in gen:
        count += len(batch.ids)
    elapsed = time.perf_counter() - t0
    assert count == n, count
    return n / elapsed


def run_inprocess(llm: object, prompt: list[int], n: int) -> float:
    t0 = time.perf_counter()
    pieces = list(plain_greedy(llm, prompt, n))
    elapsed = time.perf_counter() - t0
    assert len(pieces) == n, len(pieces)
    return n / elapsed


def compare(path: Path, *, threads: int, n_tokens: int, rounds: int, n_ctx: int) -> dict[str, float]:
    import llama_cpp

    options = LoadOptions(n_ctx=n_ctx, n_threads=threads, seed=1)
    client = EngineClient.start(path, options)
    llm = llama_cpp.Llama(model_path=str(path), n_ctx=n_ctx, n_threads=threads,
                          n_threads_batch=threads, seed=1, verbose=False)
    try:
        prompt = client.tokenize(PROMPT, add_bos=client.info.add_bos if client.info else True)
        run_worker(client, prompt, min(n_tokens, 16))  # warm up both
        run_inprocess(llm, prompt, min(n_tokens, 16))
        worker, inproc = [], []
        for _ in range(rounds):
            worker.append(run_worker(client, prompt, n_tokens))
            inproc.append(run_inprocess(llm, prompt, n_tokens))
    finally:
        client.close()
        llm.close()
    w, p = median(worker), median(inproc)
    # Each round's pair ran back to back, so their ratio is free of the slow drifts of a
    # shared machine; the median of the paired ratios is the figure reported.
    ratio = median([a / b for a, b in zip(worker, inproc, strict=True)])
    return {"worker_tps": w, "inprocess_tps": p, "ratio": ratio,
            "overhead_us": (1.0 / (p * ratio) - 1.0 / p) * 1e6}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--tiny-tokens", type=int, default=1500)
    ap.add_argument("--large-tokens", type=int, default=48)
    # The app's default: half the cores (the GUI and the app process need the rest).
    ap.add_argument("--threads", type=int, default=max(1, (os.cpu_count() or 2) // 2))
    args = ap.parse_args(argv)

    tiny_path = SHARED_MODELS / "TinyStories-656K-F16.gguf"
    if not tiny_path.exists():
        print(f"needs {tiny_path} (../shared/models beside the checkout)", file=sys.stderr)
        return 2
    # A long run per round so that fixed costs (process wake-ups on a busy machine) do not
    # pass for per-token overhead; the context is larger than the model's training length,
    # which changes nothing about the work per token.
    tiny = compare(tiny_path, threads=1, n_tokens=args.tiny_tokens, rounds=args.rounds,
                   n_ctx=2048)
    large = compare(model_100m(), threads=args.threads, n_tokens=args.large_tokens,
                    rounds=max(5, args.rounds // 2), n_ctx=512)
    result = {
        "ratio_tiny": tiny["ratio"],
        "ratio_large": large["ratio"],
        "overhead_us_per_token": tiny["overhead_us"],
        "overhead_us_per_token_large": large["overhead_us"],
        "tiny_worker_tps": tiny["worker_tps"],
        "tiny_inprocess_tps": tiny["inprocess_tps"],
        "large_worker_tps": large["worker_tps"],
        "large_inprocess_tps": large["inprocess_tps"],
    }
    if args.json:
        emit_json(result)
    else:
        print_table(
            "Worker process vs in-process llama-cpp-python (median tokens/s; ratio: median of paired interleaved runs)",
            ["model", "worker tok/s", "in-process tok/s", "ratio", "overhead us/token"],
            [
                ["TinyStories-656K-F16", tiny["worker_tps"], tiny["inprocess_tps"],
                 tiny["ratio"], tiny["overhead_us"]],
                ["random llama 110M F16", large["worker_tps"], large["inprocess_tps"],
                 large["ratio"], large["overhead_us"]],
            ],
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
