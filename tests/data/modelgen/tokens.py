"""Tokenizing rendered conversations exactly as the app does, with llama.cpp itself.

Special tokens become their ids; every run of text between two special tokens is tokenized on
its own by llama.cpp (`tokenize(run, add_bos=False, special=False)`) from the GGUF vocabulary.
So the ids the model is trained on are the ids it sees at inference.
"""

from __future__ import annotations

import ctypes
from pathlib import Path
from typing import Any

from .harmony_text import Conversation
from .vocab import Vocab


class LlamaTokenizer:
    """llama.cpp's tokenizer of a GGUF file (loaded with vocab_only), with a cache per run."""

    def __init__(self, gguf_path: Path, vocab: Vocab) -> None:
        import llama_cpp  # lazy: only the generator needs it

        self._llama_cpp = llama_cpp
        self._llm: Any = llama_cpp.Llama(str(gguf_path), vocab_only=True, verbose=False)
        self._vocab_ptr = llama_cpp.llama_model_get_vocab(self._llm.model)
        self.vocab = vocab
        self._special_ids = frozenset(
            vocab.special_id(t) for t in vocab.tokens[vocab.special_base :]
        )
        self._cache: dict[str, list[int]] = {}

    def close(self) -> None:
        self._llm.close()

    def text(self, run: str) -> list[int]:
        ids = self._cache.get(run)
        if ids is None:
            ids = list(self._llm.tokenize(run.encode("utf-8"), add_bos=False, special=False))
            bad = [i for i in ids if i in self._special_ids]
            if bad:
                raise ValueError(f"text {run!r} tokenized to special ids {bad}")
            self._cache[run] = ids
        return ids

    def piece(self, token: int) -> bytes:
        """Exact bytes of one token (no 32-byte limit)."""
        size = 64
        while True:
            buf = ctypes.create_string_buffer(size)
            n = self._llama_cpp.llama_token_to_piece(self._vocab_ptr, token, buf, size, 0, True)
            if n >= 0:
                return buf.raw[:n]
            size = -n

    def conversation(self, conv: Conversation) -> tuple[list[int], list[float]]:
        """Token ids of a rendered conversation and the loss weight of each token."""
        ids: list[int] = []
        weights: list[float] = []
        run: list[tuple[str, float]] = []

        def flush() -> None:
            if not run:
                return
            text = "".join(t for t, _ in run)
            toks = self.text(text)
            if len({w for _, w in run}) == 1:
                weights.extend([run[0][1]] * len(toks))
            else:  # a token takes the weight of the piece its first byte comes from
                bounds: list[tuple[int, float]] = []
                end = 0
                for t, w in run:
                    end += len(t.encode("utf-8"))
                    bounds.append((end, w))
                pos = 0
                for tok in toks:
                    weights.append(next(w for e, w in bounds if pos < e))
                    pos += len(self.piece(tok))
            ids.extend(toks)
            run.clear()

        for p in conv.pieces:
            if p.special:
                flush()
                ids.append(self.vocab.special_id(p.text))
                weights.append(p.weight)
            else:
                run.append((p.text, p.weight))
        flush()
        return ids, weights
