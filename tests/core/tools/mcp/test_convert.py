"""MCP tools to Harmony function tools (names, schemas, descriptions) and results to text."""

from __future__ import annotations

import base64
import json

from gptoss_desktop.core.harmony.schema_ts import schema_to_typescript
from gptoss_desktop.core.tools.mcp import McpTool, expose, render_result
from gptoss_desktop.core.tools.mcp.convert import MAX_DESCRIPTION, sanitize_name, to_harmony_schema

# What pydantic (and so the SDK's MCPServer) writes for nested models and optionals
NESTED = {
    "$defs": {
        "Place": {
            "properties": {
                "city": {"description": "City name", "title": "City", "type": "string"},
                "country": {
                    "anyOf": [{"type": "string"}, {"type": "null"}],
                    "default": None,
                    "title": "Country",
                },
            },
            "required": ["city"],
            "title": "Place",
            "type": "object",
        },
        "Node": {"properties": {"next": {"$ref": "#/$defs/Node"}}, "type": "object"},
    },
    "properties": {
        "stop": {"$ref": "#/$defs/Place"},
        "stops": {"items": {"$ref": "#/$defs/Place"}, "title": "Stops", "type": "array"},
        "when": {"anyOf": [{"type": "string"}, {"type": "integer"}], "title": "When"},
        "chain": {"$ref": "#/$defs/Node"},
    },
    "required": ["stop"],
    "title": "tripArguments",
    "type": "object",
}


def test_nested_schemas_are_inlined_and_rendered() -> None:
    schema = to_harmony_schema(NESTED)
    assert "$defs" not in json.dumps(schema) and "$ref" not in json.dumps(schema)
    assert schema["properties"]["stop"]["properties"]["country"] == {"type": "string"}
    assert schema["properties"]["when"] == {"oneOf": [{"type": "string"}, {"type": "integer"}]}
    # a recursive definition stops instead of looping
    assert schema["properties"]["chain"]["properties"]["next"] == {"type": "object"}
    text = schema_to_typescript(schema)
    assert "stop: {\n    // City name\n    city: string,\n    country?: string,\n    }," in text
    assert "stops?: {" in text and "}[]," in text
    assert "Title" not in text and "tripArguments" not in text  # pydantic's automatic titles


def test_names_are_sanitized_and_made_unique() -> None:
    assert sanitize_name("git-status.v2") == "git_status_v2"
    assert sanitize_name("2fa") == "t_2fa"
    assert len(sanitize_name("x" * 200)) == 64
    tools = [
        McpTool("weather", "get_weather"),
        McpTool("other", "get_weather"),
        McpTool("other", "get-weather"),
        McpTool("time", "calculate"),
    ]
    names = [e.function for e in expose(tools, taken={"calculate"})]
    assert names == ["get_weather", "other_get_weather", "get_weather_2", "time_calculate"]
    prefixed = expose([McpTool("git", "status")], prefixes={"git": "git_"})
    assert prefixed[0].function == "git_status"
    assert prefixed[0].tool.name == "status"  # the server is called with its own name


def test_descriptions_are_bounded() -> None:
    (exposed,) = expose([McpTool("s", "t", "word " * 2000, {"type": "object", "properties": {
        "p": {"type": "string", "description": "long " * 500}}})])  # fmt: skip
    assert len(exposed.spec.description) == MAX_DESCRIPTION
    assert exposed.spec.description.endswith("…")
    assert len(exposed.spec.parameters["properties"]["p"]["description"]) <= 300  # type: ignore[index]
    assert exposed.spec.problems() == []


def test_text_and_structured_content_become_text() -> None:
    result = render_result([{"type": "text", "text": "Done."}], {"id": 7, "ok": True}, False, 1000)
    assert result.text == 'Done.\n{"id": 7, "ok": true}'
    # the SDK sends the same thing twice: the text block and {"result": ...}; said once
    once = render_result([{"type": "text", "text": "Sunny"}], {"result": "Sunny"}, False, 1000)
    assert once.text == "Sunny"
    items = [{"type": "text", "text": "milk"}, {"type": "text", "text": '{"n": 2}'}]
    assert render_result(items, {"result": ["milk", {"n": 2}]}, False, 100).text == 'milk\n{"n": 2}'
    only = render_result([], {"temperature": 21}, False, 1000)
    assert only.text == '{"temperature": 21}'


def test_images_and_resources_are_described_not_dropped() -> None:
    png = base64.b64encode(bytes(300)).decode()
    result = render_result(
        [
            {"type": "image", "data": png, "mimeType": "image/png"},
            {"type": "audio", "data": png, "mimeType": "audio/wav"},
            {"type": "resource_link", "uri": "file:///a.pdf", "name": "a.pdf", "mimeType": "application/pdf", "size": 1234},
            {"type": "resource", "resource": {"uri": "mem://b", "mimeType": "application/zip", "blob": png}},
            {"type": "resource", "resource": {"uri": "mem://c", "mimeType": "text/plain", "text": "hello"}},
        ],
        None, False, 10_000,
    )  # fmt: skip
    assert result.text.splitlines() == [
        "[image: image/png, 300 bytes; not shown to the model]",
        "[audio: audio/wav, 300 bytes; not shown to the model]",
        "[resource link: uri file:///a.pdf, name a.pdf, type application/pdf, size 1234]",
        "[resource mem://b: application/zip, 300 bytes of binary data; not shown to the model]",
        "[resource mem://c (text/plain)]",
        "hello",
    ]


def test_a_huge_result_is_cut_and_says_so() -> None:
    result = render_result([{"type": "text", "text": "x" * 100_000}], None, False, 1000)
    assert result.truncated
    assert result.text == "x" * 1000 + "\n[... output cut at 1000 of 100000 characters]"
