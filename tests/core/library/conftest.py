"""Fixtures of the library tests: a loopback hub, a models folder, quick download settings."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from gptoss_desktop.core.library import DownloadSettings, Hub, InstalledModels
from tests.core.library.ggufgen import write_gptoss_like
from tests.core.library.hubserver import HubServer, Repo

REPO = "test-org/tiny-GGUF"
FILE = "tiny-gptoss.gguf"


@pytest.fixture
def hub_online(monkeypatch: pytest.MonkeyPatch) -> None:
    """The suite runs with HF_HUB_OFFLINE=1; tests against the loopback hub lift it."""
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)


@pytest.fixture(scope="session")
def model_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A real (small) GGUF file, padded with a random blob so downloads take several reads."""
    path = write_gptoss_like(tmp_path_factory.mktemp("gguf") / FILE)
    return path.read_bytes() + os.urandom(2 * 1024 * 1024)


@pytest.fixture
def hub_server(model_bytes: bytes, hub_online: None) -> Iterator[HubServer]:
    repos = {
        REPO: Repo({FILE: model_bytes, "README.md": b"# tiny\n"}),
        "test-org/gated-GGUF": Repo({FILE: model_bytes}, gated=True),
        "test-org/sharded-GGUF": Repo(
            {
                "big-00001-of-00003.gguf": model_bytes[:1_000_000],
                "big-00002-of-00003.gguf": model_bytes[1_000_000:2_000_000],
                "big-00003-of-00003.gguf": model_bytes[2_000_000:],
            }
        ),
    }
    with HubServer(repos) as server:
        yield server


@pytest.fixture
def hub(hub_server: HubServer) -> Hub:
    return Hub(hub_server.endpoint, retries=2, backoff_s=0.01)


@pytest.fixture
def library(tmp_path: Path) -> InstalledModels:
    return InstalledModels(tmp_path / "models")


@pytest.fixture
def quick() -> DownloadSettings:
    """Short timeouts and backoff so fault tests finish in a second or two."""
    return DownloadSettings(
        stall_timeout_s=0.5,
        connect_timeout_s=2.0,
        max_retries=3,
        backoff_base_s=0.01,
        backoff_max_s=0.05,
        disk_margin_bytes=0,
        progress_interval_s=0.05,
    )
