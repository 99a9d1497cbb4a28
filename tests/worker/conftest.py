from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gptoss_desktop.core.engine import EngineClient, LoadOptions
from tests.helpers import shared_model


@pytest.fixture
def stories_path() -> Path:
    return shared_model("stories260K.gguf")


@pytest.fixture
def stories(stories_path: Path) -> Iterator[EngineClient]:
    client = EngineClient.start(stories_path, LoadOptions(n_ctx=2048, n_threads=1, seed=1))
    yield client
    client.close()


@pytest.fixture
def hooked_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Environment for a worker that honours failure-injection requests."""
    import os

    env = dict(os.environ)
    env["GPTOSS_WORKER_TEST_HOOKS"] = "1"
    return env
