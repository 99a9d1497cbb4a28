"""``gptoss-desktop chat``: a Harmony conversation with a gpt-oss model from the command line.

Each ``--message`` is one user turn. The answer goes to stdout; the reasoning (analysis
channel), tool calls and metrics go to stderr. ``--json`` prints one JSON object instead:
``messages`` (role, channel, recipient, content), ``final``, ``reasoning``, ``stop_reason``,
``tool_calls`` and ``metrics``.

``--function`` declares a function tool (a JSON object with name, description, parameters, or
``@file.json`` holding one or a list) and ``--tool-result NAME=TEXT`` gives the text a call
to it returns, so a tool conversation can be scripted without writing code.

``--tools python,browser,FUNCTIONS.json`` gives the model the app's real tools (the python
sandbox, the offline browser over ``--docs DIR``, function tools from the file; a function
without a built-in ``binding`` is answered on the terminal), and ``--approve ask|all|none``
says whether each call is shown for y / a / n first (ask, the default), run, or refused.
``--mcp CONFIG.json`` adds the tools of the MCP servers in an ``mcpServers`` file.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from gptoss_desktop.cli import terminal
from gptoss_desktop.cli.common import print_json
from gptoss_desktop.core.errors import HarmonyError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("chat", help="chat with a gpt-oss (Harmony) model")
    p.add_argument("--model", required=True, help="path of a gpt-oss .gguf file")
    p.add_argument(
        "--message", required=True, action="append", help="a user message (repeat for more turns)"
    )
    p.add_argument("--system", default=None, help="instructions (the developer message)")
    p.add_argument("--identity", default=None, help="model identity (default: gpt-oss's own)")
    p.add_argument("--reasoning", choices=("low", "medium", "high"), default="medium")
    p.add_argument(
        "--date", default=None, help="conversation start date for the model (default: today)"
    )
    p.add_argument("--no-date", action="store_true", help="tell the model no date")
    p.add_argument("--max-tokens", type=int, default=1024, help="per model reply")
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--top-p", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--ctx", type=int, default=8192, help="context length (tokens)")
    p.add_argument("--gpu-layers", type=int, default=0, help="layers to offload (-1: all)")
    p.add_argument(
        "--cpu-moe", type=int, default=0, metavar="N",
        help="keep the MoE expert tensors of the first N layers in system RAM (small GPUs)",
    )  # fmt: skip
    p.add_argument(
        "--kv-cache", choices=("f16", "q8_0"), default="f16",
        help="KV cache type (q8_0: about half the memory for long contexts, slightly lower quality)",
    )  # fmt: skip
    p.add_argument("--function", action="append", default=[], help="JSON tool spec or @FILE")
    p.add_argument("--tool-result", action="append", default=[], help="NAME=TEXT a call returns")
    p.add_argument("--max-tool-calls", type=int, default=8)
    p.add_argument("--tools", default=None, help="real tools: python,browser,FUNCTIONS.json")
    p.add_argument("--docs", default=None, help="folder of documents for the browser tool")
    p.add_argument(
        "--mcp", default=None, metavar="CONFIG.json",
        help="MCP servers whose tools the model may call (an mcpServers JSON file)",
    )  # fmt: skip
    p.add_argument(
        "--approve", choices=("ask", "all", "none"), default="ask",
        help="before a tool call runs: ask y/n on the terminal, run all, or run none",
    )  # fmt: skip
    p.add_argument("--json", action="store_true", help="one JSON object at the end instead")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from gptoss_desktop.core.chat.harmony_turns import open_harmony_session
    from gptoss_desktop.core.chat.session import NO_DATE, SessionSettings
    from gptoss_desktop.core.engine import EngineClient, LoadOptions

    if args.max_tokens < 1:
        print("error: --max-tokens must be at least 1", file=sys.stderr)
        return 2
    if args.cpu_moe < 0:
        print(
            "error: --cpu-moe must be 0 or more (layers whose experts stay in RAM)", file=sys.stderr
        )
        return 2
    results = _tool_results(args.tool_result)
    settings = SessionSettings(
        instructions=args.system or "",
        model_identity=args.identity or "",
        reasoning_effort=args.reasoning,
        date=NO_DATE if args.no_date else args.date,
        temperature=args.temperature,
        top_p=args.top_p,
        seed=args.seed,
        functions=tuple(_functions(args.function)),
    )
    tools = box = None
    if args.tools or args.mcp:
        from gptoss_desktop.cli.chat_tools import chat_tools

        tools, box = chat_tools(args.tools, args.docs, args.approve, args.max_tool_calls, args.mcp)
    options = LoadOptions(
        n_ctx=args.ctx,
        n_threads=args.threads,
        n_gpu_layers=args.gpu_layers,
        seed=args.seed,
        n_cpu_moe=args.cpu_moe,
        kv_cache_type=args.kv_cache,
    )
    canned: dict[str, Any] = {name: _canned(text) for name, text in results.items()}
    try:
        with EngineClient.start(args.model, options) as engine:
            session = open_harmony_session(
                engine,
                settings,
                toolbox=box,
                tools=canned,
                approve=tools.policy.hook() if tools else None,
                max_tool_calls=args.max_tool_calls,
                max_tokens=args.max_tokens,
            )
            printer = None if args.json else _StreamPrinter()
            turns = []
            for text in args.message:
                if tools:
                    tools.policy.begin_turn()
                turns.append(session.send(text, on_event=printer))
                if printer:
                    printer.end_turn(turns[-1])
            load_s = engine.info.load_s if engine.info else 0.0
            overridden = engine.info.tensors_overridden if engine.info else 0
    finally:
        if tools:
            tools.close()
            if tools.mcp_hub is not None:
                tools.mcp_hub.close()
    if args.json:
        report = _report(turns, load_s)
        report["metrics"].update(n_cpu_moe=args.cpu_moe, tensors_overridden=overridden)
        print_json(report)
    return 0


def _report(turns: list[Any], load_s: float) -> dict[str, Any]:
    from gptoss_desktop.core.harmony.codec import message_to_dict

    last = turns[-1]
    messages = []
    for turn in turns:
        for m in turn.messages:
            d = message_to_dict(m)
            messages.append(
                {
                    "role": d["author"]["role"],
                    "name": d["author"]["name"],
                    "channel": m.channel,
                    "recipient": m.recipient,
                    "content_type": m.content_type,
                    "content": m.text,
                }
            )
    gens = [g for t in turns for g in t.generations]
    return {
        "messages": messages,
        "final": last.final,
        "reasoning": last.reasoning,
        "stop_reason": last.stop_reason,
        "tool_calls": [
            {
                "recipient": o.call.recipient,
                "arguments": o.call.arguments_text,
                "output": o.output,
                "is_error": o.is_error,
            }
            for t in turns
            for o in t.tool_calls
        ],
        "malformed": [n for t in turns for n in t.malformed],
        "metrics": {
            "turns": len(turns),
            "generations": len(gens),
            "load_s": load_s,
            "prompt_tokens": gens[-1].prompt_tokens if gens else 0,
            "prompt_evaluated": sum(g.metrics.prompt_evaluated for g in gens),
            "prompt_evaluated_per_turn": [t.prompt_evaluated for t in turns],
            "completion_tokens": sum(g.metrics.completion_tokens for g in gens),
            "ttft_s": gens[0].metrics.ttft_s if gens else None,
            "ttft_s_per_turn": [t.ttft_s for t in turns],
            "tokens_per_s": gens[-1].metrics.tokens_per_s if gens else 0.0,
            "total_s": sum(g.metrics.total_s for g in gens),
        },
    }


class _StreamPrinter:
    """Final answers to stdout as they stream; reasoning and tool traffic to stderr."""

    def __init__(self) -> None:
        self._channel: str | None = None
        self._out = sys.stdout

    def __call__(self, event: Any) -> None:
        from gptoss_desktop.core.harmony import (
            ContentDelta,
            MessageEnd,
            MessageStart,
            ToolCallFinished,
        )

        # Model text and tool output are untrusted: on a terminal, escapes are shown escaped.
        if isinstance(event, MessageStart):
            self._channel = event.channel
            self._out = sys.stdout if event.channel == "final" else sys.stderr
            if event.recipient:
                terminal.write(self._out, f"[call {event.recipient}] ")
            elif event.channel != "final":
                terminal.write(self._out, f"[{event.channel or 'message'}] ")
        elif isinstance(event, ContentDelta):
            terminal.write(self._out, event.text)
            self._out.flush()
        elif isinstance(event, MessageEnd):
            self._out.write("\n")
            self._out.flush()
        elif isinstance(event, ToolCallFinished):
            tag = "tool error" if event.outcome.is_error else "tool result"
            terminal.write(sys.stderr, f"[{tag}] {event.outcome.output}\n")

    def end_turn(self, turn: Any) -> None:
        evaluated = turn.prompt_evaluated
        ttft = turn.ttft_s or 0.0
        print(
            f"[{turn.stop_reason}; prompt tokens evaluated {evaluated}, "
            f"first token {ttft * 1000:.0f} ms]",
            file=sys.stderr,
        )


def _canned(text: str) -> Any:
    def handler(name: str, arguments: Any) -> str:
        return text

    return handler


def _functions(specs: list[str]) -> list[Any]:
    from gptoss_desktop.core.harmony import ToolDescription

    tools = []
    for spec in specs:
        try:
            raw = Path(spec[1:]).read_text(encoding="utf-8") if spec.startswith("@") else spec
            data = json.loads(raw)
        except (OSError, json.JSONDecodeError) as exc:
            raise HarmonyError(f"--function {spec[:40]!r}: not a JSON tool spec ({exc})") from None
        for item in data if isinstance(data, list) else [data]:
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                raise HarmonyError("--function needs objects with a name, description, parameters")
            tools.append(
                ToolDescription(item["name"], item.get("description") or "", item.get("parameters"))
            )
    return tools


def _tool_results(pairs: list[str]) -> dict[str, str]:
    results = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name:
            raise HarmonyError(f"--tool-result {pair[:40]!r}: write it as NAME=TEXT")
        results[name] = text
    return results
