"""The exact tokens of a turn, for the panel's raw view: what the model was given and wrote.

:class:`RecordingEngine` stands between a :class:`~gptoss_desktop.core.harmony.ChatSession`
and its engine and remembers the prompt token ids of the latest generation. :class:`RawDecoder`
turns token ids into text runs with every control token kept as its own run, so the view can
show ``<|start|>`` the model saw apart from the same characters inside a document. Qt-free.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from gptoss_desktop.core.engine.options import GenerateRequest, GenerationMetrics
from gptoss_desktop.core.harmony.session import GenerationLike, HarmonyEngine
from gptoss_desktop.core.harmony.vocab import HarmonyVocabulary
from gptoss_desktop.ui.tools.trace import RawSpan

CACHE_LIMIT = 65536
BatchListener = Callable[[list[int], list[bytes]], None]


class _Generation:
    def __init__(self, inner: GenerationLike, on_batch: BatchListener | None) -> None:
        self._inner = inner
        self._on_batch = on_batch

    @property
    def result(self) -> GenerationMetrics | None:
        return self._inner.result

    @result.setter
    def result(self, value: GenerationMetrics | None) -> None:
        self._inner.result = value

    def __iter__(self) -> Iterator[Any]:
        for batch in self._inner:
            if self._on_batch is not None:
                self._on_batch(batch.ids, batch.pieces)
            yield batch

    def cancel(self) -> None:
        self._inner.cancel()


class RecordingEngine:
    """An engine that passes everything through and keeps the last prompt's token ids.

    ``on_batch(ids, pieces)`` sees every generated batch; ``setup`` is free for the caller
    (the tool wiring keeps the turn's tools there).
    """

    def __init__(self, engine: HarmonyEngine, *, on_batch: BatchListener | None = None) -> None:
        self.inner = engine
        self.last_prompt: list[int] = []
        self.on_batch = on_batch
        self.setup: Any = None

    @property
    def evaluated_tokens(self) -> list[int]:
        return self.inner.evaluated_tokens

    @evaluated_tokens.setter
    def evaluated_tokens(self, value: list[int]) -> None:
        self.inner.evaluated_tokens = value

    def generate(self, request: GenerateRequest) -> GenerationLike:
        self.last_prompt = list(request.prompt_tokens or [])
        return _Generation(self.inner.generate(request), self.on_batch)

    def tokenize(self, text: str, *, special: bool = False, add_bos: bool = False) -> list[int]:
        return self.inner.tokenize(text, special=special, add_bos=add_bos)

    def token_pieces(self, tokens: list[int]) -> list[bytes]:
        return self.inner.token_pieces(tokens)

    def special_tokens(self) -> dict[str, Any]:
        return self.inner.special_tokens()


class RawDecoder:
    """Token ids to text runs; asks the engine for unknown token bytes in one batch."""

    def __init__(self, vocab: HarmonyVocabulary, engine: HarmonyEngine | None = None) -> None:
        self._vocab = vocab
        self._engine = engine
        self._bytes: dict[int, bytes] = {}

    def remember(self, ids: Iterable[int], pieces: Iterable[bytes]) -> None:
        for token_id, piece in zip(ids, pieces, strict=False):
            self._bytes.setdefault(token_id, bytes(piece))

    def _fetch(self, ids: Sequence[int]) -> None:
        missing = sorted(
            {i for i in ids if i not in self._bytes and self._vocab.special_text(i) is None}
        )
        if not missing:
            return
        if len(self._bytes) + len(missing) > CACHE_LIMIT:
            self._bytes.clear()
        if self._engine is not None and hasattr(self._engine, "token_pieces"):
            self.remember(missing, self._engine.token_pieces(missing))
        else:
            self.remember(missing, (self._vocab.token_bytes(i) for i in missing))

    def spans(self, ids: Sequence[int]) -> list[RawSpan]:
        """``ids`` as text runs; a control token is a run of its own marked ``special``."""
        self._fetch(ids)
        spans: list[RawSpan] = []
        pending = bytearray()

        def flush() -> None:
            if pending:
                spans.append(RawSpan(pending.decode("utf-8", "replace")))
                pending.clear()

        for token_id in ids:
            special = self._vocab.special_text(token_id)
            if special is not None:
                flush()
                spans.append(RawSpan(special, True))
            else:
                pending += self._bytes.get(token_id) or self._vocab.token_bytes(token_id)
        flush()
        return spans


def spans_text(spans: Iterable[RawSpan]) -> str:
    """The runs joined: the exact text, special tokens written out."""
    return "".join(s.text for s in spans)
