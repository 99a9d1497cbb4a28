"""A small gpt-oss-architecture GGUF with gpt-oss's real tokenizer (o200k_harmony, 201,088 tokens).

For tokenizer tests and benches: the body is one random-weight layer (the output is noise), the
vocabulary and merges are exactly what a gpt-oss GGUF holds. Built from o200k_base.tiktoken
(../shared/reference/o200k) and cached by the caller; never committed (about 27 MB).

Merges follow from the ranks: for each multi-byte token of rank r, BPE over its bytes using only
merges of rank < r ends in two parts, which are its merge pair.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

from gptoss_desktop.core.harmony.o200k import N_MERGEABLE, N_VOCAB
from gptoss_desktop.core.harmony.vocab import o200k_specials

from .bpe import BYTE_TO_CHAR
from .gguf_models import GptOssShape, write_gptoss_random
from .vocab import TOKEN_TYPE_CONTROL, TOKEN_TYPE_NORMAL, Vocab

BUILD_VERSION = "1"  # bump when the file's content changes
SHAPE = GptOssShape(n_layer=1, n_embd=32)


def merge_pairs(ranked: Sequence[bytes]) -> list[tuple[bytes, bytes]]:
    """The merge of every multi-byte token, in rank order."""
    rank = {data: r for r, data in enumerate(ranked)}
    merges: list[tuple[bytes, bytes]] = []
    for r, data in enumerate(ranked):
        if len(data) < 2:
            continue
        parts = [data[i : i + 1] for i in range(len(data))]
        while len(parts) > 2:
            best_i, best_rank = -1, r
            for i in range(len(parts) - 1):
                pr = rank.get(parts[i] + parts[i + 1], r)
                if pr < best_rank:
                    best_i, best_rank = i, pr
            if best_i < 0:
                raise ValueError(f"token {r} {data!r} cannot be built from lower ranks")
            parts[best_i : best_i + 2] = [parts[best_i] + parts[best_i + 1]]
        merges.append((parts[0], parts[1]))
    return merges


def o200k_vocab(ranked: Sequence[bytes]) -> Vocab:
    if len(ranked) != N_MERGEABLE:
        raise ValueError(f"expected {N_MERGEABLE} ranked tokens, got {len(ranked)}")

    def text(data: bytes) -> str:
        return "".join(BYTE_TO_CHAR[b] for b in data)

    tokens = [text(data) for data in ranked]
    by_id = {i: t for t, i in o200k_specials().items()}
    tokens += [by_id[i] for i in range(N_MERGEABLE, N_VOCAB)]
    types = [TOKEN_TYPE_NORMAL] * N_MERGEABLE + [TOKEN_TYPE_CONTROL] * (N_VOCAB - N_MERGEABLE)
    merges = [f"{text(a)} {text(b)}" for a, b in merge_pairs(ranked)]
    return Vocab(tokens, types, merges, special_base=N_MERGEABLE)


def o200k_model(cache_dir: Path, ranked: Sequence[bytes]) -> Path:
    """The stand-in GGUF in ``cache_dir`` (built on first use: ~30 s)."""
    key = hashlib.sha256(b"".join(ranked) + BUILD_VERSION.encode()).hexdigest()[:12]
    path = cache_dir / f"o200k-gptoss-1layer-{key}.gguf"
    if path.is_file():
        return path
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")  # parallel test workers may race
    write_gptoss_random(tmp, o200k_vocab(ranked), seed=0, shape=SHAPE)
    tmp.replace(path)
    return path
