"""A bounded reader for GGUF headers, written by us.

Malformed GGUF files are a live attack surface (the ``gguf`` package's reader looped on a
crafted 58-byte file), so this reader never trusts a length: every count and size is capped,
checked against what is left of the file before anything is allocated, and the whole read
has a time budget. It keeps only what the app needs (architecture, parameter count,
quantization, context length, the few shape numbers the memory estimate uses, whether a
chat template and the Harmony tokens are present), so memory stays small even for a
200k-token vocabulary. Every failure is a :class:`ModelFileError` with a one-line problem.
"""

from __future__ import annotations

import os
import struct
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gptoss_desktop.core.errors import ModelFileError
from gptoss_desktop.core.fileio import NotRegularFile, open_regular
from gptoss_desktop.core.library.gguf_types import FILE_TYPE_NAMES, TENSOR_TYPES

GGUF_MAGIC = b"GGUF"
HARMONY_TOKENS = ("<|start|>", "<|end|>", "<|message|>", "<|channel|>", "<|return|>", "<|call|>")


@dataclass(frozen=True)
class Limits:
    """Hard caps; a file beyond any of them is refused, never read further."""

    max_header_bytes: int = 256 * 1024 * 1024
    max_string_bytes: int = 16 * 1024 * 1024
    max_array_len: int = 16 * 1024 * 1024
    max_kv_count: int = 65_536
    max_tensor_count: int = 200_000
    max_dims: int = 4
    time_budget_s: float = 10.0
    keep_string_bytes: int = 1024 * 1024  # longer strings are checked, then dropped


@dataclass(frozen=True)
class GgufInfo:
    """What the app knows about a model file without loading it."""

    path: str
    file_size: int
    version: int
    architecture: str
    name: str | None
    n_params: int
    n_tensors: int
    file_type: str | None  # general.file_type as a llama.cpp name, e.g. "MXFP4_MOE"
    dominant_type: str | None  # tensor type holding the most bytes
    quantization: str  # file_type when known, else dominant_type
    context_length: int | None
    n_layer: int | None
    n_head: int | None
    n_head_kv: int | None
    n_embd: int | None
    key_length: int | None
    value_length: int | None
    sliding_window: int | None
    n_vocab: int | None
    chat_template: bool
    harmony_tokens: bool
    missing_harmony_tokens: list[str]
    tensor_bytes: int
    layer_bytes: int  # bytes of per-layer tensors (blk.N.*), for GPU-layer estimates
    split_count: int
    metadata: dict[str, Any] = field(default_factory=dict)
    expert_bytes: int = 0  # bytes of MoE expert tensors (blk.N.ffn_{up,down,gate}_exps.*)

    @property
    def kv_bytes_per_token(self) -> int | None:
        """KV cache bytes per token of context (f16 K and V, every layer at full context)."""
        if not self.n_layer or not self.n_head_kv:
            return None
        head = self.key_length or (
            self.n_embd // self.n_head if self.n_embd and self.n_head else None
        )
        vhead = self.value_length or head
        if not head or not vhead:
            return None
        return self.n_layer * self.n_head_kv * (head + vhead) * 2

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["kv_bytes_per_token"] = self.kv_bytes_per_token
        return d


# --- reading -----------------------------------------------------------------------------


class _Problem(Exception):
    """Internal: becomes a ModelFileError carrying the path."""


# value type id -> (struct format, size)
_SCALARS: dict[int, tuple[str, int]] = {
    0: ("<B", 1),
    1: ("<b", 1),
    2: ("<H", 2),
    3: ("<h", 2),
    4: ("<I", 4),
    5: ("<i", 4),
    6: ("<f", 4),
    7: ("<?", 1),
    10: ("<Q", 8),
    11: ("<q", 8),
    12: ("<d", 8),
}
_STRING, _ARRAY = 8, 9
_SMALL_ARRAY = 4096  # numeric arrays up to this length are kept (per-layer head counts)
_U64 = struct.Struct("<Q")


