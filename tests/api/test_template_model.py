"""Models that are not gpt-oss answer through the same API, with their own chat template
(rendered in compare's sandbox) or as plain story completion."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.conftest import Served, openai, serve, shutdown
from tests.core.compare.conftest import CHATML_TEMPLATE_SRC
from tests.core.compare.tinymodels import write_chat_model
from tests.helpers import shared_model


@pytest.fixture(scope="module")
def chatml(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    path = write_chat_model(
        tmp_path_factory.mktemp("models") / "tiny-chatml.gguf", chat_template=CHATML_TEMPLATE_SRC
    )
    served = serve(path, n_ctx=512)
    yield served
    shutdown(served)


def test_chat_template_model_through_the_api(chatml: Served) -> None:
    client = chatml.client()
    r = client.chat.completions.create(
        model="tiny-chatml",
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "hello"},
            {"role": "assistant", "content": "hi there"},
            {"role": "user", "content": "how are you?"},
        ],
        temperature=0,
        max_tokens=6,
    )
    prompt = chatml.engine.detokenize(chatml.engine.evaluated_tokens)
    assert prompt.startswith(
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhello<|im_end|>\n"
        "<|im_start|>assistant\nhi there<|im_end|>\n<|im_start|>user\nhow are you?<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    assert r.choices[0].finish_reason in ("length", "stop")
    assert r.usage.completion_tokens <= 6 and r.usage.prompt_tokens > 20
    assert "<|im_start|>" not in (r.choices[0].message.content or "")

    stream = client.chat.completions.create(
        model="tiny-chatml",
        messages=[{"role": "user", "content": "hello"}],
        temperature=0,
        max_tokens=6,
        stream=True,
    )
    finish = [
        c.choices[0].finish_reason for c in stream if c.choices and c.choices[0].finish_reason
    ]
    assert len(finish) == 1

    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(
            model="tiny-chatml",
            messages=[{"role": "user", "content": "hello"}],
            tools=[
                {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
            ],
        )
    assert info.value.code == "tools_not_supported"


@pytest.fixture(scope="module")
def stories() -> Iterator[Served]:
    served = serve(shared_model("stories260K.gguf"), n_ctx=256)
    yield served
    shutdown(served)


def test_story_model_writes_its_story_through_both_endpoints(stories: Served) -> None:
    client = stories.client()
    r = client.chat.completions.create(
        model="stories260K",
        messages=[{"role": "user", "content": "Once upon a time"}],
        temperature=0,
        max_tokens=24,
    )
    assert r.choices[0].message.content.startswith(", there was a little girl named Lily")
    assert r.choices[0].finish_reason == "length"
    out = client.responses.create(
        model="stories260K", input="Once upon a time", temperature=0, max_output_tokens=24
    )
    assert out.output_text.startswith(", there was a little girl named Lily")
    assert out.status == "incomplete"
    assert out.incomplete_details.reason == "max_output_tokens"


def test_models_lists_only_what_is_served(stories: Served) -> None:
    assert [m.id for m in stories.client().models.list().data] == ["stories260K"]
    assert Path(stories.host.models()[0].path).name == "stories260K.gguf"


def test_serve_loads_the_installed_model_a_request_names() -> None:
    """In ``serve``, a request for another installed model swaps it in (one at a time)."""
    from gptoss_desktop.api.server import ApiServer, ServerConfig
    from gptoss_desktop.core.api.service import ApiService, EngineHost
    from gptoss_desktop.core.engine import EngineClient, LoadOptions
    from tests.helpers import project_model

    paths = {
        p.stem: p for p in map(project_model, ["tiny-harmony.gguf", "tiny-gptoss-random.gguf"])
    }
    loaded: list[EngineClient] = []

    def load(path: Path) -> EngineClient:
        loaded.append(EngineClient.start(path, LoadOptions(n_ctx=1024, n_threads=1)))
        return loaded[-1]

    host = EngineHost(catalog=lambda: paths, loader=load)
    host.set_loaded("tiny-harmony", paths["tiny-harmony"], load(paths["tiny-harmony"]), owned=True)
    server = ApiServer(ApiService(host), ServerConfig(port=0))
    client = openai.OpenAI(base_url=server.start() + "/v1", api_key="x", max_retries=0)
    try:
        listed = {m.id: m.model_extra["loaded"] for m in client.models.list().data}
        assert listed == {"tiny-harmony": True, "tiny-gptoss-random": False}
        r = client.chat.completions.create(
            model="tiny-gptoss-random", messages=[{"role": "user", "content": "hi"}], max_tokens=3
        )
        assert r.model == "tiny-gptoss-random" and r.usage.completion_tokens <= 3
        assert not loaded[0].alive and loaded[1].alive  # the first model was closed
        listed = {m.id: m.model_extra["loaded"] for m in client.models.list().data}
        assert listed == {"tiny-gptoss-random": True, "tiny-harmony": False}
    finally:
        server.stop()
        host.close()
    assert not loaded[1].alive
