"""The chat-template jobs of the limited helper process (see :mod:`gptoss_desktop.core.limited`).

They run in the helper, never in the app: compile a template (kept in a small cache, so a
model's template compiles once per helper) and render it for a context of placeholders. Every
failure comes back as the one-line message the app shows, not as an exception.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from gptoss_desktop.core.errors import ChatTemplateError
from gptoss_desktop.core.templating.sandbox import TemplateLimits
from gptoss_desktop.core.templating.templates import compile_template, render_template

_CACHE: dict[str, Any] = {}
_CACHE_SIZE = 8


def _template(args: dict[str, Any]) -> tuple[Any, TemplateLimits]:
    source = str(args["source"])
    limits = TemplateLimits(**args.get("limits", {}))
    key = hashlib.sha256(json.dumps([source, args.get("limits")]).encode()).hexdigest()
    if key not in _CACHE:
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = compile_template(source, limits)
    return _CACHE[key], limits


def compile_job(args: dict[str, Any], payload: bytes) -> tuple[dict[str, Any], bytes]:
    try:
        _template(args)
    except ChatTemplateError as exc:
        return {"error": exc.message, "details": exc.details}, b""
    return {}, b""


def render_job(args: dict[str, Any], payload: bytes) -> tuple[dict[str, Any], bytes]:
    try:
        template, limits = _template(args)
        return {"text": render_template(template, limits, dict(args.get("context") or {}))}, b""
    except ChatTemplateError as exc:
        return {"error": exc.message, "details": exc.details}, b""
