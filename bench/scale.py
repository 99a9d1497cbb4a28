"""gpt-oss-20B at its real size: the app against bare llama-cpp-python on the same loaded copy.

The model is the full-size stand-in of bench/standin.py (gpt-oss-20B's exact shape and
o200k_harmony tokenizer, random weights: the same work per token as the real model), made and
cached on first use, or ``--model PATH``. Two copies of a 13 GB model do not fit in 24 GB, so
one worker loads it (flash attention auto, n_batch 512, threads = physical cores, mmap chosen
for the backend) and the two sides take turns on that one copy, request by request, alternating
which goes first: the app's path (EngineClient -> frames -> the worker's generation loop) and
plain llama-cpp-python calls on the worker's own ``Llama`` (``Llama.eval`` for prompts,
``Llama.generate`` + ``detokenize`` for tokens; worker/bare.py, honoured only with
GPTOSS_WORKER_TEST_HOOKS=1). Same weights, context and settings, and the machine's noise (a
shared 2-core VM) falls on both alike. ``--rounds N`` repeats the side-by-side N times.

Reported (``--json`` prints one object):
- ``gen_ratio``: app / bare generated tokens per second (greedy, 24 tokens; median of the
  ratios of 5 back-to-back pairs; target >= 0.98).
- ``prompt_ratio``: app / bare prompt tokens per second on an empty KV cache, the smaller of
  the 512-token (median of 4 pairs) and 2,048-token (1 pair) figures (target >= 0.98);
  ``prompt_tok_s`` has the rates.
- ``load_s``: the app's load with the file dropped from the page cache (posix_fadvise
  DONTNEED) and with it cached.
- ``rss_anon_gib`` / ``rss_file_gib``: the worker's anonymous memory (what RAM must hold) and
  file pages (clean, droppable) after load and after the 2,048-token prompt.
- ``fit_error``: the largest |estimate / measured - 1| of core/library/fit.py against the
  worker's peak anonymous memory at 4k, 32k and 128k contexts (``fit`` has each).
- ``ttft_turn_ratio``: on a 6-turn Harmony chat (the app's renderer and drop policy, fixed
  assistant answers so both sides see the same tokens), time to first token of turn 6 over
  turn 1 for the app; ``ttft_turn_ratio_bare`` the same for bare llama-cpp-python and
  ``ttft_app_over_bare`` the median per-turn ratio.

The whole run takes 10-20 minutes on a 2-core machine (the two 2,048-token prompts dominate).

    python bench/scale.py [--json] [--model PATH] [--rounds N] [--layers 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import emit_json, median, print_table
from bench.standin import StandinShape, ensure_standin
from gptoss_desktop.core.engine import EngineClient, GenerateRequest, LoadOptions
from gptoss_desktop.core.engine.cpu import physical_cores
from gptoss_desktop.core.engine.options import SamplingOptions
from gptoss_desktop.core.harmony import Message, Role, SystemContent, render_conversation_tokens
from gptoss_desktop.core.harmony.vocab import EngineVocabulary
from gptoss_desktop.core.library.fit import MemoryInfo, ModelShape, estimate_fit
from gptoss_desktop.core.library.gguf_info import read_gguf_info

GiB = 1024**3
N_CTX = 4096
N_BATCH = 512
GEN_TOKENS = 24
CHAT_TOKENS = 6
FIT_CONTEXTS = (4096, 32768, 131072)
GREEDY = SamplingOptions(temperature=0.0)
QUESTIONS = (
    "What is the capital of France?",
    "And how many people live there?",
    "Name three museums in that city.",
    "Which of them is the oldest?",
    "Summarise our conversation in one sentence.",
    "Thank you. Say goodbye in French.",
)


def _tokens(n: int, seed: int) -> list[int]:
    """Ordinary o200k text tokens, different per seed (no prefix shared across prompts)."""
    return [(i * 7919 + seed * 104729) % 199_000 + 500 for i in range(n)]


def drop_page_cache(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def chat_prompts(client: EngineClient) -> list[list[int]]:
    """The prompt of each turn as the app renders it (earlier analysis dropped)."""
    vocab = EngineVocabulary(client)
    messages = [Message.system(SystemContent(conversation_start_date="2026-12-06"))]
    prompts = []
    for i, question in enumerate(QUESTIONS):
        messages.append(Message.user(question))
        prompts.append(render_conversation_tokens(messages, vocab, next_turn_role=Role.ASSISTANT))
        messages.append(
            Message.assistant(f"The user asks question {i + 1}; answer briefly.", "analysis")
        )
        messages.append(Message.assistant(f"Here is a short answer to question {i + 1}.", "final"))
    return prompts


def _options(n_ctx: int = N_CTX) -> LoadOptions:
    return LoadOptions(n_ctx=n_ctx, n_batch=N_BATCH)


# --- app and bare, side by side ------------------------------------------------------------------


def _empty_cache(client: EngineClient) -> None:
    client.generate(GenerateRequest(prompt_tokens=[0], max_tokens=1, sampling=GREEDY)).wait()


def _bare(client: EngineClient, what: str, tokens: list[int], n: int = 0) -> dict[str, Any]:
    return client.debug("bare", timeout=1800.0, what=what, tokens=tokens, n=n)


def app_prompt(client: EngineClient, tokens: list[int]) -> float:
    _empty_cache(client)
    m = client.generate(GenerateRequest(prompt_tokens=tokens, max_tokens=1, sampling=GREEDY)).wait()
    assert m.prompt_evaluated == len(tokens)
    return m.prompt_tokens_per_s


def app_generate(client: EngineClient, tokens: list[int], n: int) -> tuple[float, float]:
    """(seconds to the first token, tokens per second after it) as the caller sees them."""
    t0 = time.perf_counter()
    gen = client.generate(
        GenerateRequest(prompt_tokens=tokens, max_tokens=n, stop_tokens=[], sampling=GREEDY)
    )
    first = last = 0.0
    count = 0
    for batch in gen:
        last = time.perf_counter()
        first = first or last
        count += len(batch.ids)
    rate = (count - 1) / (last - first) if count > 1 else 0.0
    return first - t0, rate


def side_by_side(model: Path, rounds: int) -> dict[str, Any]:
    """App and bare llama-cpp-python on one loaded copy, alternating which goes first."""
    drop_page_cache(model)
    env = dict(os.environ, GPTOSS_WORKER_TEST_HOOKS="1")
    t0 = time.perf_counter()
    client = EngineClient.start(model, _options(), env=env, stall_timeout=1800.0)
    out: dict[str, Any] = {"load_cold_s": time.perf_counter() - t0}
    app: dict[str, list[float]] = {}
    bare: dict[str, list[float]] = {}
    try:
        assert client.info is not None
        out["rss_after_load"] = (client.info.rss_anon_bytes, client.info.rss_file_bytes)
        # Pairs (app, bare) back to back, alternating which goes first; the ratio of each pair
        # is taken before the median, so the machine's drift between pairs cancels out.
        pairs: list[tuple[str, list[int], int]] = []
        for r in range(rounds):
            # Four 512-token pairs: one pair scatters by +-10% on a shared 2-core machine.
            pairs += [("prompt_512", _tokens(512, 1 + 6 * k + r), 0) for k in range(4)]
            pairs += [("prompt_2048", _tokens(2048, 2 + r), 0)]
            pairs += [("gen", _tokens(16, 10 + k + 5 * r), GEN_TOKENS) for k in range(5)]
        for i, (key, tokens, n) in enumerate(pairs):
            for who in ("app", "bare") if i % 2 == 0 else ("bare", "app"):
                if key == "gen":
                    _empty_cache(client)
                    if who == "app":
                        value = app_generate(client, tokens, n)[1]
                    else:
                        value = _bare(client, "generate", tokens, n)["tokens_per_s"]
                elif who == "app":
                    value = app_prompt(client, tokens)
                else:
                    value = _bare(client, "prompt", tokens)["tokens_per_s"]
                (app if who == "app" else bare).setdefault(key, []).append(value)
            if key == "prompt_2048" and "rss_after_prompt" not in out:
                m = client.generate(GenerateRequest(prompt_tokens=[0], max_tokens=1)).wait()
                out["rss_after_prompt"] = (m.rss_anon_bytes, m.rss_file_bytes)
        prompts = chat_prompts(client)
        for who in ("app", "bare"):
            _empty_cache(client)
            ttft = []
            for p in prompts:
                if who == "app":
                    ttft.append(app_generate(client, p, CHAT_TOKENS)[0])
                else:
                    ttft.append(_bare(client, "generate", p, CHAT_TOKENS)["ttft_s"])
            (app if who == "app" else bare)["ttft"] = ttft
    finally:
        client.close()
    out["app"], out["bare"] = app, bare
    return out


# --- the memory estimate ----------------------------------------------------------------------


def run_fit(model: Path) -> tuple[list[dict[str, Any]], float]:
    shape = ModelShape.from_gguf(read_gguf_info(model))
    memory = MemoryInfo(total_ram=1024 * GiB, available_ram=1024 * GiB)  # CPU only: RAM
    rows = []
    warm = 0.0
    for n_ctx in FIT_CONTEXTS:
        est = estimate_fit(shape, memory, n_ctx)
        t0 = time.perf_counter()
        with EngineClient.start(model, _options(n_ctx)) as client:
            if not warm:
                warm = time.perf_counter() - t0
            m = client.generate(
                GenerateRequest(prompt_tokens=_tokens(64, 5), max_tokens=2, sampling=GREEDY)
            ).wait()
        measured = m.peak_rss_bytes
        rows.append(
            {
                "n_ctx": n_ctx,
                "estimate_gib": est.required_bytes / GiB,
                "measured_gib": measured / GiB,
                "kv_gib": est.kv_cache_bytes / GiB,
                "error": est.required_bytes / measured - 1,
            }
        )
    return rows, warm


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--model", type=Path, help="measure this GGUF instead of the stand-in")
    ap.add_argument("--rounds", type=int, default=1, help="interleaved app/bare rounds")
    ap.add_argument("--layers", type=int, default=24, help="stand-in layers (24: full size)")
    args = ap.parse_args(argv)
    t_all = time.perf_counter()
    model = args.model or ensure_standin(StandinShape(n_layer=args.layers))
    if not model.is_file():
        ap.error(f"{model} is not a file")

    sbs = side_by_side(model, max(1, args.rounds))
    fit_rows, warm_load = run_fit(model)
    app, bare = sbs["app"], sbs["bare"]

    def paired(key: str) -> float:
        return median([a / b for a, b in zip(app[key], bare[key], strict=True)])

    prompt = {n: (median(app[f"prompt_{n}"]), median(bare[f"prompt_{n}"])) for n in (512, 2048)}
    gen = (median(app["gen"]), median(bare["gen"]))
    app_ttft, bare_ttft = app["ttft"], bare["ttft"]
    result = {
        "model": str(model),
        "size_gb": model.stat().st_size / 1e9,
        "threads": physical_cores(),
        "rounds": max(1, args.rounds),
        "gen_ratio": paired("gen"),
        "gen_tok_s": {
            "app": gen[0],
            "bare": gen[1],
            "app_all": app["gen"],
            "bare_all": bare["gen"],
        },
        "prompt_ratio": min(paired(f"prompt_{n}") for n in (512, 2048)),
        "prompt_tok_s": {
            str(n): {
                "app": a,
                "bare": b,
                "ratio": paired(f"prompt_{n}"),
                "app_all": app[f"prompt_{n}"],
                "bare_all": bare[f"prompt_{n}"],
            }
            for n, (a, b) in prompt.items()
        },
        "load_s": {"cold": sbs["load_cold_s"], "warm": warm_load},
        "rss_anon_gib": {
            "after_load": sbs["rss_after_load"][0] / GiB,
            "after_prompt": sbs["rss_after_prompt"][0] / GiB,
        },
        "rss_file_gib": {
            "after_load": sbs["rss_after_load"][1] / GiB,
            "after_prompt": sbs["rss_after_prompt"][1] / GiB,
        },
        "fit_error": max(abs(row["error"]) for row in fit_rows),
        "fit": fit_rows,
        "ttft_turn_ratio": app_ttft[-1] / app_ttft[0],
        "ttft_turn_ratio_bare": bare_ttft[-1] / bare_ttft[0],
        "ttft_app_over_bare": median([a / b for a, b in zip(app_ttft, bare_ttft, strict=True)]),
        "ttft_s": {"app": app_ttft, "bare": bare_ttft},
        "total_s": time.perf_counter() - t_all,
    }
    if args.json:
        emit_json(result)
        return 0
    print_table(
        f"gpt-oss-20B scale ({model.name}, {result['threads']} threads, {result['rounds']} rounds)",
        ["figure", "app", "bare llama-cpp-python", "ratio"],
        [
            ["generation tok/s", gen[0], gen[1], result["gen_ratio"]],
            *[[f"prompt {n} tok/s", a, b, paired(f"prompt_{n}")] for n, (a, b) in prompt.items()],
            ["TTFT turn 6 / turn 1", result["ttft_turn_ratio"], result["ttft_turn_ratio_bare"], ""],
        ],
    )
    print_table(
        "memory estimate vs the worker's anonymous resident memory",
        ["n_ctx", "estimate GiB", "measured GiB", "error"],
        [[r["n_ctx"], r["estimate_gib"], r["measured_gib"], r["error"]] for r in fit_rows],
    )
    print(
        f"load: cold {sbs['load_cold_s']:.1f} s, warm {warm_load:.1f} s; resident after the "
        f"prompt: {result['rss_anon_gib']['after_prompt']:.2f} GiB anonymous + "
        f"{result['rss_file_gib']['after_prompt']:.2f} GiB file pages; "
        f"total {result['total_s']:.0f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
