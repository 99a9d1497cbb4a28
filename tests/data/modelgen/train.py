"""Training the tiny-harmony model with torch on the CPU (imported only to regenerate).

The model is exactly llama.cpp's `llama` graph: RMSNorm, RoPE in llama.cpp's NORM layout
(adjacent pairs rotated, so no q/k permutation is needed on export), causal softmax attention
scaled by 1/sqrt(head_dim), SwiGLU, final RMSNorm, output tied to the token embedding.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .gguf_models import LlamaShape


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_tables(head_dim: int, n_pos: int, base: float) -> tuple[torch.Tensor, torch.Tensor]:
    inv = base ** (-torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
    ang = torch.arange(n_pos, dtype=torch.float64)[:, None] * inv[None, :]
    return torch.cos(ang).float(), torch.sin(ang).float()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x: (B, H, T, hd); rotates the pairs (x[2i], x[2i+1]) as llama.cpp's NORM rope does."""
    x0, x1 = x[..., 0::2], x[..., 1::2]
    c, s = cos[: x.shape[2]], sin[: x.shape[2]]
    return torch.stack((x0 * c - x1 * s, x0 * s + x1 * c), dim=-1).flatten(-2)


class Block(nn.Module):
    def __init__(self, s: LlamaShape) -> None:
        super().__init__()
        self.s = s
        hd = s.head_dim
        self.attn_norm = RMSNorm(s.n_embd, s.norm_eps)
        self.wq = nn.Linear(s.n_embd, s.n_head * hd, bias=False)
        self.wk = nn.Linear(s.n_embd, s.n_head_kv * hd, bias=False)
        self.wv = nn.Linear(s.n_embd, s.n_head_kv * hd, bias=False)
        self.wo = nn.Linear(s.n_head * hd, s.n_embd, bias=False)
        self.ffn_norm = RMSNorm(s.n_embd, s.norm_eps)
        self.w_gate = nn.Linear(s.n_embd, s.n_ff, bias=False)
        self.w_up = nn.Linear(s.n_embd, s.n_ff, bias=False)
        self.w_down = nn.Linear(s.n_ff, s.n_embd, bias=False)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        s = self.s
        b, t, _ = x.shape
        h = self.attn_norm(x)
        q = self.wq(h).view(b, t, s.n_head, s.head_dim).transpose(1, 2)
        k = self.wk(h).view(b, t, s.n_head_kv, s.head_dim).transpose(1, 2)
        v = self.wv(h).view(b, t, s.n_head_kv, s.head_dim).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        if s.n_head_kv != s.n_head:
            rep = s.n_head // s.n_head_kv
            k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.wo(a.transpose(1, 2).reshape(b, t, -1))
        h = self.ffn_norm(x)
        return x + self.w_down(F.silu(self.w_gate(h)) * self.w_up(h))


