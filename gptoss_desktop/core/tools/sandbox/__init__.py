"""The python tool's sandbox: a separate, confined Python process per chat (Linux).

See docs/SANDBOX.md for the layers and for the macOS and Windows mechanisms. Names are
imported lazily: the sandbox process itself imports only the stdlib-only submodules it needs.
"""

import importlib

_EXPORTS = ("ExecutionResult", "PythonSandbox", "SandboxInfo", "SandboxLimits")
__all__ = list(_EXPORTS)


def __getattr__(name: str) -> object:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.process"), name)
