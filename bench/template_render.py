"""Chat-template rendering: in-process vs. the limited helper process (issue #17 item 5).

Renders a ChatML-style template for a 6-message chat N times three ways, side by side:
in this process (no memory cap, no kill: the old way), in one long-lived helper process
(what the app does), and in a fresh helper per render (what "spawn per render" would cost).

Reported: ``helper_over_inprocess`` and ``spawn_over_helper`` (median per-render ratios).

    python bench/template_render.py [--json] [--renders N]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import emit_json, median, print_table
from gptoss_desktop.core.templating.templates import CHATML_TEMPLATE, ChatMessage, ChatTemplate

MESSAGES = [ChatMessage("system", "Be brief.")] + [
    ChatMessage("user" if i % 2 == 0 else "assistant", f"message {i} " * 20) for i in range(5)
]


def _per_render(make: object, renders: int, fresh: bool) -> list[float]:
    times = []
    template = None if fresh else make()  # type: ignore[operator]
    for _ in range(renders):
        t0 = time.perf_counter()
        t = make() if fresh else template  # type: ignore[operator]
        t.render(MESSAGES)
        if fresh:
            t.close()
        times.append(time.perf_counter() - t0)
    if template is not None:
        template.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--renders", type=int, default=200)
    args = parser.parse_args()
    local = _per_render(lambda: ChatTemplate(CHATML_TEMPLATE, isolated=False), args.renders, False)
    helper = _per_render(lambda: ChatTemplate(CHATML_TEMPLATE), args.renders, False)
    spawn = _per_render(lambda: ChatTemplate(CHATML_TEMPLATE), max(5, args.renders // 20), True)
    result = {
        "inprocess_ms": median(local) * 1000,
        "helper_ms": median(helper) * 1000,
        "spawn_per_render_ms": median(spawn) * 1000,
        "helper_over_inprocess": median(helper) / median(local),
        "spawn_over_helper": median(spawn) / median(helper),
    }
    if args.json:
        emit_json(result)
        return
    print_table(
        "Chat template render, median per render",
        ["way", "ms"],
        [
            ["in-process (no limits)", result["inprocess_ms"]],
            ["long-lived helper (app)", result["helper_ms"]],
            ["fresh helper per render", result["spawn_per_render_ms"]],
        ],
    )
    print(f"  helper / in-process: {result['helper_over_inprocess']:.1f}x")
    print(f"  spawn per render / helper: {result['spawn_over_helper']:.0f}x")


if __name__ == "__main__":
    main()
