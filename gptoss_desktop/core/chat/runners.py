"""The runner that fits a loaded model (:mod:`.kind`'s one rule)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gptoss_desktop.core.chat.harmony_turns import HarmonyTurnRunner, TurnTooling
from gptoss_desktop.core.chat.kind import model_kind
from gptoss_desktop.core.chat.template_turns import TemplateTurnRunner
from gptoss_desktop.core.chat.turns import CompletionTurnRunner, TurnRunner

if TYPE_CHECKING:
    from gptoss_desktop.core.engine import EngineClient


def runner_for(client: EngineClient, *, tooling: TurnTooling | None = None) -> TurnRunner:
    """The runner that fits what the loaded model speaks: Harmony (with ``tooling``, the chat's
    tools), its chat template, or plain completion (a model without a chat format)."""
    template = client.info.chat_template if client.info is not None else None
    kind = model_kind(client.special_tokens(), template)
    if kind == "harmony":
        return HarmonyTurnRunner(client, tooling=tooling)
    if kind == "template":
        return TemplateTurnRunner(client)
    return CompletionTurnRunner(client)
