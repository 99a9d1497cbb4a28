"""The chat window, compare mode and ``gptoss-desktop chat`` send byte-identical prompts (the
same token ids) for the same settings: one session rule in core/chat for every front end."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from gptoss_desktop.core.compare.engines import EnginePool
from gptoss_desktop.core.compare.runner import ColumnSetup, CompareRun, CompareSettings
from gptoss_desktop.core.engine import SamplingOptions
from gptoss_desktop.core.engine.client import EngineClient
from tests.helpers import project_model
from tests.ui.chat_app import load_model, make_window, send, set_chat_settings

INSTRUCTIONS = "Answer in one short sentence. Prefer French."
QUESTION = "What is the capital of Norway?"
EFFORT = "high"


class PromptSpy:
    """Records the prompt token ids of every generation the app asks any worker for."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.prompts: list[list[int]] = []
        self._lock = threading.Lock()
        real = EngineClient.generate

        def generate(client: EngineClient, request):  # type: ignore[no-untyped-def]
            with self._lock:
                self.prompts.append(list(request.prompt_tokens))
            return real(client, request)

        monkeypatch.setattr(EngineClient, "generate", generate)

    def take_first(self) -> list[int]:
        with self._lock:
            assert self.prompts, "no generation was asked for"
            first, self.prompts = self.prompts[0], []
        return first


@pytest.mark.slow
def test_chat_compare_and_cli_send_the_same_prompt(
    qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    model = project_model("tiny-gptoss-random.gguf")
    spy = PromptSpy(monkeypatch)

    # The chat window: settings panel values, a new chat, the composer.
    w = make_window(qtbot, tmp_path / "home")
    load_model(qtbot, w, model)
    set_chat_settings(
        w, instructions=INSTRUCTIONS, reasoning_effort=EFFORT, temperature=0.0, max_tokens=4
    )
    outcome = send(qtbot, w, QUESTION)
    assert outcome.error is None
    chat = spy.take_first()

    # Compare mode, one column.
    settings = CompareSettings(
        sampling=SamplingOptions(temperature=0.0),
        max_tokens=4,
        n_ctx=2048,
        system_prompt=INSTRUCTIONS,
        reasoning_effort=EFFORT,
    )
    with EnginePool() as pool:
        run = CompareRun([ColumnSetup(model)], settings, pool=pool, available_memory=1 << 40)
        run.start(QUESTION)
        assert [r.state for r in run.wait(60)] == ["done"]
    compare = spy.take_first()

    # The command line.
    from gptoss_desktop.cli import main

    monkeypatch.setenv("GPTOSS_HOME", str(tmp_path / "cli-home"))
    code = main(
        ["chat", "--model", str(model), "--message", QUESTION, "--system", INSTRUCTIONS,
         "--reasoning", EFFORT, "--temperature", "0", "--max-tokens", "4", "--ctx", "2048",
         "--threads", "1", "--json"]
    )  # fmt: skip
    assert code == 0
    assert json.loads(capsys.readouterr().out)["stop_reason"]
    cli = spy.take_first()

    assert chat == compare == cli
    # And the prompt is the rule's: instructions in the developer message, the chosen effort.
    text = w.engines.current.client.detokenize(chat)  # the window's worker, still loaded
    assert f"Reasoning: {EFFORT}" in text
    assert "<|start|>developer<|message|># Instructions\n\n" + INSTRUCTIONS in text
    assert "You are ChatGPT, a large language model trained by OpenAI." in text


def test_the_command_line_sets_an_identity_and_no_date_on_purpose(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from gptoss_desktop.cli import main

    model = project_model("tiny-gptoss-random.gguf")
    spy = PromptSpy(monkeypatch)
    monkeypatch.setenv("GPTOSS_HOME", str(tmp_path / "cli-home"))
    code = main(
        ["chat", "--model", str(model), "--message", QUESTION, "--identity", "You are Ada.",
         "--no-date", "--temperature", "0", "--max-tokens", "2", "--ctx", "1024",
         "--threads", "1", "--json"]
    )  # fmt: skip
    assert code == 0
    capsys.readouterr()
    with EngineClient.start(model) as client:
        text = client.detokenize(spy.take_first())
    assert text.startswith("<|start|>system<|message|>You are Ada.\n")
    assert "Current date" not in text and "Reasoning: medium" in text
    assert "<|start|>developer" not in text  # no instructions: no developer message
