"""What a wheel carries: every package, and resources/ as ``gptoss_desktop/resources_data``.

pyproject lists the packages by hand, because setuptools' ``find`` cannot also map
``resources/`` into the package. These tests keep that list whole and check that an installed
package finds its resources where the wheel puts them.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from setuptools import find_packages

from gptoss_desktop.resources import RESOURCES_ENV, Resources, candidate_dirs
from tests.helpers import ROOT


def _setuptools() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as fh:
        return tomllib.load(fh)["tool"]["setuptools"]


def test_every_package_is_listed_for_the_wheel() -> None:
    listed = set(_setuptools()["packages"])
    found = set(find_packages(where=str(ROOT), include=["gptoss_desktop*"]))
    assert found - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"
    assert listed - found == {"gptoss_desktop.resources_data"}


def test_resources_ship_inside_the_package() -> None:
    cfg = _setuptools()
    assert cfg["package-dir"] == {"gptoss_desktop.resources_data": "resources"}
    assert cfg["package-data"]["gptoss_desktop.resources_data"] == ["**/*"]
    assert (ROOT / "resources" / "models" / "tiny-harmony.gguf").is_file()


def test_an_installed_package_finds_the_resources_the_wheel_put_in_it() -> None:
    import gptoss_desktop

    package = Path(gptoss_desktop.__file__).resolve().parent
    dirs = candidate_dirs({})
    assert dirs.index(package / "resources_data") < dirs.index(package.parent / "resources")
    env = {RESOURCES_ENV: "/somewhere/else"}
    assert candidate_dirs(env)[0] == Path("/somewhere/else")
    # In this checkout there is no resources_data, so the checkout's folder is found.
    assert Resources.locate({}).root == ROOT / "resources"
