"""Fixtures of the compare tests: tiny real models, written or found."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gptoss_desktop.core.engine import EngineClient, LoadOptions
from tests.core.compare.tinymodels import write_chat_model

CHATML_TEMPLATE_SRC = (
    "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


@pytest.fixture(scope="session")
def chatml_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random llama with ChatML control tokens, a ChatML template and <think> tokens."""
    path = tmp_path_factory.mktemp("models") / "tiny-chatml.gguf"
    return write_chat_model(
        path, chat_template=CHATML_TEMPLATE_SRC, user_defined=("<think>", "</think>")
    )


@pytest.fixture(scope="session")
def bare_chatml_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ChatML tokens but no chat template: the ChatML fallback."""
    path = tmp_path_factory.mktemp("models") / "tiny-chatml-notemplate.gguf"
    return write_chat_model(path, chat_template=None)


@pytest.fixture(scope="module")
def chatml_client(chatml_model: Path) -> Iterator[EngineClient]:
    with EngineClient.start(chatml_model, LoadOptions(n_ctx=512, n_threads=1)) as client:
        yield client
