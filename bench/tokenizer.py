"""Exact o200k_harmony tokenization (tiktoken) against llama.cpp's tokenizer: cost and counts.

For gpt-oss vocabularies the worker tokenizes text with tiktoken built from the GGUF's own
token bytes (llama.cpp's gpt-4o pre-tokenizer splits Hindi, Bengali, Tamil, Thai... differently
from OpenAI's). This measures, in the worker's own ``LoadedModel`` on a GGUF with the real
201,088-token vocabulary (a one-layer stand-in built from ../shared/reference/o200k and cached
in bench/.cache):

* microseconds per 1,000 tokens, per script and over the whole corpus (long texts), and on
  message-sized texts (one call per 20-90 token sample), for tiktoken (``encode_ordinary``) and
  llama.cpp (``Llama.tokenize``), side by side, and their ratio;
* the one-time cost at model load (reading 201,088 token pieces, building the encoding);
* token counts of both per script (Hindi: llama.cpp's count against the exact one).

    python bench/tokenizer.py [--json] [--rounds N]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import CACHE, ROOT, emit_json, median, print_table

O200K_FILE = ROOT.parent / "shared" / "reference" / "o200k" / "o200k_base.tiktoken"
O200K_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"
TARGET_TOKENS = 20_000  # each script's text is repeated to about this many tokens


def stand_in() -> Path:
    from tiktoken.load import load_tiktoken_bpe

    from tests.data.modelgen.o200k_model import o200k_model

    ranks = load_tiktoken_bpe(str(O200K_FILE), expected_hash=O200K_SHA256)
    by_rank = {r: data for data, r in ranks.items()}
    return o200k_model(CACHE, [by_rank[i] for i in range(len(by_rank))])


def per_1000(fn: Any, text: str, n_tokens: int, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn(text)
        times.append(time.perf_counter() - t0)
    return median(times) * 1e6 * 1000 / n_tokens


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args(argv)
    if not O200K_FILE.is_file():
        print(f"needs the o200k vocabulary at {O200K_FILE} (../shared beside the checkout)")
        return 2

    from gptoss_desktop.worker.runtime import LoadedModel
    from tests.data.multilingual import CORPUS

    path = stand_in()
    model = LoadedModel(str(path), {"n_ctx": 256, "n_threads": 1})
    try:
        assert model.exact is not None, model.tokenizer_note
        exact = model.exact.encode_ordinary

        def llama(text: str) -> list[int]:
            return model.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)

        rows = []
        results: dict[str, Any] = {"scripts": {}}
        all_text = []
        for script, sample in CORPUS.items():
            n_once = len(exact(sample))
            text = sample * max(1, TARGET_TOKENS // n_once)
            all_text.append(text)
            n_exact, n_llama = len(exact(text)), len(llama(text))
            us_exact = per_1000(exact, text, n_exact, args.rounds)
            us_llama = per_1000(llama, text, n_exact, args.rounds)
            rows.append(
                [
                    script,
                    n_llama,
                    n_exact,
                    n_llama / n_exact,
                    us_llama,
                    us_exact,
                    us_exact / us_llama,
                ]
            )
            results["scripts"][script] = {
                "tokens_llama_cpp": n_llama,
                "tokens_exact": n_exact,
                "us_per_1000_llama_cpp": us_llama,
                "us_per_1000_tiktoken": us_exact,
            }
        text = "".join(all_text)
        n_exact = len(exact(text))
        us_exact = per_1000(exact, text, n_exact, args.rounds)
        us_llama = per_1000(llama, text, n_exact, args.rounds)
        # message-sized texts (each sample once, 20-90 tokens): per-call overhead shows here
        samples = list(CORPUS.values())
        n_small = sum(len(exact(t)) for t in samples)

        def each(fn: Any) -> Any:
            return lambda _text: [fn(t) for t in samples for _ in range(20)]

        us_small_exact = per_1000(each(exact), "", n_small * 20, args.rounds)
        us_small_llama = per_1000(each(llama), "", n_small * 20, args.rounds)
        once = CORPUS["hindi"]
        hindi = (len(llama(once)), len(exact(once)))
        results.update(
            corpus_tokens=n_exact,
            us_per_1000_tiktoken=us_exact,
            us_per_1000_llama_cpp=us_llama,
            tiktoken_over_llama_cpp=us_exact / us_llama,
            small_us_per_1000_tiktoken=us_small_exact,
            small_us_per_1000_llama_cpp=us_small_llama,
            small_tiktoken_over_llama_cpp=us_small_exact / us_small_llama,
            load_extra_s=model.tokenizer_build_s,
            model_load_s=model.load_s,
            hindi_tokens_llama_cpp=hindi[0],
            hindi_tokens_exact=hindi[1],
        )
    finally:
        model.close()

    if args.json:
        emit_json(results)
        return 0
    print_table(
        "Tokenizing the multilingual corpus (us per 1,000 exact tokens; median of "
        f"{args.rounds} rounds, one thread each)",
        [
            "script",
            "llama.cpp tok",
            "exact tok",
            "count x",
            "llama.cpp us",
            "tiktoken us",
            "cost x",
        ],
        rows,
    )
    print(
        f"\nwhole corpus ({n_exact} tokens): tiktoken {us_exact:.0f} us / 1,000 tokens, "
        f"llama.cpp {us_llama:.0f} us / 1,000 tokens: ratio tiktoken/llama.cpp "
        f"{us_exact / us_llama:.2f}"
    )
    print(
        f"message-sized texts ({len(samples)} samples, {n_small} tokens, one call each): "
        f"tiktoken {us_small_exact:.0f} us / 1,000 tokens, llama.cpp {us_small_llama:.0f} us: "
        f"ratio {us_small_exact / us_small_llama:.2f}"
    )
    print(
        f"one-time cost at load: {model.tokenizer_build_s:.2f} s (201,088 token pieces and the "
        f"encoding; the model itself loaded in {model.load_s:.2f} s)"
    )
    print(
        f"Hindi sample: llama.cpp {hindi[0]} tokens, exact {hindi[1]} tokens "
        f"(x{hindi[0] / hindi[1]:.2f}, {hindi[0] - hindi[1]} more)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
