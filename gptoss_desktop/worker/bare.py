"""Bare llama-cpp-python on the worker's own ``Llama``: the baseline of bench/scale.py.

A 13 GB model cannot be loaded twice in 24 GB, so the benchmark compares the app's path
(EngineClient -> frames -> the worker's loop) with plain llama-cpp-python calls on the same
loaded ``Llama`` (same weights, context and settings), interleaved request by request. Only a
worker started with GPTOSS_WORKER_TEST_HOOKS=1 honours these requests.
"""

from __future__ import annotations

import time
from typing import Any


def run(llm: Any, what: str, tokens: list[int], n: int) -> dict[str, Any]:
    if what == "prompt":  # evaluate ``tokens`` on an empty cache
        llm.reset()
        llm._ctx.kv_cache_seq_rm(-1, 0, -1)
        t0 = time.perf_counter()
        llm.eval(tokens)
        return {"tokens_per_s": len(tokens) / (time.perf_counter() - t0)}
    if what == "generate":  # ``n`` greedy tokens after ``tokens``; seconds to first and rate
        stamps: list[float] = []
        t0 = time.perf_counter()
        for tok in llm.generate(
            tokens, temp=0.0, top_k=0, top_p=1.0, min_p=0.0, repeat_penalty=1.0
        ):
            llm.detokenize([tok])  # as any caller must
            stamps.append(time.perf_counter())
            if len(stamps) >= n:
                break
        rate = (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 1 else 0.0
        return {"ttft_s": stamps[0] - t0, "tokens_per_s": rate}
    raise ValueError(f"unknown bare request {what!r}")
