"""JSON schema to TypeScript-like text: what the kit lacks (nested objects, arrays, unions)."""

from __future__ import annotations

import json

from gptoss_desktop.core.harmony.content_text import text_lines, tools_section
from gptoss_desktop.core.harmony.model import ToolDescription, ToolNamespace
from gptoss_desktop.core.harmony.schema_ts import compact_json, ryu_float, schema_to_typescript


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


def test_number_defaults_are_written_like_the_reference_rust_serde_json() -> None:
    """openai-harmony writes defaults with serde_json (ryu floats), not Python's repr."""
    props = {
        name: {"type": "number", "default": value}
        for name, value in [("a", 1e-7), ("b", 1e20), ("c", 1e-5), ("d", 0.1), ("e", -0.0)]
    }
    assert schema_to_typescript({"type": "object", "properties": props}) == (
        "{\na?: number, // default: 1e-7\nb?: number, // default: 1e20\n"
        "c?: number, // default: 0.00001\nd?: number, // default: 0.1\n"
        "e?: number, // default: -0.0\n}"
    )


def test_ryu_float_layout() -> None:
    cases = [
        (1e-7, "1e-7"), (1e20, "1e20"), (1e-5, "0.00001"), (1e-4, "0.0001"), (1.0, "1.0"),
        (123.0, "123.0"), (1e15, "1000000000000000.0"), (1e16, "1e16"), (1.5e20, "1.5e20"),
        (12.34, "12.34"), (2.5e-6, "2.5e-6"), (0.0, "0.0"), (-0.0, "-0.0"), (5e-324, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e308"), (float("inf"), "null"),
    ]  # fmt: skip
    assert [(v, ryu_float(v)) for v, _ in cases] == cases


def test_compact_json_numbers_beyond_64_bits_become_floats_like_serde_json() -> None:
    assert compact_json([2**64 - 1, 2**64, -(2**63), -(2**63) - 1, True, None]) == (
        "[18446744073709551615,1.8446744073709552e19,-9223372036854775808,"
        "-9.223372036854776e18,true,null]"
    )
    assert compact_json({"k": [1.0, 'a"\n\u00e9']}) == '{"k":[1.0,"a\\"\\n\u00e9"]}'


def test_enum_default_in_top_level_one_of_keeps_its_quotes() -> None:
    """Variants of a oneOf in array items write an enum's string default as JSON."""
    schema = {
        "type": "array",
        "items": {
            "oneOf": [
                {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius"},
                {"type": "string", "default": "x"},
            ]
        },
    }
    assert schema_to_typescript(schema) == (
        '\n | "celsius" | "fahrenheit" // default: "celsius"\n | string // default: "x"[]'
    )
