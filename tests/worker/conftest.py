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


@pytest.fixture(scope="session")
def standin_small() -> Path:
    """gpt-oss-20B's width and real vocabulary in 2 layers (~2.1 GB, random weights), made by
    bench/standin.py into its git-ignored cache (``bench/.cache`` or $GPTOSS_STANDIN_DIR) once."""
    from bench import standin
    from tests.helpers import SHARED

    if not (SHARED / "reference" / "o200k" / "o200k_base.tiktoken").is_file() and not (
        standin.standin_path(standin.StandinShape(n_layer=2)).is_file()
    ):
        pytest.skip("needs ../shared/reference/o200k/o200k_base.tiktoken for the real tokenizer")
    return standin.ensure_standin(standin.StandinShape(n_layer=2))
