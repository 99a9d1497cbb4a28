"""What every bench script shares: a readable table, ``--json``, repo paths."""

from __future__ import annotations

import json
import statistics
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED_MODELS = ROOT.parent / "shared" / "models"
CACHE = ROOT / "bench" / ".cache"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def print_table(title: str, header: list[str], rows: list[list[Any]]) -> None:
    cells = [[str(h) for h in header]] + [
        [f"{c:.3f}" if isinstance(c, float) else str(c) for c in row] for row in rows
    ]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(title)
    for n, row in enumerate(cells):
        print("  " + "  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)))
        if n == 0:
            print("  " + "  ".join("-" * w for w in widths))


def emit_json(obj: dict[str, Any]) -> None:
    print(json.dumps(obj))


def plain_greedy(llm: Any, prompt: list[int], n: int) -> Iterator[bytes]:
    """The bare llama-cpp-python loop the benches compare against: ``n`` greedy tokens from
    ``llm.generate``, each detokenized (as any caller must) and yielded as it comes."""
    for count, tok in enumerate(
        llm.generate(prompt, temp=0.0, top_k=0, top_p=1.0, min_p=0.0, repeat_penalty=1.0), 1
    ):
        yield llm.detokenize([tok])
        if count >= n:
            return
