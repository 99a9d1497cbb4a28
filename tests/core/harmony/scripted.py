"""A scripted stand-in for EngineClient, for tool-loop cases a real model cannot be made to hit.

It speaks the documented EngineClient API (generate -> batches -> result, evaluated_tokens,
cancel) and does the worker's KV-prefix accounting the same way (longest common prefix with
the last evaluated tokens; the last prompt token is always evaluated again). Replies are
written-out Harmony text, tokenized with the byte vocabulary.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from gptoss_desktop.core.engine.options import GenerateRequest, GenerationMetrics, TokenBatch
from gptoss_desktop.core.errors import ContextOverflow
from gptoss_desktop.core.harmony.vocab import ByteVocabulary

Reply = str | Callable[[str], str]


class ScriptedEngine:
    def __init__(
        self, replies: list[Reply], *, n_ctx: int = 1 << 20, batch: int = 3, send_stop: bool = True
    ) -> None:
        self.send_stop = send_stop
        self.vocab = ByteVocabulary()
        self.replies = list(replies)
        self.requests: list[GenerateRequest] = []
        self.evaluated_tokens: list[int] = []
        self.n_ctx = n_ctx
        self.batch = batch

    def prompt_text(self, i: int = -1) -> str:
        ids = self.requests[i].prompt_tokens or []
        return b"".join(self.vocab.token_bytes(t) for t in ids).decode()

    def generate(self, request: GenerateRequest) -> ScriptedGeneration:
        self.requests.append(request)
        prompt = list(request.prompt_tokens or [])
        if len(prompt) >= self.n_ctx:
            raise ContextOverflow("too long", needed=len(prompt), available=self.n_ctx)
        reply = self.replies.pop(0)
        text = reply(self.prompt_text()) if callable(reply) else reply
        return ScriptedGeneration(self, request, prompt, self.vocab.encode_with_specials(text))


class ScriptedGeneration:
    def __init__(
        self, engine: ScriptedEngine, request: GenerateRequest, prompt: list[int], reply: list[int]
    ) -> None:
        self.engine = engine
        self.request = request
        self.prompt = prompt
        self.reply = reply
        self.result: GenerationMetrics | None = None
        self.cancelled = False
        self.tokens: list[int] = []

    def cancel(self) -> None:
        self.cancelled = True

    def __iter__(self) -> Iterator[TokenBatch]:
        keep = 0
        old = self.engine.evaluated_tokens
        while keep < min(len(old), len(self.prompt)) and old[keep] == self.prompt[keep]:
            keep += 1
        if keep == len(self.prompt):
            keep -= 1
        stops = set(self.request.stop_tokens or [])
        reason, stop_token = "max_tokens", None
        out: list[int] = []
        for token in self.reply:
            if self.cancelled:
                reason = "cancelled"
                break
            if len(out) >= self.request.max_tokens:
                break
            if token in stops and not self.engine.send_stop:
                reason, stop_token = "stop_token", token
                break
            out.append(token)
            if len(out) % self.engine.batch == 0:
                yield self._batch(out[-self.engine.batch :])
            if token in stops:
                reason, stop_token = "stop_token", token
                break
        rest = len(out) % self.engine.batch
        if rest:
            yield self._batch(out[-rest:])
        self.tokens = out
        sent_stop = stop_token is not None and self.engine.send_stop
        n_past = len(self.prompt) + len(out) - (1 if sent_stop else 0)
        self.engine.evaluated_tokens = (self.prompt + out)[:n_past]
        self.result = GenerationMetrics(
            prompt_tokens=len(self.prompt),
            prompt_evaluated=len(self.prompt) - keep,
            completion_tokens=len(out),
            ttft_s=0.001,
            prompt_tokens_per_s=0.0,
            tokens_per_s=0.0,
            total_s=0.002,
            load_s=0.0,
            peak_rss_bytes=0,
            stop_reason=reason,  # type: ignore[arg-type]
            stop_token=stop_token,
        )

    def _batch(self, ids: list[int]) -> TokenBatch:
        pieces = [self.engine.vocab.token_bytes(t) for t in ids]
        return TokenBatch(
            ids=list(ids), pieces=pieces, text=b"".join(pieces).decode("utf-8", "replace"), t=0.0
        )
