"""The Hugging Face token: in the OS keychain, or for this session only.

The token goes to the OS keychain through ``keyring``, and nowhere else: never a file, a
log or the database. Backends that would store it in plain text (keyrings.alt's file
backends), the "fail" and "null" backends, and a chainer made only of those are refused.
Keychain calls run in a thread with a timeout, because a locked Secret Service can block
forever; when the keychain is refused, missing, locked or too slow, the token is kept in
this process's memory for this session only, and :attr:`TokenStore.where` says so.
``HF_TOKEN`` from the environment is honoured (read-only) when nothing else is set.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any, Literal, TypeVar

from gptoss_desktop.core.errors import TokenStoreError

SERVICE = "gptoss-desktop"
USERNAME = "huggingface-token"
Where = Literal["keychain", "session", "environment", "none"]
T = TypeVar("T")

_REFUSED_MODULE_PREFIXES = ("keyrings.alt", "keyring.backends.fail", "keyring.backends.null")
_REFUSED_NAMES = ("plaintext", "uncrypted", "unencrypted", "encryptedkeyring")


def backend_refusal(backend: Any) -> str | None:
    """Why ``backend`` may not hold the token, or None when it is a real OS keychain."""
    cls = type(backend)
    module = cls.__module__ or ""
    name = cls.__name__.lower()
    if cls.__name__ == "ChainerBackend" or hasattr(backend, "backends"):
        inner = list(getattr(backend, "backends", []) or [])
        usable = [b for b in inner if backend_refusal(b) is None]
        return None if usable else "no OS keychain among the available keyring backends"
    if module.startswith(_REFUSED_MODULE_PREFIXES):
        if module.startswith("keyring.backends.fail") or module.startswith("keyring.backends.null"):
            return (
                "no OS keychain is available (such as GNOME Keyring, KWallet, the macOS "
                "Keychain or the Windows Credential Manager)"
            )
        return f"keyring backend {module}.{cls.__name__} stores secrets in a file"
    if any(word in name for word in _REFUSED_NAMES):
        return f"keyring backend {cls.__name__} stores secrets in a file"
    return None


class TokenStore:
    """Get, set and clear the Hugging Face token; thread-safe."""

    def __init__(
        self,
        backend: Any | None = None,
        *,
        timeout_s: float = 5.0,
        service: str = SERVICE,
        username: str = USERNAME,
        environ: dict[str, str] | None = None,
    ) -> None:
        self._backend = backend
        self._timeout = timeout_s
        self._service = service
        self._username = username
        self._environ = os.environ if environ is None else environ
        self._lock = threading.Lock()
        self._session: str | None = None
        self._keychain_problem: str | None = None
        self._where: Where | None = None

    # --- public -------------------------------------------------------------------------------

    @property
    def keychain_problem(self) -> str | None:
        """Why the keychain is not used (after the first call), or None."""
        return self._keychain_problem

    @property
    def where(self) -> Where:
        """Where the current token lives."""
        self.get()
        return self._where or "none"

    def get(self) -> str | None:
        with self._lock:
            if self._session:
                self._where = "session"
                return self._session
            token = self._keychain_call(lambda b: b.get_password(self._service, self._username))
            if token:
                self._where = "keychain"
                return str(token)
            env = self._environ.get("HF_TOKEN")
            self._where = "environment" if env else "none"
            return env or None

    def set(self, token: str) -> Where:
        """Store ``token``; returns where it went ("keychain" or "session")."""
        token = token.strip()
        if not token or any(c.isspace() for c in token):
            raise TokenStoreError("that does not look like a Hugging Face token; paste it again")
        with self._lock:
            ok = self._keychain_call(
                lambda b: b.set_password(self._service, self._username, token) or True
            )
            if ok:
                self._session = None
                self._where = "keychain"
            else:
                self._session = token
                self._where = "session"
            return self._where

    def clear(self) -> None:
        with self._lock:
            self._session = None
            self._keychain_call(lambda b: b.delete_password(self._service, self._username) or True)
            self._where = None

    # --- keychain access with a timeout ---------------------------------------------------------

    def _resolve_backend(self) -> Any | None:
        if self._backend is None:
            try:
                import keyring

                self._backend = keyring.get_keyring()
            except Exception as exc:  # keyring raises many kinds at import/config time
                self._keychain_problem = f"keyring is unusable ({type(exc).__name__}: {exc})"
                return None
        problem = backend_refusal(self._backend)
        if problem:
            self._keychain_problem = problem
            return None
        return self._backend

    def _keychain_call(self, fn: Callable[[Any], T]) -> T | None:
        if self._keychain_problem:
            return None
        backend = self._resolve_backend()
        if backend is None:
            return None
        result: list[Any] = []
        error: list[BaseException] = []

        def run() -> None:
            try:
                result.append(fn(backend))
            except BaseException as exc:
                error.append(exc)

        worker = threading.Thread(target=run, name="keychain", daemon=True)
        worker.start()
        worker.join(self._timeout)
        if worker.is_alive():
            self._keychain_problem = (
                f"the keychain did not answer within {self._timeout:g} s (locked?);"
                " the token is kept for this session only"
            )
            return None
        if error:
            exc = error[0]
            if type(exc).__name__ == "PasswordDeleteError":
                return None  # nothing to delete
            self._keychain_problem = f"the keychain refused ({type(exc).__name__}: {exc})"
            return None
        return result[0] if result else None
