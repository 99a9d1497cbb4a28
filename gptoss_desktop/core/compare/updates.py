"""What a comparison is made of and what it reports: plain data, no behaviour.

``ColumnSetup`` and ``CompareSettings`` say what to run; ``ColumnResult`` is what a column
ended with; the ``RunUpdate`` types are what a ``CompareRun`` listener receives (from the
column threads), in order per column.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from gptoss_desktop.core.compare.metrics import ColumnMetrics
from gptoss_desktop.core.compare.scheduling import ScheduleChoice, SchedulePlan
from gptoss_desktop.core.engine import SamplingOptions

ColumnState = Literal["pending", "queued", "loading", "streaming", "done", "error", "cancelled"]
ENDED: frozenset[str] = frozenset({"done", "error", "cancelled"})


@dataclass(frozen=True)
class ColumnSetup:
    """One column: a model file, an optional display name and optional overrides."""

    model_path: Path
    label: str = ""
    sampling: SamplingOptions | None = None  # None: the comparison's shared settings
    max_tokens: int | None = None
    system_prompt: str | None = None
    template_override: str | None = None

    @property
    def name(self) -> str:
        return self.label or Path(self.model_path).stem


@dataclass(frozen=True)
class CompareSettings:
    """Shared by every column. ``sampling.seed=None``: one random seed, the same for all."""

    sampling: SamplingOptions = field(default_factory=SamplingOptions)
    max_tokens: int = 512
    n_ctx: int = 4096
    #: Instructions (the developer message for Harmony models; core/chat's one rule).
    system_prompt: str = ""
    reasoning_effort: str = "medium"
    schedule: ScheduleChoice = "auto"
    n_threads: int | None = None  # None: divided between concurrent workers
    #: Layers whose MoE experts stay in RAM (the app's setting); None: the memory plan decides.
    n_cpu_moe: int | None = None
    blind: bool = False


@dataclass(frozen=True)
class ColumnResult:
    position: int
    label: str
    model_path: str
    state: ColumnState
    answer: str = ""
    reasoning: str = ""
    metrics: ColumnMetrics = field(default_factory=ColumnMetrics)
    error: str | None = None
    error_details: str = ""
    settings: dict[str, Any] = field(default_factory=dict)


# --- what the listener receives (from column threads) ------------------------------------------
@dataclass(frozen=True)
class ColumnStateChanged:
    position: int
    state: ColumnState
    message: str = ""


@dataclass(frozen=True)
class ColumnText:
    position: int
    channel: str  # "analysis" (reasoning) or "final" (answer)
    text: str


@dataclass(frozen=True)
class ColumnMetricsChanged:
    position: int
    metrics: ColumnMetrics


@dataclass(frozen=True)
class ColumnEnded:
    result: ColumnResult


@dataclass(frozen=True)
class RunEnded:
    results: tuple[ColumnResult, ...]


@dataclass(frozen=True)
class RunPlanned:
    """How the columns will run (all at once or one by one) and why."""

    plan: SchedulePlan


RunUpdate = (
    RunPlanned | ColumnStateChanged | ColumnText | ColumnMetricsChanged | ColumnEnded | RunEnded
)
Listener = Callable[[RunUpdate], None]