class _Cursor:
    """Forward-only buffered reader with a byte cap and a deadline."""

    _CHUNK = 1 << 20

    def __init__(self, fh: Any, file_size: int, limits: Limits) -> None:
        self._fh = fh
        self._buf = b""
        self._at = 0  # position in _buf
        self.pos = 0  # absolute position in the file
        self._end = min(file_size, limits.max_header_bytes)
        self._file_size = file_size
        self._deadline = time.monotonic() + limits.time_budget_s
        self._cap = limits.max_header_bytes

    def remaining(self) -> int:
        return self._end - self.pos

    def check_time(self) -> None:
        if time.monotonic() > self._deadline:
            raise _Problem("reading the GGUF header took too long; the file looks malformed")

    def overrun(self, n: int) -> _Problem:
        if self.pos + n > self._file_size:
            return _Problem(
                f"file is truncated inside its header (offset {self.pos}); download it again"
            )
        return _Problem(f"GGUF header is larger than the {self._cap >> 20} MiB limit")

    def _fill(self, n: int) -> None:
        """Make at least ``n`` bytes available in the buffer (n is already bounds-checked)."""
        avail = len(self._buf) - self._at
        if avail >= n:
            return
        more = self._fh.read(max(n - avail, self._CHUNK))
        self._buf = self._buf[self._at :] + more
        self._at = 0
        if len(self._buf) < n:
            raise _Problem(f"file is truncated inside its header (offset {self.pos})")

    def take(self, n: int) -> bytes:
        if n > self.remaining():
            raise self.overrun(n)
        self._fill(n)
        out = self._buf[self._at : self._at + n]
        self._at += n
        self.pos += n
        return out

    def scan_strings(
        self, count: int, max_len: int, watch: frozenset[bytes], found: set[bytes]
    ) -> None:
        """Walk an array of ``count`` strings; note those in ``watch``. The hot path of big vocabularies.

        Strings that lie wholly in the buffer are walked with local variables only; the rest
        (buffer edges) go through the checked slow path.
        """
        unpack = _U64.unpack_from
        done = 0
        while done < count:
            self.check_time()
            buf, at = self._buf, self._at
            end = len(buf)
            limit = min(end, self._end - self.pos + at)  # never walk past the header cap
            start_at = at
            stop = min(count, done + 0x10000)
            while done < stop and at + 8 <= limit:
                (n,) = unpack(buf, at)
                if n > max_len:
                    raise _Problem(f"a string of {n} bytes exceeds the {max_len} limit")
                nxt = at + 8 + n
                if nxt > limit:
                    break
                if watch and n <= 16 and buf[at + 8 : nxt] in watch:
                    found.add(buf[at + 8 : nxt])
                at = nxt
                done += 1
            self._at = at
            self.pos += at - start_at
            if done < stop:  # a string straddles the buffer's edge
                self._slow_string(max_len, watch, found)
                done += 1

    def _slow_string(self, max_len: int, watch: frozenset[bytes], found: set[bytes]) -> None:
        n = self.string_len_checked(max_len)
        if watch and n <= 16:
            piece = self.take(n)
            if piece in watch:
                found.add(piece)
        else:
            self.skip(n)

    def string_len_checked(self, max_len: int) -> int:
        n = self.u64()
        if n > max_len:
            raise _Problem(f"a string of {n} bytes exceeds the {max_len} limit")
        if n > self.remaining():
            raise self.overrun(n)
        return n

    def skip(self, n: int) -> None:
        if n > self.remaining():
            raise self.overrun(n)
        avail = len(self._buf) - self._at
        if n <= avail:
            self._at += n
            self.pos += n
            return
        self._fh.seek(self.pos + n)
        self._buf, self._at = b"", 0
        self.pos += n

    def u32(self) -> int:
        return int(struct.unpack("<I", self.take(4))[0])

    def u64(self) -> int:
        return int(struct.unpack("<Q", self.take(8))[0])

    def string_len(self, limits: Limits) -> int:
        n = self.u64()
        if n > limits.max_string_bytes:
            raise _Problem(f"a string of {n} bytes exceeds the {limits.max_string_bytes} limit")
        if n > self.remaining():
            raise self.overrun(n)
        return n

    def string(self, limits: Limits) -> bytes:
        return self.take(self.string_len(limits))


@dataclass
class _TokenScan:
    wanted: frozenset[bytes]
    found: set[bytes] = field(default_factory=set)


