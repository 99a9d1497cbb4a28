"""Plain data that crosses the process boundary between the app and an inference worker."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

StopReason = Literal["stop_token", "stop_string", "max_tokens", "cancelled", "context_full"]
KvCacheType = Literal["f16", "q8_0"]
KV_CACHE_TYPES: tuple[str, ...] = ("f16", "q8_0")


@dataclass(frozen=True)
class LoadOptions:
    """How a worker loads its model. ``None`` means "let the worker decide".

    - ``n_threads``: None = one per physical core (see :func:`physical_cores`).
    - ``flash_attn``: None = llama.cpp's auto (on wherever the backend supports it).
    - ``n_batch``: prompt tokens handed to one ``llama_decode``; cancel stays prompt through
      llama.cpp's abort callback, so big batches cost nothing in responsiveness.
    - ``use_mmap``: None = the worker chooses per backend (off when weights stay on a CPU
      that repacks them, on for Metal and full GPU offload; see docs/ENGINE_API.md).
    - ``n_cpu_moe``: keep the MoE expert tensors of the first N layers in system RAM.
    - ``kv_cache_type``: "q8_0" halves the KV cache (long contexts) at a small quality cost.
    - ``swa_full``: False keeps only the sliding window of the SWA layers (half the KV cache
      of gpt-oss at long contexts) but then a chat re-evaluates its whole history each turn.
    """

    n_ctx: int = 4096
    n_threads: int | None = None
    n_gpu_layers: int = 0  # -1: every layer
    flash_attn: bool | None = None
    seed: int = 0
    n_batch: int = 512
    use_mmap: bool | None = None
    n_cpu_moe: int = 0
    kv_cache_type: KvCacheType = "f16"
    swa_full: bool = True

    def __post_init__(self) -> None:
        if self.kv_cache_type not in KV_CACHE_TYPES:
            raise ValueError(
                f"kv_cache_type {self.kv_cache_type!r} is not one of {', '.join(KV_CACHE_TYPES)}"
            )
        if self.n_cpu_moe < 0:
            raise ValueError("n_cpu_moe must be 0 or more")
        if self.n_batch < 1:
            raise ValueError("n_batch must be 1 or more")

    def to_wire(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SamplingOptions:
    """Sampling settings. The defaults are gpt-oss's: temperature 1.0, top_p 1.0, no top_k/min_p.

    ``temperature <= 0`` is greedy decoding. ``seed=None`` uses the worker's load seed.
    """

    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    min_p: float = 0.0
    repeat_penalty: float = 1.0
    seed: int | None = None
    logit_bias: dict[int, float] = field(default_factory=dict)

    def to_wire(self) -> dict[str, Any]:
        d = asdict(self)
        d["logit_bias"] = [[int(k), float(v)] for k, v in self.logit_bias.items()]
        return d


@dataclass(frozen=True)
class GenerateRequest:
    """One generation. Give ``prompt_tokens`` (exact ids) or ``prompt_text``.

    ``prompt_text`` is tokenized by the worker as plain text (special-token parsing off)
    with the model's BOS added when the model wants one. ``stop_tokens=None`` stops on the
    model's end-of-generation tokens; an explicit list replaces them.
    """

    prompt_tokens: list[int] | None = None
    prompt_text: str | None = None
    max_tokens: int = 256
    stop_tokens: list[int] | None = None
    stop_strings: list[str] = field(default_factory=list)
    sampling: SamplingOptions = field(default_factory=SamplingOptions)

    def to_wire(self) -> dict[str, Any]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "prompt_text": self.prompt_text,
            "max_tokens": self.max_tokens,
            "stop_tokens": self.stop_tokens,
            "stop_strings": list(self.stop_strings),
            "sampling": self.sampling.to_wire(),
        }


@dataclass(frozen=True)
class TokenBatch:
    """A few generated tokens, as they arrive.

    ``text`` is the UTF-8 text these tokens complete (a character split across tokens
    appears in the batch that completes it); ``pieces`` the raw bytes of each token;
    ``t`` seconds since the request started, measured in the worker when the last token
    of the batch was sampled.
    """

    ids: list[int]
    pieces: list[bytes]
    text: str
    t: float


@dataclass(frozen=True)
class GenerationMetrics:
    prompt_tokens: int
    prompt_evaluated: int  # after KV-cache prefix reuse
    completion_tokens: int
    ttft_s: float
    prompt_tokens_per_s: float
    tokens_per_s: float
    total_s: float
    load_s: float
    peak_rss_bytes: int  # peak of what the worker must keep in RAM (anonymous resident memory)
    stop_reason: StopReason
    stop_token: int | None = None
    rss_anon_bytes: int = 0  # now: memory only RAM can hold (heap, repacked weights, KV cache)
    rss_file_bytes: int = 0  # now: file pages (mmap'd weights), clean: the OS can drop them

    @classmethod
    def from_wire(cls, d: dict[str, Any]) -> GenerationMetrics:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ModelInfo:
    path: str
    architecture: str
    n_ctx: int
    n_ctx_train: int
    n_vocab: int
    n_params: int
    size_bytes: int
    load_s: float
    add_bos: bool
    bos: int | None
    eos: int | None
    eog: list[int]
    chat_template: str | None
    backend: str = "CPU"  # llama.cpp's backend in the worker: CPU, Metal, CUDA, ...
    use_mmap: bool = False  # what the worker chose
    flash_attn: str = "auto"  # "auto", "on", "off" as asked
    n_batch: int = 512
    n_threads: int = 1
    tensors_overridden: int = 0  # tensors llama.cpp placed by the n_cpu_moe override
    buffers: dict[str, int] = field(default_factory=dict)  # llama.cpp's buffer sizes, bytes
    rss_anon_bytes: int = 0  # after load
    rss_file_bytes: int = 0
    #: How text is tokenized: ``tiktoken (o200k_harmony)`` for gpt-oss vocabularies (exact),
    #: else ``llama.cpp (why not)``.
    tokenizer: str = "llama.cpp"

    @classmethod
    def from_wire(cls, d: dict[str, Any]) -> ModelInfo:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


@dataclass(frozen=True)
class BackendInfo:
    """What llama.cpp was built with: ``backend`` is one of CPU, Metal, CUDA, Vulkan, ..."""

    llama_cpp_version: str
    backend: str
    gpu_offload: bool
    devices: list[dict[str, Any]]
    system_info: str
    registered_backends: list[str] = field(default_factory=list)

    @classmethod
    def from_wire(cls, d: dict[str, Any]) -> BackendInfo:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
