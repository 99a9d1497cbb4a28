"""Multi-turn Harmony chat: does time-to-first-token stay flat as the conversation grows?

A 10-turn conversation with the project's trained test model (tests/data/models/
tiny-harmony.gguf) through ChatSession and the real worker, greedy decoding. Per turn:
time to first token, prompt length, and prompt tokens the worker evaluated. The session keeps
the exact tokens the worker has in its KV cache, so each turn should evaluate only the new
message, ``<|start|>assistant``, and the suffix from the first dropped analysis message on
(the previous final answer), never the whole history.

Reported: ``ttft_ratio_turn10_turn1`` (median over rounds; target <= 1.5),
``evaluated_tokens_per_turn`` split into ``new_tokens_per_turn`` (the user message and
``<|start|>assistant``) and ``history_reevaluated_per_turn`` (turn 1: the system/developer
preamble, cold cache; later turns: the dropped-analysis suffix, i.e. the previous final answer
from its first differing token) and, for scale, turn 10 with the KV cache cleared.

    python bench/harmony.py [--json] [--rounds N] [--model PATH]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import ROOT, emit_json, median, print_table
from gptoss_desktop.core.engine import (
    EngineClient,
    GenerateRequest,
    LoadOptions,
    SamplingOptions,
)
from gptoss_desktop.core.harmony import ChatSession, SystemContent

MODEL = ROOT / "tests" / "data" / "models" / "tiny-harmony.gguf"
QUESTIONS = (
    "What is the capital of France?",
    "Say hello to Alice.",
    "What is the capital of Japan?",
    "What is the date today?",
    "What is the capital of Peru?",
    "Say hello to Bob.",
    "What is the capital of Norway?",
    "Say hello to Carol.",
    "What is the capital of Kenya?",
    "What is the capital of Italy?",
)


def one_conversation(client: EngineClient, turns: int) -> dict[str, Any]:
    session = ChatSession(
        client,
        system=SystemContent(conversation_start_date="2025-06-28"),
        sampling=SamplingOptions(temperature=0.0),
        max_tokens=160,
    )
    client.generate(  # empty the KV cache so turn 1 is a cold start like any first turn
        GenerateRequest(prompt_tokens=[0], max_tokens=1, sampling=SamplingOptions(temperature=0.0))
    ).wait()
    rows: list[dict[str, Any]] = []
    for i in range(turns):
        before = session.prompt_tokens()  # history before the user message (+ open assistant)
        result = session.send(QUESTIONS[i % len(QUESTIONS)])
        first = result.generations[0]
        prompt = first.prompt_tokens
        open_len = len(session.open_assistant_tokens)
        new = prompt - (len(before) - open_len)  # user message + <|start|>assistant
        rows.append(
            {
                "ttft_s": first.metrics.ttft_s,
                "prompt_tokens": prompt,
                "evaluated": result.prompt_evaluated,
                "new_tokens": new,
                "reevaluated": first.metrics.prompt_evaluated - new,
                "final": result.final,
                "stop_reason": result.stop_reason,
            }
        )
    # turn 10 again, with nothing reusable in the KV cache
    last_prompt = session.prompt_tokens()[: rows[-1]["prompt_tokens"]]
    client.generate(
        GenerateRequest(prompt_tokens=[0], max_tokens=1, sampling=SamplingOptions(temperature=0.0))
    ).wait()
    cold = client.generate(
        GenerateRequest(
            prompt_tokens=last_prompt, max_tokens=1, sampling=SamplingOptions(temperature=0.0)
        )
    ).wait()
    return {"rows": rows, "cold_ttft_s": cold.ttft_s, "cold_evaluated": cold.prompt_evaluated}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--turns", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--model", type=Path, default=MODEL)
    args = ap.parse_args(argv)
    if not args.model.is_file():
        print(f"needs {args.model} (python tests/data/make_models.py)", file=sys.stderr)
        return 2
    options = LoadOptions(n_ctx=4096, n_threads=args.threads, seed=1)
    with EngineClient.start(args.model, options) as client:
        runs = [one_conversation(client, args.turns) for _ in range(args.rounds)]
    turns = args.turns
    ttft = [median([r["rows"][t]["ttft_s"] for r in runs]) for t in range(turns)]
    first = runs[0]["rows"]
    result = {
        "ttft_ratio_turn10_turn1": ttft[-1] / ttft[0],
        "evaluated_tokens_per_turn": [row["evaluated"] for row in first],
        "new_tokens_per_turn": [row["new_tokens"] for row in first],
        "history_reevaluated_per_turn": [row["reevaluated"] for row in first],
        "prompt_tokens_per_turn": [row["prompt_tokens"] for row in first],
        "ttft_ms_per_turn": [t * 1000 for t in ttft],
        "ttft_ms_turn10_kv_cleared": median([r["cold_ttft_s"] for r in runs]) * 1000,
        "finals": [row["final"] for row in first],
        "rounds": args.rounds,
        "threads": args.threads,
        "model": args.model.name,
    }
    if args.json:
        emit_json(result)
        return 0
    print_table(
        f"Harmony chat, {turns} turns on {args.model.name} (median TTFT of {args.rounds} rounds)",
        ["turn", "prompt tokens", "evaluated", "new", "history re-evaluated", "TTFT ms"],
        [
            [i + 1, row["prompt_tokens"], row["evaluated"], row["new_tokens"],
             row["reevaluated"], ttft[i] * 1000]
            for i, row in enumerate(first)
        ],
    )  # fmt: skip
    print(
        f"\nTTFT turn {turns} / turn 1: {result['ttft_ratio_turn10_turn1']:.2f} (target <= 1.5); "
        f"turn {turns} with the KV cache cleared: {result['ttft_ms_turn10_kv_cleared']:.1f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
