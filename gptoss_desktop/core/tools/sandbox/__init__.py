"""The python tool's sandbox: a separate, confined Python process per chat (Linux).

See docs/SANDBOX.md for the layers and for the macOS and Windows mechanisms.
"""

from gptoss_desktop.core.tools.sandbox.process import (
    ExecutionResult,
    PythonSandbox,
    SandboxInfo,
    SandboxLimits,
)

__all__ = ["ExecutionResult", "PythonSandbox", "SandboxInfo", "SandboxLimits"]
