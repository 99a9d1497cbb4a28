"""The local API against the engine directly: throughput of a streamed answer and the time
to the first token, same model, prompt and settings.

* ``api_tokens_per_s_ratio``: tokens/s of a chat completion streamed over HTTP from
  ``gptoss-desktop serve`` in its own process (SSE, parsed by the client as it arrives)
  divided by tokens/s of the same generation read from an ``EngineClient`` of the same model
  and settings in this process; a random-weight 110M Harmony model (the app speaks
  Harmony to it) writes a fixed number of tokens (stop tokens biased away), runs alternate
  and the median of the paired ratios is reported. Target >= 0.97.
* ``api_ttft_overhead_ms``: time from sending the request to the first reasoning text in the
  stream, minus the time from ``generate()`` to the batch holding the first reasoning token
  when the engine is called directly with the same prompt (tiny-harmony, which writes
  ``<|channel|>analysis<|message|>`` first). Median of paired runs. Target <= 15 ms.

    python bench/api.py [--json] [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import ROOT, emit_json, median, print_table
from bench.models import harmony_100m
from gptoss_desktop.core.api.requests import parse_chat_request
from gptoss_desktop.core.api.turn import open_api_session
from gptoss_desktop.core.engine import EngineClient, GenerateRequest, LoadOptions
from gptoss_desktop.core.harmony.session import ChatSession


class Served:
    """``gptoss-desktop serve`` in its own process (as the app serves other programs), and
    an ``EngineClient`` of the same model and settings in this one (the engine directly)."""

    def __init__(self, path: Path, threads: int, n_ctx: int) -> None:
        import httpx

        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gptoss_desktop", "serve", "--model", str(path),
             "--port", "0", "--threads", str(threads), "--ctx", str(n_ctx), "--gpu-layers", "0"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if not line.startswith("listening on "):
            self.proc.kill()
            raise SystemExit(f"serve did not start: {line!r}")
        self.url = line.split()[-1]
        self.engine = EngineClient.start(path, LoadOptions(n_ctx=n_ctx, n_threads=threads, seed=0))
        self.http = httpx.Client(timeout=300)

    def close(self) -> None:
        self.http.close()
        self.engine.close()
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(30)

    def direct_request(self, body: dict[str, Any]) -> GenerateRequest:
        """The request the API makes for ``body``: same prompt tokens, stops and sampling."""
        turn = parse_chat_request(body)
        session = open_api_session(self.engine, turn)
        assert isinstance(session, ChatSession)
        return GenerateRequest(
            prompt_tokens=session.prompt_tokens(),
            max_tokens=session.max_tokens,
            stop_tokens=list(session._stop_ids),
            sampling=turn.sampling,
        )

    def stream(self, body: dict[str, Any]) -> tuple[float, float, int]:
        """(seconds to the first generated text, seconds to the end, completion tokens)."""
        t0 = time.perf_counter()
        first = None
        tokens = 0
        with self.http.stream("POST", self.url + "/v1/chat/completions", json=body) as r:
            for line in r.iter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                chunk = json.loads(line[6:])
                if chunk.get("usage"):
                    tokens = chunk["usage"]["completion_tokens"]
                for choice in chunk["choices"]:
                    delta = choice["delta"]
                    if first is None and (
                        delta.get("reasoning_content")
                        or delta.get("content")
                        or delta.get("tool_calls")
                    ):
                        first = time.perf_counter() - t0
        end = time.perf_counter() - t0
        return (first if first is not None else end), end, tokens

    def direct(
        self, request: GenerateRequest, first_after: int | None = None
    ) -> tuple[float, float, int]:
        """Same measures reading the engine directly; ``first_after``: the first token that
        counts is the one after this id (``<|message|>``)."""
        t0 = time.perf_counter()
        first = None
        seen_marker = first_after is None
        count = 0
        for batch in self.engine.generate(request):
            for tok in batch.ids:
                count += 1
                if seen_marker and first is None:
                    first = time.perf_counter() - t0
                if tok == first_after:
                    seen_marker = True
        end = time.perf_counter() - t0
        return (first if first is not None else end), end, count


def throughput(threads: int, n_tokens: int, rounds: int) -> dict[str, float]:
    served = Served(harmony_100m(), threads, n_ctx=1024)
    try:
        by_text = served.engine.special_tokens()["by_text"]
        stops = [by_text[t] for t in ("<|return|>", "<|call|>", "<|endoftext|>", "<|end|>")]
        body = {
            "model": "random-harmony-110m",
            "messages": [{"role": "user", "content": "Tell me a long story."}],
            "temperature": 0,
            "max_tokens": n_tokens,
            "logit_bias": {str(t): -100 for t in stops},
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        request = served.direct_request(body)
        served.stream({**body, "max_tokens": 8})  # warm up both
        served.direct(request)
        api, direct = [], []
        for _ in range(rounds):
            _, end, n = served.direct(request)
            assert n == n_tokens, n
            direct.append(n / end)
            _, end, n = served.stream(body)
            assert n == n_tokens, n
            api.append(n / end)
    finally:
        served.close()
    ratios = [a / d for a, d in zip(api, direct, strict=True)]
    return {"api_tps": median(api), "direct_tps": median(direct), "ratio": median(ratios)}


def ttft(rounds: int) -> dict[str, float]:
    served = Served(ROOT / "tests" / "data" / "models" / "tiny-harmony.gguf", 1, n_ctx=1024)
    try:
        body = {
            "model": "tiny-harmony",
            "messages": [{"role": "user", "content": "What is the capital of France?"}],
            "temperature": 0,
            "stream": True,
        }
        request = served.direct_request(body)
        marker = served.engine.special_tokens()["by_text"]["<|message|>"]
        for _ in range(3):
            served.stream(body)
            served.direct(request, marker)
        api, direct = [], []
        for _ in range(rounds):
            d, _, _ = served.direct(request, marker)
            a, _, _ = served.stream(body)
            direct.append(d)
            api.append(a)
    finally:
        served.close()
    diffs = [(a - d) * 1000 for a, d in zip(api, direct, strict=True)]
    return {
        "api_ttft_ms": median(api) * 1000,
        "direct_ttft_ms": median(direct) * 1000,
        "overhead_ms": median(diffs),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--rounds", type=int, default=11)
    ap.add_argument("--tokens", type=int, default=160)
    ap.add_argument("--threads", type=int, default=max(1, (os.cpu_count() or 2) // 2))
    args = ap.parse_args(argv)
    tp = throughput(args.threads, args.tokens, args.rounds)
    lat = ttft(max(11, args.rounds * 3))
    result = {
        "api_tokens_per_s_ratio": tp["ratio"],
        "api_ttft_overhead_ms": lat["overhead_ms"],
        "api_tps": tp["api_tps"],
        "direct_tps": tp["direct_tps"],
        "api_ttft_ms": lat["api_ttft_ms"],
        "direct_ttft_ms": lat["direct_ttft_ms"],
    }
    if args.json:
        emit_json(result)
    else:
        print_table(
            "Local API vs the engine directly (medians; ratio and overhead from paired runs)",
            ["measure", "API", "engine", "API/engine or API-engine"],
            [
                ["tokens/s (110M Harmony, streamed)", tp["api_tps"], tp["direct_tps"], tp["ratio"]],
                ["time to first token, ms (tiny-harmony)", lat["api_ttft_ms"],
                 lat["direct_ttft_ms"], lat["overhead_ms"]],
            ],
        )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
