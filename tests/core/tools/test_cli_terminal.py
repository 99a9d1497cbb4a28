"""Tool output reaches the terminal with its escape sequences made visible (issue #17, 10).

Sandboxed code prints an OSC 52 sequence (which would rewrite the clipboard), a BEL, a CSI
as a C1 control, a bidi override and a screen-clearing sequence; the command runs on a real
pseudo-terminal and what the terminal received is read back: no raw ESC, BEL, C1 or
override byte, the same text escaped instead. Through a pipe the bytes pass unchanged.
"""

from __future__ import annotations

import contextlib
import io
import os
import pty
import select
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from gptoss_desktop.cli import terminal
from tests.core.tools.conftest import TEST_LIMITS, require_sandbox_support

ROOT = Path(__file__).resolve().parents[3]
HOSTILE = (
    "import sys\n"
    "print('before\\x1b]52;c;cHduZWQ=\\x07after')\n"
    "print('csi\\x9b31m bidi\\u202egnp.exe')\n"
    "print('wipe\\x1b[2J\\x1b[H', file=sys.stderr)\n"
    "raise ValueError('\\x1b]0;retitled\\x07')\n"
)
RAW = (b"\x1b", b"\x07", b"\xc2\x9b", "\u202e".encode())


def _run_on_a_terminal(argv: list[str], env: dict[str, str]) -> bytes:
    """Run ``argv`` with stdout and stderr on a pseudo-terminal; all bytes it received."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=env, cwd=ROOT
    )
    os.close(slave)
    received = bytearray()
    try:
        while True:
            readable, _, _ = select.select([master], [], [], 60)
            if not readable:
                break
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the other side is closed
                break
            if not chunk:
                break
            received += chunk
    finally:
        os.close(master)
        proc.wait(timeout=60)
    return bytes(received)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "GPTOSS_HOME": str(tmp_path / "home"), "PYTHONPATH": str(ROOT)}


@pytest.mark.parametrize(
    "extra", [[], ["--json"], ["--no-namespaces"]], ids=["plain", "json", "no-namespaces"]
)
def test_tool_python_output_on_a_terminal_has_no_raw_escapes(
    tmp_path: Path, env: dict[str, str], extra: list[str]
) -> None:
    require_sandbox_support()
    script = tmp_path / "hostile.py"
    script.write_text(HOSTILE)
    argv = [sys.executable, "-c", "from gptoss_desktop.cli import main; raise SystemExit(main())"]
    shown = _run_on_a_terminal([*argv, "tool", "python", str(script), *extra], env)
    for raw in RAW:
        assert raw not in shown, (raw, shown)
    assert b"before" in shown and b"after" in shown and b"retitled" in shown
    if extra == ["--json"]:
        assert b"\\u001b]52;c;cHduZWQ=\\u0007after" in shown and b"\\u009b31m" in shown
    else:
        assert b"before\\x1b]52;c;cHduZWQ=\\x07after" in shown
        assert b"csi\\x9b31m bidi\\u202egnp.exe" in shown and b"wipe\\x1b[2J" in shown


def test_tool_python_through_a_pipe_is_unchanged(tmp_path: Path, env: dict[str, str]) -> None:
    require_sandbox_support()
    script = tmp_path / "hostile.py"
    script.write_text("print('a\\x1b[1mb')\n")
    argv = [sys.executable, "-c", "from gptoss_desktop.cli import main; raise SystemExit(main())"]
    out = subprocess.run(
        [*argv, "tool", "python", str(script)], capture_output=True, env=env, cwd=ROOT
    )
    assert out.stdout == b"a\x1b[1mb\n"


@contextlib.contextmanager
def terminal_streams(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """sys.stdout and sys.stderr on a pseudo-terminal (set inside the test, after pytest's
    own capture has set them); yields the terminal's other end."""
    master, slave = pty.openpty()
    stream = io.TextIOWrapper(io.FileIO(slave, "w", closefd=False), encoding="utf-8")
    with monkeypatch.context() as patch:
        patch.setattr(sys, "stdout", stream)
        patch.setattr(sys, "stderr", stream)
        try:
            yield master
        finally:
            stream.flush()
    os.close(slave)
    os.close(master)


def _drain(master: int) -> bytes:
    sys.stdout.flush()
    received = bytearray()
    while select.select([master], [], [], 0.2)[0]:
        received += os.read(master, 65536)
    return bytes(received)


def test_chat_tools_printer_escapes_real_python_tool_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``chat --tools``: the printer shows the python tool's real result (and model text)."""
    require_sandbox_support()
    from gptoss_desktop.cli.chat import _StreamPrinter
    from gptoss_desktop.core.harmony import ContentDelta, MessageStart
    from gptoss_desktop.core.harmony.model import Author
    from gptoss_desktop.core.harmony.session import ToolCallFinished
    from gptoss_desktop.core.harmony.toolcall import ToolCall, ToolOutcome
    from gptoss_desktop.core.tools.python_tool import PythonTool

    tool = PythonTool(tmp_path / "scratch", TEST_LIMITS)
    try:
        result = tool.handle("python", HOSTILE)
    finally:
        tool.close()
    assert "\x1b]52" in result.text  # the tool result itself is what the code printed
    with terminal_streams(monkeypatch) as master:
        printer = _StreamPrinter()
        printer(MessageStart(Author("assistant"), "final", None, None))
        printer(ContentDelta("model says \x1b]52;c;eA==\x07", "final"))
        call = ToolCall("python", HOSTILE, None)
        printer(ToolCallFinished(ToolOutcome(call, result.text, result.is_error)))
        shown = _drain(master)
    for raw in RAW:
        assert raw not in shown, (raw, shown)
    assert b"before\\x1b]52;c;cHduZWQ=\\x07after" in shown
    assert b"model says \\x1b]52;c;eA==\\x07" in shown


def test_say_and_prompts_escape_call_arguments(monkeypatch: pytest.MonkeyPatch) -> None:
    from gptoss_desktop.cli.chat_tools import _say

    with terminal_streams(monkeypatch) as master:
        _say('functions.x was called with: {"a": "\x1b]52;c;eA==\x07"}')
        shown = _drain(master)
    assert b"\x1b" not in shown and b"\\x1b]52" in shown


def test_escape_controls_keeps_newlines_and_tabs() -> None:
    text = "a\tb\nc\x1b[0m\x00\x7f\x85\u2066d\u00e9"
    assert terminal.escape_controls(text) == "a\tb\nc\\x1b[0m\\x00\\x7f\\x85\\u2066d\u00e9"
    assert terminal.escape_json_controls('"\x9b\u202e"') == '"\\u009b\\u202e"'
