"""The local API's key lives in the keychain like the Hugging Face token."""

from __future__ import annotations

from keyring.backends import fail

from gptoss_desktop.core.api.keys import KEY_PREFIX, ApiKeyStore
from tests.keychain import MemoryKeychain


def test_the_key_is_made_once_kept_in_the_keychain_and_renewed() -> None:
    keychain = MemoryKeychain()
    store = ApiKeyStore(keychain)
    key = store.get_or_create()
    assert key.startswith(KEY_PREFIX) and len(key) > 30
    assert store.where == "keychain"
    assert ApiKeyStore(keychain).get_or_create() == key  # the next start finds it
    new = store.renew()
    assert new != key and ApiKeyStore(keychain).get() == new
    store.clear()
    assert ApiKeyStore(keychain).get() is None


def test_without_a_keychain_the_key_lasts_for_the_session_only() -> None:
    store = ApiKeyStore(fail.Keyring())
    key = store.get_or_create()
    assert store.get() == key and store.where == "session"
    assert "no OS keychain" in (store.keychain_problem or "")
    assert ApiKeyStore(fail.Keyring()).get() is None
