"""Shared fixtures. Tests need no network, no GPU and no display."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

from tests.helpers import HARMONY_KIT, PROJECT_MODELS, ROOT, SHARED, SHARED_MODELS  # noqa: F401


@pytest.fixture
def gptoss_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every folder the app writes goes under a temporary GPTOSS_HOME."""
    home = tmp_path / "home"
    monkeypatch.setenv("GPTOSS_HOME", str(home))
    return home


@pytest.fixture(autouse=True)
def _restore_umask():
    """``cli.main()`` sets umask 077 for its process (private files, issue #17); tests that
    call it in-process must not leave that to the tests after them (installer builds...)."""
    old = os.umask(0o022)
    os.umask(old)
    yield
    os.umask(old)