class TinyLlama(nn.Module):
    def __init__(self, s: LlamaShape, n_vocab: int) -> None:
        super().__init__()
        self.s = s
        self.emb = nn.Embedding(n_vocab, s.n_embd)
        self.blocks = nn.ModuleList(Block(s) for _ in range(s.n_layer))
        self.norm = RMSNorm(s.n_embd, s.norm_eps)
        cos, sin = rope_tables(s.head_dim, s.n_ctx_train, s.rope_base)
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)
        nn.init.normal_(self.emb.weight, std=0.02)
        for blk in self.blocks:
            for lin in (blk.wq, blk.wk, blk.wv, blk.w_gate, blk.w_up):
                nn.init.normal_(lin.weight, std=0.02)
            for lin in (blk.wo, blk.w_down):
                nn.init.normal_(lin.weight, std=0.02 / math.sqrt(2 * s.n_layer))

    def hidden(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.emb(ids)
        for blk in self.blocks:
            x = blk(x, self.cos, self.sin)
        return self.norm(x)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.hidden(ids) @ self.emb.weight.T

    def gguf_tensors(self) -> dict[str, np.ndarray]:
        """The weights under llama.cpp's tensor names, as numpy (out, in) matrices."""

        def a(t: torch.Tensor) -> np.ndarray:
            return t.detach().cpu().float().numpy().copy()

        out = {"token_embd.weight": a(self.emb.weight), "output_norm.weight": a(self.norm.weight)}
        for i, blk in enumerate(self.blocks):
            assert isinstance(blk, Block)
            p = f"blk.{i}."
            out[p + "attn_norm.weight"] = a(blk.attn_norm.weight)
            out[p + "attn_q.weight"] = a(blk.wq.weight)
            out[p + "attn_k.weight"] = a(blk.wk.weight)
            out[p + "attn_v.weight"] = a(blk.wv.weight)
            out[p + "attn_output.weight"] = a(blk.wo.weight)
            out[p + "ffn_norm.weight"] = a(blk.ffn_norm.weight)
            out[p + "ffn_gate.weight"] = a(blk.w_gate.weight)
            out[p + "ffn_up.weight"] = a(blk.w_up.weight)
            out[p + "ffn_down.weight"] = a(blk.w_down.weight)
        return out


Example = tuple[list[int], list[float]]


def make_batches(
    examples: Sequence[Example], max_tokens: int, pad_id: int, rng: random.Random
) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Group examples of similar length into batches of about `max_tokens` padded tokens."""
    order = sorted(range(len(examples)), key=lambda i: (len(examples[i][0]), i))
    batches = []
    i = 0
    while i < len(order):
        length = len(examples[order[i]][0])
        n = max(1, max_tokens // max(length, 1))
        group = order[i : i + n]
        longest = max(len(examples[j][0]) for j in group)
        ids = torch.full((len(group), longest), pad_id, dtype=torch.long)
        w = torch.zeros((len(group), longest), dtype=torch.float32)
        for r, j in enumerate(group):
            toks, ws = examples[j]
            ids[r, : len(toks)] = torch.tensor(toks)
            w[r, : len(ws)] = torch.tensor(ws)
        batches.append((ids[:, :-1], ids[:, 1:], w[:, 1:]))
        i += n
    rng.shuffle(batches)
    return batches


def train(
    model: TinyLlama,
    next_epoch: Callable[[int], list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]],
    steps: int,
    lr: float,
    log: Callable[[str], None],
    warmup: int = 100,
    evaluate: Callable[[int], None] | None = None,
    eval_every: int = 250,
    bf16: bool = False,
) -> dict[str, float]:
    """AdamW with warmup and cosine decay; `next_epoch(k)` gives the k-th list of batches.

    `bf16`: matmuls under CPU bfloat16 autocast (weights and optimizer stay float32). Off by
    default: for matrices this small it was slower than float32 on one thread.
    """
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.98), weight_decay=0.01)
    start = time.monotonic()
    step = 0
    epoch = 0
    ema = None
    tokens = 0
    while step < steps:
        for inp, tgt, w in next_epoch(epoch):
            if step >= steps:
                break
            frac = step / steps
            cur = (
                lr
                * min(1.0, (step + 1) / warmup)
                * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac)))
            )
            for g in opt.param_groups:
                g["lr"] = cur
            # logits only where the loss is: the output projection is a large part of the work
            keep = w.reshape(-1) > 0
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                h = model.hidden(inp).reshape(-1, model.s.n_embd)[keep]
                logits = h @ model.emb.weight.T
            ce = F.cross_entropy(logits.float(), tgt.reshape(-1)[keep], reduction="none")
            wk = w.reshape(-1)[keep]
            loss = (ce * wk).sum() / wk.sum().clamp(min=1.0)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            tokens += inp.numel()
            ema = loss.item() if ema is None else 0.98 * ema + 0.02 * loss.item()
            step += 1
            if step % 50 == 0 or step == steps:
                el = time.monotonic() - start
                log(
                    f"step {step}/{steps} loss {ema:.4f} lr {cur:.2e} {tokens / el:.0f} tok/s {el:.0f}s"
                )
            if evaluate is not None and step % eval_every == 0 and step < steps:
                model.eval()
                evaluate(step)
                model.train()
        epoch += 1
    return {"steps": step, "loss": float(ema or 0.0), "seconds": time.monotonic() - start}
