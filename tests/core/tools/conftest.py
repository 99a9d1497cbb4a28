"""Fixtures for the tool tests: sandboxes with small limits, skipped where the OS has none."""

from __future__ import annotations

import platform
from collections.abc import Iterator
from pathlib import Path

import pytest

from gptoss_desktop.core.tools.sandbox import landlock
from gptoss_desktop.core.tools.sandbox.process import PythonSandbox, SandboxLimits

#: Small limits so the battery is quick; wall time is generous because CI machines are busy.
TEST_LIMITS = SandboxLimits(
    wall_s=4.0,
    cpu_s=1.0,
    cpu_s_total=120,
    memory_bytes=384 * 1024 * 1024,
    output_bytes=4096,
    flood_bytes=2 * 1024 * 1024,
    file_bytes=4 * 1024 * 1024,
)


def require_sandbox_support() -> None:
    if platform.system() != "Linux":
        pytest.skip("the python sandbox is built for Linux only (see docs/SANDBOX.md)")
    if landlock.abi_version() < 1:
        pytest.skip("this kernel has no Landlock, so the python tool stays off here")


@pytest.fixture(scope="module")
def module_scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("scratch")


@pytest.fixture(scope="module")
def sandbox(module_scratch: Path) -> Iterator[PythonSandbox]:
    require_sandbox_support()
    box = PythonSandbox(module_scratch, TEST_LIMITS)
    box.start()
    yield box
    box.close()
