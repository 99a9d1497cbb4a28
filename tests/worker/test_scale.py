"""gpt-oss-20B's width and vocabulary in a real worker: expert override, cancel of a long
prompt, load progress and cancel, and the memory estimate against measured resident memory.

The model is the 2-layer stand-in of bench/standin.py (same width, experts and o200k_harmony
vocabulary as gpt-oss-20B, random weights, ~2.1 GB). The full-size figures are bench/scale.py's.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from gptoss_desktop.core.engine import EngineClient, GenerateRequest, LoadOptions
from gptoss_desktop.core.engine.options import SamplingOptions
from gptoss_desktop.core.engine.process import WorkerProcess
from gptoss_desktop.core.errors import LoadCancelled
from gptoss_desktop.core.library.fit import MemoryInfo, ModelShape, estimate_fit
from gptoss_desktop.core.library.gguf_info import read_gguf_info

GiB = 1024**3
GREEDY = SamplingOptions(temperature=0.0)
PROMPT = [(i * 7919) % 199_000 + 500 for i in range(2048)]  # ordinary o200k text tokens


def _greedy(client: EngineClient, prompt: list[int], n: int = 12) -> list[int]:
    gen = client.generate(GenerateRequest(prompt_tokens=prompt, max_tokens=n, sampling=GREEDY))
    gen.wait()
    return gen.tokens


def test_cpu_moe_overrides_are_applied_and_greedy_tokens_stay_identical(standin_small: Path):
    prompt = PROMPT[:40]
    with EngineClient.start(standin_small, LoadOptions(n_ctx=512)) as plain:
        assert plain.info is not None and plain.info.tensors_overridden == 0
        expected = _greedy(plain, prompt)
    with EngineClient.start(standin_small, LoadOptions(n_ctx=512, n_cpu_moe=1)) as moe:
        # llama.cpp logged "buffer type overridden" for gate/up/down experts of layer 0
        assert moe.info is not None and moe.info.tensors_overridden == 3
        assert _greedy(moe, prompt) == expected
    assert len(set(expected)) > 1  # not a degenerate model that repeats one token


def test_cancel_during_a_2048_token_prompt_returns_within_100_ms(standin_small: Path):
    with EngineClient.start(standin_small, LoadOptions(n_ctx=4096)) as client:
        short = PROMPT[:300]
        before = _greedy(client, short)
        gen = client.generate(GenerateRequest(prompt_tokens=PROMPT, max_tokens=4, sampling=GREEDY))
        done = threading.Event()
        elapsed: list[float] = []

        def consume() -> None:
            gen.wait()
            elapsed.append(time.perf_counter() - t_cancel)
            done.set()

        time.sleep(1.5)  # well inside the first 512-token batch's decode
        assert not gen.finished
        t_cancel = time.perf_counter()
        threading.Thread(target=consume, daemon=True).start()
        gen.cancel()
        assert done.wait(5.0)
        assert gen.result is not None and gen.result.stop_reason == "cancelled"
        assert gen.result.completion_tokens == 0
        assert elapsed[0] < 0.1, f"cancel took {elapsed[0] * 1000:.0f} ms"
        # The abort callback stopped the decode itself: the worker answers long before the
        # 2,048-token evaluation could have finished (several seconds even on a fast machine).
        t0 = time.perf_counter()
        assert client.tokenize("hello") == [24912]
        assert time.perf_counter() - t0 < 3.0
        # ... and the KV cache is consistent: the same greedy tokens as before
        assert _greedy(client, short) == before


def test_load_reports_progress_and_can_be_cancelled(standin_small: Path):
    client = EngineClient(WorkerProcess())
    try:
        seen: list[float] = []

        def cancel_at_first(fraction: float) -> None:
            seen.append(fraction)
            if len(seen) == 1:
                assert client.cancel_load()

        with pytest.raises(LoadCancelled):
            client.load(standin_small, LoadOptions(n_ctx=512), on_progress=cancel_at_first)
        assert seen and seen[-1] < 1.0
        assert not client.cancel_load()  # nothing loading now
        fractions: list[float] = []
        info = client.load(standin_small, LoadOptions(n_ctx=512), on_progress=fractions.append)
        assert info.n_vocab == 201088 and info.architecture == "gpt-oss"
        assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(fractions) >= 5
        assert info.use_mmap is False and info.flash_attn == "auto"  # CPU: repacked, no mmap
    finally:
        client.close()


@pytest.mark.parametrize("n_ctx", [4096, 32768, 131072])
def test_fit_estimate_is_within_10_percent_of_measured_resident_memory(
    standin_small: Path, n_ctx: int
):
    shape = ModelShape.from_gguf(read_gguf_info(standin_small))
    memory = MemoryInfo(total_ram=64 * GiB, available_ram=64 * GiB)
    estimate = estimate_fit(shape, memory, n_ctx)
    with EngineClient.start(standin_small, LoadOptions(n_ctx=n_ctx)) as client:
        metrics = client.generate(
            GenerateRequest(prompt_tokens=PROMPT[:512], max_tokens=4, sampling=GREEDY)
        ).wait()
        assert client.info is not None
        kv = sum(v for k, v in client.info.buffers.items() if k.endswith(" KV"))
    assert kv == estimate.kv_cache_bytes  # llama.cpp's own KV buffer size, to the byte
    measured = metrics.peak_rss_bytes  # anonymous resident memory: what RAM must hold
    assert measured > shape.weights_bytes
    error = estimate.required_bytes / measured - 1
    assert abs(error) <= 0.10, f"estimate {estimate.required_bytes} vs measured {measured}"


def test_smaller_kv_cache_choices_match_llama_cpp_and_the_estimate(standin_small: Path):
    """q8_0 and the sliding-window-only cache: llama.cpp allocates what the estimate says."""
    shape = ModelShape.from_gguf(read_gguf_info(standin_small))
    memory = MemoryInfo(total_ram=64 * GiB, available_ram=64 * GiB)
    n_ctx = 65536
    opts = LoadOptions(n_ctx=n_ctx, kv_cache_type="q8_0", swa_full=False)
    estimate = estimate_fit(shape, memory, n_ctx, kv_cache_type="q8_0", swa_full=False)
    full = estimate_fit(shape, memory, n_ctx)
    assert estimate.kv_cache_bytes < full.kv_cache_bytes * 0.3  # q8_0 and one layer windowed
    with EngineClient.start(standin_small, opts) as client:
        metrics = client.generate(
            GenerateRequest(prompt_tokens=PROMPT[:512], max_tokens=4, sampling=GREEDY)
        ).wait()
        assert client.info is not None
        kv_buffers = [v for k, v in client.info.buffers.items() if k.endswith(" KV")]
    # llama.cpp prints buffer sizes in MiB with 2 decimals: each is exact to 0.005 MiB
    assert abs(sum(kv_buffers) - estimate.kv_cache_bytes) <= len(kv_buffers) * 0.005 * 2**20
    assert abs(estimate.required_bytes / metrics.peak_rss_bytes - 1) <= 0.10