def _read_value(cur: _Cursor, vtype: int, limits: Limits, key: str, scan: _TokenScan) -> Any:
    if vtype in _SCALARS:
        fmt, size = _SCALARS[vtype]
        return struct.unpack(fmt, cur.take(size))[0]
    if vtype == _STRING:
        n = cur.string_len(limits)
        if n > limits.keep_string_bytes:
            cur.skip(n)
            return _Dropped(n)
        return cur.take(n).decode("utf-8", "replace")
    if vtype == _ARRAY:
        itype = cur.u32()
        count = cur.u64()
        if count > limits.max_array_len:
            raise _Problem(
                f"array {key!r} has {count} items, over the {limits.max_array_len} limit"
            )
        if itype in _SCALARS:
            fmt, size = _SCALARS[itype]
            if count * size > cur.remaining():
                raise cur.overrun(count * size)
            if count <= _SMALL_ARRAY:
                raw = cur.take(count * size)
                return list(struct.unpack(f"<{count}{fmt[1]}", raw))
            cur.skip(count * size)
            return _ArraySummary(itype, count)
        if itype == _STRING:
            if count * 8 > cur.remaining():
                raise cur.overrun(count * 8)  # cannot hold that many strings
            watch = scan.wanted if key == "tokenizer.ggml.tokens" else frozenset()
            cur.scan_strings(count, limits.max_string_bytes, watch, scan.found)
            return _ArraySummary(itype, count)
        if itype == _ARRAY:
            raise _Problem(f"nested arrays in {key!r} are not supported")
        raise _Problem(f"unknown array item type {itype} in {key!r}")
    raise _Problem(f"unknown value type {vtype} for {key!r}")


@dataclass(frozen=True)
class _ArraySummary:
    item_type: int
    count: int

    def __str__(self) -> str:
        return f"[{self.count} items]"


@dataclass(frozen=True)
class _Dropped:
    length: int

    def __str__(self) -> str:
        return f"<string of {self.length} bytes>"


def read_gguf_info(path: str | os.PathLike[str], limits: Limits | None = None) -> GgufInfo:
    """Read one GGUF file's header within ``limits``; raise :class:`ModelFileError` if bad."""
    limits = limits or Limits()
    p = Path(path)
    try:
        size = p.stat().st_size
        if p.is_dir():
            raise ModelFileError(p, "is a folder, not a .gguf file")
        with open_regular(p) as fh:  # a FIFO named model.gguf must not hang us
            return _parse(fh, str(p), size, limits)
    except _Problem as exc:
        raise ModelFileError(p, str(exc)) from None
    except FileNotFoundError:
        raise ModelFileError(p, "file not found; check the path") from None
    except NotRegularFile as exc:
        raise ModelFileError(p, f"{exc.strerror}; choose a .gguf file") from None
    except OSError as exc:
        raise ModelFileError(p, f"cannot be read ({exc.strerror or exc})") from None


def _parse(fh: Any, path: str, size: int, limits: Limits) -> GgufInfo:
    cur = _Cursor(fh, size, limits)
    if size < 24:
        raise _Problem(f"too small to be a GGUF file ({size} bytes)")
    if cur.take(4) != GGUF_MAGIC:
        raise _Problem("not a GGUF file (wrong magic bytes)")
    version = cur.u32()
    if version not in (2, 3):
        raise _Problem(f"unsupported GGUF version {version} (expected 2 or 3)")
    n_tensors, n_kv = cur.u64(), cur.u64()
    if n_kv > limits.max_kv_count:
        raise _Problem(f"{n_kv} metadata keys, over the {limits.max_kv_count} limit")
    if n_tensors > limits.max_tensor_count:
        raise _Problem(f"{n_tensors} tensors, over the {limits.max_tensor_count} limit")

    scan = _TokenScan(frozenset(t.encode() for t in HARMONY_TOKENS))
    meta: dict[str, Any] = {}
    for _ in range(n_kv):
        cur.check_time()
        key = cur.string(limits).decode("utf-8", "replace")
        vtype = cur.u32()
        meta[key] = _read_value(cur, vtype, limits, key, scan)

    alignment = _int(meta.get("general.alignment")) or 32
    if alignment <= 0 or alignment & (alignment - 1) or alignment > 1 << 20:
        raise _Problem(f"invalid general.alignment {alignment}")

    n_params = 0
    tensor_bytes = 0
    layer_bytes = 0
    expert_bytes = 0
    by_type: dict[int, int] = {}
    max_end = 0
    for i in range(n_tensors):
        if not i & 0xFF:
            cur.check_time()
        name = cur.string(limits)
        n_dims = cur.u32()
        if n_dims == 0 or n_dims > limits.max_dims:
            raise _Problem(f"tensor {name[:64]!r} has {n_dims} dimensions")
        count = 1
        for _ in range(n_dims):
            dim = cur.u64()
            if dim == 0 or dim > 1 << 40:
                raise _Problem(f"tensor {name[:64]!r} has an impossible dimension {dim}")
            count *= dim
        ttype = cur.u32()
        offset = cur.u64()
        if ttype not in TENSOR_TYPES:
            raise _Problem(f"tensor {name[:64]!r} has unknown type {ttype}")
        _, block, type_size = TENSOR_TYPES[ttype]
        if count % block:
            raise _Problem(f"tensor {name[:64]!r} size is not a multiple of its block size")
        nbytes = count // block * type_size
        if offset % alignment:
            raise _Problem(f"tensor {name[:64]!r} data offset is not aligned")
        n_params += count
        tensor_bytes += nbytes
        by_type[ttype] = by_type.get(ttype, 0) + nbytes
        if name.startswith(b"blk."):
            layer_bytes += nbytes
            if b"_exps." in name:
                expert_bytes += nbytes
        max_end = max(max_end, offset + nbytes)

    data_start = -(-cur.pos // alignment) * alignment
    if n_tensors and data_start + max_end > size:
        raise _Problem(
            f"file is truncated: tensor data needs {data_start + max_end} bytes, file has {size};"
            " download it again"
        )
    info = _build_info(
        path, size, version, n_tensors, meta, scan, n_params, tensor_bytes, layer_bytes, by_type
    )
    from dataclasses import replace

    return replace(info, expert_bytes=expert_bytes)


def _int(v: Any) -> int | None:
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int):
        return v
    if isinstance(v, list) and v and all(isinstance(x, int) for x in v):
        return int(max(v))  # per-layer arrays: the largest layer decides the memory
    return None


