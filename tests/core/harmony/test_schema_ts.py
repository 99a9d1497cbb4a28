"""JSON schema to TypeScript-like text: what the kit lacks (nested objects, arrays, unions)."""

from __future__ import annotations

import json

from gptoss_desktop.core.harmony.content_text import text_lines, tools_section
from gptoss_desktop.core.harmony.model import ToolDescription, ToolNamespace
from gptoss_desktop.core.harmony.schema_ts import schema_to_typescript


def test_scalars_enums_arrays_and_type_lists() -> None:
    assert schema_to_typescript({"type": "string"}) == "string"
    assert schema_to_typescript({"type": "integer"}) == "number"
    assert schema_to_typescript({"type": "boolean"}) == "boolean"
    assert schema_to_typescript({"type": "string", "enum": ["a", 1, "b"]}) == '"a" | "b"'
    assert schema_to_typescript({"type": "array", "items": {"type": "integer"}}) == "number[]"
    assert schema_to_typescript({"type": "array"}) == "Array<any>"
    assert schema_to_typescript({"type": ["integer", "null"]}) == "number | null"
    assert schema_to_typescript({"type": "null"}) == "any"
    assert schema_to_typescript({"anyOf": [{"type": "string"}]}) == "any"
    assert schema_to_typescript(True) == "any"


def test_nested_object_indents_by_four_and_keeps_key_order() -> None:
    schema = json.loads(
        '{"type": "object", "properties": {"z": {"type": "string"}, "a": {"type": "object",'
        ' "description": "inner", "properties": {"b": {"type": "number", "default": 1.5}}, "required": ["b"]}},'
        ' "required": ["z"]}'
    )
    assert schema_to_typescript(schema) == (
        "{\nz: string,\n// inner\na?:     // inner\n{\n    b: number, // default: 1.5\n    },\n}"
    )


def test_array_of_objects_and_nullable() -> None:
    schema = {
        "type": "object",
        "properties": {
            "items": {
                "type": "array",
                "items": {"type": "object", "properties": {"n": {"type": "string"}}},
            },
            "maybe": {"type": "string", "nullable": True},
            "already": {"type": ["string", "null"], "nullable": True},
        },
    }
    assert schema_to_typescript(schema) == (
        "{\nitems?: {\n    n?: string,\n    }[],\nmaybe?: string | null,\nalready?: string | null,\n}"
    )


def test_top_level_union_and_defaults() -> None:
    schema = {
        "type": "object",
        "properties": {
            "x": {
                "type": "array",
                "items": {
                    "oneOf": [
                        {"type": "string", "description": "s"},
                        {"type": "number", "default": 0},
                    ]
                },
            },
            "e": {"type": "string", "enum": ["on", "off"], "default": "on"},
            "o": {"type": "object", "default": {"k": [1, 2]}},
            "s": {"type": "string", "default": "x y"},
        },
    }
    assert schema_to_typescript(schema) == (
        "{\nx?: \n     | string // s\n     | number // default: 0[],\n"
        'e?: "on" | "off", // default: on\n'
        'o?: {\n    }, // default: {"k":[1,2]}\n'
        's?: string, // default: "x y"\n}'
    )


def test_property_union_description_equal_to_first_variant_is_not_repeated() -> None:
    schema = {
        "type": "object",
        "properties": {
            "v": {
                "description": "d",
                "oneOf": [
                    {"type": "string", "description": "d"},
                    {"type": "number", "description": "n"},
                ],
            }
        },
        "required": ["v"],
    }
    assert schema_to_typescript(schema) == "{\nv:\n | string\n | number // n\n,\n}"


def test_tools_section_sorted_namespaces_and_descriptions() -> None:
    ns_b = ToolNamespace("b", "line one\nline two\n", (ToolDescription("t", "does t\n", None),))
    ns_a = ToolNamespace("a", "raw description", ())
    assert tools_section({"b": ns_b, "a": ns_a}) == (
        "# Tools\n\n## a\n\nraw description\n\n## b\n\n// line one\n// line two\n"
        "namespace b {\n\n// does t\ntype t = () => any;\n\n} // namespace b"
    )


def test_text_lines_like_rust_lines() -> None:
    assert text_lines("") == []
    assert text_lines("a\n") == ["a"]
    assert text_lines("a\n\nb") == ["a", "", "b"]
    assert text_lines("a\r\nb") == ["a", "b"]
