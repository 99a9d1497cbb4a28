"""o200k_harmony rebuilt with tiktoken: recognition, the split pattern, exactness on many scripts."""

from __future__ import annotations

import pytest

from gptoss_desktop.core.errors import HarmonyError
from gptoss_desktop.core.harmony import o200k
from gptoss_desktop.core.harmony.vocab import O200K_SPECIAL_IDS, o200k_specials
from tests.core.harmony import reference
from tests.data.modelgen.bpe import BYTE_TO_CHAR
from tests.data.multilingual import CORPUS


@pytest.fixture(scope="module")
def ranked() -> list[bytes]:
    reference.o200k_or_skip()
    return reference.o200k_ranked_bytes()


def token_bytes_of(ranked: list[bytes]):
    by_id = {i: t.encode() for t, i in o200k_specials().items()}
    return lambda i: ranked[i] if i < len(ranked) else by_id[i]


def test_fingerprint_is_o200k_base_file(ranked: list[bytes]) -> None:
    assert o200k.fingerprint(token_bytes_of(ranked)) == o200k.O200K_FINGERPRINT


def test_pattern_is_tiktoken_own(monkeypatch: pytest.MonkeyPatch) -> None:
    from tiktoken_ext import openai_public

    monkeypatch.setattr(openai_public, "load_tiktoken_bpe", lambda *a, **k: {})  # no download
    assert openai_public.o200k_base()["pat_str"] == o200k.O200K_PATTERN


def test_recognise_accepts_o200k_and_names_what_differs(ranked: list[bytes]) -> None:
    good = token_bytes_of(ranked)
    assert o200k.recognise("gpt-4o", 201_088, good) is None
    assert "pre-tokenizer" in (o200k.recognise("llama-bpe", 201_088, good) or "")
    assert "201088" in (o200k.recognise("gpt-4o", 201_089, good) or "")
    start = O200K_SPECIAL_IDS["<|start|>"]
    moved = lambda i: b"<|x|>" if i == start else good(i)  # noqa: E731
    assert "<|start|>" in (o200k.recognise("gpt-4o", 201_088, moved) or "")
    swapped = lambda i: good(i ^ 1) if i < 300 else good(i)  # noqa: E731 (ranks 0/1 swapped...)
    assert "differ" in (o200k.recognise("gpt-4o", 201_088, swapped) or "")


def test_encoding_matches_the_reference_tokenizer_on_every_script(ranked: list[bytes]) -> None:
    """tiktoken over the ranked bytes == openai-harmony's own (Rust) o200k tokenizer."""
    ref = reference.harmony_encoding()
    vocab = reference.tiktoken_vocab()
    assert len(CORPUS) >= 12
    for script, text in CORPUS.items():
        ids = vocab.tokenize_text(text)
        assert ids == ref.encode(text, allowed_special=set(), disallowed_special=()), script
        assert b"".join(vocab.token_bytes(i) for i in ids) == text.encode()
        assert not vocab.control_ids.intersection(ids)
    assert vocab.tokenize_text("मस्त") == [1637, 14681]  # म|स्त, not म|स|्त


def test_gguf_token_strings_decode_to_the_ranked_bytes(ranked: list[bytes]) -> None:
    strings = ["".join(BYTE_TO_CHAR[b] for b in data) for data in ranked]
    assert o200k.gguf_token_bytes(strings) == ranked


def test_build_encoding_refuses_what_is_not_o200k(ranked: list[bytes]) -> None:
    with pytest.raises(HarmonyError, match="199998"):
        o200k.build_encoding(ranked[:-1])
    with pytest.raises(HarmonyError, match="duplicate"):
        o200k.build_encoding([*ranked[:-1], ranked[0]])


def test_gguf_token_strings_outside_gpt2_encoding_are_refused() -> None:
    assert o200k.gguf_token_bytes(["Ġhello", "Ċ", "Ã©"]) == [b" hello", b"\n", "é".encode()]
    for bad in ("a b", "\u4e00"):  # a raw space, a character no byte maps to
        with pytest.raises(HarmonyError, match="GPT-2"):
            o200k.gguf_token_bytes([bad])
