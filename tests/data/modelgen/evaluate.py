"""Greedy exact-match evaluation of probes, with torch (during training) or llama.cpp."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from .probes import Probe, greedy_complete
from .tokens import LlamaTokenizer

Complete = Callable[[list[int], set[int], int], list[int]]


def torch_complete(model: Any) -> Complete:
    """Greedy completion with the torch model (no KV cache: fine for a few probes)."""
    import torch

    @torch.no_grad()
    def nxt(ids: list[int]) -> int:
        return int(model(torch.tensor([ids]))[0, -1].argmax())

    return lambda ids, stops, max_new: greedy_complete(nxt, ids, stops, max_new)


def llama_complete(llm: Any) -> Complete:
    """Greedy completion in llama.cpp: temperature 0 is its greedy sampler, and generate()
    keeps the KV cache of the longest common prefix with the previous call, as the app does."""

    def complete(ids: list[int], stops: set[int], max_new: int) -> list[int]:
        out: list[int] = []
        for tok in llm.generate(ids, temp=0.0, repeat_penalty=1.0):
            out.append(int(tok))
            if tok in stops or len(out) >= max_new:
                break
        return out

    return complete


def decode(tokenizer: LlamaTokenizer, ids: list[int]) -> str:
    """Text of token ids, special tokens written out."""
    vocab = tokenizer.vocab
    data = b""
    for t in ids:
        data += vocab.tokens[t].encode() if t >= vocab.special_base else tokenizer.piece(t)
    return data.decode("utf-8", errors="replace")


def run_probes(
    complete: Complete, tokenizer: LlamaTokenizer, probes: list[Probe]
) -> dict[str, Any]:
    """Exact-match rate per pattern; the first 20 failures keep both texts."""
    vocab = tokenizer.vocab
    stops = {vocab.special_id("<|return|>"), vocab.special_id("<|call|>")}
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    failures: list[dict[str, str]] = []
    for probe in probes:
        ids, _ = tokenizer.conversation(probe.prompt)
        text = decode(tokenizer, complete(ids, stops, 160))
        ok = text == probe.expected
        pattern = probe.pattern
        key = pattern if pattern.startswith("canonical") else pattern.split("/")[0]
        per[key][0] += ok
        per[key][1] += 1
        if not ok and len(failures) < 20:
            failures.append({"pattern": pattern, "expected": probe.expected, "got": text})
    total_ok = sum(v[0] for v in per.values())
    total = sum(v[1] for v in per.values())
    return {
        "exact_match": {k: f"{v[0]}/{v[1]}" for k, v in sorted(per.items())},
        "total": f"{total_ok}/{total}",
        "failures": failures,
    }
