"""The loaded model inside a worker: tokenization, exact decoding and the generation loop.

Only this package imports llama_cpp. The model and its context are built by llama-cpp-python's
``Llama`` with a few llama.cpp parameters the binding does not expose set on the way in
(:func:`_params_hooks`): flash attention *auto*, the MoE expert override (``n_cpu_moe``), the
load progress callback (which can also abort a load). Prompts are evaluated ``n_batch``
tokens per ``llama_decode``; llama.cpp's abort callback, on while a prompt is evaluated, stops
a running decode within one graph node when the cancel flag is set. The KV cache keeps the
longest common prefix with the previous call, and every token is decoded through
``llama_token_to_piece`` with a buffer that grows (the binding's own detokenize drops tokens
longer than 32 bytes).

Text is tokenized by llama.cpp, except for models whose vocabulary is gpt-oss's o200k_harmony:
there llama.cpp's gpt-4o pre-tokenizer splits scripts with combining marks differently from
OpenAI's, so the worker builds tiktoken's exact BPE from the model's own token bytes
(:mod:`gptoss_desktop.core.harmony.o200k`) and tokenizes with that.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import llama_cpp
from llama_cpp import _internals as internals

from gptoss_desktop.core.engine.cpu import physical_cores
from gptoss_desktop.core.engine.decoding import Utf8Stream, hold_back_for_stops
from gptoss_desktop.core.errors import HarmonyError
from gptoss_desktop.core.harmony import o200k
from gptoss_desktop.worker.memory import peak_anon_bytes, resident_bytes

FLASH_ATTN = {None: -1, True: 1, False: 0}  # llama_flash_attn_type: AUTO, ENABLED, DISABLED
GGML_TYPE = {"f16": 1, "q8_0": 8}  # enum ggml_type
EXPERT_PATTERN = r"blk\.{layer}\.ffn_(up|down|gate)_exps\.weight"  # llama.cpp's --n-cpu-moe
_BUFFER_RE = re.compile(r"(\S+)\s+(model|KV|compute|output) buffer size\s*=\s*([\d.]+) MiB")


class LoadCancelled(Exception):
    """The load was cancelled through the progress callback."""


class _InertChatFormatter:
    """Stands in for the binding's ``Jinja2ChatFormatter``: keeps the template text, compiles
    nothing. ``Llama.__init__`` builds one formatter per ``tokenizer.chat_template*`` key in the
    GGUF, and compiling a hostile template (Jinja folds ``{{ 'x' * 10**9 }}`` at compile time)
    took this process to gigabytes. The app never uses the binding's chat completion: it renders
    templates itself, in a limited helper process (core/templating/templates.py)."""

    def __init__(self, template: str, *args: Any, **kwargs: Any) -> None:
        self.template = template

    def to_chat_handler(self) -> Callable[..., Any]:
        def refuse(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("chat completion through llama-cpp-python is disabled here")

        return refuse


def _disable_binding_templates() -> None:
    """Make ``Llama()`` skip compiling the model's chat templates (see _InertChatFormatter)."""
    import llama_cpp.llama_chat_format as chat_format

    chat_format.Jinja2ChatFormatter = _InertChatFormatter  # type: ignore[misc,assignment]


@dataclass
class Emitted:
    """What the loop hands to the server: a token, or the end with its metrics."""

    token: int | None = None
    piece: bytes = b""
    text: str = ""
    t: float = 0.0
    progress: tuple[int, int] | None = None
    done: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class _BuftOverride(ctypes.Structure):
    """struct llama_model_tensor_buft_override { const char * pattern; ggml_backend_buffer_type_t buft; }"""

    _fields_ = [("pattern", ctypes.c_char_p), ("buft", ctypes.c_void_p)]


