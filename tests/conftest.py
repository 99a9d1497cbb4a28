"""Shared fixtures. Tests need no network, no GPU and no display."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

from tests.helpers import HARMONY_KIT, PROJECT_MODELS, ROOT, SHARED, SHARED_MODELS  # noqa: F401


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """Workers for ``-n auto`` (pyproject's addopts): one more than the usable cores, at most
    four. Many tests wait on child processes, so the extra worker keeps the cores busy; more
    would only add contention (the timing checks feel it) and memory (each worker may hold a
    2 GB stand-in model). Measured on 2 cores: 3 and 4 workers take the same time."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return min(4, (cores or 1) + 1)


#: Fixtures whose tests load gpt-oss-20B-wide models (2 GB and more, seconds of all cores each).
HEAVY_FIXTURES = {"standin_small": "standin", "o200k_gguf": "o200k"}


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests of one heavy model share one worker (``--dist loadgroup``): run side by side they
    would fight for the cores and memory bandwidth the worker's timing checks rely on. They
    start first, so the longest group never ends the run."""
    groups: dict[str, str] = {}
    for item in items:
        names = getattr(item, "fixturenames", ())
        group = next((g for f, g in HEAVY_FIXTURES.items() if f in names), None)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))
            groups[item.nodeid] = group
    items.sort(key=lambda item: (item.nodeid not in groups, groups.get(item.nodeid, "")))


@pytest.fixture
def gptoss_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every folder the app writes goes under a temporary GPTOSS_HOME."""
    home = tmp_path / "home"
    monkeypatch.setenv("GPTOSS_HOME", str(home))
    return home


@pytest.fixture(autouse=True)
def _restore_umask():
    """``cli.main()`` sets umask 077 for its process (private files, issue #17); tests that
    call it in-process must not leave that to the tests after them (installer builds...)."""
    old = os.umask(0o022)
    os.umask(old)
    yield
    os.umask(old)
