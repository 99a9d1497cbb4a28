"""gpt-oss's own tokenizer, o200k_harmony, rebuilt exactly with tiktoken from a model's tokens.

llama.cpp's ``gpt-4o`` pre-tokenizer splits words with combining marks (Hindi, Bengali, Tamil,
Thai, vowel-marked Arabic...) differently from OpenAI's: ``मस्त`` becomes ``म|स|्त`` instead of
``म|स्त``, so gpt-oss would see token sequences it never saw in training (Hindi text takes up to
~1.8x the tokens). For a model whose vocabulary *is* o200k_harmony (token id == BPE rank), the
exact tokenizer is tiktoken's BPE over the model's own token bytes with o200k's split pattern.

:func:`recognise` decides from what any GGUF reader can give: the pre-tokenizer name, the
vocabulary size, the named Harmony specials at their ids and a fingerprint of a sample of token
bytes. :func:`build_encoding` makes the ``tiktoken.Encoding`` directly (no plugin lookup, no
download). :class:`TiktokenVocabulary` is a :class:`HarmonyVocabulary` over such an encoding.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence

import tiktoken

from gptoss_desktop.core.errors import HarmonyError
from gptoss_desktop.core.harmony.vocab import O200K_SPECIAL_IDS, _SpecialsMixin, o200k_specials

#: o200k_base's split pattern, as tiktoken defines it (o200k_harmony uses the same).
O200K_PATTERN = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)

N_MERGEABLE = 199_998  # ranks 0..199997 are byte sequences; 199998.. are special tokens
N_VOCAB = 201_088
PRE_TOKENIZER = "gpt-4o"  # tokenizer.ggml.pre of gpt-oss GGUFs

#: Token ids whose bytes make the fingerprint: every 97th rank, which covers the byte tokens,
#: common English, code, and the multilingual tail of the vocabulary.
FINGERPRINT_IDS = range(0, N_MERGEABLE, 97)
#: sha256 of the sample's bytes in o200k_base.tiktoken (tests recompute it from the file).
O200K_FINGERPRINT = "35607ea0813b9f430bb8a2b319263bbe64ad99a7d4a8ffe41ea030855dd65506"


def fingerprint(token_bytes: Callable[[int], bytes]) -> str:
    """sha256 over the length-prefixed bytes of the :data:`FINGERPRINT_IDS` tokens."""
    h = hashlib.sha256()
    for token_id in FINGERPRINT_IDS:
        data = token_bytes(token_id)
        h.update(len(data).to_bytes(2, "little"))
        h.update(data)
    return h.hexdigest()


def recognise(
    pre_tokenizer: str | None, n_vocab: int, token_bytes: Callable[[int], bytes]
) -> str | None:
    """Why the vocabulary is *not* o200k_harmony, or None when it is.

    ``token_bytes(id)``: the exact bytes of a token, special tokens written out as their text.
    """
    if pre_tokenizer != PRE_TOKENIZER:
        return f"pre-tokenizer is {pre_tokenizer!r}, not {PRE_TOKENIZER!r}"
    if n_vocab != N_VOCAB:
        return f"{n_vocab} tokens, not {N_VOCAB}"
    for text, token_id in O200K_SPECIAL_IDS.items():
        if token_bytes(token_id) != text.encode("utf-8"):
            return f"token {token_id} is not {text}"
    if fingerprint(token_bytes) != O200K_FINGERPRINT:
        return "token bytes differ from o200k_harmony's ranks"
    return None


def build_encoding(
    ranked_bytes: Sequence[bytes], specials: Mapping[str, int] | None = None
) -> tiktoken.Encoding:
    """The exact encoding: ``ranked_bytes[i]`` is the token of rank (= id) i.

    ``specials``: text -> id of the special tokens (default: o200k_harmony's 1,090).
    """
    if len(ranked_bytes) != N_MERGEABLE:
        raise HarmonyError(f"o200k needs {N_MERGEABLE} ranked tokens, got {len(ranked_bytes)}")
    ranks = {data: rank for rank, data in enumerate(ranked_bytes)}
    if len(ranks) != N_MERGEABLE:
        raise HarmonyError("the vocabulary has duplicate token bytes; it is not o200k")
    return tiktoken.Encoding(
        name="o200k_harmony",
        pat_str=O200K_PATTERN,
        mergeable_ranks=ranks,
        special_tokens=dict(o200k_specials() if specials is None else specials),
        explicit_n_vocab=N_VOCAB,
    )


class TiktokenVocabulary(_SpecialsMixin):
    """A :class:`~.vocab.HarmonyVocabulary` over an o200k_harmony ``tiktoken.Encoding``.

    Text is encoded as ordinary text (``encode_ordinary``: special-token literals stay text),
    as the reference library does, so no literal needs cutting.
    """

    def __init__(self, encoding: tiktoken.Encoding, specials: Mapping[str, int] | None = None):
        self.encoding = encoding
        self._init_specials(o200k_specials() if specials is None else specials)

    def tokenize_text(self, text: str) -> list[int]:
        return self.encoding.encode_ordinary(text)

    def token_bytes(self, token_id: int) -> bytes:
        special = self._by_id.get(token_id)
        if special is not None:
            return special.encode("utf-8")
        return self.encoding.decode_single_token_bytes(token_id)


def _gpt2_chars() -> dict[int, int]:
    """GPT-2's byte -> printable character mapping (how GGUF files write BPE token bytes)."""
    bs = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1)]
    bs += range(ord("®"), ord("ÿ") + 1)
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, cs, strict=True))


def gpt2_byte_chars() -> dict[int, str]:
    """GPT-2's byte -> printable character mapping as characters (how a GGUF writer spells a
    token's bytes)."""
    return {b: chr(c) for b, c in _gpt2_chars().items()}


def _decode_table() -> dict[int, int]:
    """``str.translate`` table: a GPT-2 character -> the code point of its byte; a character
    that no byte maps to (a raw space, say) -> U+FFFF, which Latin-1 cannot encode."""
    table = {c: b for b, c in _gpt2_chars().items()}
    for c in range(256):
        table.setdefault(c, 0xFFFF)
    return table


_DECODE = _decode_table()


def gguf_token_bytes(tokens: Sequence[str]) -> list[bytes]:
    """The bytes of GGUF ``tokenizer.ggml.tokens`` strings (GPT-2 byte-to-unicode).

    HarmonyError if a string is not in that encoding.
    """
    try:
        return [token.translate(_DECODE).encode("latin-1") for token in tokens]
    except UnicodeEncodeError as exc:
        raise HarmonyError(f"a token is not in GPT-2's byte encoding: {exc.object!r}") from None
