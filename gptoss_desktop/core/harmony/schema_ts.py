"""JSON schema to the TypeScript-like text gpt-oss was trained to read.

Reproduces the reference renderer's rules exactly, quirks included (a description on a nested
object is written right after ``key: ``, an array of a union reads ``number | string[]``):
the model saw this text in training, so being "more correct" here would make it worse.
Property order is the order of the schema's keys, so load schemas with an order-preserving
reader (the standard ``json`` module is one).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

INDENT_STEP = "    "  # nested object properties
UNION_STEP = "   "  # the variants of a oneOf


def schema_to_typescript(schema: Any, indent: str = "") -> str:
    """Render one JSON schema value; ``indent`` prefixes comment and property lines."""
    one_of = _get(schema, "oneOf")
    if isinstance(one_of, list):
        return _union(one_of, indent)
    kind = _get(schema, "type")
    if isinstance(kind, list):
        names = ["number" if t == "integer" else t for t in kind if isinstance(t, str)]
        if names:
            return " | ".join(names)
    if not isinstance(kind, str):
        return "any"
    if kind == "object":
        return _object(schema, indent)
    if kind == "string":
        values = [f'"{v}"' for v in _enum(schema) if isinstance(v, str)]
        return " | ".join(values) if values else "string"
    if kind in ("number", "integer"):
        return "number"
    if kind == "boolean":
        return "boolean"
    if kind == "array":
        items = _get(schema, "items")
        if items is None:
            return "Array<any>"
        return schema_to_typescript(items, indent) + "[]"
    return "any"


def _object(schema: Mapping[str, Any], indent: str) -> str:
    out: list[str] = []
    description = _get(schema, "description")
    if isinstance(description, str):
        out.append(f"{indent}// {description}\n")
    out.append("{\n")
    properties = _get(schema, "properties")
    if isinstance(properties, Mapping):
        required_list = _get(schema, "required")
        required = (
            {r for r in required_list if isinstance(r, str)}
            if isinstance(required_list, list)
            else set()
        )
        for key, prop in properties.items():
            out.append(_property(str(key), prop, key in required, indent))
    out.append(f"{indent}}}")
    return "".join(out)


def _property(key: str, prop: Any, required: bool, indent: str) -> str:
    out: list[str] = []
    mark = "" if required else "?"
    title = _get(prop, "title")
    if isinstance(title, str):
        out.append(f"{indent}// {title}\n{indent}//\n")
    one_of = _get(prop, "oneOf")
    description = _get(prop, "description")
    if one_of is None and isinstance(description, str):
        out.append(f"{indent}// {description}\n")
    examples = _get(prop, "examples")
    if isinstance(examples, list) and examples:
        out.append(f"{indent}// Examples:\n")
        out.extend(f'{indent}// - "{ex}"\n' for ex in examples if isinstance(ex, str))
    if isinstance(one_of, list):
        out.append(_property_union(key, mark, prop, one_of, indent))
        return "".join(out)
    out.append(f"{indent}{key}{mark}: ")
    out.append(_nullable(prop, schema_to_typescript(prop, indent + INDENT_STEP)))
    out.append(",")
    if one_of is None and _has(prop, "default"):
        out.append(f" // default: {_default_text(prop)}")
    out.append("\n")
    return "".join(out)


def _property_union(key: str, mark: str, prop: Any, variants: list[Any], indent: str) -> str:
    out: list[str] = []
    description = _get(prop, "description")
    prop_desc = description if isinstance(description, str) else None
    first_desc = _get(variants[0], "description") if variants else None
    desc_above = prop_desc is not None and prop_desc != first_desc
    if desc_above:
        out.append(f"{indent}// {prop_desc}\n")
    if _has(prop, "default"):
        out.append(f"{indent}// default: {_default_text(prop)}\n")
    out.append(f"{indent}{key}{mark}:\n")
    for i, variant in enumerate(variants):
        line = f"{indent} | " + _nullable(
            variant, schema_to_typescript(variant, indent + UNION_STEP)
        )
        comments: list[str] = []
        variant_desc = _get(variant, "description")
        skip_desc = (i == 0 and desc_above) or variant_desc == prop_desc
        if isinstance(variant_desc, str) and not skip_desc:
            comments.append(variant_desc)
        if _has(variant, "default"):
            comments.append(f"default: {_default_text(variant)}")
        if comments:
            line += " // " + " ".join(comments)
        out.append(line + "\n")
    out.append(f"{indent},\n")
    return "".join(out)


def _union(variants: list[Any], indent: str) -> str:
    out: list[str] = []
    for variant in variants:
        out.append(f"\n{indent} | ")
        out.append(_nullable(variant, schema_to_typescript(variant, indent + UNION_STEP)))
        comments: list[str] = []
        variant_desc = _get(variant, "description")
        if isinstance(variant_desc, str):
            comments.append(variant_desc)
        if _has(variant, "default"):
            comments.append(f"default: {_union_default_text(variant)}")
        if comments:
            out.append(" // " + " ".join(comments))
    return "".join(out)


def _nullable(schema: Any, type_text: str) -> str:
    if _get(schema, "nullable") is True and "null" not in type_text:
        return type_text + " | null"
    return type_text


def _default_text(schema: Mapping[str, Any]) -> str:
    """A string default is quoted (as is: no escaping) unless the schema is an enum, then bare;
    any other default is compact JSON as serde_json writes it."""
    value = schema["default"]
    if isinstance(value, str):
        return value if _enum(schema) else f'"{value}"'
    return compact_json(value)


def _union_default_text(schema: Mapping[str, Any]) -> str:
    """The variants of a top-level ``oneOf`` (e.g. array items) write an enum's string default
    as JSON, quotes and escapes included (``default: "celsius"``): the reference's quirk."""
    value = schema["default"]
    if isinstance(value, str) and not _enum(schema):
        return f'"{value}"'
    return compact_json(value)