def cpu_buffer_type() -> int:
    """ggml's CPU buffer type, found through the device registry (works with dynamic backends)."""
    from gptoss_desktop.worker.backend import _ggml

    lib = _ggml()
    if lib is None:
        raise RuntimeError("ggml library not found beside llama_cpp")
    lib.ggml_backend_dev_by_type.restype = ctypes.c_void_p
    lib.ggml_backend_dev_by_type.argtypes = [ctypes.c_int]
    lib.ggml_backend_dev_buffer_type.restype = ctypes.c_void_p
    lib.ggml_backend_dev_buffer_type.argtypes = [ctypes.c_void_p]
    dev = lib.ggml_backend_dev_by_type(0)  # GGML_BACKEND_DEVICE_TYPE_CPU
    if not dev:
        raise RuntimeError("llama.cpp has no CPU device")
    buft = lib.ggml_backend_dev_buffer_type(dev)
    if not buft:
        raise RuntimeError("llama.cpp's CPU device has no buffer type")
    return int(buft)


def expert_overrides(n_layers: int) -> tuple[ctypes.Array[_BuftOverride], list[bytes]]:
    """NULL-terminated override array keeping the experts of layers 0..n-1 in system RAM.

    Returns the array and the pattern bytes; both must live as long as the model."""
    buft = cpu_buffer_type()
    patterns = [EXPERT_PATTERN.format(layer=i).encode() for i in range(n_layers)]
    arr = (_BuftOverride * (len(patterns) + 1))()
    for i, pat in enumerate(patterns):
        arr[i].pattern = pat
        arr[i].buft = buft
    return arr, patterns  # the last element stays {NULL, NULL}


@contextlib.contextmanager
def _params_hooks(
    model_hook: Callable[[Any], None], context_hook: Callable[[Any], None]
) -> Iterator[None]:
    """Let ``Llama.__init__`` build its model and context with parameters it does not expose.

    The binding fills ``llama_model_params``/``llama_context_params`` itself and hands them to
    ``_internals.LlamaModel``/``LlamaContext``: for the time of one ``Llama(...)`` these are
    subclasses that adjust the parameters first. (Only the worker's main thread loads.)"""
    base_model, base_context = internals.LlamaModel, internals.LlamaContext

    class Model(base_model):  # type: ignore[misc, valid-type]
        def __init__(self, *, path_model: str, params: Any, verbose: bool = True) -> None:
            model_hook(params)
            super().__init__(path_model=path_model, params=params, verbose=verbose)

    class Context(base_context):  # type: ignore[misc, valid-type]
        def __init__(self, *, model: Any, params: Any, verbose: bool = True) -> None:
            context_hook(params)
            super().__init__(model=model, params=params, verbose=verbose)

    internals.LlamaModel, internals.LlamaContext = Model, Context  # type: ignore[misc]
    try:
        yield
    finally:
        internals.LlamaModel, internals.LlamaContext = base_model, base_context  # type: ignore[misc]


