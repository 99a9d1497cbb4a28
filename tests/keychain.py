"""An in-memory keychain for tests (the HF token, the local API's key; works headless).

Its priority raises, so keyring's own backend detection never picks it up in other tests of
the same process (a backend class registers itself when defined, and detection runs in
whichever test first asks for the keychain); it is used only where a test sets or passes it.
Subclasses inherit that.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import keyring
import keyring.core
from jaraco.classes import properties
from keyring.backend import KeyringBackend


class MemoryKeychain(KeyringBackend):
    @properties.classproperty
    def priority(cls) -> float:
        raise RuntimeError("used only when set explicitly")

    def __init__(self) -> None:
        super().__init__()
        self.secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.secrets.pop((service, username), None)


@contextmanager
def memory_keychain() -> Iterator[MemoryKeychain]:
    """Make a MemoryKeychain keyring's backend for the block, then put back what was there
    (without triggering keyring's backend detection)."""
    previous = keyring.core._keyring_backend
    chain = MemoryKeychain()
    keyring.set_keyring(chain)
    try:
        yield chain
    finally:
        keyring.core._keyring_backend = previous
