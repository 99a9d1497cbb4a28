"""Full-size stand-ins for gpt-oss-20B: its exact shape and real tokenizer, random weights.

A model with random weights does the same work per token as the real one (only its text is
noise), so speed and memory measured on it are the real model's. The generator streams the
file tensor by tensor (peak memory well under 1 GB: the largest tensor, the 615 MB token
embedding, is written in slices) and caches it outside the repository's tracked files
(``bench/.cache/``, git-ignored, or ``$GPTOSS_STANDIN_DIR``)::

    python -m bench.standin            # the full-size stand-in (24 layers, ~12.1 GB)
    python -m bench.standin --layers 2 # the same width and vocabulary in 2 layers (~2 GB)

Shape (gpt-oss-20B's GGUF, ggml-org/gpt-oss-20b-GGUF): 24 layers, embedding 2880, 64 query
heads and 8 KV heads of 64, 32 experts with 4 used, expert FFN 2880, attention sinks,
sliding window 128 on every other layer, YaRN factor 32 over 4096, rope base 150000,
context 131072. Tensor types as in that file: MXFP4 experts, Q8_0 attention, embedding and
output, F32 norms, biases, sinks and router.

Weights are random bytes written straight into the quantized blocks: random nibbles (MXFP4)
or int8 values (Q8_0) with scales in a narrow range, chosen so that every matrix product
keeps activations of order one (finite logits, greedy output that does not collapse).

Tokenizer: o200k_harmony from ``o200k_base.tiktoken`` (``../shared/reference/o200k`` or
``$GPTOSS_O200K``): token strings are the bytes in GPT-2's byte-to-unicode mapping; each
multi-byte token's merge pair is what BPE over its bytes with only lower-ranked merges
leaves as its last two parts. Special tokens at 199998..201087 (CONTROL), bos 199998,
eos 200002 (<|return|>), pad 199999, add_bos false, pre-tokenizer ``gpt-4o``.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import json
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from gptoss_desktop.core.harmony.o200k import gpt2_byte_chars  # noqa: E402 (after the path)
from tests.data.modelgen.gguf_models import add_gptoss_hparams  # noqa: E402

GENERATOR_VERSION = 1  # bump when the bytes written change
O200K_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"
N_VOCAB = 201088
SLICE_BYTES = 64 * 1024 * 1024  # random bytes made and written per step

# ggml block layouts
QK = 32
MXFP4_BLOCK = 17  # 1 byte E8M0 scale + 16 bytes of nibbles
Q8_0_BLOCK = 34  # f16 scale + 32 int8


@dataclass(frozen=True)
class StandinShape:
    n_layer: int = 24
    n_embd: int = 2880
    n_head: int = 64
    n_head_kv: int = 8
    head_dim: int = 64
    n_expert: int = 32
    n_expert_used: int = 4
    n_ff_exp: int = 2880
    sliding_window: int = 128
    n_ctx_train: int = 131072
    yarn_orig_ctx: int = 4096
    rope_base: float = 150000.0
    seed: int = 20


FULL = StandinShape()


def cache_dir() -> Path:
    env = os.environ.get("GPTOSS_STANDIN_DIR")
    return Path(env) if env else ROOT / "bench" / ".cache"


def o200k_path() -> Path:
    env = os.environ.get("GPTOSS_O200K")
    if env:
        return Path(env)
    return ROOT.parent / "shared" / "reference" / "o200k" / "o200k_base.tiktoken"


def standin_path(shape: StandinShape = FULL, folder: Path | None = None) -> Path:
    key = json.dumps([GENERATOR_VERSION, asdict(shape)], sort_keys=True).encode()
    tag = hashlib.sha256(key).hexdigest()[:10]
    return (folder or cache_dir()) / f"gptoss-standin-{shape.n_layer}L-{tag}.gguf"


# --- tokenizer -------------------------------------------------------------------------------


def _merge_pair(token: bytes, ranks: dict[bytes, int], rank: int) -> tuple[bytes, bytes]:
    """BPE over ``token`` with merges of rank < ``rank`` only; its last two parts."""
    parts = [token[i : i + 1] for i in range(len(token))]
    while len(parts) > 2:
        best, best_rank = -1, rank
        for i in range(len(parts) - 1):
            r = ranks.get(parts[i] + parts[i + 1])
            if r is not None and r < best_rank:
                best, best_rank = i, r
        if best < 0:
            break
        parts[best : best + 2] = [parts[best] + parts[best + 1]]
    if len(parts) != 2:
        raise ValueError(f"token {token!r} (rank {rank}) does not reduce to one merge")
    return parts[0], parts[1]


@dataclass(frozen=True)
class Tokenizer:
    tokens: list[str]
    types: list[int]
    merges: list[str]


def o200k_harmony(path: Path | None = None) -> Tokenizer:
    """The o200k_harmony vocabulary in GGUF form (cached as JSON beside the models)."""
    src = path or o200k_path()
    if not src.is_file():
        raise FileNotFoundError(
            f"{src} not found: put o200k_base.tiktoken there or set GPTOSS_O200K to its path"
        )
    raw = src.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != O200K_SHA256:
        raise ValueError(f"{src}: sha256 {digest} is not o200k_base's")
    cached = cache_dir() / f"o200k_harmony-{digest[:10]}.json"
    if cached.is_file():
        data = json.loads(cached.read_text(encoding="utf-8"))
        return Tokenizer(data["tokens"], data["types"], data["merges"])
    from gptoss_desktop.core.harmony.vocab import o200k_specials

    ranks: dict[bytes, int] = {}
    for line in raw.splitlines():
        if line:
            b64, r = line.split()
            ranks[base64.b64decode(b64)] = int(r)
    byte_char = gpt2_byte_chars()
    by_rank = sorted(ranks.items(), key=lambda kv: kv[1])
    if [r for _, r in by_rank] != list(range(len(by_rank))):
        raise ValueError("o200k ranks are not 0..N-1")

    def text(b: bytes) -> str:
        return "".join(byte_char[x] for x in b)

    tokens = [text(b) for b, _ in by_rank]
    merges = [" ".join(text(p) for p in _merge_pair(b, ranks, r)) for b, r in by_rank if len(b) > 1]
    specials = {tid: t for t, tid in o200k_specials().items()}
    types = [1] * len(tokens)
    for tid in range(len(tokens), N_VOCAB):
        tokens.append(specials.get(tid, f"<|reserved_{tid}|>"))
        types.append(3)  # CONTROL
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_name(f"{cached.name}.{os.getpid()}.partial")
    tmp.write_text(json.dumps({"tokens": tokens, "types": types, "merges": merges}), "utf-8")
    os.replace(tmp, cached)
    return Tokenizer(tokens, types, merges)


# --- random quantized bytes ------------------------------------------------------------------


def _mxfp4_bytes(rng: np.random.Generator, n_blocks: int, exps: tuple[int, int]) -> np.ndarray:
    out = np.frombuffer(rng.bytes(n_blocks * MXFP4_BLOCK), np.uint8).reshape(n_blocks, -1).copy()
    out[:, 0] = rng.integers(exps[0], exps[1] + 1, n_blocks, dtype=np.uint8)
    return out.reshape(-1)


def _q8_0_bytes(rng: np.random.Generator, n_blocks: int, scale: float) -> np.ndarray:
    out = np.frombuffer(rng.bytes(n_blocks * Q8_0_BLOCK), np.uint8).reshape(n_blocks, -1).copy()
    d = (scale * rng.uniform(0.75, 1.25, n_blocks)).astype(np.float16)
    out[:, 0:2] = d.view(np.uint8).reshape(n_blocks, 2)
    q = out[:, 2:].view(np.int8)
    q[q == -128] = -127  # ggml's own quantizer never writes -128
    return out.reshape(-1)


@dataclass(frozen=True)
class _Tensor:
    name: str
    shape: tuple[int, ...]  # numpy order (outermost first); the last is ggml's ne0
    kind: str  # f32, mxfp4, q8_0
    std: float = 0.0  # f32: normal std; q8_0: target weight rms; mxfp4: unused
    fill: float | None = None  # f32 constant instead of random

    @property
    def n(self) -> int:
        return int(np.prod(self.shape))

    def byte_shape(self) -> tuple[int, ...]:
        *outer, ne0 = self.shape
        if self.kind == "mxfp4":
            return (*outer, ne0 // QK * MXFP4_BLOCK)
        if self.kind == "q8_0":
            return (*outer, ne0 // QK * Q8_0_BLOCK)
        return self.shape

    def nbytes(self) -> int:
        return int(np.prod(self.byte_shape())) * (4 if self.kind == "f32" else 1)


def _tensors(s: StandinShape) -> list[_Tensor]:
    q_dim, kv_dim = s.n_head * s.head_dim, s.n_head_kv * s.head_dim
    e = s.n_embd

    # Q8_0 int8 values have rms ~73; scale so that a product over ``fan_in`` inputs of rms 1
    # gives outputs of rms ~1 (logits: rms ~3).
    def q8(name: str, out: int, inp: int, rms_out: float = 1.0) -> _Tensor:
        return _Tensor(name, (out, inp), "q8_0", std=rms_out / (inp**0.5))

    ts = [
        _Tensor("token_embd.weight", (N_VOCAB, e), "q8_0", std=1.0),
        _Tensor("output_norm.weight", (e,), "f32", fill=1.0),
        q8("output.weight", N_VOCAB, e, rms_out=3.0),
    ]
    for i in range(s.n_layer):
        p = f"blk.{i}."
        ts += [
            _Tensor(p + "attn_norm.weight", (e,), "f32", fill=1.0),
            _Tensor(p + "post_attention_norm.weight", (e,), "f32", fill=1.0),
            q8(p + "attn_q.weight", q_dim, e),
            _Tensor(p + "attn_q.bias", (q_dim,), "f32", std=0.02),
            q8(p + "attn_k.weight", kv_dim, e),
            _Tensor(p + "attn_k.bias", (kv_dim,), "f32", std=0.02),
            q8(p + "attn_v.weight", kv_dim, e),
            _Tensor(p + "attn_v.bias", (kv_dim,), "f32", std=0.02),
            q8(p + "attn_output.weight", e, q_dim),
            _Tensor(p + "attn_output.bias", (e,), "f32", std=0.02),
            _Tensor(p + "attn_sinks.weight", (s.n_head,), "f32", std=1.0),
            _Tensor(p + "ffn_gate_inp.weight", (s.n_expert, e), "f32", std=1.0 / e**0.5),
            _Tensor(p + "ffn_gate_inp.bias", (s.n_expert,), "f32", std=0.1),
            _Tensor(p + "ffn_gate_exps.weight", (s.n_expert, s.n_ff_exp, e), "mxfp4"),
            _Tensor(p + "ffn_up_exps.weight", (s.n_expert, s.n_ff_exp, e), "mxfp4"),
            _Tensor(p + "ffn_down_exps.weight", (s.n_expert, e, s.n_ff_exp), "mxfp4"),
            _Tensor(p + "ffn_gate_exps.bias", (s.n_expert, s.n_ff_exp), "f32", std=0.02),
            _Tensor(p + "ffn_up_exps.bias", (s.n_expert, s.n_ff_exp), "f32", std=0.02),
            _Tensor(p + "ffn_down_exps.bias", (s.n_expert, e), "f32", std=0.02),
        ]
    return ts


def _mxfp4_exponents(fan_in: int) -> tuple[int, int]:
    # ggml's FP4 values (doubled: 0,1,2,3,4,6,8,12) times 2^(e-128) have rms ~5.9 * 2^(e-128);
    # an output rms ~1 over ``fan_in`` inputs wants 2^(e-128) ~ 1/(5.9 * sqrt(fan_in)).
    centre = 128 + round(np.log2(1.0 / (5.9 * fan_in**0.5)))
    return centre - 1, centre


def _write_data(fout: BinaryIO, t: _Tensor, rng: np.random.Generator) -> None:
    if t.kind == "f32":
        if t.fill is not None:
            arr = np.full(t.shape, t.fill, np.float32)
        else:
            arr = (rng.standard_normal(t.shape) * t.std).astype(np.float32)
        arr.tofile(fout)
        return
    block = MXFP4_BLOCK if t.kind == "mxfp4" else Q8_0_BLOCK
    n_blocks = t.n // QK
    step = max(1, SLICE_BYTES // block)
    exps = _mxfp4_exponents(t.shape[-1])
    for start in range(0, n_blocks, step):
        count = min(step, n_blocks - start)
        if t.kind == "mxfp4":
            _mxfp4_bytes(rng, count, exps).tofile(fout)
        else:
            _q8_0_bytes(rng, count, t.std / 73.0).tofile(fout)


def write_standin(
    path: Path,
    shape: StandinShape = FULL,
    *,
    tokenizer: Tokenizer | None = None,
    quiet: bool = False,
) -> Path:
    """Write the stand-in to ``path`` (atomically: this process's ``.partial`` file renamed at
    the end, so a reader never sees half a file)."""
    import gguf

    s = shape
    tok = tokenizer or o200k_harmony()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.partial")
    w = gguf.GGUFWriter(str(tmp), "gpt-oss")
    w.add_name(f"gpt-oss-20b shape stand-in ({s.n_layer} layers, random weights)")
    w.add_description(
        "Random weights in gpt-oss-20B's exact shape with the o200k_harmony tokenizer, "
        "made by gptoss-desktop's bench/standin.py. Its output is noise."
    )
    w.add_license("Apache-2.0")
    w.add_file_type(gguf.LlamaFileType.MOSTLY_MXFP4_MOE)
    add_gptoss_hparams(w, s)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("gpt-4o")
    w.add_token_list(tok.tokens)
    w.add_token_types(tok.types)
    w.add_token_merges(tok.merges)
    w.add_bos_token_id(199998)
    w.add_eos_token_id(200002)
    w.add_pad_token_id(199999)
    w.add_add_bos_token(False)

    tensors = _tensors(s)
    raw = {"mxfp4": gguf.GGMLQuantizationType.MXFP4, "q8_0": gguf.GGMLQuantizationType.Q8_0}
    for t in tensors:
        if t.kind == "f32":
            w.add_tensor_info(t.name, t.shape, np.dtype(np.float32), t.nbytes())
        else:
            w.add_tensor_info(
                t.name, t.byte_shape(), np.dtype(np.uint8), t.nbytes(), raw_dtype=raw[t.kind]
            )
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    assert w.fout is not None
    fout = w.fout[0]
    rng = np.random.default_rng(s.seed)
    total = sum(t.nbytes() for t in tensors)
    done = 0
    t0 = time.monotonic()
    for t in tensors:
        w.write_padding(fout, fout.tell())
        _write_data(fout, t, rng)
        w.write_padding(fout, t.nbytes())
        done += t.nbytes()
        if not quiet and t.kind == "mxfp4" and t.name.endswith("down_exps.weight"):
            print(
                f"  {done / 1e9:5.1f} / {total / 1e9:.1f} GB  {time.monotonic() - t0:5.0f} s",
                file=sys.stderr,
                flush=True,
            )
    w.close()
    os.replace(tmp, path)
    return path


@contextlib.contextmanager
def _build_lock(path: Path) -> Iterator[None]:
    """One builder at a time for ``path`` (parallel test workers ask for the same stand-in);
    where there is no ``fcntl`` (Windows) each builder writes its own partial file instead."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def ensure_standin(shape: StandinShape = FULL, folder: Path | None = None) -> Path:
    """The cached stand-in of ``shape``, written first if missing (once, whoever asks)."""
    path = standin_path(shape, folder)
    if not path.is_file():
        with _build_lock(path):
            if not path.is_file():  # another process may have written it while we waited
                write_standin(path, shape)
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", type=int, default=FULL.n_layer, help="24: full size")
    ap.add_argument("--out", type=Path, help="write here instead of the cache")
    args = ap.parse_args(argv)
    shape = StandinShape(n_layer=args.layers)
    t0 = time.monotonic()
    path = args.out or standin_path(shape)
    if args.out or not path.is_file():
        write_standin(path, shape)
    print(f"{path}  {path.stat().st_size / 1e9:.2f} GB  ({time.monotonic() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
