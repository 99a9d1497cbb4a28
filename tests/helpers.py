"""Paths and skips shared by the tests."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SHARED_MODELS = SHARED / "models"
HARMONY_KIT = SHARED / "reference" / "harmony"
PROJECT_MODELS = ROOT / "tests" / "data" / "models"
SCREENSHOTS = ROOT / "docs" / "screenshots"


def shared_model(name: str) -> Path:
    """Path of a model in ../shared/models, or skip the test with the reason."""
    path = SHARED_MODELS / name
    if not path.is_file():
        pytest.skip(f"needs ../shared/models/{name} beside the checkout (not present here)")
    return path


def project_model(name: str) -> Path:
    """Path of one of the project's own test models (tests/data/models)."""
    path = PROJECT_MODELS / name
    if not path.is_file():
        pytest.fail(f"missing project test model {path}; run: python tests/data/make_models.py")
    return path


def save_screenshot(widget: Any, name: str, tmp_path: Path, wider_than: int = 400) -> None:
    """Grab ``widget`` into ``name``: in docs/screenshots with GPTOSS_WRITE_SCREENSHOTS=1,
    else in ``tmp_path`` (the grab and the save are checked either way)."""
    image = widget.grab()
    assert not image.isNull() and image.width() > wider_than
    target = SCREENSHOTS if os.environ.get("GPTOSS_WRITE_SCREENSHOTS") == "1" else tmp_path
    target.mkdir(parents=True, exist_ok=True)
    assert image.save(str(target / name))
