"""Small GGUF files written with the ``gguf`` package, for the library tests.

``write_gptoss_like`` makes a file with gpt-oss-20B's attention shape (24 layers, 8 KV heads
of 64) but tiny tensors, Harmony special tokens and a chat template, so the reader's
numbers can be checked against known values without a 12 GB file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

gguf = __import__("pytest").importorskip("gguf", reason="needs the gguf package (dev extra)")

HARMONY = [
    "<|start|>",
    "<|end|>",
    "<|message|>",
    "<|channel|>",
    "<|return|>",
    "<|call|>",
    "<|constrain|>",
]


def write_gptoss_like(
    path: Path,
    *,
    n_layer: int = 24,
    vocab: list[str] | None = None,
    chat_template: str | None = "{{ messages }}",
    merges: int = 0,
    split: tuple[int, int] | None = None,
    arch: str = "gpt-oss",
) -> Path:
    """A valid GGUF with gpt-oss metadata; tensors are small (F32/F16, 2 per layer + embeddings).

    ``arch`` names the architecture (Ollama writes its gpt-oss files as ``gptoss``)."""
    w = gguf.GGUFWriter(str(path), arch)
    w.add_name("tiny gpt-oss-like")
    w.add_block_count(n_layer)
    w.add_context_length(131072)
    w.add_embedding_length(64)
    w.add_head_count(16)
    w.add_head_count_kv(8)
    w.add_key_length(64)
    w.add_value_length(64)
    w.add_sliding_window(128)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_MXFP4_MOE)
    tokens = vocab if vocab is not None else [f"t{i}" for i in range(200)] + HARMONY
    w.add_tokenizer_model("gpt2")
    w.add_token_list(tokens)
    w.add_token_types([1] * len(tokens))
    if merges:
        w.add_token_merges([f"t{i} t{i + 1}" for i in range(merges)])
    if chat_template is not None:
        w.add_chat_template(chat_template)
    if split is not None:
        w.add_uint16("split.no", split[0])
        w.add_uint16("split.count", split[1])
    w.add_tensor("token_embd.weight", np.ones((len(tokens), 64), dtype=np.float16))
    for i in range(n_layer):
        w.add_tensor(f"blk.{i}.attn_norm.weight", np.ones(64, dtype=np.float32))
        w.add_tensor(f"blk.{i}.attn_q.weight", np.ones((64, 64), dtype=np.float16))
    w.add_tensor("output_norm.weight", np.ones(64, dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def gptoss_like_params(n_layer: int = 24, n_vocab: int = 207) -> int:
    return n_vocab * 64 + n_layer * (64 + 64 * 64) + 64


def write_llama_like(path: Path, *, n_layer: int = 2, n_vocab: int = 32) -> Path:
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_block_count(n_layer)
    w.add_context_length(2048)
    w.add_embedding_length(32)
    w.add_head_count(4)
    w.add_head_count_kv(2)
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    w.add_token_list([f"w{i}" for i in range(n_vocab)])
    w.add_tensor("token_embd.weight", np.ones((n_vocab, 32), dtype=np.float32))
    for i in range(n_layer):
        w.add_tensor(f"blk.{i}.ffn_up.weight", np.ones((32, 32), dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path
