"""The JSON-schema subset function tools use: checking a schema and checking arguments.

Covers what tool definitions use in practice: ``type`` (one or a list), ``properties``,
``required``, ``additionalProperties`` (false), ``enum``, ``items``, ``minimum``/``maximum``,
``minLength``/``maxLength``, ``description``, ``default``. Messages are short and name the
path, so they can go back to the model or into the schema editor as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

TYPES = ("object", "string", "number", "integer", "boolean", "array", "null")
KNOWN_KEYS = {
    "type",
    "properties",
    "required",
    "additionalProperties",
    "enum",
    "items",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "description",
    "default",
    "title",
    "examples",
    "format",
}


def _type_ok(value: Any, name: str) -> bool:
    if name == "object":
        return isinstance(value, Mapping)
    if name == "string":
        return isinstance(value, str)
    if name == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        )
    if name == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if name == "boolean":
        return isinstance(value, bool)
    if name == "array":
        return isinstance(value, list)
    return value is None


def check_schema(schema: Any, path: str = "parameters") -> list[str]:
    """Problems with a parameters schema (empty list: fine)."""
    if not isinstance(schema, Mapping):
        return [f"{path}: must be a JSON object"]
    problems: list[str] = []
    unknown = sorted(set(schema) - KNOWN_KEYS)
    if unknown:
        problems.append(f"{path}: unsupported keys {', '.join(unknown)}")
    kinds = schema.get("type")
    for kind in kinds if isinstance(kinds, list) else [kinds] if kinds is not None else []:
        if kind not in TYPES:
            problems.append(f"{path}.type: {kind!r} is not one of {', '.join(TYPES)}")
    properties = schema.get("properties", {})
    if not isinstance(properties, Mapping):
        problems.append(f"{path}.properties: must be an object")
        properties = {}
    for name, sub in properties.items():
        problems += check_schema(sub, f"{path}.properties.{name}")
    required = schema.get("required", [])
    if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
        problems.append(f"{path}.required: must be a list of property names")
    else:
        problems += [
            f"{path}.required: {r!r} is not a property" for r in required if r not in properties
        ]
    if "items" in schema:
        problems += check_schema(schema["items"], f"{path}.items")
    if "enum" in schema and not isinstance(schema["enum"], list):
        problems.append(f"{path}.enum: must be a list")
    return problems


def validate(value: Any, schema: Mapping[str, Any], path: str = "arguments") -> list[str]:
    """Where ``value`` does not match ``schema`` (empty list: it matches)."""
    kinds = schema.get("type")
    if kinds is not None:
        names = kinds if isinstance(kinds, list) else [kinds]
        if not any(_type_ok(value, n) for n in names):
            return [f"{path}: expected {' or '.join(names)}, got {type(value).__name__}"]
    problems: list[str] = []
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{path}: must be one of {schema['enum']}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            problems.append(f"{path}: must be >= {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            problems.append(f"{path}: must be <= {schema['maximum']}")
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            problems.append(f"{path}: must have at least {schema['minLength']} characters")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            problems.append(f"{path}: must have at most {schema['maxLength']} characters")
    if isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for i, item in enumerate(value):
            problems += validate(item, schema["items"], f"{path}[{i}]")
    if isinstance(value, Mapping):
        properties = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                problems.append(f"{path}: missing required {name!r}")
        for name, item in value.items():
            if name in properties:
                problems += validate(item, properties[name], f"{path}.{name}")
            elif schema.get("additionalProperties") is False:
                problems.append(f"{path}: unexpected {name!r}")
    return problems
