"""The Harmony conformance kit in ../shared/reference/harmony, loaded for the tests."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest

from gptoss_desktop.core.harmony.codec import message_from_dict
from gptoss_desktop.core.harmony.model import Message
from tests.helpers import HARMONY_KIT

CASES_FILE = HARMONY_KIT / "cases.json"


@cache
def load_kit() -> dict[str, Any] | None:
    if not CASES_FILE.is_file():
        return None
    with CASES_FILE.open(encoding="utf-8") as fh:
        return json.load(fh)  # dicts keep the file's key order


def kit_or_skip() -> dict[str, Any]:
    kit = load_kit()
    if kit is None:
        pytest.skip(
            f"needs the Harmony conformance kit at ../shared/reference/harmony (absent: {CASES_FILE})"
        )
    return kit


def cases(*kinds: str) -> list[Any]:
    """pytest params for the kit's cases of these kinds (one skipped param when absent)."""
    kit = load_kit()
    if kit is None:
        return [
            pytest.param(
                None,
                marks=pytest.mark.skip(
                    reason="Harmony conformance kit (../shared/reference/harmony) is absent"
                ),
                id="kit-absent",
            )
        ]
    return [pytest.param(c, id=c["name"]) for c in kit["cases"] if c["kind"] in kinds]


def messages(case: dict[str, Any]) -> list[Message]:
    return [message_from_dict(m) for m in case["messages"]]


def expected_text(case: dict[str, Any], key: str = "expected") -> str:
    """The expected text of a case (file or inline), with the case's transform applied."""
    if f"{key}_file" in case and case.get(f"{key}_file"):
        text = (HARMONY_KIT / case[f"{key}_file"]).read_bytes().decode("utf-8")
        if case.get(f"{key}_transform") == "rstrip":
            text = text.rstrip()
        return text
    return case[f"{key}_text"]


def input_text(case: dict[str, Any]) -> str:
    if case.get("input_file"):
        text = (HARMONY_KIT / case["input_file"]).read_bytes().decode("utf-8")
        if case.get("input_transform") == "rstrip":
            text = text.rstrip()
        return text
    return case["input_text"]