# serde_json keeps integers in [-2**63, 2**64) exact; any other number becomes an f64.
_INT_MIN, _INT_MAX = -(2**63), 2**64 - 1


def compact_json(value: Any) -> str:
    """``value`` as compact JSON, written the way the reference (Rust's serde_json) writes it.

    Strings and containers match Python's ``json.dumps`` with ``ensure_ascii=False`` and no
    spaces; numbers differ: integers beyond 64 bits become floats, and floats use Rust's
    ``ryu`` format (``1e-7``, ``1e20``, ``0.00001``, ``1.0``), not Python's repr (``1e-07``).
    """
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int):
        return str(value) if _INT_MIN <= value <= _INT_MAX else ryu_float(float(value))
    if isinstance(value, float):
        return ryu_float(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Mapping):
        items = (f"{compact_json(str(k))}:{compact_json(v)}" for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(compact_json(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def ryu_float(value: float) -> str:
    """A float as Rust's ``ryu`` crate writes it (serde_json's number format).

    Same shortest round-trip digits as Python's repr; only the layout differs: plain decimal
    for magnitudes in [1e-5, 1e16), otherwise ``d.ddde±x`` with no ``+`` and no padding.
    Non-finite values have no JSON form; serde_json writes them as ``null``.
    """
    if not math.isfinite(value):
        return "null"
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    if value == 0:
        return sign + "0.0"
    mantissa, _, exp_text = repr(abs(value)).partition("e")
    whole, _, frac = mantissa.partition(".")
    digits = (whole + frac).lstrip("0")
    # value = int(digits) * 10**k with no trailing zeros in digits
    k = (int(exp_text) if exp_text else 0) - len(frac)
    stripped = digits.rstrip("0")
    k += len(digits) - len(stripped)
    digits = stripped
    length = len(digits)
    kk = length + k  # 10**(kk-1) <= value < 10**kk
    if k >= 0 and kk <= 16:
        return f"{sign}{digits}{'0' * k}.0"
    if 0 < kk <= 16:
        return f"{sign}{digits[:kk]}.{digits[kk:]}"
    if -5 < kk <= 0:
        return f"{sign}0.{'0' * -kk}{digits}"
    exponent = kk - 1
    if length == 1:
        return f"{sign}{digits}e{exponent}"
    return f"{sign}{digits[0]}.{digits[1:]}e{exponent}"


def _enum(schema: Any) -> list[Any]:
    values = _get(schema, "enum")
    return values if isinstance(values, list) else []


def _get(schema: Any, key: str) -> Any:
    return schema.get(key) if isinstance(schema, Mapping) else None


def _has(schema: Any, key: str) -> bool:
    return isinstance(schema, Mapping) and key in schema
