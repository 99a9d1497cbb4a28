"""One error hierarchy for the whole core.

Every error the core raises on purpose is a :class:`GptossError`. Each carries a short
``message`` (one line, says what went wrong and what to do) and optional ``details``
(multi-line, for a details pane or a log). Only the UI and the CLI turn them into words
for the user; the core never prints.
"""

from __future__ import annotations


class GptossError(Exception):
    """Base of every error the project raises on purpose."""

    def __init__(self, message: str, *, details: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def __str__(self) -> str:
        return self.message


# --- model files -------------------------------------------------------------------------
class ModelFileError(GptossError):
    """A model file is missing, unreadable, truncated or not a GGUF file."""

    def __init__(self, path: object, problem: str, *, details: str = "") -> None:
        super().__init__(f"{path}: {problem}", details=details)
        self.path = str(path)
        self.problem = problem


# --- the inference worker ------------------------------------------------------------------
class EngineError(GptossError):
    """Anything that went wrong in or with an inference worker process."""


class WorkerCrashed(EngineError):
    """The worker process died (segfault, abort, OOM kill, kill -9).

    ``returncode`` is the process exit status (negative: killed by that signal) and
    ``stderr_tail`` the last lines it wrote to stderr.
    """

    def __init__(self, message: str, *, returncode: int | None, stderr_tail: list[str]) -> None:
        details = "\n".join(stderr_tail)
        super().__init__(message, details=details)
        self.returncode = returncode
        self.stderr_tail = stderr_tail


class WorkerTimeout(WorkerCrashed):
    """The worker stopped answering and was killed."""


class WorkerRequestError(EngineError):
    """The worker is alive but refused or failed one request (bad arguments, load failure)."""

    def __init__(self, message: str, *, kind: str = "error", details: str = "") -> None:
        super().__init__(message, details=details)
        self.kind = kind


class EngineClosed(EngineError):
    """The engine was closed or unloaded; start a new one."""


class LoadCancelled(EngineError):
    """The user cancelled a model load; the worker is still there and can load again."""


class ContextOverflow(EngineError):
    """The prompt does not fit in the context window the model was loaded with."""

    def __init__(self, message: str, *, needed: int, available: int) -> None:
        super().__init__(message)
        self.needed = needed
        self.available = available


# --- Harmony ---------------------------------------------------------------------------------
class HarmonyError(GptossError):
    """A Harmony conversation could not be rendered or parsed."""


class ChatTemplateError(GptossError):
    """A model's own chat template (untrusted Jinja from the GGUF file) could not be rendered
    safely: it failed, broke a sandbox rule or a size/time limit, or mangled message text."""


# --- library: downloads, model files, tokens ---------------------------------------------------
class LibraryError(GptossError):
    """Model catalog, download, verification or import failed."""


class DownloadError(LibraryError):
    """A download failed; the partial file is kept unless said otherwise."""


class AuthRequired(DownloadError):
    """The repository is gated or private: a Hugging Face token is needed (401/403)."""


class NotFoundOnHub(DownloadError):
    """The repository, revision or file does not exist on the hub (404)."""


class ChecksumMismatch(DownloadError):
    """The downloaded bytes do not match the hub's sha256; the file was quarantined."""


class DiskFull(DownloadError):
    """Not enough free disk space to start or to finish the download."""


class TokenStoreError(LibraryError):
    """The OS keychain could not store or read the Hugging Face token."""


# --- store -------------------------------------------------------------------------------------
class StoreError(GptossError):
    """The conversation database could not be opened, migrated, read or written."""


# --- tools -------------------------------------------------------------------------------------
class ToolError(GptossError):
    """A tool could not run (bad arguments, not configured, sandbox failure)."""


class SandboxUnavailable(ToolError):
    """The OS cannot confine the python tool on this machine, so the tool stays off."""
