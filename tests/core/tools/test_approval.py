"""Approval: ask first, always-allow per chat, deny, edit, per-turn limit, Harmony hook."""

from __future__ import annotations

import pytest

from gptoss_desktop.core.harmony import toolcall as harmony
from gptoss_desktop.core.tools.approval import (
    DENIED_MESSAGE,
    Approval,
    ApprovalMode,
    ApprovalPolicy,
    ApprovalRequest,
    Decision,
    terminal_asker,
)
from gptoss_desktop.core.tools.results import ToolCall


class ScriptedUser:
    def __init__(self, *answers: Approval) -> None:
        self.answers = list(answers)
        self.seen: list[ApprovalRequest] = []

    def __call__(self, request: ApprovalRequest) -> Approval:
        self.seen.append(request)
        return self.answers.pop(0)


CALL = ToolCall("functions.get_weather", {"city": "Paris"})


def test_allow_once_asks_every_time() -> None:
    user = ScriptedUser(Approval(Decision.ALLOW_ONCE), Approval(Decision.ALLOW_ONCE))
    policy = ApprovalPolicy(ask=user)
    assert policy.review(CALL).allowed
    assert policy.review(CALL).allowed
    assert len(user.seen) == 2
    assert user.seen[0].arguments_text == '{\n  "city": "Paris"\n}'
    assert (user.seen[1].call_number, user.seen[1].max_calls_per_turn) == (2, 8)


def test_always_allow_is_remembered_per_tool() -> None:
    user = ScriptedUser(Approval(Decision.ALWAYS_ALLOW), Approval(Decision.DENY))
    policy = ApprovalPolicy(ask=user)
    assert policy.review(CALL).reason == "asked"
    assert policy.review(CALL).reason == "always allowed"
    assert policy.always_allowed == {"functions.get_weather"}
    other = policy.review(ToolCall("python", "print(1)"))
    assert not other.allowed and other.message == DENIED_MESSAGE
    policy.forget("functions.get_weather")
    assert policy.always_allowed == frozenset()


def test_deny_tells_the_model_why() -> None:
    policy = ApprovalPolicy(ask=ScriptedUser(Approval(Decision.DENY, reason="not on my account")))
    verdict = policy.review(CALL)
    assert not verdict.allowed and verdict.reason == "denied"
    assert verdict.message == "The user denied this tool call: not on my account"


def test_edited_arguments_run_instead() -> None:
    policy = ApprovalPolicy(ask=ScriptedUser(Approval(Decision.ALLOW_ONCE, {"city": "Lyon"})))
    verdict = policy.review(CALL)
    assert verdict.allowed and verdict.edited
    assert verdict.call == ToolCall("functions.get_weather", {"city": "Lyon"})


def test_modes_all_and_none_do_not_ask() -> None:
    assert ApprovalPolicy(ApprovalMode.ALL).review(CALL).reason == "mode all"
    verdict = ApprovalPolicy("none").review(CALL)
    assert not verdict.allowed and "turned off" in verdict.message
    with pytest.raises(ValueError):
        ApprovalPolicy("ask")


def test_limit_per_turn_stops_a_runaway_loop() -> None:
    policy = ApprovalPolicy("all", max_calls_per_turn=3)
    verdicts = [policy.review(CALL) for _ in range(5)]
    assert [v.allowed for v in verdicts] == [True, True, True, False, False]
    assert verdicts[3].limit_reached and "limit of 3" in verdicts[3].message
    policy.begin_turn()
    assert policy.review(CALL).allowed


def test_limit_is_checked_before_asking() -> None:
    user = ScriptedUser(Approval(Decision.ALLOW_ONCE))
    policy = ApprovalPolicy(ask=user, max_calls_per_turn=1)
    policy.review(CALL)
    assert policy.review(CALL).limit_reached
    assert len(user.seen) == 1


def test_arguments_are_shown_in_full_and_readable() -> None:
    assert (
        ToolCall("functions.f", '{"a": [1, 2]}').arguments_text()
        == '{\n  "a": [\n    1,\n    2\n  ]\n}'
    )
    assert ToolCall("python", "print(1)\n").arguments_text() == "print(1)\n"
    assert ToolCall("functions.f", "[1]").arguments_text() == "[1]"


def test_harmony_hook() -> None:
    user = ScriptedUser(
        Approval(Decision.ALLOW_ONCE),
        Approval(Decision.DENY),
        Approval(Decision.ALLOW_ONCE, {"city": "Nice"}),
    )
    hook = ApprovalPolicy(ask=user).hook()
    call = harmony.ToolCall("functions.get_weather", '{"city": "Paris"}', "<|constrain|>json")
    assert isinstance(hook(call), harmony.Approved)
    assert isinstance(hook(call), harmony.Denied)
    edited = hook(call)
    assert isinstance(edited, harmony.Edited) and edited.arguments == {"city": "Nice"}


def test_terminal_asker() -> None:
    printed: list[str] = []
    answers = iter(["maybe", "a"])
    ask = terminal_asker(lambda prompt: next(answers), printed.append)
    approval = ask(ApprovalRequest(CALL, 1, 8))
    assert approval.decision is Decision.ALWAYS_ALLOW
    assert "functions.get_weather" in printed[0] and '"city": "Paris"' in printed[0]

    def eof(prompt: str) -> str:
        raise EOFError

    assert (
        terminal_asker(eof, printed.append)(ApprovalRequest(CALL, 1, 8)).decision is Decision.DENY
    )
