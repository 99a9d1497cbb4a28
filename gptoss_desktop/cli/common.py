"""What every sub-command shares: one-line errors instead of tracebacks, JSON output."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from gptoss_desktop.cli import terminal
from gptoss_desktop.core.errors import GptossError


def run_command(func: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run a sub-command; known errors become one line on stderr and exit status 1."""
    try:
        return int(func(args) or 0)
    except GptossError as exc:
        print(terminal.for_terminal(sys.stderr, f"error: {exc.message}"), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


def print_json(obj: Any) -> None:
    text = json.dumps(obj, ensure_ascii=False)
    if terminal.is_terminal(sys.stdout):  # no raw C1 controls or bidi overrides on a terminal
        text = terminal.escape_json_controls(text)
    sys.stdout.write(text)
    sys.stdout.write("\n")
    sys.stdout.flush()
