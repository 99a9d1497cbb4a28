"""Writing the two tiny models as GGUF files (gguf.GGUFWriter; numpy only, no torch).

Tensor layout: a numpy array of shape (out, in) is the ggml tensor {in, out}, which is what
llama.cpp's loaders ask for ({n_embd, n_embd_q} for attn_q and so on).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gguf
import numpy as np

from .vocab import Vocab, add_tokenizer

LICENSE = "Apache-2.0"


def add_gptoss_hparams(w: gguf.GGUFWriter, s: Any) -> None:
    """gpt-oss's hyperparameter keys from a shape with gpt-oss's field names (the tiny random
    model here, the full-size stand-in of bench/standin.py)."""
    w.add_context_length(s.n_ctx_train)
    w.add_embedding_length(s.n_embd)
    w.add_block_count(s.n_layer)
    w.add_feed_forward_length(s.n_ff_exp)
    w.add_head_count(s.n_head)
    w.add_head_count_kv(s.n_head_kv)
    w.add_key_length(s.head_dim)
    w.add_value_length(s.head_dim)
    w.add_rope_dimension_count(s.head_dim)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_expert_count(s.n_expert)
    w.add_expert_used_count(s.n_expert_used)
    w.add_expert_feed_forward_length(s.n_ff_exp)
    w.add_sliding_window(s.sliding_window)
    w.add_rope_freq_base(s.rope_base)
    w.add_rope_scaling_type(gguf.RopeScalingType.YARN)
    w.add_rope_scaling_factor(s.n_ctx_train / s.yarn_orig_ctx)
    w.add_rope_scaling_orig_ctx_len(s.yarn_orig_ctx)


def _common(w: gguf.GGUFWriter, name: str, description: str, file_type: gguf.LlamaFileType) -> None:
    w.add_name(name)
    w.add_description(description)
    w.add_license(LICENSE)
    w.add_file_type(file_type)


# ---- tiny-gptoss-random ------------------------------------------------------------------


@dataclass(frozen=True)
class GptOssShape:
    n_layer: int = 4
    n_embd: int = 64
    n_head: int = 4
    n_head_kv: int = 2
    head_dim: int = 16
    n_expert: int = 4
    n_expert_used: int = 2
    n_ff_exp: int = 64  # ggml's first dimension of ffn_down_exps: a multiple of 32 for MXFP4
    sliding_window: int = 16
    n_ctx_train: int = 4096
    yarn_orig_ctx: int = 256
    rope_base: float = 150000.0


def write_gptoss_random(
    path: Path, vocab: Vocab, seed: int, shape: GptOssShape = GptOssShape()
) -> None:
    """Random weights in the gpt-oss architecture: MoE with MXFP4 experts, sinks, SWA, YaRN."""
    s = shape
    rng = np.random.default_rng(seed)
    n_vocab = len(vocab.tokens)

    def f32(*dims: int, std: float = 0.02) -> np.ndarray:
        return (rng.standard_normal(dims) * std).astype(np.float32)

    def f16(*dims: int, std: float = 0.02) -> np.ndarray:
        return f32(*dims, std=std).astype(np.float16)

    w = gguf.GGUFWriter(str(path), "gpt-oss")
    _common(
        w,
        "tiny-gptoss-random",
        "Random-weight gpt-oss-architecture test model of gptoss-desktop (not trained: output is noise).",
        gguf.LlamaFileType.MOSTLY_MXFP4_MOE,
    )
    add_gptoss_hparams(w, s)
    add_tokenizer(w, vocab)

    q_dim, kv_dim = s.n_head * s.head_dim, s.n_head_kv * s.head_dim
    w.add_tensor("token_embd.weight", f16(n_vocab, s.n_embd, std=1.0))
    w.add_tensor("output_norm.weight", np.ones(s.n_embd, np.float32))
    w.add_tensor("output.weight", f16(n_vocab, s.n_embd, std=0.1))
    for i in range(s.n_layer):
        p = f"blk.{i}."
        w.add_tensor(p + "attn_norm.weight", np.ones(s.n_embd, np.float32))
        w.add_tensor(p + "post_attention_norm.weight", np.ones(s.n_embd, np.float32))
        w.add_tensor(p + "attn_q.weight", f16(q_dim, s.n_embd, std=0.1))
        w.add_tensor(p + "attn_q.bias", f32(q_dim))
        w.add_tensor(p + "attn_k.weight", f16(kv_dim, s.n_embd, std=0.1))
        w.add_tensor(p + "attn_k.bias", f32(kv_dim))
        w.add_tensor(p + "attn_v.weight", f16(kv_dim, s.n_embd, std=0.1))
        w.add_tensor(p + "attn_v.bias", f32(kv_dim))
        w.add_tensor(p + "attn_output.weight", f16(s.n_embd, q_dim, std=0.1))
        w.add_tensor(p + "attn_output.bias", f32(s.n_embd))
        w.add_tensor(p + "attn_sinks.weight", f32(s.n_head, std=1.0))
        w.add_tensor(p + "ffn_gate_inp.weight", f32(s.n_expert, s.n_embd, std=0.1))
        w.add_tensor(p + "ffn_gate_inp.bias", f32(s.n_expert))
        for name, dims in (
            ("ffn_gate_exps", (s.n_expert, s.n_ff_exp, s.n_embd)),
            ("ffn_up_exps", (s.n_expert, s.n_ff_exp, s.n_embd)),
            ("ffn_down_exps", (s.n_expert, s.n_embd, s.n_ff_exp)),
        ):
            q = gguf.quants.quantize(f32(*dims, std=0.1), gguf.GGMLQuantizationType.MXFP4)
            w.add_tensor(p + name + ".weight", q, raw_dtype=gguf.GGMLQuantizationType.MXFP4)
        w.add_tensor(p + "ffn_gate_exps.bias", f32(s.n_expert, s.n_ff_exp))
        w.add_tensor(p + "ffn_up_exps.bias", f32(s.n_expert, s.n_ff_exp))
        w.add_tensor(p + "ffn_down_exps.bias", f32(s.n_expert, s.n_embd))
    _finish(w)


# ---- tiny-harmony (llama architecture) -----------------------------------------------------


@dataclass(frozen=True)
class LlamaShape:
    n_layer: int = 4
    n_embd: int = 96
    n_head: int = 4
    n_head_kv: int = 4
    n_ff: int = 256
    n_ctx_train: int = 1024
    rope_base: float = 10000.0
    norm_eps: float = 1e-5

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head


def write_llama(
    path: Path, vocab: Vocab, shape: LlamaShape, tensors: dict[str, np.ndarray], description: str
) -> None:
    """Trained weights (numpy, names as in llama.cpp) as a llama-architecture GGUF.

    2-D matrices are stored F16, norms F32. Without output.weight llama.cpp ties the output
    projection to token_embd.
    """
    s = shape
    w = gguf.GGUFWriter(str(path), "llama")
    _common(w, "tiny-harmony", description, gguf.LlamaFileType.MOSTLY_F16)
    w.add_context_length(s.n_ctx_train)
    w.add_embedding_length(s.n_embd)
    w.add_block_count(s.n_layer)
    w.add_feed_forward_length(s.n_ff)
    w.add_head_count(s.n_head)
    w.add_head_count_kv(s.n_head_kv)
    w.add_rope_dimension_count(s.head_dim)
    w.add_rope_freq_base(s.rope_base)
    w.add_layer_norm_rms_eps(s.norm_eps)
    w.add_vocab_size(len(vocab.tokens))
    add_tokenizer(w, vocab)
    for name, arr in tensors.items():
        data = arr.astype(np.float16) if arr.ndim == 2 else arr.astype(np.float32)
        w.add_tensor(name, data)
    _finish(w)


def _finish(w: gguf.GGUFWriter) -> None:
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
