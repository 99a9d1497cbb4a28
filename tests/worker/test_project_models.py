"""The project's own tiny models through the real worker: gpt-oss code path, exact decoding."""

from __future__ import annotations

import pytest

from gptoss_desktop.core.engine import EngineClient, GenerateRequest, LoadOptions, SamplingOptions
from tests.helpers import project_model

LONG_TOKEN = b"=" * 48  # a NORMAL token of the shared test vocabulary, longer than 32 bytes


@pytest.fixture(scope="module")
def gptoss() -> EngineClient:
    client = EngineClient.start(
        project_model("tiny-gptoss-random.gguf"), LoadOptions(n_ctx=512, n_threads=1, seed=2)
    )
    yield client
    client.close()


def _long_token_id(client: EngineClient) -> int:
    ids = client.tokenize(LONG_TOKEN.decode())
    assert len(ids) == 1, ids
    return ids[0]


def test_gpt_oss_architecture_loads_and_generates(gptoss: EngineClient) -> None:
    info = gptoss.info
    assert info is not None and info.architecture == "gpt-oss"
    gen = gptoss.generate(
        GenerateRequest(
            prompt_text="What is the capital of France?",
            max_tokens=24,
            stop_tokens=[],
            sampling=SamplingOptions(temperature=0.0),
        )
    )
    m = gen.wait()
    assert m.completion_tokens == 24 and len(gen.tokens) == 24
    assert all(0 <= t < info.n_vocab for t in gen.tokens)
    # greedy decoding of a fixed model is deterministic
    again = gptoss.generate(
        GenerateRequest(
            prompt_text="What is the capital of France?",
            max_tokens=24,
            stop_tokens=[],
            sampling=SamplingOptions(temperature=0.0),
        )
    )
    again.wait()
    assert again.tokens == gen.tokens


def test_harmony_specials_are_in_the_vocabulary(gptoss: EngineClient) -> None:
    by_text = gptoss.special_tokens()["by_text"]
    for name in (
        "<|start|>",
        "<|end|>",
        "<|message|>",
        "<|channel|>",
        "<|constrain|>",
        "<|return|>",
        "<|call|>",
    ):
        assert name in by_text


def test_token_longer_than_32_bytes_decodes_intact(gptoss: EngineClient) -> None:
    tok = _long_token_id(gptoss)
    assert gptoss.token_pieces([tok]) == [LONG_TOKEN]
    # and streamed: force it three times with a logit bias
    gen = gptoss.generate(
        GenerateRequest(
            prompt_text="x",
            max_tokens=3,
            stop_tokens=[],
            sampling=SamplingOptions(temperature=0.0, logit_bias={tok: 100.0}),
        )
    )
    batches = list(gen)
    assert gen.tokens == [tok] * 3
    assert [p for b in batches for p in b.pieces] == [LONG_TOKEN] * 3
    assert gen.text == LONG_TOKEN.decode() * 3


def test_multibyte_character_split_across_tokens_streams_intact(gptoss: EngineClient) -> None:
    deg = gptoss.tokenize("°")
    assert len(deg) == 2  # '°' is two byte tokens in this vocabulary
    first, second = deg
    # Force the two halves in turn: step one picks the first byte, step two the second.
    prompt = gptoss.tokenize("It is 17")
    gen1 = gptoss.generate(
        GenerateRequest(
            prompt_tokens=prompt,
            max_tokens=1,
            stop_tokens=[],
            sampling=SamplingOptions(temperature=0.0, logit_bias={first: 100.0}),
        )
    )
    gen1.wait()
    assert gen1.tokens == [first] and gen1.text == "\ufffd"  # alone, half a character
    # Both halves biased; the repeat penalty (applied after the bias) halves the first byte's
    # logit once it has been generated, so greedy decoding takes the second byte next.
    both = gptoss.generate(
        GenerateRequest(
            prompt_tokens=prompt,
            max_tokens=2,
            stop_tokens=[],
            sampling=SamplingOptions(
                temperature=0.0, repeat_penalty=2.0, logit_bias={first: 100.0, second: 99.0}
            ),
        )
    )
    batches = list(both)
    assert both.tokens == [first, second]
    assert both.text == "°"
    assert [p for b in batches for p in b.pieces] == [b"\xc2", b"\xb0"]
    assert "\ufffd" not in "".join(b.text for b in batches)
