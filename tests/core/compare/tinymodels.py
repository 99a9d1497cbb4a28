"""Tiny random-weight chat models for the compare tests, written with the gguf package.

A 1-layer llama with a byte-level BPE vocabulary (256 byte tokens, a few merges) plus the
special tokens a test asks for, and any chat template (including hostile ones). Random
weights: the text is noise, but loading, templates, tokenization and streaming are real.
Writing one takes a few milliseconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import gguf
import numpy as np

TOKEN_NORMAL = 1
TOKEN_CONTROL = 3
TOKEN_USER_DEFINED = 4

CHATML_SPECIALS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
MERGES = (("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("i", "n"), ("Ġ", "a"))


def _bytes_to_unicode() -> dict[int, str]:
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    chars = keep[:]
    extra = 0
    for b in range(256):
        if b not in keep:
            keep.append(b)
            chars.append(256 + extra)
            extra += 1
    return {b: chr(c) for b, c in zip(keep, chars, strict=True)}


def write_chat_model(
    path: Path,
    *,
    chat_template: str | None,
    control: Sequence[str] = CHATML_SPECIALS,
    user_defined: Sequence[str] = (),
    eos: str = "<|endoftext|>",
    seed: int = 0,
    n_embd: int = 32,
    n_ctx_train: int = 512,
) -> Path:
    """Write a tiny llama GGUF; ``eos`` must be one of the ``control`` tokens."""
    byte_chars = _bytes_to_unicode()
    tokens = [byte_chars[b] for b in range(256)] + [a + b for a, b in MERGES]
    types = [TOKEN_NORMAL] * len(tokens)
    tokens += list(control) + list(user_defined)
    types += [TOKEN_CONTROL] * len(control) + [TOKEN_USER_DEFINED] * len(user_defined)
    n_vocab = len(tokens)
    rng = np.random.default_rng(seed)

    def mat(rows: int, cols: int) -> np.ndarray:
        return (rng.standard_normal((rows, cols)) * 0.5).astype(np.float32)

    w = gguf.GGUFWriter(str(path), "llama")
    w.add_name("tiny-chat-random")
    w.add_context_length(n_ctx_train)
    w.add_embedding_length(n_embd)
    w.add_block_count(1)
    w.add_feed_forward_length(2 * n_embd)
    w.add_head_count(2)
    w.add_head_count_kv(2)
    w.add_rope_dimension_count(n_embd // 2)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_vocab_size(n_vocab)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges([f"{a} {b}" for a, b in MERGES])
    w.add_eos_token_id(tokens.index(eos))
    w.add_bos_token_id(tokens.index(eos))
    w.add_add_bos_token(False)
    if chat_template is not None:
        w.add_chat_template(chat_template)
    w.add_tensor("token_embd.weight", mat(n_vocab, n_embd))
    w.add_tensor("output_norm.weight", np.ones(n_embd, dtype=np.float32))
    w.add_tensor("output.weight", mat(n_vocab, n_embd))
    w.add_tensor("blk.0.attn_norm.weight", np.ones(n_embd, dtype=np.float32))
    for name in ("attn_q", "attn_k", "attn_v", "attn_output"):
        w.add_tensor(f"blk.0.{name}.weight", mat(n_embd, n_embd))
    w.add_tensor("blk.0.ffn_norm.weight", np.ones(n_embd, dtype=np.float32))
    w.add_tensor("blk.0.ffn_gate.weight", mat(2 * n_embd, n_embd))
    w.add_tensor("blk.0.ffn_up.weight", mat(2 * n_embd, n_embd))
    w.add_tensor("blk.0.ffn_down.weight", mat(n_embd, 2 * n_embd))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path
