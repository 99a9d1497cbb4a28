"""The local API's key: made once, kept in the OS keychain like the Hugging Face token.

Same rules as :mod:`core.library.token_store` (no plain-text keyring backends, calls with a
timeout); when the keychain is unusable the key lives for this session only.
"""

from __future__ import annotations

import secrets
from typing import Any

from gptoss_desktop.core.library.token_store import TokenStore, Where

KEY_USERNAME = "local-api-key"
KEY_PREFIX = "sk-local-"


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(24)


class ApiKeyStore:
    def __init__(self, backend: Any | None = None, *, timeout_s: float = 5.0) -> None:
        self._store = TokenStore(backend, timeout_s=timeout_s, username=KEY_USERNAME, environ={})

    def get(self) -> str | None:
        return self._store.get()

    def get_or_create(self) -> str:
        key = self.get()
        if key:
            return key
        key = new_api_key()
        self._store.set(key)
        return key

    def renew(self) -> str:
        key = new_api_key()
        self._store.set(key)
        return key

    def clear(self) -> None:
        self._store.clear()

    @property
    def where(self) -> Where:
        return self._store.where

    @property
    def keychain_problem(self) -> str | None:
        return self._store.keychain_problem
