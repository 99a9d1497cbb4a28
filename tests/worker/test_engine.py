"""The inference worker through EngineClient, on real tiny models with real llama.cpp."""

from __future__ import annotations

import threading
import time

import pytest

from gptoss_desktop.core.engine import (
    EngineClient,
    GenerateRequest,
    LoadOptions,
    SamplingOptions,
)
from gptoss_desktop.core.errors import ContextOverflow

GREEDY = SamplingOptions(temperature=0.0)
LILY = ", there was a little girl named Lily. She loved to play outside in the park."


def test_greedy_output_matches_reference(stories: EngineClient) -> None:
    gen = stories.generate(
        GenerateRequest(prompt_text="Once upon a time", max_tokens=40, sampling=GREEDY)
    )
    batches = list(gen)
    assert gen.text.startswith(LILY)
    assert gen.tokens[:8] == [432, 383, 286, 261, 376, 298, 315, 421]
    assert sum(len(b.ids) for b in batches) == 40
    # batches carry the exact bytes of every token and arrive in time order
    assert b"".join(p for b in batches for p in b.pieces).decode() == gen.text
    assert [b.t for b in batches] == sorted(b.t for b in batches)
    m = gen.result
    assert m is not None
    assert (m.prompt_tokens, m.prompt_evaluated, m.completion_tokens) == (5, 5, 40)
    assert m.stop_reason == "max_tokens"
    assert 0 < m.ttft_s < m.total_s
    assert m.tokens_per_s > 0 and m.prompt_tokens_per_s > 0
    assert m.peak_rss_bytes > 10 * 2**20
    assert m.load_s > 0


def test_prompt_tokens_and_text_agree(stories: EngineClient) -> None:
    ids = stories.tokenize("Once upon a time", add_bos=True)
    assert ids == [1, 403, 407, 261, 378]
    gen = stories.generate(GenerateRequest(prompt_tokens=ids, max_tokens=12, sampling=GREEDY))
    gen.wait()
    assert LILY.startswith(gen.text)


def test_kv_prefix_reuse_evaluates_only_new_tokens(stories: EngineClient) -> None:
    prompt = stories.tokenize("Once upon a time", add_bos=True)
    first = stories.generate(GenerateRequest(prompt_tokens=prompt, max_tokens=20, sampling=GREEDY))
    first.wait()
    cached = stories.evaluated_tokens
    assert cached == (prompt + first.tokens)[: len(cached)]
    assert len(cached) == len(prompt) + 19  # the last sampled token was never evaluated
    follow = prompt + first.tokens + stories.tokenize(" Then", add_bos=False)
    second = stories.generate(GenerateRequest(prompt_tokens=follow, max_tokens=5, sampling=GREEDY))
    m = second.wait()
    assert m.prompt_tokens == len(follow)
    assert m.prompt_evaluated == len(follow) - len(cached)
    # an identical prompt re-evaluates exactly one token (to get fresh logits)
    again = stories.generate(GenerateRequest(prompt_tokens=follow, max_tokens=5, sampling=GREEDY))
    assert again.wait().prompt_evaluated == 1
    assert again.tokens == second.tokens


def test_stop_string_ends_generation_and_is_not_shown(stories: EngineClient) -> None:
    gen = stories.generate(
        GenerateRequest(
            prompt_text="Once upon a time", max_tokens=40, stop_strings=["Lily"], sampling=GREEDY
        )
    )
    gen.wait()
    assert gen.text == ", there was a little girl named "
    assert gen.result is not None and gen.result.stop_reason == "stop_string"


def test_stop_token_is_reported(stories: EngineClient) -> None:
    # " Lily" is generated as token 376 early in the greedy story
    gen = stories.generate(
        GenerateRequest(
            prompt_text="Once upon a time", max_tokens=40, stop_tokens=[376], sampling=GREEDY
        )
    )
    m = gen.wait()
    assert m.stop_reason == "stop_token" and m.stop_token == 376
    assert gen.tokens[-1] == 376


def test_seeded_sampling_is_reproducible(stories: EngineClient) -> None:
    def run(seed: int) -> list[int]:
        s = SamplingOptions(temperature=1.0, seed=seed)
        gen = stories.generate(
            GenerateRequest(prompt_text="Once upon a time", max_tokens=30, sampling=s)
        )
        gen.wait()
        return gen.tokens

    assert run(7) == run(7)
    assert run(7) != run(8)


