"""History rules: final answers end in <|end|>; analysis dropped after a final, kept in a tool loop."""

from __future__ import annotations

from gptoss_desktop.core.harmony.conversation import DropPolicy, kept_indices
from gptoss_desktop.core.harmony.model import Message
from gptoss_desktop.core.harmony.render import conversation_segments, segments_text

U1, A1, F1 = (
    Message.user("2+2?"),
    Message.assistant("thinking 2+2", "analysis"),
    Message.assistant("4", "final"),
)
U2, A2, F2 = (
    Message.user("3+5?"),
    Message.assistant("thinking 3+5", "analysis"),
    Message.assistant("8", "final"),
)
U3, A3 = Message.user("weather?"), Message.assistant("need the tool", "analysis")
CALL3 = Message.assistant('{"l": "x"}', "commentary", "functions.w", "<|constrain|>json")
RES3 = Message.tool_result("functions.w", '{"t": 1}')
A3B = Message.assistant("got it", "analysis")


def texts(messages: list[Message], policy: DropPolicy) -> list[str]:
    return [messages[i].text for i in kept_indices(messages, policy)]


def test_correct_policy_drops_every_analysis_before_the_last_final() -> None:
    conv = [U1, A1, F1, U2, A2, F2]
    assert texts(conv, DropPolicy.BEFORE_LAST_FINAL) == ["2+2?", "4", "3+5?", "8"]
    # the reference keeps "thinking 3+5" (its quirk), as the kit requires
    assert texts(conv, DropPolicy.REFERENCE) == ["2+2?", "4", "3+5?", "thinking 3+5", "8"]
    assert texts(conv, DropPolicy.KEEP) == [m.text for m in conv]


def test_many_turns_never_accumulate_analysis() -> None:
    conv: list[Message] = []
    for i in range(10):
        conv += [
            Message.user(f"q{i}"),
            Message.assistant(f"think{i}", "analysis"),
            Message.assistant(f"a{i}", "final"),
        ]
        kept = texts([*conv, Message.user("next")], DropPolicy.BEFORE_LAST_FINAL)
        assert not any(t.startswith("think") for t in kept)


def test_ongoing_tool_loop_keeps_its_analysis_and_drops_older_turns() -> None:
    conv = [U1, A1, F1, U3, A3, CALL3, RES3, A3B]
    kept = texts(conv, DropPolicy.BEFORE_LAST_FINAL)
    assert "thinking 2+2" not in kept  # an earlier, finished turn
    assert kept[-5:] == ["weather?", "need the tool", '{"l": "x"}', '{"t": 1}', "got it"]
    # the reference drops nothing here (last assistant message is not a final)
    assert texts(conv, DropPolicy.REFERENCE) == [m.text for m in conv]


def test_tool_loop_that_ends_in_a_final_drops_its_analysis_but_keeps_calls_and_results() -> None:
    conv = [
        U3,
        A3,
        CALL3,
        RES3,
        A3B,
        Message.assistant("It is sunny.", "final"),
        Message.user("thanks"),
    ]
    assert texts(conv, DropPolicy.BEFORE_LAST_FINAL) == [
        "weather?",
        '{"l": "x"}',
        '{"t": 1}',
        "It is sunny.",
        "thanks",
    ]


def test_rendered_history_of_the_correct_mode() -> None:
    text = segments_text(conversation_segments([U1, A1, F1, U2, A2, F2]))
    assert text == (
        "<|start|>user<|message|>2+2?<|end|><|start|>assistant<|channel|>final<|message|>4<|end|>"
        "<|start|>user<|message|>3+5?<|end|><|start|>assistant<|channel|>final<|message|>8<|end|>"
    )


def test_no_final_yet_keeps_everything() -> None:
    conv = [U1, A1]
    assert texts(conv, DropPolicy.BEFORE_LAST_FINAL) == ["2+2?", "thinking 2+2"]
