"""Paths and skips shared by the tests."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SHARED_MODELS = SHARED / "models"
HARMONY_KIT = SHARED / "reference" / "harmony"
PROJECT_MODELS = ROOT / "tests" / "data" / "models"


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
