"""The window's "Local API" switch: off by default; on, it serves the model loaded in the
window with the keychain's key, shows address, key and example, and the window shows while an
API request holds or waits for the model. Window turns and API requests take turns."""

from __future__ import annotations

import socket
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import save_screenshot
from tests.keychain import memory_keychain as use_memory_keychain
from tests.ui.chat_app import harmony_demo_model, load_model, make_window, send

openai = pytest.importorskip("openai")


@pytest.fixture
def memory_keychain() -> Any:
    with use_memory_keychain() as keychain:
        yield keychain


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_local_api_switch_serves_the_window_model(
    qtbot: Any, tmp_path: Path, memory_keychain: Any
) -> None:
    window = make_window(qtbot, tmp_path / "home")
    panel, controller = window.local_api_panel, window.local_api
    assert not panel.enabled.isChecked() and controller.server is None  # off by default
    load_model(qtbot, window, harmony_demo_model())
    panel.port.setValue(free_port())
    panel.enabled.setChecked(True)
    qtbot.waitUntil(lambda: controller.server is not None, timeout=20_000)
    url = panel.address.text()
    key = panel.key.text()
    assert url == f"http://127.0.0.1:{panel.port.value()}/v1"
    assert key.startswith("sk-local-")
    assert memory_keychain.get_password("gptoss-desktop", "local-api-key") == key
    assert f'base_url="{url}"' in panel.example.toPlainText()
    assert '"model": "tiny-harmony"' in panel.example.toPlainText()
    window.local_api_dock.raise_()
    window.resize(1400, 820)
    save_screenshot(window, "local-api-settings.png", tmp_path)

    client = openai.OpenAI(base_url=url, api_key=key, max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=url, api_key="sk-wrong", max_retries=0).models.list()
    assert [m.id for m in client.models.list().data] == ["tiny-harmony"]

    # the window's turn holds the model: an API request waits, and the window says so
    gate = window.engines.gate
    gate.acquire("window", bounded=False)
    answers: list[str | None] = []

    def ask() -> None:
        r = client.chat.completions.create(
            model="tiny-harmony",
            messages=[{"role": "user", "content": "Say hello to Bob."}],
            temperature=0,
        )
        answers.append(r.choices[0].message.content)

    thread = threading.Thread(target=ask)
    thread.start()
    label = window.api_busy_label
    qtbot.waitUntil(lambda: label.isVisible(), timeout=10_000)
    assert label.text() == "Local API: 1 request(s) waiting for the model"
    gate.release()
    thread.join(30)
    assert answers == ["Hello, Bob!"]
    qtbot.waitUntil(lambda: not label.isVisible(), timeout=10_000)

    # the window's own turns go through the same queue
    holders: list[str | None] = []
    unsubscribe = gate.subscribe(lambda s: holders.append(s.holder))
    outcome = send(qtbot, window, "Say hello to Alice.")
    unsubscribe()
    assert outcome.error is None and "window" in holders

    panel.enabled.setChecked(False)
    qtbot.waitUntil(lambda: controller.server is None, timeout=10_000)
    assert panel.status.text() == "Off" and panel.address.text() == ""
    with pytest.raises(openai.APIConnectionError):
        client.models.list()
    saved = window.app_settings.extra["local_api"]
    assert saved["enabled"] is False and saved["port"] == panel.port.value()
