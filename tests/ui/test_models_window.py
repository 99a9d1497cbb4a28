"""The model manager window, driven with pytest-qt against the loopback hub.

Set GPTOSS_WRITE_SCREENSHOTS=1 to refresh docs/screenshots/models.png and
models-downloads.png from this run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QProgressBar, QPushButton

from gptoss_desktop.core.library import (
    Catalog,
    CatalogEntry,
    DownloadQueue,
    DownloadSettings,
    Hub,
    InstalledModels,
    ModelLibrary,
    TokenStore,
)
from tests.core.library.ggufgen import write_gptoss_like
from tests.core.library.hubserver import HubServer, Repo
from tests.core.library.test_token_store import MemoryKeychain
from tests.helpers import save_screenshot

pytestmark = pytest.mark.timeout(120)
REPO = "test-org/tiny-GGUF"
FILE = "tiny-gptoss.gguf"


@pytest.fixture
def hub_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HubServer]:
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    data = write_gptoss_like(tmp_path / FILE).read_bytes() + os.urandom(3 * 1024 * 1024)
    repos = {REPO: Repo({FILE: data}), "test-org/gated-GGUF": Repo({FILE: data}, gated=True)}
    with HubServer(repos) as server:
        yield server


@pytest.fixture
def library(tmp_path: Path, hub_server: HubServer) -> Iterator[ModelLibrary]:
    hub = Hub(hub_server.endpoint, retries=0)
    installed = InstalledModels(tmp_path / "models")
    tokens = TokenStore(MemoryKeychain(), environ={})
    settings = DownloadSettings(
        stall_timeout_s=2, backoff_base_s=0.01, disk_margin_bytes=0, progress_interval_s=0.05
    )
    queue = DownloadQueue(hub, installed, token=tokens.get, settings=settings)
    lib = ModelLibrary(Catalog.load(tmp_path / "config"), installed, hub, queue, tokens)
    yield lib
    lib.close()


@pytest.fixture
def window(qtbot: Any, library: ModelLibrary) -> Any:
    from gptoss_desktop.ui.models_window import ModelsWindow

    w = ModelsWindow(library=library)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w._memory is not None, timeout=10_000)
    return w


def _row(table: Any, text: str) -> int:
    for r in range(table.rowCount()):
        if text in table.item(r, 0).text():
            return r
    raise AssertionError(f"no row with {text!r}")


def _state(window: Any, title: str) -> str:
    return str(window.downloads_table.item(_row(window.downloads_table, title), 4).text())


def test_catalog_shows_fit_badges_for_every_model(window: Any) -> None:
    t = window.catalog_table
    assert t.rowCount() == len(window.library.catalog.entries) >= 10
    assert "gpt-oss-20B" in t.item(0, 0).text()
    badges = {t.item(r, 6).text() for r in range(t.rowCount())}
    assert badges <= {"✔ Fits", "⚠ Tight", "✖ Will not fit"} and badges
    assert "KV cache at 8192 tokens" in t.item(0, 6).toolTip()
    window.ctx_box.setCurrentIndex(window.ctx_box.findData(131072))
    assert "KV cache at 131072 tokens" in t.item(0, 6).toolTip()
    assert "This computer:" in window.status.text()


def test_add_repo_download_verify_and_delete(
    qtbot: Any, window: Any, hub_server: HubServer, tmp_path: Path
) -> None:
    window.repo_edit.setText(REPO)
    window.add_repo_button.click()
    qtbot.waitUntil(
        lambda: any(e.repo == REPO for e in window.library.catalog.entries), timeout=10_000
    )
    row = _row(window.catalog_table, "tiny-gptoss")
    button = window.catalog_table.cellWidget(row, 7)
    assert isinstance(button, QPushButton) and button.text() == "Download"
    button.click()
    assert window.tabs.currentIndex() == 1
    qtbot.waitUntil(lambda: _state(window, "tiny-gptoss") == "Installed", timeout=30_000)
    bar = window.downloads_table.cellWidget(0, 1)
    assert isinstance(bar, QProgressBar) and bar.value() == 1000
    assert window.installed_table.rowCount() == 1
    assert window.installed_table.item(0, 0).text() == "tiny-gptoss"
    assert (
        window.catalog_table.cellWidget(_row(window.catalog_table, "tiny-gptoss"), 7).text()
        == "Installed"
    )

    window.installed_table.selectRow(0)
    window.verify_button.click()
    qtbot.waitUntil(
        lambda: window.installed_table.item(0, 3).text() == "verified OK", timeout=10_000
    )

    opened: list[Path] = []
    window.open_folder = opened.append
    window.folder_button.click()
    assert opened == [window.library.installed.get("tiny-gptoss").path.parent]

    window.confirm = lambda _text: True
    window.delete_button.click()
    assert window.installed_table.rowCount() == 0 and window.library.installed.list() == []


def test_pause_resume_cancel(
    qtbot: Any, window: Any, hub_server: HubServer, tmp_path: Path
) -> None:
    hub_server.faults.rate_limit_bps = 1024 * 1024
    snap = window.download(CatalogEntry(id="x", title="slow one", repo=REPO, files=[FILE]))
    qtbot.waitUntil(
        lambda: (
            window.downloads_table.rowCount() == 1 and _state(window, "slow one") == "Downloading"
        ),
        timeout=10_000,
    )
    qtbot.waitUntil(lambda: window.library.queue.get(snap.id).done_bytes > 200_000, timeout=10_000)
    t = window.downloads_table
    qtbot.waitUntil(lambda: t.item(0, 2).text().endswith("MB/s"), timeout=10_000)
    assert 0.5 < float(t.item(0, 2).text().split()[0]) < 1.6  # 1 MiB/s from the server
    assert t.item(0, 3).text()  # time left
    window.resize(1280, 400)
    save_screenshot(window, "models-downloads.png", tmp_path, wider_than=999)
    window.downloads_table.selectRow(0)
    window.pause_button.click()
    qtbot.waitUntil(lambda: _state(window, "slow one") == "Paused", timeout=10_000)
    window.resume_button.click()
    qtbot.waitUntil(lambda: _state(window, "slow one") == "Downloading", timeout=10_000)
    window.cancel_button.click()
    qtbot.waitUntil(lambda: _state(window, "slow one") == "Cancelled", timeout=10_000)
    assert not list(window.library.installed.partial_dir.glob("*.partial"))


def test_gated_download_points_to_the_token_tab_and_works_after_saving_one(
    qtbot: Any, window: Any, hub_server: HubServer
) -> None:
    window.download(
        CatalogEntry(id="g", title="gated one", repo="test-org/gated-GGUF", files=[FILE])
    )
    qtbot.waitUntil(
        lambda: window.downloads_table.rowCount() == 1 and _state(window, "gated one") == "Failed",
        timeout=10_000,
    )
    assert "Hugging Face token" in window.banner.label.text()
    window.token_edit.setText("hf_test_token")
    window.token_save.click()
    qtbot.waitUntil(
        lambda: "saved in the system keychain" in window.token_status.text(), timeout=10_000
    )
    assert window.token_edit.text() == ""
    window.downloads_table.selectRow(0)
    window.resume_button.click()
    qtbot.waitUntil(lambda: _state(window, "gated one") == "Installed", timeout=30_000)


def test_import_a_local_file_and_screenshot(qtbot: Any, window: Any, tmp_path: Path) -> None:
    model = write_gptoss_like(tmp_path / "my-local-model.gguf", n_layer=2)
    window.import_path(model, link=True)
    qtbot.waitUntil(lambda: window.installed_table.rowCount() == 1, timeout=10_000)
    assert window.installed_table.item(0, 3).text() == "linked"
    window.tabs.setCurrentIndex(0)
    window.resize(1280, 800)
    save_screenshot(window, "models.png", tmp_path, wider_than=999)


def test_closing_hides_and_downloads_go_on(qtbot: Any, window: Any) -> None:
    window.close()
    assert not window.isVisible()
    snap = window.library.queue.add(REPO, FILE)
    qtbot.waitUntil(lambda: window.library.queue.get(snap.id).state == "done", timeout=30_000)
    # the queue says done on its thread; the window hears it through a queued signal
    qtbot.waitUntil(lambda: window.installed_table.rowCount() == 1, timeout=5_000)
