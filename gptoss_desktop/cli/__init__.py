"""Command-line entry: the GUI by default, sub-commands for checks and scripting.

Each sub-command lives in its own module here with a ``register(subparsers)`` function
that adds its parser and sets ``func`` (a callable taking the parsed args and returning an
exit code). Modules import heavy things lazily inside their functions so ``--help`` and the
GUI start fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from gptoss_desktop import __version__

COMMAND_MODULES = ("doctor", "generate", "chat", "models", "tool", "serve")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gptoss-desktop",
        description="Run gpt-oss-20B and other GGUF models privately and offline.",
    )
    parser.add_argument("--version", action="version", version=f"gptoss-desktop {__version__}")
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="load the bundled demo model, generate a few tokens, check folders and keychain, exit",
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"gptoss_desktop.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"gptoss_desktop.cli.{name}":
                continue
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from gptoss_desktop.core.paths import use_private_umask

    use_private_umask()  # chats, exports, logs and scratch folders: owner only (#17)
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["--worker"]:
        # Frozen builds have no "python -m": the app binary doubles as the worker.
        from gptoss_desktop.worker.__main__ import main as worker_main

        return worker_main(args_list[1:])
    if args_list[:1] == ["--python-sandbox"] and len(args_list) == 2:
        # Frozen builds: the app binary doubles as the python tool's sandbox process.
        from gptoss_desktop.core.tools.sandbox.child import main as sandbox_main

        sandbox_main(args_list[1])
        return 0
    if args_list[:1] == ["--limited-child"] and len(args_list) == 2:
        # Frozen builds: the app binary doubles as the limited helper (templates, PDFs).
        from gptoss_desktop.core.limited import child_main

        child_main(args_list[1])
        return 0
    parser = build_parser()
    args = parser.parse_args(args_list)
    if args.self_test:
        from gptoss_desktop.cli.selftest import run_self_test

        return run_self_test()
    if args.command is None:
        from gptoss_desktop.app import run_gui

        return run_gui()
    from gptoss_desktop.cli.common import run_command

    return run_command(args.func, args)
