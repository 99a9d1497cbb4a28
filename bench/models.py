"""Random-weight llama-architecture GGUF models for benchmarks (made once, cached).

Weights are random, so the text is nonsense; what matters is that llama.cpp does the same
amount of work as for a trained model of that shape.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.common import CACHE


def _byte_vocab(n_vocab: int) -> tuple[list[str], list[int]]:
    # GPT-2 style byte-level tokens, then filler tokens so the output layer has realistic size
    bs = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    tokens = [chr(c) for c in cs] + ["<s>", "</s>", "he", "\u0120t"]
    types = [1] * 256 + [3, 3, 1, 1]
    tokens += [f"<filler_{i}>" for i in range(n_vocab - len(tokens))]
    types += [1] * (n_vocab - len(types))
    return tokens, types


HARMONY_SPECIALS = (
    "<|startoftext|>", "<|endoftext|>", "<|reserved_200000|>", "<|reserved_200001|>",
    "<|return|>", "<|constrain|>", "<|reserved_200004|>", "<|channel|>", "<|start|>", "<|end|>",
    "<|message|>", "<|reserved_200009|>", "<|reserved_200010|>", "<|reserved_200011|>",
    "<|call|>", "<|reserved_200013|>",
)  # fmt: skip


def random_llama(
    name: str,
    *,
    n_layer: int,
    n_embd: int,
    n_ff: int,
    n_head: int,
    n_vocab: int,
    seed: int = 0,
    specials: tuple[str, ...] = (),
) -> Path:
    """``specials``: control tokens put at the end of the vocabulary (Harmony's make the
    model a Harmony model to the app)."""
    import gguf

    path = CACHE / f"{name}.gguf"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    tmp = path.with_suffix(".tmp")
    w = gguf.GGUFWriter(str(tmp), "llama")
    w.add_name(name)
    w.add_context_length(2048)
    w.add_embedding_length(n_embd)
    w.add_block_count(n_layer)
    w.add_feed_forward_length(n_ff)
    w.add_head_count(n_head)
    w.add_head_count_kv(n_head)
    w.add_rope_dimension_count(n_embd // n_head)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    tokens, types = _byte_vocab(n_vocab - len(specials))
    tokens += list(specials)
    types += [3] * len(specials)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(["h e", "\u0120 t"])
    w.add_bos_token_id(256)
    w.add_eos_token_id(257)
    w.add_add_bos_token(True)

    def t(shape: tuple[int, ...], dtype: type = np.float16) -> np.ndarray:
        return (rng.standard_normal(shape, dtype=np.float32) * 0.02).astype(dtype)

    w.add_tensor("token_embd.weight", t((n_vocab, n_embd)))
    w.add_tensor("output_norm.weight", np.ones(n_embd, dtype=np.float32))
    w.add_tensor("output.weight", t((n_vocab, n_embd)))
    for i in range(n_layer):
        p = f"blk.{i}."
        w.add_tensor(p + "attn_norm.weight", np.ones(n_embd, dtype=np.float32))
        w.add_tensor(p + "ffn_norm.weight", np.ones(n_embd, dtype=np.float32))
        for k in ("attn_q", "attn_k", "attn_v", "attn_output"):
            w.add_tensor(p + k + ".weight", t((n_embd, n_embd)))
        w.add_tensor(p + "ffn_gate.weight", t((n_ff, n_embd)))
        w.add_tensor(p + "ffn_up.weight", t((n_ff, n_embd)))
        w.add_tensor(p + "ffn_down.weight", t((n_embd, n_ff)))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    tmp.rename(path)
    return path


def model_100m() -> Path:
    """About 110M parameters: 12 layers, width 768, vocabulary 32000 (F16, ~220 MB)."""
    return random_llama(
        "random-llama-110m", n_layer=12, n_embd=768, n_ff=2048, n_head=12, n_vocab=32000
    )


def harmony_100m() -> Path:
    """The same shape with the Harmony control tokens: the app talks Harmony to it."""
    return random_llama(
        "random-harmony-110m",
        n_layer=12,
        n_embd=768,
        n_ff=2048,
        n_head=12,
        n_vocab=32000,
        specials=HARMONY_SPECIALS,
    )
