"""The Hugging Face token: OS keychain only, refused plaintext backends, timeouts, session fallback."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from keyring.backends import chainer, fail, null

from gptoss_desktop.core.errors import TokenStoreError
from gptoss_desktop.core.library.token_store import TokenStore, backend_refusal
from tests.keychain import MemoryKeychain

TOKEN = "hf_abcdefghijklmnopqrstuvwxyz0123456789"

# The test keychains below are never picked by keyring's own detection (see tests/keychain.py):
# a locked one chosen there would block whichever test first asked for the keychain.


class LockedKeychain(MemoryKeychain):
    """A locked Secret Service: every call blocks until released."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def get_password(self, service: str, username: str) -> str | None:
        self.release.wait(30)
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        self.release.wait(30)


class PlaintextKeyring(MemoryKeychain):
    __module__ = "keyrings.alt.file"  # what keyrings.alt's file backend reports


def test_real_keychain_stores_and_clears():
    chain = MemoryKeychain()
    store = TokenStore(chain, environ={})
    assert store.get() is None and store.where == "none"
    assert store.set(f"  {TOKEN}\n") == "keychain"
    assert chain.secrets == {("gptoss-desktop", "huggingface-token"): TOKEN}
    assert TokenStore(chain, environ={}).get() == TOKEN  # another session finds it
    store.clear()
    assert store.get() is None and chain.secrets == {}


@pytest.mark.parametrize(
    ("backend", "why"),
    [
        (fail.Keyring(), "no OS keychain is available"),
        (null.Keyring(), "no OS keychain is available"),
        (PlaintextKeyring(), "stores secrets in a file"),
    ],
)
def test_plaintext_and_fail_backends_are_refused(backend, why):
    assert why in (backend_refusal(backend) or "")
    store = TokenStore(backend, environ={})
    assert store.set(TOKEN) == "session"
    assert store.get() == TOKEN and store.where == "session"
    assert why in (store.keychain_problem or "")
    if isinstance(backend, MemoryKeychain):
        assert backend.secrets == {}  # nothing reached the file backend


def test_chainer_of_only_refused_backends_is_refused(monkeypatch):
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [fail.Keyring(), PlaintextKeyring()])
    assert (
        backend_refusal(chainer.ChainerBackend())
        == "no OS keychain among the available keyring backends"
    )
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [PlaintextKeyring(), MemoryKeychain()])
    assert backend_refusal(chainer.ChainerBackend()) is None


def test_a_locked_keychain_times_out_and_the_token_stays_for_the_session():
    locked = LockedKeychain()
    store = TokenStore(locked, timeout_s=0.3, environ={})
    t0 = time.monotonic()
    assert store.set(TOKEN) == "session"
    assert time.monotonic() - t0 < 1.5
    assert "did not answer within 0.3 s" in (store.keychain_problem or "")
    t0 = time.monotonic()
    assert store.get() == TOKEN  # no second wait: the keychain is skipped from now on
    assert time.monotonic() - t0 < 0.1
    locked.release.set()


def test_environment_token_is_a_read_only_fallback():
    store = TokenStore(MemoryKeychain(), environ={"HF_TOKEN": TOKEN})
    assert store.get() == TOKEN and store.where == "environment"


def test_bad_tokens_are_refused():
    with pytest.raises(TokenStoreError, match="does not look like a Hugging Face token"):
        TokenStore(MemoryKeychain()).set("two words")


def test_the_token_is_never_written_to_a_file(tmp_path: Path, monkeypatch, gptoss_home):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    for backend in (fail.Keyring(), MemoryKeychain()):
        store = TokenStore(backend, environ={})
        store.set(TOKEN)
        assert store.get() == TOKEN
    written = [p for p in tmp_path.rglob("*") if p.is_file() and TOKEN.encode() in p.read_bytes()]
    assert written == []


def test_keyrings_own_detection_never_picks_a_test_keychain():
    """Test keychains register themselves with keyring when defined; detection (which runs in
    whichever test first asks for the keychain, in any order under pytest-xdist) must not
    choose them, or a locked one blocks that test."""
    import os
    import subprocess
    import sys

    from tests.helpers import ROOT

    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON_KEYRING")}
    code = (
        "import tests.core.library.test_token_store, tests.test_selftest, tests.keychain\n"
        "import keyring\n"
        "chosen = keyring.get_keyring()\n"
        "parts = getattr(chosen, 'backends', [chosen])\n"
        "print(' '.join(type(b).__module__ for b in [chosen, *parts]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    modules = out.stdout.split()
    assert modules and not [m for m in modules if m.startswith("tests")], modules
