"""Vocabularies for token-level Harmony: control tokens by id, text as plain text.

A :class:`HarmonyVocabulary` knows the ids of the Harmony control tokens, tokenizes text as
plain text (never producing a control id) and gives the exact bytes of a token. Two exist:

* :class:`ByteVocabulary`: pure Python, each byte one token, the Harmony specials at their
  o200k ids. Real enough to test the renderer and the parser without a model.
* :class:`EngineVocabulary`: the loaded model's own vocabulary, through an ``EngineClient``
  (see docs/ENGINE_API.md), with its special-token lookups and tokenizations cached.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Protocol, runtime_checkable

from gptoss_desktop.core.errors import HarmonyError

START = "<|start|>"
END = "<|end|>"
MESSAGE = "<|message|>"
CHANNEL = "<|channel|>"
CONSTRAIN = "<|constrain|>"
RETURN = "<|return|>"
CALL = "<|call|>"
STARTOFTEXT = "<|startoftext|>"
ENDOFTEXT = "<|endoftext|>"

#: The control tokens a Harmony renderer and parser need.
HARMONY_CONTROLS = (START, END, MESSAGE, CHANNEL, CONSTRAIN, RETURN, CALL)
#: A message's content ends at one of these.
MESSAGE_STOPS = (END, CALL, RETURN)

#: The o200k_harmony ids of the named special tokens (the gpt-oss GGUF uses the same).
O200K_SPECIAL_IDS: Mapping[str, int] = {
    STARTOFTEXT: 199998,
    ENDOFTEXT: 199999,
    RETURN: 200002,
    CONSTRAIN: 200003,
    CHANNEL: 200005,
    START: 200006,
    END: 200007,
    MESSAGE: 200008,
    CALL: 200012,
}
O200K_RESERVED = range(200000, 201088)  # every id here not named above is <|reserved_N|>


@runtime_checkable
class HarmonyVocabulary(Protocol):
    """What the renderer and the parser need from a tokenizer."""

    @property
    def control_ids(self) -> frozenset[int]:
        """Ids that must never appear inside a content span (every special/control token)."""
        ...

    def special_id(self, text: str) -> int:
        """The id of a special token by its text; HarmonyError if the model lacks it."""
        ...

    def special_text(self, token_id: int) -> str | None:
        """The text of a special token, or None for an ordinary token."""
        ...

    def tokenize_text(self, text: str) -> list[int]:
        """``text`` as plain text: no control id ever comes out, whatever the text says."""
        ...

    def token_bytes(self, token_id: int) -> bytes:
        """The exact bytes of an ordinary token (special tokens: their text)."""
        ...


class _SpecialsMixin:
    """Special-token lookups over a ``text -> id`` table."""

    _by_text: dict[str, int]
    _by_id: dict[int, str]
    _control: frozenset[int]

    def _init_specials(self, by_text: Mapping[str, int], control: Iterable[int] = ()) -> None:
        self._by_text = dict(by_text)
        self._by_id = {i: t for t, i in self._by_text.items()}
        self._control = frozenset(control) | frozenset(self._by_id)

    @property
    def control_ids(self) -> frozenset[int]:
        return self._control

    def special_id(self, text: str) -> int:
        try:
            return self._by_text[text]
        except KeyError:
            raise HarmonyError(
                f"the model's vocabulary has no {text} token; load a gpt-oss (Harmony) model"
            ) from None

    def special_text(self, token_id: int) -> str | None:
        return self._by_id.get(token_id)

    def has_special(self, text: str) -> bool:
        return text in self._by_text

    @property
    def special_texts(self) -> tuple[str, ...]:
        return tuple(self._by_text)


def o200k_specials() -> dict[str, int]:
    """Every special token of o200k_harmony by text, reserved ones included."""
    table = {f"<|reserved_{i}|>": i for i in O200K_RESERVED}
    for text, token_id in O200K_SPECIAL_IDS.items():
        table.pop(f"<|reserved_{token_id}|>", None)
        table[text] = token_id
    return table


class ByteVocabulary(_SpecialsMixin):
    """Each byte is one token (ids 0-255); special tokens sit at their o200k ids."""

    def __init__(self, specials: Mapping[str, int] | None = None) -> None:
        self._init_specials(o200k_specials() if specials is None else specials)
        texts = sorted(self._by_text, key=len, reverse=True)
        self._special_re = re.compile("|".join(re.escape(t) for t in texts))

    def tokenize_text(self, text: str) -> list[int]:
        return list(text.encode("utf-8"))

    def token_bytes(self, token_id: int) -> bytes:
        if 0 <= token_id < 256:
            return bytes((token_id,))
        special = self._by_id.get(token_id)
        if special is None:
            raise HarmonyError(f"token id {token_id} is not in the byte vocabulary")
        return special.encode("utf-8")

    def encode_with_specials(self, text: str) -> list[int]:
        """Tokenize with every special-token text recognised (for parsing written-out text)."""
        ids: list[int] = []
        pos = 0
        for match in self._special_re.finditer(text):
            ids += self.tokenize_text(text[pos : match.start()])
            ids.append(self._by_text[match.group()])
            pos = match.end()
        ids += self.tokenize_text(text[pos:])
        return ids


class EngineVocabulary(_SpecialsMixin):
    """The vocabulary of the model an ``EngineClient`` has loaded.

    Text is tokenized with special-token parsing off, and more: llama.cpp still matches
    USER_DEFINED tokens (gpt-oss GGUFs mark ``<|start|>`` and friends so) in plain text, so
    every special-token literal is cut before it reaches the tokenizer, and the result is
    checked. A worker that tokenizes with tiktoken (o200k_harmony models, ``text_tokenizer``
    in its special-token table) encodes text as text, literals included, exactly as the
    reference renderer does: no cut is made there (cutting would change the ids), the check
    stays. Results are cached (text -> ids, id -> bytes); the cache is bounded.
    """

    CACHE_LIMIT = 8192

    def __init__(self, client: Any) -> None:
        self._client = client
        specials = client.special_tokens()
        self._init_specials(specials.get("by_text") or {}, specials.get("control") or [])
        self.exact_text = specials.get("text_tokenizer") == "tiktoken"
        self._literals = [] if self.exact_text else sorted(self._by_text, key=len, reverse=True)
        self._text_cache: dict[str, tuple[int, ...]] = {}
        self._bytes_cache: dict[int, bytes] = {}

    def tokenize_text(self, text: str) -> list[int]:
        cached = self._text_cache.get(text)
        if cached is not None:
            return list(cached)
        ids: list[int] = []
        for piece in split_special_literals(text, self._literals):
            ids += self._tokenize_piece(piece)
        if len(self._text_cache) >= self.CACHE_LIMIT:
            self._text_cache.pop(next(iter(self._text_cache)))
        self._text_cache[text] = tuple(ids)
        return ids

    def _tokenize_piece(self, piece: str) -> list[int]:
        ids = list(self._client.tokenize(piece, special=False, add_bos=False))
        if not self._control.intersection(ids):
            return ids
        # The tokenizer still found a special token: fall back to one character at a time,
        # which no multi-character special-token text can match.
        ids = []
        for char in piece:
            ids += self._client.tokenize(char, special=False, add_bos=False)
        leaked = self._control.intersection(ids)
        if leaked:
            raise HarmonyError(
                f"text cannot be tokenized without control token ids {sorted(leaked)}; "
                "the model's vocabulary is unusable for Harmony"
            )
        return ids

    def token_bytes(self, token_id: int) -> bytes:
        cached = self._bytes_cache.get(token_id)
        if cached is None:
            special = self._by_id.get(token_id)
            if special is not None:
                cached = special.encode("utf-8")
            else:
                cached = bytes(self._client.token_pieces([token_id])[0])
            self._bytes_cache[token_id] = cached
        return cached

    def remember_pieces(self, ids: Iterable[int], pieces: Iterable[bytes]) -> None:
        """Cache token bytes that arrived with a generation (saves a round trip later)."""
        for token_id, piece in zip(ids, pieces, strict=False):
            self._bytes_cache.setdefault(token_id, bytes(piece))


def split_special_literals(text: str, literals: Iterable[str]) -> list[str]:
    """Cut ``text`` inside every occurrence of a special-token literal.

    Each occurrence is cut after its first character, so no piece contains a literal whole
    (``"a<|start|>b"`` becomes ``["a<", "|start|>b"]``). Text without literals is one piece.
    """
    cuts: set[int] = set()
    for literal in literals:
        if len(literal) < 2 or literal[:2] not in text:
            continue
        pos = text.find(literal)
        while pos >= 0:
            cuts.add(pos + 1)
            pos = text.find(literal, pos + 1)
    if not cuts:
        return [text] if text else []
    pieces: list[str] = []
    prev = 0
    for cut in sorted(cuts):
        pieces.append(text[prev:cut])
        prev = cut
    pieces.append(text[prev:])
    return [p for p in pieces if p]
