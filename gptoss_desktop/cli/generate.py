"""``gptoss-desktop generate``: plain completion, streamed to stdout."""

from __future__ import annotations

import argparse
import sys

from gptoss_desktop.cli.common import print_json


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("generate", help="plain text completion with a GGUF model")
    p.add_argument("--model", required=True, help="path of a .gguf file")
    p.add_argument("--prompt", required=True, help="text to continue")
    p.add_argument("--max-tokens", type=int, default=128)
    p.add_argument("--temperature", type=float, default=0.8)
    p.add_argument("--top-p", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--ctx", type=int, default=2048, help="context length (tokens)")
    p.add_argument("--gpu-layers", type=int, default=0, help="layers to offload (-1: all)")
    p.add_argument(
        "--cpu-moe",
        type=int,
        default=0,
        metavar="N",
        help="keep the MoE expert tensors of the first N layers in system RAM (small GPUs)",
    )
    p.add_argument(
        "--kv-cache",
        choices=("f16", "q8_0"),
        default="f16",
        help="KV cache type (q8_0: half the memory for long contexts)",
    )
    p.add_argument("--json", action="store_true", help="one JSON object at the end instead")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from gptoss_desktop.core.engine import (
        EngineClient,
        GenerateRequest,
        LoadOptions,
        SamplingOptions,
    )

    if args.max_tokens < 1:
        print("error: --max-tokens must be at least 1", file=sys.stderr)
        return 2
    if args.cpu_moe < 0:
        print(
            "error: --cpu-moe must be 0 or more (layers whose experts stay in RAM)", file=sys.stderr
        )
        return 2
    options = LoadOptions(
        n_ctx=args.ctx,
        n_threads=args.threads,
        n_gpu_layers=args.gpu_layers,
        seed=args.seed,
        n_cpu_moe=args.cpu_moe,
        kv_cache_type=args.kv_cache,
    )
    request = GenerateRequest(
        prompt_text=args.prompt,
        max_tokens=args.max_tokens,
        sampling=SamplingOptions(temperature=args.temperature, top_p=args.top_p, seed=args.seed),
    )
    with EngineClient.start(args.model, options) as engine:
        info = engine.info
        assert info is not None
        generation = engine.generate(request)
        if not args.json:
            sys.stdout.write(args.prompt)
            sys.stdout.flush()
        try:
            for batch in generation:
                if not args.json:
                    sys.stdout.write(batch.text)
                    sys.stdout.flush()
        except KeyboardInterrupt:
            generation.cancel()
            generation.wait()
        metrics = generation.result
        assert metrics is not None
        if args.json:
            print_json(
                {
                    "text": args.prompt + generation.text,
                    "completion": generation.text,
                    "prompt_tokens": metrics.prompt_tokens,
                    "completion_tokens": metrics.completion_tokens,
                    "ttft_s": metrics.ttft_s,
                    "tokens_per_s": metrics.tokens_per_s,
                    "prompt_tokens_per_s": metrics.prompt_tokens_per_s,
                    "stop_reason": metrics.stop_reason,
                    "load_s": metrics.load_s,
                    "peak_rss_bytes": metrics.peak_rss_bytes,
                    "rss_anon_bytes": metrics.rss_anon_bytes,
                    "rss_file_bytes": metrics.rss_file_bytes,
                    "n_cpu_moe": args.cpu_moe,
                    "tensors_overridden": info.tensors_overridden,
                    "use_mmap": info.use_mmap,
                    "flash_attn": info.flash_attn,
                    "backend": info.backend,
                }
            )
        else:
            sys.stdout.write("\n")
            print(
                f"[{metrics.completion_tokens} tokens, {metrics.tokens_per_s:.1f} tok/s, "
                f"first token {metrics.ttft_s * 1000:.0f} ms, stop: {metrics.stop_reason}]",
                file=sys.stderr,
            )
    return 0