def test_logit_bias_forces_a_token(stories: EngineClient) -> None:
    s = SamplingOptions(temperature=0.0, logit_bias={261: 100.0})
    gen = stories.generate(GenerateRequest(prompt_text="Once", max_tokens=5, sampling=s))
    gen.wait()
    assert gen.tokens == [261] * 5


def test_context_overflow_is_a_clear_error(stories_path) -> None:  # type: ignore[no-untyped-def]
    with EngineClient.start(stories_path, LoadOptions(n_ctx=64, n_threads=1)) as client:
        gen = client.generate(GenerateRequest(prompt_text="Once upon a time " * 40, max_tokens=4))
        with pytest.raises(ContextOverflow) as info:
            gen.wait()
        assert info.value.available == 64 and info.value.needed > 64
        # the worker is still usable afterwards
        ok = client.generate(GenerateRequest(prompt_text="Once", max_tokens=3, sampling=GREEDY))
        assert ok.wait().completion_tokens == 3


def test_generation_stops_when_context_is_full(stories_path) -> None:  # type: ignore[no-untyped-def]
    with EngineClient.start(stories_path, LoadOptions(n_ctx=32, n_threads=1)) as client:
        gen = client.generate(
            GenerateRequest(prompt_text="Once upon a time", max_tokens=500, sampling=GREEDY)
        )
        m = gen.wait()
        assert m.stop_reason == "context_full"
        assert m.prompt_tokens + m.completion_tokens <= 32


def test_cancel_is_fast_and_leaves_worker_usable(stories: EngineClient) -> None:
    gen = stories.generate(
        GenerateRequest(
            prompt_text="Once upon a time",
            max_tokens=100_000,
            sampling=SamplingOptions(temperature=1.0, seed=3),
        )
    )
    it = iter(gen)
    next(it)
    timer_started = threading.Event()
    cancelled_at: list[float] = []

    def cancel_soon() -> None:
        timer_started.set()
        time.sleep(0.05)
        cancelled_at.append(time.perf_counter())
        gen.cancel()

    threading.Thread(target=cancel_soon).start()
    for _ in it:
        pass
    ended = time.perf_counter()
    assert gen.result is not None and gen.result.stop_reason == "cancelled"
    latency = ended - cancelled_at[0]
    assert latency < 0.1, f"cancel took {latency * 1000:.1f} ms"
    after = stories.generate(
        GenerateRequest(prompt_text="Once upon a time", max_tokens=10, sampling=GREEDY)
    )
    after.wait()
    assert LILY.startswith(after.text)


def test_abandoned_generation_does_not_block_next_request(stories: EngineClient) -> None:
    gen = stories.generate(
        GenerateRequest(
            prompt_text="Once upon a time",
            max_tokens=1500,
            sampling=SamplingOptions(temperature=1.0),
        )
    )
    next(iter(gen))  # read one batch, then walk away
    assert stories.tokenize("Once", add_bos=True)[0] == 1
    assert gen.finished


def test_tokenize_special_parsing(stories: EngineClient) -> None:
    plain = stories.tokenize("</s>", special=False)
    parsed = stories.tokenize("</s>", special=True)
    assert parsed == [2]
    assert 2 not in plain and len(plain) > 1


def test_model_info_metadata_and_backend(stories: EngineClient) -> None:
    info = stories.info
    assert info is not None
    assert info.architecture == "llama" and info.n_vocab == 512 and info.n_ctx == 2048
    assert info.add_bos and info.bos == 1 and 2 in info.eog
    meta = stories.metadata()
    assert meta["general.architecture"] == "llama"
    backend = stories.backend()
    assert backend.backend in {"CPU", "Metal", "CUDA", "Vulkan", "HIP", "SYCL"}
    assert backend.llama_cpp_version == "0.3.36"
    assert any(d["type"] == "CPU" for d in backend.devices)
    specials = stories.special_tokens()
    assert specials["bos"] == 1 and specials["eos"] == 2


def test_control_tokens_keep_their_bytes_but_not_text(stories: EngineClient) -> None:
    s = SamplingOptions(temperature=0.0, logit_bias={1: 100.0})  # force <s> (BOS, a control token)
    gen = stories.generate(GenerateRequest(prompt_text="Once", max_tokens=2, sampling=s))
    batches = list(gen)
    assert gen.tokens == [1, 1]
    assert [p for b in batches for p in b.pieces] == [b"<s>", b"<s>"]
    assert gen.text == ""
