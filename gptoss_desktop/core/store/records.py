"""Plain records the store reads and writes. Frozen: change them with ``dataclasses.replace``."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, get_args

from gptoss_desktop.core.errors import StoreError

Role = Literal["system", "developer", "user", "assistant", "tool"]
Channel = Literal["analysis", "commentary", "final"]
MessageStatus = Literal["complete", "streaming", "interrupted", "error", "cancelled"]
ColumnStatus = Literal["pending", "streaming", "done", "error", "cancelled", "interrupted"]
VoteOutcome = Literal["win", "tie", "all_bad"]
ReasoningEffort = Literal["low", "medium", "high"]

ROLES: frozenset[str] = frozenset(get_args(Role))
CHANNELS: frozenset[str] = frozenset(get_args(Channel))
MESSAGE_STATUSES: frozenset[str] = frozenset(get_args(MessageStatus))
COLUMN_STATUSES: frozenset[str] = frozenset(get_args(ColumnStatus))
VOTE_OUTCOMES: frozenset[str] = frozenset(get_args(VoteOutcome))
REASONING_EFFORTS: frozenset[str] = frozenset(get_args(ReasoningEffort))

JsonObject = dict[str, Any]
MAX_CONTEXT_LENGTH = 1 << 20  # tokens; gpt-oss has 131,072, no GGUF model has more than this


def to_json(value: object, what: str) -> str:
    """Compact JSON text; a value JSON cannot hold (NaN, objects) is a :class:`StoreError`."""
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise StoreError(f"Cannot save {what}: it is not plain JSON data ({exc}).") from exc


def json_object(value: Mapping[str, Any] | None, what: str) -> JsonObject | None:
    """A JSON-safe copy of a mapping (``None`` stays ``None``)."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise StoreError(f"Cannot save {what}: expected a JSON object, got {type(value).__name__}.")
    copy: JsonObject = json.loads(to_json(dict(value), what))
    return copy


def check_choice(value: str | None, allowed: frozenset[str], what: str) -> None:
    if value is not None and value not in allowed:
        raise StoreError(f"Unknown {what} {value!r}: use one of {', '.join(sorted(allowed))}.")


@dataclass(frozen=True)
class ChatSettings:
    """Settings of one chat. ``function_tools`` are JSON function definitions (``name`` required)."""

    model: str | None = None
    reasoning_effort: ReasoningEffort = "medium"
    #: An imported or older chat's "System prompt": sent as the first instructions (see core/chat).
    system_prompt: str = ""
    instructions: str = ""
    #: The model identity, set on purpose; empty keeps gpt-oss's default.
    model_identity: str = ""
    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int | None = None
    context_length: int = 8192
    seed: int | None = None
    enabled_tools: tuple[str, ...] = ()
    function_tools: tuple[JsonObject, ...] = ()

    def __post_init__(self) -> None:
        check_choice(self.reasoning_effort, REASONING_EFFORTS, "reasoning effort")
        for name in ("temperature", "top_p"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise StoreError(f"Chat setting {name} must be a number, not {value!r}.")
            if not math.isfinite(value) or value < 0:
                raise StoreError(f"Chat setting {name} must be a finite number >= 0, not {value}.")
        for name, minimum, maximum in (
            ("max_tokens", 1, MAX_CONTEXT_LENGTH),
            ("context_length", 1, MAX_CONTEXT_LENGTH),
            ("seed", 0, 2**63 - 1),
        ):
            value = getattr(self, name)
            if value is None and name != "context_length":
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise StoreError(f"Chat setting {name} must be a whole number >= {minimum}.")
            if value > maximum:
                raise StoreError(f"Chat setting {name} must be at most {maximum}.")
        for name in ("model",):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise StoreError(f"Chat setting {name} must be text.")
        for name in ("system_prompt", "instructions", "model_identity"):
            if not isinstance(getattr(self, name), str):
                raise StoreError(f"Chat setting {name} must be text.")
        if not all(isinstance(t, str) and t for t in self.enabled_tools):
            raise StoreError("Chat setting enabled_tools must be a list of tool names.")
        for tool in self.function_tools:
            if (
                not isinstance(tool, Mapping)
                or not isinstance(tool.get("name"), str)
                or not tool["name"]
            ):
                raise StoreError(
                    'Each function tool must be a JSON object with a non-empty "name": fix '
                    "the function definitions.",
                )
        object.__setattr__(self, "enabled_tools", tuple(self.enabled_tools))
        object.__setattr__(
            self,
            "function_tools",
            tuple(json_object(t, "a function tool") or {} for t in self.function_tools),
        )

    def to_dict(self) -> JsonObject:
        d = asdict(self)
        d["enabled_tools"] = list(self.enabled_tools)
        d["function_tools"] = [dict(t) for t in self.function_tools]
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ChatSettings:
        """Build from saved JSON; keys this version does not know are ignored."""
        if not isinstance(data, Mapping):
            raise StoreError("Chat settings must be a JSON object.")
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        for key in ("enabled_tools", "function_tools"):
            if key in known:
                if not isinstance(known[key], list | tuple):
                    raise StoreError(f"Chat setting {key} must be a list.")
                known[key] = tuple(known[key])
        return cls(**known)


@dataclass(frozen=True)
class Conversation:
    id: int
    title: str
    created_at: float
    updated_at: float
    pinned: bool
    deleted_at: float | None
    active_leaf_id: int | None
    settings: ChatSettings


@dataclass(frozen=True)
class Message:
    """One row of a chat. A Harmony turn may span several rows sharing ``turn_id``."""

    id: int
    conversation_id: int
    parent_id: int | None
    turn_id: str
    role: Role
    content: str
    author_name: str | None = None
    channel: Channel | None = None
    recipient: str | None = None
    content_type: str | None = None
    status: MessageStatus = "complete"
    error: str | None = None
    model: str | None = None
    metrics: JsonObject | None = None
    created_at: float = 0.0
    updated_at: float = 0.0


@dataclass(frozen=True)
class SearchHit:
    """A search match: a message (``message_id``) or a chat title (``message_id is None``).

    ``snippet`` marks the matched words with the markers given to ``search``.
    """

    conversation_id: int
    conversation_title: str
    message_id: int | None
    role: Role | None
    channel: Channel | None
    snippet: str
    rank: float


@dataclass(frozen=True)
class ColumnSpec:
    """What one compare column runs: a model label and its settings (free-form JSON)."""

    model: str
    settings: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ComparisonColumn:
    id: int
    comparison_id: int
    position: int
    model: str
    settings: JsonObject
    output: str
    reasoning: str
    metrics: JsonObject | None
    status: ColumnStatus
    error: str | None
    updated_at: float


@dataclass(frozen=True)
class StoredVote:
    """A blind vote. ``shown_order`` lists column positions left to right as they were shown;
    ``winner_position`` is a column position (not a screen slot), set only when outcome is win."""

    id: int
    comparison_id: int
    created_at: float
    shown_order: tuple[int, ...]
    outcome: VoteOutcome
    winner_position: int | None


@dataclass(frozen=True)
class Comparison:
    id: int
    title: str
    prompt: str
    messages: tuple[JsonObject, ...]
    created_at: float
    updated_at: float
    columns: tuple[ComparisonColumn, ...]
    vote: StoredVote | None


@dataclass(frozen=True)
class VoteRecord:
    """A vote as the ratings see it: model labels instead of column positions."""

    comparison_id: int
    created_at: float
    shown_models: tuple[str, ...]
    outcome: VoteOutcome
    winner_model: str | None