class _LoadLog:
    """llama.cpp's log during a load: to stderr (the client keeps its tail), and read for the
    buffer sizes and the "buffer type overridden" lines of the expert override."""

    def __init__(self) -> None:
        self.overridden = 0
        self.buffers: dict[str, int] = {}
        self.problem = ""  # why llama.cpp refused the context, when it says so
        self.callback = llama_cpp.llama_log_callback(self._on)

    def _on(self, level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
        os.write(2, text)
        line = text.decode("utf-8", "replace")
        if "buffer type overridden" in line:
            self.overridden += 1
        if "does not divide n_embd_head" in line:  # a quantized KV cache the heads cannot hold
            self.problem = line.strip()
        m = _BUFFER_RE.search(line)
        if m:
            key = f"{m.group(1)} {m.group(2)}"
            self.buffers[key] = self.buffers.get(key, 0) + int(float(m.group(3)) * 1024 * 1024)


def choose_mmap(options: dict[str, Any], backend: str) -> bool:
    """mmap or not, per backend, when the caller leaves it to the worker (measured in bench/scale.py).

    - Weights kept on a CPU that repacks them (x86/ARM CPU backend: CPU_REPACK) exist twice with
      mmap: the repacked anonymous copy and the file pages it was read from (22.5 GB resident for
      gpt-oss-20B instead of 12.4). Without mmap the file is read once into the buffers: off.
    - Metal: the GPU uses the mapped file pages directly (no copy; unified memory): on.
    - CUDA/Vulkan with every layer and expert on the GPU: the weights are copied to VRAM and the
      mapped pages are clean page cache the OS drops: on (no anonymous host copy).
    - Partial offload or experts kept in RAM (n_cpu_moe): CPU weights are repacked again: off.
    """
    if options.get("use_mmap") is not None:
        return bool(options["use_mmap"])
    if backend == "Metal":
        return True
    all_on_gpu = int(options.get("n_gpu_layers", 0)) == -1 and not int(options.get("n_cpu_moe", 0))
    return backend != "CPU" and all_on_gpu


class LoadedModel:
    def __init__(
        self,
        path: str,
        options: dict[str, Any],
        *,
        cancel: threading.Event | None = None,
        on_progress: Callable[[float], None] | None = None,
        backend: str = "CPU",
    ) -> None:
        t0 = time.perf_counter()
        self._cancel = cancel or threading.Event()
        n_threads = int(options.get("n_threads") or physical_cores())
        n_batch = max(1, int(options.get("n_batch") or 512))
        n_ubatch = int(options.get("n_ubatch") or n_batch)
        flash = options.get("flash_attn")
        n_cpu_moe = int(options.get("n_cpu_moe") or 0)
        self.use_mmap = choose_mmap(options, backend)
        kv_type = GGML_TYPE[str(options.get("kv_cache_type") or "f16")]
        self._log = _LoadLog()
        self._keep: list[Any] = []  # ctypes objects llama.cpp points at, for the model's life

        def progress(fraction: float, _data: ctypes.c_void_p) -> bool:
            if on_progress is not None:
                on_progress(float(fraction))
            return not self._cancel.is_set()

        progress_cb = llama_cpp.llama_progress_callback(progress)
        self._keep.append(progress_cb)

        def model_hook(params: Any) -> None:
            params.progress_callback = progress_cb
            if n_cpu_moe > 0:
                arr, patterns = expert_overrides(n_cpu_moe)
                self._keep += [arr, patterns]
                params.tensor_buft_overrides = ctypes.cast(arr, ctypes.c_void_p)

        def context_hook(params: Any) -> None:
            params.flash_attn_type = FLASH_ATTN[None if flash is None else bool(flash)]

        _disable_binding_templates()
        llama_cpp.llama_log_set(self._log.callback, ctypes.c_void_p(0))
        try:
            with _params_hooks(model_hook, context_hook):
                self.llm = llama_cpp.Llama(
                    model_path=path,
                    n_ctx=int(options.get("n_ctx", 4096)),
                    n_threads=n_threads,
                    n_threads_batch=n_threads,
                    n_gpu_layers=int(options.get("n_gpu_layers", 0)),
                    seed=int(options.get("seed", 0)) & 0xFFFFFFFF,
                    n_batch=n_batch,
                    n_ubatch=n_ubatch,
                    use_mmap=self.use_mmap,
                    swa_full=bool(options.get("swa_full", True)),
                    type_k=kv_type,
                    type_v=kv_type,
                    verbose=True,  # load logs go to stderr, which the client keeps the tail of
                )
        except ValueError as exc:
            if self._cancel.is_set():
                raise LoadCancelled("the load was cancelled") from None
            if self._log.problem:
                raise ValueError(f"{exc}: {self._log.problem}") from None
            raise exc
        finally:
            llama_cpp.llama_log_set(_quiet_log, ctypes.c_void_p(0))
        self.load_s = time.perf_counter() - t0
        self.path = path
        self.options = options
        self.n_threads = n_threads
        self.n_batch = n_batch
        self.flash = "auto" if flash is None else ("on" if flash else "off")
        self.seed = int(options.get("seed", 0)) & 0xFFFFFFFF
        self.vocab = self.llm._model.vocab
        self.n_vocab = self.llm.n_vocab()
        # llama.cpp may round the context up; the binding's token buffer keeps the size asked for
        self.n_ctx = min(self.llm.n_ctx(), len(self.llm.input_ids))
        self._piece_cache: dict[int, bytes] = {}
        self._specials: dict[str, Any] | None = None
        self._buf = ctypes.create_string_buffer(64)
        self._abort_cb = llama_cpp.ggml_abort_callback(lambda _data: self._cancel.is_set())
        self.rss_after_load = resident_bytes()
        # While a prompt is evaluated: (prompt, tokens kept from the cache, tokens to evaluate,
        # start time), so the server can answer a cancel at once (see cancel_metrics).
        self.in_prompt: tuple[list[int], int, int, float] | None = None
        t1 = time.perf_counter()
        self.exact, self.tokenizer_note = self._exact_tokenizer()
        self.tokenizer_build_s = time.perf_counter() - t1

    # --- vocabulary -------------------------------------------------------------------
    def piece(self, token: int) -> bytes:
        """Exact bytes of one token, special tokens written out."""
        cached = self._piece_cache.get(token)
        if cached is not None:
            return cached
        n = llama_cpp.llama_token_to_piece(self.vocab, token, self._buf, len(self._buf), 0, True)
        if n < 0:
            self._buf = ctypes.create_string_buffer(-n + 16)
            n = llama_cpp.llama_token_to_piece(
                self.vocab, token, self._buf, len(self._buf), 0, True
            )
        data = self._buf.raw[: max(n, 0)]
        self._piece_cache[token] = data
        return data

    def _raw_piece(self, token: int) -> bytes:
        """Like :meth:`piece`, without filling the cache (for reading the whole vocabulary)."""
        n = llama_cpp.llama_token_to_piece(self.vocab, token, self._buf, len(self._buf), 0, True)
        if n < 0:
            self._buf = ctypes.create_string_buffer(-n + 16)
            n = llama_cpp.llama_token_to_piece(
                self.vocab, token, self._buf, len(self._buf), 0, True
            )
        return self._buf.raw[: max(n, 0)]

    def _exact_tokenizer(self) -> tuple[Any, str]:
        """tiktoken's o200k_harmony BPE over this model's token bytes, or None and why not.

        The ranked tokens are the GGUF's token strings (``llama_vocab_get_text``) decoded from
        GPT-2's byte-to-unicode; read only once the cheap checks (pre-tokenizer, size) pass.
        """
        ranked: list[bytes] = []

        def token_bytes(token: int) -> bytes:
            if token >= o200k.N_MERGEABLE:
                return self._raw_piece(token)
            if not ranked:
                texts = [
                    llama_cpp.llama_vocab_get_text(self.vocab, t).decode("utf-8")
                    for t in range(o200k.N_MERGEABLE)
                ]
                ranked.extend(o200k.gguf_token_bytes(texts))
            return ranked[token]

        pre = self.llm.metadata.get("tokenizer.ggml.pre")
        try:
            why_not = o200k.recognise(pre, self.n_vocab, token_bytes)
            if why_not is not None:
                return None, f"llama.cpp ({why_not})"
            specials: dict[str, int] = {}
            for t in range(o200k.N_MERGEABLE, self.n_vocab):
                specials.setdefault(self._raw_piece(t).decode("utf-8", "replace"), t)
            return o200k.build_encoding(ranked, specials), "tiktoken (o200k_harmony)"
        except (HarmonyError, UnicodeDecodeError, ValueError) as exc:
            # a vocabulary tiktoken cannot use: keep llama.cpp's tokenizer
            return None, f"llama.cpp (not usable as o200k_harmony: {exc})"

    @property
    def text_tokenizer(self) -> str:
        """``tiktoken`` when text is tokenized exactly as OpenAI's o200k_harmony, else ``llama.cpp``."""
        return "tiktoken" if self.exact is not None else "llama.cpp"

    def tokenize(self, text: str, special: bool, add_bos: bool) -> list[int]:
        if self.exact is None:
            return self.llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=special)
        if special:
            ids: list[int] = self.exact.encode(text, allowed_special="all")
        else:
            ids = self.exact.encode_ordinary(text)
        bos = llama_cpp.llama_vocab_bos(self.vocab)
        return [bos, *ids] if add_bos and bos >= 0 else ids

    def add_bos(self) -> bool:
        return bool(llama_cpp.llama_vocab_get_add_bos(self.vocab))

    def special_tokens(self) -> dict[str, Any]:
        if self._specials is None:
            self._specials = self._scan_specials()
        return self._specials

    def _scan_specials(self) -> dict[str, Any]:
        by_text: dict[str, int] = {}
        control: list[int] = []
        eog: list[int] = []
        for tok in range(self.n_vocab):
            attr = llama_cpp.llama_vocab_get_attr(self.vocab, tok)
            is_control = bool(attr & llama_cpp.LLAMA_TOKEN_ATTR_CONTROL)
            is_user = bool(attr & llama_cpp.LLAMA_TOKEN_ATTR_USER_DEFINED)
            if llama_cpp.llama_vocab_is_eog(self.vocab, tok):
                eog.append(tok)
            if is_control or is_user:
                text = self.piece(tok).decode("utf-8", "replace")
                if is_control:
                    control.append(tok)
                if text.startswith("<|") or is_control:
                    by_text.setdefault(text, tok)
        return {
            "bos": _tok_or_none(llama_cpp.llama_vocab_bos(self.vocab)),
            "eos": _tok_or_none(llama_cpp.llama_vocab_eos(self.vocab)),
            "eot": _tok_or_none(llama_cpp.llama_vocab_eot(self.vocab)),
            "eog": eog,
            "control": control,
            "by_text": by_text,
            # tiktoken encodes text as text: no special-token literal can become a control id
            "text_tokenizer": self.text_tokenizer,
        }

    def metadata(self) -> dict[str, str]:
        return {str(k): str(v) for k, v in self.llm.metadata.items()}

    def info(self) -> dict[str, Any]:
        meta = self.llm.metadata
        model = self.llm._model.model
        specials = self.special_tokens()
        return {
            "path": self.path,
            "architecture": meta.get("general.architecture", "unknown"),
            "n_ctx": self.n_ctx,
            "n_ctx_train": int(llama_cpp.llama_model_n_ctx_train(model)),
            "n_vocab": self.n_vocab,
            "n_params": int(llama_cpp.llama_model_n_params(model)),
            "size_bytes": int(llama_cpp.llama_model_size(model)),
            "load_s": self.load_s,
            "add_bos": self.add_bos(),
            "bos": specials["bos"],
            "eos": specials["eos"],
            "eog": specials["eog"],
            "chat_template": meta.get("tokenizer.chat_template"),
            "use_mmap": self.use_mmap,
            "flash_attn": self.flash,
            "n_batch": self.n_batch,
            "n_threads": self.n_threads,
            "tensors_overridden": self._log.overridden,
            "buffers": dict(self._log.buffers),
            "rss_anon_bytes": self.rss_after_load[0],
            "rss_file_bytes": self.rss_after_load[1],
            "tokenizer": self.tokenizer_note,
            "tokenizer_build_s": self.tokenizer_build_s,
        }

    # --- generation -------------------------------------------------------------------
    def evaluated(self) -> list[int]:
        return [int(t) for t in self.llm._input_ids[: self.llm.n_tokens]]

    def _sampler(self, s: dict[str, Any]) -> internals.LlamaSampler:
        sampler = internals.LlamaSampler()
        bias = {int(k): float(v) for k, v in s.get("logit_bias") or []}
        if bias:
            sampler.add_logit_bias(self.n_vocab, bias)
        if float(s.get("repeat_penalty", 1.0)) != 1.0:
            sampler.add_penalties(self.n_vocab, 64, float(s["repeat_penalty"]), 0.0, 0.0)
        temperature = float(s.get("temperature", 1.0))
        if temperature <= 0.0:
            sampler.add_greedy()
            return sampler
        if int(s.get("top_k", 0)) > 0:
            sampler.add_top_k(int(s["top_k"]))
        if float(s.get("top_p", 1.0)) < 1.0:
            sampler.add_top_p(float(s["top_p"]), 1)
        if float(s.get("min_p", 0.0)) > 0.0:
            sampler.add_min_p(float(s["min_p"]), 1)
        sampler.add_temp(temperature)
        seed = s.get("seed")
        sampler.add_dist(self.seed if seed is None else int(seed) & 0xFFFFFFFF)
        return sampler

    def _eval_next(self, token: int) -> None:
        """Append one token to the KV cache (``Llama.eval`` minus its cache trim, not needed
        here: the cache already ends at ``n_tokens``)."""
        llm = self.llm
        n_past = llm.n_tokens
        llm._batch.set_batch(batch=[token], n_past=n_past, logits_all=False)
        llm._ctx.decode(llm._batch)
        llm.input_ids[n_past] = token
        llm.n_tokens = n_past + 1

    def cancel_metrics(self) -> dict[str, Any]:
        """Metrics of a generation cancelled during its prompt (safe from the reader thread).

        ``n_past`` is the cached prefix the generation started from: what a cancelled batch
        added is removed, and batches finished before it are kept but not counted."""
        state = self.in_prompt
        if state is None:
            raise RuntimeError("no prompt is being evaluated")
        prompt, kept, evaluated, t_start = state
        m = self._metrics(prompt, evaluated, 0, None, t_start, None, "cancelled", None, 0.0)
        m["n_past"] = kept
        return m

    def _eval_prompt(self, tokens: list[int]) -> bool:
        """Evaluate one batch of prompt tokens; False when a cancel aborted it.

        The abort callback is on only here: between generated tokens the loop looks at the
        flag itself, and a Python callback per graph node would cost decode speed. An aborted
        decode leaves the ubatches it finished in the KV cache; everything this batch added is
        removed so the cache matches ``n_tokens`` again."""
        llm = self.llm
        n_past = llm.n_tokens
        llama_cpp.llama_set_abort_callback(llm._ctx.ctx, self._abort_cb, None)
        try:
            llm.eval(tokens)
        except RuntimeError as exc:
            if not self._cancel.is_set() or "returned 2" not in str(exc):
                raise
            if not llm._ctx.kv_cache_seq_rm(-1, n_past, -1):
                llm._ctx.kv_cache_seq_rm(-1, 0, -1)
                n_past = 0
            llm.n_tokens = n_past
            return False
        finally:
            llama_cpp.llama_set_abort_callback(llm._ctx.ctx, _NO_ABORT, None)
        return True

    def _reuse_prefix(self, prompt: list[int]) -> int:
        """Keep the longest common prefix in the KV cache; return how many tokens are kept."""
        llm = self.llm
        keep = 0
        limit = min(llm.n_tokens, len(prompt))
        ids = llm._input_ids
        while keep < limit and ids[keep] == prompt[keep]:
            keep += 1
        if keep == len(prompt):
            keep -= 1  # the last prompt token must be evaluated again to get its logits
        if keep < llm.n_tokens:
            if not llm._ctx.kv_cache_seq_rm(-1, keep, -1):
                keep = 0  # partial removal unsupported (recurrent models): start over
            llm.n_tokens = keep
        return keep

    def generate(
        self, req: dict[str, Any], cancelled: threading.Event, t_start: float
    ) -> Iterator[Emitted]:
        llm = self.llm
        if req.get("prompt_tokens") is not None:
            prompt = [int(t) for t in req["prompt_tokens"]]
        else:
            prompt = self.tokenize(req.get("prompt_text") or "", False, self.add_bos())
        if not prompt:
            prompt = [t for t in [llama_cpp.llama_vocab_bos(self.vocab)] if t >= 0][:1]
        n_ctx = self.n_ctx
        if len(prompt) >= n_ctx:
            yield Emitted(
                extra={
                    "error": f"the prompt has {len(prompt)} tokens but the context holds {n_ctx}",
                    "kind": "context_overflow",
                    "needed": len(prompt),
                    "available": n_ctx,
                }
            )
            return
        for tok in prompt:
            if not 0 <= tok < self.n_vocab:
                yield Emitted(
                    extra={
                        "error": f"token id {tok} is outside the vocabulary",
                        "kind": "bad_request",
                    }
                )
                return
        max_tokens = int(req.get("max_tokens", 256))
        stops = req.get("stop_tokens")
        stop_set = set(stops) if stops is not None else set(self.special_tokens()["eog"])
        stop_strings: list[str] = [s for s in req.get("stop_strings") or [] if s]
        sampler = self._sampler(req.get("sampling") or {})
        control = set(self.special_tokens()["control"])

        kept = self._reuse_prefix(prompt)
        todo = prompt[kept:]
        evaluated = len(todo)
        self._cancel = cancelled
        self.in_prompt = (prompt, kept, evaluated, t_start)
        try:
            for i in range(0, len(todo), self.n_batch):
                if cancelled.is_set() or not self._eval_prompt(todo[i : i + self.n_batch]):
                    yield Emitted(done=self.cancel_metrics())
                    return
                resident_bytes()  # sample the memory peak while the compute buffers are in use
                yield Emitted(progress=(kept + min(i + self.n_batch, len(todo)), len(prompt)))
        finally:
            self.in_prompt = None
        t_prompt = time.perf_counter()

        utf8 = Utf8Stream()
        text_all = ""
        shown = 0
        n_gen = 0
        ttft: float | None = None
        reason = "max_tokens"
        stop_token: int | None = None
        while n_gen < max_tokens:
            if cancelled.is_set():
                reason = "cancelled"
                break
            token = sampler.sample(llm._ctx, -1)
            n_gen += 1
            now = time.perf_counter()
            if ttft is None:
                ttft = now - t_start
            if token in stop_set:
                reason, stop_token = "stop_token", token
                yield Emitted(token=token, piece=self.piece(token), text="", t=now - t_start)
                break
            piece = self.piece(token)
            if token not in control:  # control tokens (<s>, ...) keep their bytes, not text
                text_all += utf8.feed(piece)
            new_text = ""
            if stop_strings:
                hit = min(
                    (
                        p
                        for p in (text_all.find(s, max(0, shown - len(s))) for s in stop_strings)
                        if p >= 0
                    ),
                    default=-1,
                )
                if hit >= 0:
                    new_text = text_all[shown:hit]
                    yield Emitted(token=token, piece=piece, text=new_text, t=now - t_start)
                    reason = "stop_string"
                    break
                upto = len(text_all) - hold_back_for_stops(text_all, stop_strings)
            else:
                upto = len(text_all)
            if upto > shown:
                new_text, shown = text_all[shown:upto], upto
            yield Emitted(token=token, piece=piece, text=new_text, t=now - t_start)
            if n_gen >= max_tokens:
                break
            if llm.n_tokens + 1 >= n_ctx:
                reason = "context_full"
                break
            self._eval_next(token)
        else:
            reason = "max_tokens"
        if reason in ("max_tokens", "context_full", "cancelled"):
            tail = text_all[shown:] + utf8.flush()
            if tail:
                yield Emitted(text=tail, t=time.perf_counter() - t_start)
        yield Emitted(
            done=self._metrics(
                prompt,
                evaluated,
                n_gen,
                ttft,
                t_start,
                t_prompt,
                reason,
                stop_token,
                time.perf_counter() - t_start,
            )
        )

    def _metrics(
        self,
        prompt: list[int],
        evaluated: int,
        n_gen: int,
        ttft: float | None,
        t_start: float,
        t_prompt: float | None,
        reason: str,
        stop_token: int | None,
        total: float,
    ) -> dict[str, Any]:
        prompt_s = (t_prompt - t_start) if t_prompt else 0.0
        anon, file = resident_bytes()
        gen_s = max(total - prompt_s, 1e-9)
        return {
            "prompt_tokens": len(prompt),
            "prompt_evaluated": evaluated,
            "completion_tokens": n_gen,
            "ttft_s": ttft if ttft is not None else 0.0,
            "prompt_tokens_per_s": evaluated / prompt_s if prompt_s > 0 else 0.0,
            "tokens_per_s": (n_gen - 1) / (total - (ttft or 0.0)) if n_gen > 1 else 0.0,
            "total_s": total,
            "load_s": self.load_s,
            "peak_rss_bytes": peak_anon_bytes(),
            "rss_anon_bytes": anon,
            "rss_file_bytes": file,
            "stop_reason": reason,
            "stop_token": stop_token,
            "n_past": self.llm.n_tokens,
            "prompt_ids": prompt,
            "gen_s": gen_s,
        }

    def close(self) -> None:
        self.llm.close()


_NO_ABORT = llama_cpp.ggml_abort_callback()  # NULL: no callback


def _tok_or_none(tok: int) -> int | None:
    return int(tok) if tok is not None and tok >= 0 else None


@llama_cpp.llama_log_callback
def _quiet_log(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
    # After loading, keep only warnings and errors (they help explain a crash).
    if level in (2, 3):
        os.write(2, text)


ProgressFn = Callable[[int, int], None]