def _build_info(
    path: str,
    size: int,
    version: int,
    n_tensors: int,
    meta: dict[str, Any],
    scan: _TokenScan,
    n_params: int,
    tensor_bytes: int,
    layer_bytes: int,
    by_type: dict[int, int],
) -> GgufInfo:
    arch_v = meta.get("general.architecture")
    arch = arch_v if isinstance(arch_v, str) else "unknown"

    def a(key: str) -> int | None:
        return _int(meta.get(f"{arch}.{key}"))

    ft = _int(meta.get("general.file_type"))
    file_type = FILE_TYPE_NAMES.get(ft) if ft is not None else None
    dominant = TENSOR_TYPES[max(by_type, key=by_type.__getitem__)][0] if by_type else None
    n_head = a("attention.head_count")
    tokens = meta.get("tokenizer.ggml.tokens")
    name = meta.get("general.name")
    return GgufInfo(
        path=path,
        file_size=size,
        version=version,
        architecture=arch,
        name=name if isinstance(name, str) else None,
        n_params=n_params,
        n_tensors=n_tensors,
        file_type=file_type,
        dominant_type=dominant,
        quantization=file_type or dominant or "unknown",
        context_length=a("context_length"),
        n_layer=a("block_count"),
        n_head=n_head,
        n_head_kv=a("attention.head_count_kv") or n_head,
        n_embd=a("embedding_length"),
        key_length=a("attention.key_length"),
        value_length=a("attention.value_length"),
        sliding_window=a("attention.sliding_window"),
        n_vocab=tokens.count if isinstance(tokens, _ArraySummary) else None,
        chat_template="tokenizer.chat_template" in meta,
        harmony_tokens=scan.found == scan.wanted,
        missing_harmony_tokens=sorted(t.decode() for t in scan.wanted - scan.found),
        tensor_bytes=tensor_bytes,
        layer_bytes=layer_bytes,
        split_count=_int(meta.get("split.count")) or 1,
        metadata={k: _plain(v) for k, v in meta.items() if not k.startswith("tokenizer.ggml.")},
    )


def _plain(v: Any) -> Any:
    if isinstance(v, _ArraySummary | _Dropped):
        return str(v)
    if isinstance(v, list) and len(v) > 64:
        return f"[{len(v)} items]"
    return v


def read_model_info(
    paths: Sequence[str | os.PathLike[str]], limits: Limits | None = None
) -> GgufInfo:
    """Info for a model stored as one file or as shards: counts summed over the shards."""
    infos = [read_gguf_info(p, limits) for p in paths]
    first = infos[0]
    if len(infos) == 1:
        return first
    from dataclasses import replace

    return replace(
        first,
        file_size=sum(i.file_size for i in infos),
        n_params=sum(i.n_params for i in infos),
        n_tensors=sum(i.n_tensors for i in infos),
        tensor_bytes=sum(i.tensor_bytes for i in infos),
        layer_bytes=sum(i.layer_bytes for i in infos),
        expert_bytes=sum(i.expert_bytes for i in infos),
    )
