"""The shared tokenizer of both tiny models: byte-level BPE plus the Harmony special tokens.

Layout of the ids:
  0 .. 255            the 256 byte tokens, in byte order (GPT-2 byte-to-unicode text)
  256 .. 256+M-1      one token per learned or forced merge, in merge order
  256+M ..            16 special tokens, CONTROL type, in the order of o200k_harmony's ids
                      199998 .. 200013 (so `special_base + (o200k_id - 199998)` is the id here)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .bpe import BYTE_TO_CHAR

if TYPE_CHECKING:
    from gguf import GGUFWriter

# o200k_harmony ids 199998..200013, in order.
SPECIAL_TOKENS: tuple[str, ...] = (
    "<|startoftext|>",
    "<|endoftext|>",
    "<|reserved_200000|>",
    "<|reserved_200001|>",
    "<|return|>",
    "<|constrain|>",
    "<|reserved_200004|>",
    "<|channel|>",
    "<|start|>",
    "<|end|>",
    "<|message|>",
    "<|reserved_200009|>",
    "<|reserved_200010|>",
    "<|reserved_200011|>",
    "<|call|>",
    "<|reserved_200013|>",
)

TOKEN_TYPE_NORMAL = 1
TOKEN_TYPE_CONTROL = 3

LONG_TOKEN_CHAR = "="
LONG_TOKEN_LENGTH = 48


@dataclass(frozen=True)
class Vocab:
    tokens: list[str]
    token_types: list[int]
    merges: list[str]
    special_base: int

    def special_id(self, text: str) -> int:
        return self.special_base + SPECIAL_TOKENS.index(text)

    @property
    def bos(self) -> int:
        return self.special_id("<|startoftext|>")

    @property
    def eos(self) -> int:
        return self.special_id("<|return|>")

    @property
    def pad(self) -> int:
        return self.special_id("<|endoftext|>")

    @property
    def long_token_id(self) -> int:
        return self.tokens.index(BYTE_TO_CHAR[ord(LONG_TOKEN_CHAR)] * LONG_TOKEN_LENGTH)


def build_vocab(merges: list[tuple[str, str]]) -> Vocab:
    tokens = [BYTE_TO_CHAR[b] for b in range(256)]
    seen = set(tokens)
    for a, b in merges:
        merged = a + b
        if merged in seen:
            raise ValueError(f"merge {a!r} + {b!r} gives an existing token")
        seen.add(merged)
        tokens.append(merged)
    types = [TOKEN_TYPE_NORMAL] * len(tokens)
    special_base = len(tokens)
    tokens += list(SPECIAL_TOKENS)
    types += [TOKEN_TYPE_CONTROL] * len(SPECIAL_TOKENS)
    return Vocab(tokens, types, [f"{a} {b}" for a, b in merges], special_base)


def add_tokenizer(w: GGUFWriter, vocab: Vocab) -> None:
    """Write the tokenizer keys. EOS is <|return|>; llama.cpp itself adds <|call|> and
    <|endoftext|> to the end-of-generation set by their text (see the README)."""
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("gpt-4o")
    w.add_token_list(vocab.tokens)
    w.add_token_types(vocab.token_types)
    w.add_token_merges(vocab.merges)
    w.add_bos_token_id(vocab.bos)
    w.add_eos_token_id(vocab.eos)
    w.add_pad_token_id(vocab.pad)
    w.add_add_bos_token(False)
