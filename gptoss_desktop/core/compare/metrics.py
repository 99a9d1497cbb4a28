"""Per-column speed and memory figures, live while a column streams and final after it.

Live figures come from the token batches (``TokenBatch.t`` is measured in the worker, so
pipe delays do not count); the final ones replace them with the worker's own
:class:`GenerationMetrics`. Peak memory is the worker process's peak resident set (VmHWM)
read from ``/proc`` where the OS offers it (Linux), else the worker's own report.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass, replace
from typing import Any

from gptoss_desktop.core.engine.options import GenerationMetrics
from gptoss_desktop.core.units import format_bytes as format_bytes  # re-exported


@dataclass(frozen=True)
class ColumnMetrics:
    ttft_s: float | None = None
    prompt_tokens: int = 0
    prompt_tokens_per_s: float | None = None
    tokens: int = 0
    tokens_per_s: float | None = None
    total_s: float | None = None
    load_s: float | None = None
    peak_rss_bytes: int | None = None
    n_threads: int | None = None
    final: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnMetrics:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})

    def summary(self) -> str:
        """One short line for the column footer, in plain words:
        ``first token after 120 ms · 35.2 tokens/s · 120 tokens · 1.2 GB``."""
        bits: list[str] = []
        if self.ttft_s is not None:
            bits.append(f"first token after {format_seconds(self.ttft_s)}")
        if self.tokens_per_s:
            bits.append(f"{self.tokens_per_s:,.1f} tokens/s")
        if self.prompt_tokens_per_s and self.final:
            bits.append(f"prompt read at {self.prompt_tokens_per_s:,.0f} tokens/s")
        bits.append(f"{self.tokens:,} token" + ("" if self.tokens == 1 else "s"))
        if self.peak_rss_bytes:
            bits.append(format_bytes(self.peak_rss_bytes))
        return " · ".join(bits)


class LiveMeter:
    """Builds :class:`ColumnMetrics` from token batches of one generation."""

    def __init__(self, *, n_threads: int | None = None, load_s: float | None = None) -> None:
        self.metrics = ColumnMetrics(n_threads=n_threads, load_s=load_s)
        self._first_t: float | None = None

    def on_tokens(self, tokens: int, t: float, peak_rss: int | None = None) -> ColumnMetrics:
        m = self.metrics
        if self._first_t is None and tokens > 0:
            self._first_t = t
            m = replace(m, ttft_s=t)
        rate = m.tokens_per_s
        if self._first_t is not None and tokens > 1 and t > self._first_t:
            rate = (tokens - 1) / (t - self._first_t)
        peak = max(filter(None, (peak_rss, m.peak_rss_bytes)), default=None)
        self.metrics = replace(m, tokens=tokens, tokens_per_s=rate, total_s=t, peak_rss_bytes=peak)
        return self.metrics

    def on_finished(self, result: GenerationMetrics, peak_rss: int | None = None) -> ColumnMetrics:
        """Final figures; ``peak_rss`` (read from the OS, when it can) wins over the worker's.

        On Linux the worker's own ``ru_maxrss`` also counts the app's memory at the moment
        the worker was spawned (the high-water mark survives exec), so ``/proc``'s VmHWM of
        the worker is the true figure there.
        """
        peak = (
            peak_rss if peak_rss else max(result.peak_rss_bytes, self.metrics.peak_rss_bytes or 0)
        )
        self.metrics = replace(
            self.metrics,
            ttft_s=result.ttft_s if result.completion_tokens else None,
            prompt_tokens=result.prompt_tokens,
            prompt_tokens_per_s=result.prompt_tokens_per_s or None,
            tokens=result.completion_tokens,
            tokens_per_s=result.tokens_per_s or None,
            total_s=result.total_s,
            load_s=self.metrics.load_s if self.metrics.load_s is not None else result.load_s,
            peak_rss_bytes=peak or None,
            final=True,
        )
        return self.metrics


def process_peak_rss(pid: int) -> int | None:
    """Memory a worker process must keep in RAM now, where the OS tells it cheaply (Linux):
    its anonymous resident memory (RssAnon). File pages of a memory-mapped model are left out:
    they are clean and the kernel drops them under pressure, and counting them showed 22 GB
    for gpt-oss-20B's 12 GB need. The runner keeps the largest value it samples."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def format_seconds(s: float) -> str:
    return f"{s * 1000:.0f} ms" if s < 1 else f"{s:.2f} s"
