"""The tool definitions match what gpt-oss was trained with (the Harmony conformance kit)."""

from __future__ import annotations

import json

import pytest

from gptoss_desktop.core.harmony.codec import message_from_dict, namespace_to_dict
from gptoss_desktop.core.harmony.model import Message, Role, SystemContent
from gptoss_desktop.core.harmony.render import render_conversation_text
from gptoss_desktop.core.tools.functions import BUILTINS, FunctionSpec
from gptoss_desktop.core.tools.namespaces import builtin_tool_namespaces, functions_namespace
from tests.helpers import HARMONY_KIT


def _kit() -> dict:
    path = HARMONY_KIT / "cases.json"
    if not path.is_file():
        pytest.skip("needs ../shared/reference/harmony/cases.json beside the checkout")
    return json.loads(path.read_text(encoding="utf-8"))


def test_builtin_namespaces_match_the_kit_exactly() -> None:
    kit = _kit()["builtin_tool_namespaces"]
    ours = builtin_tool_namespaces()
    assert list(ours) == ["browser", "python"]
    for name, namespace in ours.items():
        # Byte-exact, key order included (it decides the order properties are rendered in).
        assert json.dumps(namespace_to_dict(namespace)) == json.dumps(kit[name])


def test_rendered_system_message_matches_the_kit_file() -> None:
    kit = _kit()
    case = next(c for c in kit["cases"] if c["name"] == "test_browser_and_python_tool")
    messages = [message_from_dict(m) for m in case["messages"]]
    system = messages[0].content[0]
    assert isinstance(system, SystemContent)
    ours = SystemContent(
        model_identity=system.model_identity,
        reasoning_effort=system.reasoning_effort,
        conversation_start_date=system.conversation_start_date,
        knowledge_cutoff=system.knowledge_cutoff,
        channel_config=system.channel_config,
    ).with_tools(*builtin_tool_namespaces().values())
    messages[0] = Message(messages[0].author, (ours,))
    text = render_conversation_text(messages, next_turn_role=Role(case["next_turn_role"]))
    expected = (HARMONY_KIT / case["expected_file"]).read_text(encoding="utf-8")
    if case.get("expected_transform") == "rstrip":
        expected = expected.rstrip()
    assert "## browser" in text and "## python" in text
    assert text == expected


def test_only_the_chosen_builtins() -> None:
    assert list(builtin_tool_namespaces(browser=False)) == ["python"]
    assert list(builtin_tool_namespaces(python=False)) == ["browser"]


def test_functions_namespace_keeps_parameter_order() -> None:
    spec = FunctionSpec("f", "d", {"type": "object", "properties": {"z": {}, "a": {}}})
    namespace = functions_namespace([spec, BUILTINS["calculator"].spec])
    data = namespace_to_dict(namespace)
    assert data["name"] == "functions" and data["description"] is None
    assert [t["name"] for t in data["tools"]] == ["f", "calculate"]
    assert list(data["tools"][0]["parameters"]["properties"]) == ["z", "a"]
