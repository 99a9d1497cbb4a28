"""The built-in ``python`` tool: the model's code runs in the chat's sandbox process.

``PythonTool(scratch).handle("python", code)`` returns a :class:`ToolResult` whose text is
what the model sees (stdout, stderr, then the exception, like a notebook cell's output).
The sandbox starts on first use and keeps its state for the chat until :meth:`reset`.
Construct it with ``check=True`` (or call :meth:`check`) to learn at once whether this machine
can confine it: if not, :class:`~gptoss_desktop.core.errors.SandboxUnavailable` is raised and the
tool must stay off.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path

from gptoss_desktop.core.errors import SandboxUnavailable
from gptoss_desktop.core.tools.results import Arguments, ToolResult, error_result
from gptoss_desktop.core.tools.sandbox.process import ExecutionResult, PythonSandbox, SandboxLimits

TOOL_NAME = "python"


def output_text(result: ExecutionResult) -> str:
    """The text the model gets for one run."""
    parts = [result.stdout.rstrip("\n")] if result.stdout else []
    if result.stderr:
        parts.append(result.stderr.rstrip("\n"))
    if result.error:
        parts.append(result.error)
    text = "\n".join(p for p in parts if p)
    return text if text else "(no output)"


def code_from(arguments: Arguments) -> str:
    """The code of a call: gpt-oss sends raw text to ``python``; a JSON ``{"code": ...}`` works too."""
    if isinstance(arguments, Mapping):
        code = arguments.get("code", arguments.get("input", ""))
        return code if isinstance(code, str) else ""
    return arguments


class PythonTool:
    """The python tool of one chat."""

    def __init__(
        self,
        scratch: Path,
        limits: SandboxLimits | None = None,
        *,
        namespaces: str = "auto",
        import_paths: tuple[Path, ...] = (),
        check: bool = False,
    ) -> None:
        self.sandbox = PythonSandbox(
            scratch, limits, namespaces=namespaces, import_paths=import_paths
        )
        self.unavailable: str | None = None
        if check:
            self.check()

    @property
    def scratch(self) -> Path:
        return self.sandbox.scratch

    def check(self) -> None:
        """Start the sandbox now; raises SandboxUnavailable (and remembers why)."""
        try:
            self.sandbox.start()
        except SandboxUnavailable as exc:
            self.unavailable = exc.message
            raise

    def run(self, code: str) -> ExecutionResult:
        return self.sandbox.run(code)

    def handle(self, name: str, arguments: Arguments) -> ToolResult:
        started = time.monotonic()
        code = code_from(arguments)
        if not code.strip():
            return error_result(TOOL_NAME, "No code was sent: send Python source as the message.")
        try:
            result = self.sandbox.run(code)
        except SandboxUnavailable as exc:
            self.unavailable = exc.message
            return error_result(TOOL_NAME, f"The python tool is off: {exc.message}")
        return ToolResult(
            TOOL_NAME,
            output_text(result),
            untrusted=True,
            is_error=result.error is not None,
            elapsed_s=time.monotonic() - started,
            data={
                "stdout": result.stdout,
                "stderr": result.stderr,
                "error": result.error,
                "timed_out": result.timed_out,
                "truncated": result.truncated,
                "state_lost": result.state_lost,
                "cpu_s": result.cpu_s,
            },
        )

    def reset(self) -> None:
        """Forget variables and imports (a fresh process); files in the scratch folder stay."""
        self.sandbox.reset()

    def close(self) -> None:
        self.sandbox.close()
