"""The welcome screen finds gpt-oss other apps keep and uses it in place; it downloads the
recommended model itself, with its progress on the screen (issue 16, items 10 and 11)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.core.library.hubserver import HubServer, Repo
from tests.fakehome import make_fake_home
from tests.helpers import project_model, save_screenshot
from tests.ui.chat_app import make_window


@pytest.fixture
def hub_online(monkeypatch: pytest.MonkeyPatch) -> None:
    """The suite runs with HF_HUB_OFFLINE=1; the download test uses a loopback hub."""
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)


@pytest.fixture
def fake_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    fake = make_fake_home(tmp_path)
    for key in ("HF_HUB_CACHE", "XDG_CACHE_HOME"):
        monkeypatch.delenv(key, raising=False)
    for key, value in fake.env.items():
        monkeypatch.setenv(key, value)
    return fake


def test_welcome_offers_found_gpt_oss_and_uses_it_without_copying(qtbot, tmp_path, fake_env):
    w = make_window(qtbot, tmp_path / "app", first_run_done=False)
    page = w.first_run
    qtbot.waitUntil(lambda: bool(page.found_buttons), timeout=30_000)
    names = [b.accessibleName() for b in page.found_buttons]
    # the three usable gpt-oss files, and neither the llama model, Ollama's own format nor
    # the broken file
    assert len(names) == 3
    assert any("LM Studio" in n for n in names)
    assert any("Hugging Face cache" in n for n in names)
    assert any("tiny-oss:latest from Ollama" in n for n in names)
    assert not any("gpt-oss:20b" in n for n in names)
    w.resize(1024, 700)
    save_screenshot(w, "first-run-found-1024x700.png", tmp_path)
    hf = next(b for b in page.found_buttons if "Hugging Face" in b.accessibleName())
    hf.click()
    qtbot.waitUntil(lambda: w.engines.current is not None, timeout=60_000)
    assert w.stack.currentWidget() is w.chat_page
    assert w.engines.current.path == str(fake_env.hf_snapshot)
    installed = w.library.model_library.installed.list()
    assert len(installed) == 1 and installed[0].linked
    assert installed[0].files == [str(fake_env.hf_snapshot)]
    # loaded in place: the same inode as the blob, and nothing copied into the app's folders
    assert os.stat(w.engines.current.path).st_ino == fake_env.hf_blob.stat().st_ino
    models_dir = tmp_path / "app" / "models"
    assert not [p for p in models_dir.rglob("*") if p.is_file() and p.name != "library.json"]
    # the model picker and the model manager list it
    picker = w.model_picker.combo
    assert str(fake_env.hf_snapshot) in [picker.itemData(i) for i in range(picker.count())]
    mw = w.library.models_window()
    mw.refresh_installed()
    assert mw.installed_table.rowCount() == 1
    assert mw.installed_table.item(0, 3).text() == "linked"


def test_model_manager_lists_found_models_and_adds_one(qtbot, tmp_path, fake_env):
    w = make_window(qtbot, tmp_path / "app")
    w.library.open_models_window()
    mw = w.library.models_window()
    qtbot.waitUntil(lambda: mw.found_table.rowCount() == 6, timeout=30_000)
    rows = {mw.found_table.item(r, 0).text(): r for r in range(mw.found_table.rowCount())}
    foreign = rows["gpt-oss:20b"]
    assert mw.found_table.item(foreign, 3).text().startswith("no: ")
    assert mw.found_table.item(foreign, 1).text() == "Ollama"
    mw.found_table.selectRow(rows["tiny-oss:latest"])
    mw.on_add_found()
    qtbot.waitUntil(lambda: mw.installed_table.rowCount() == 1, timeout=10_000)
    model = w.library.model_library.installed.list()[0]
    assert model.files == [str(fake_env.ollama_gptoss)] and model.linked
    qtbot.waitUntil(lambda: mw.found_table.rowCount() == 5, timeout=10_000)
    # verify again: the Ollama digest is the file's sha256
    mw.installed_table.selectRow(0)
    mw.on_verify()
    qtbot.waitUntil(lambda: "verified OK" in mw.installed_table.item(0, 3).text(), timeout=10_000)
    # a file that cannot be used is refused with the reason, not added
    mw.found_table.selectRow({mw.found_table.item(r, 0).text(): r for r in range(5)}["gpt-oss:20b"])
    mw.on_add_found()
    assert "cannot be used" in mw.banner.label.text()
    assert len(w.library.model_library.installed.list()) == 1


def test_welcome_download_starts_and_shows_progress(qtbot, tmp_path, hub_online, monkeypatch):
    data = project_model("tiny-gptoss-random.gguf").read_bytes()
    repo = Repo({"gpt-oss-20b-mxfp4.gguf": data})
    monkeypatch.setenv("HOME", str(tmp_path / "empty-home"))
    with HubServer({"ggml-org/gpt-oss-20b-GGUF": repo}) as server:
        monkeypatch.setenv("HF_ENDPOINT", server.endpoint)
        w = make_window(qtbot, tmp_path / "app", first_run_done=False)
        page = w.first_run
        page.download_button.click()
        assert page.download_box.isVisible()
        assert not page.download_button.isEnabled()  # one download at a time
        qtbot.waitUntil(lambda: page.start_chat_button.isVisible(), timeout=60_000)
    assert "Downloaded and checked" in page.download_label.text()
    assert page.download_bar.value() == 1000
    # the model manager's queue is the same: its Downloads tab shows the finished task
    mw = w.library.models_window()
    assert mw.downloads_table.rowCount() == 1
    page.start_chat_button.click()
    qtbot.waitUntil(lambda: w.engines.current is not None, timeout=60_000)
    assert w.stack.currentWidget() is w.chat_page
    assert Path(w.engines.current.path).read_bytes() == data


def test_welcome_download_checks_disk_space_first(qtbot, tmp_path, monkeypatch):
    import shutil
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    monkeypatch.setenv("HOME", str(tmp_path / "empty-home"))
    w = make_window(qtbot, tmp_path / "app", first_run_done=False)
    monkeypatch.setattr(shutil, "disk_usage", lambda _p: usage(10**10, 10**10 - 10**9, 10**9))
    w.first_run.download_button.click()
    text = w.first_run.download_label.text()
    assert "Not enough free disk space" in text and "1.0 GB free" in text
    assert w.library.model_library.queue.tasks() == []
    assert w.first_run.download_button.isEnabled()
