"""Issue #17 item 5: chat templates that exhaust memory or time are stopped, with evidence.

The hostile renders run in a fresh Python process so its resource usage can be read back:
the app side's peak RSS and the renderer's (``RUSAGE_CHILDREN``: the largest child ever
waited for) must stay bounded, and each render must end with a clear error in bounded time.
The worker loading a GGUF whose template is ``{{ 'x' * 10**9 }}`` must not grow to gigabytes
(llama-cpp-python used to compile every template at load, folding that constant).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from gptoss_desktop.core.engine import EngineClient, LoadOptions
from gptoss_desktop.core.errors import ChatTemplateError
from gptoss_desktop.core.templating.sandbox import TemplateLimits
from gptoss_desktop.core.templating.session import TemplateChatSession
from gptoss_desktop.core.templating.templates import CHATML_TEMPLATE, ChatTemplate
from tests.core.compare.test_sandbox import DEEPSEEK_R1, GEMMA, LLAMA3, MESSAGES
from tests.core.compare.tinymodels import write_chat_model

MiB = 1024 * 1024
CAP = 256 * MiB  # the renderer's address-space cap in these tests
BIG = "{% set a = 'x' * 1000000 %}"
HOSTILE = {
    "list": BIG + "{{ [a]*4000 }}",
    "concat": BIG + "{{ ([a]*4000) ~ '' }}",
    "tojson": BIG + "{{ ([a]*4000) | tojson }}",
    "join": BIG + "{{ ([a]*4000) | join }}",
    "compare": (
        "{% set a = 'x' * 1000000 %}{% set b = 'x' * 1000000 %}{{ ([a]*4000000) == ([b]*4000000) }}"
    ),
}

_HARNESS = textwrap.dedent(
    """
    import json, resource, sys, time
    from gptoss_desktop.core.templating.sandbox import TemplateLimits
    from gptoss_desktop.core.templating.templates import ChatMessage, ChatTemplate
    from gptoss_desktop.core.errors import ChatTemplateError
    cases = json.loads(sys.argv[1])
    limits = TemplateLimits(time_s=0.5, memory_bytes=int(sys.argv[2]))
    out = {}
    for name, src in cases.items():
        t0 = time.monotonic()
        try:
            template = ChatTemplate(src, limits=limits)
            template.render([ChatMessage("user", "hi")])
            out[name] = ["rendered", time.monotonic() - t0]
        except ChatTemplateError as exc:
            out[name] = [exc.message, time.monotonic() - t0]
        template = None
    out["self_maxrss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out["children_maxrss_kib"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps(out))
    """
)


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS and ru_maxrss in KiB: Linux")
def test_hostile_templates_stop_in_bounded_time_and_memory():
    proc = subprocess.run(
        [sys.executable, "-c", _HARNESS, json.dumps(HOSTILE), str(CAP)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    for name in HOSTILE:
        message, took = out[name]
        assert message.startswith("The model's chat template was stopped"), (name, message)
        assert took < 0.5 + 5.0 + 8.0, (name, took)  # time limit + kill grace + a loaded machine
    # The app side never held the big values; the renderer never went past its cap.
    assert out["self_maxrss_kib"] * 1024 < 200 * MiB, out
    assert out["children_maxrss_kib"] * 1024 <= CAP, out


def test_a_stopped_renderer_is_replaced_and_normal_renders_go_on():
    template = ChatTemplate(CHATML_TEMPLATE, limits=TemplateLimits(time_s=0.5))
    first = template.render(MESSAGES).text
    pid = template._process.pid  # type: ignore[union-attr]
    with pytest.raises(ChatTemplateError, match="stopped"):
        ChatTemplate(HOSTILE["compare"], limits=TemplateLimits(time_s=0.5)).render(MESSAGES)
    assert template.render(MESSAGES).text == first
    assert template._process.pid == pid  # type: ignore[union-attr]  # one long-lived renderer
    template.close()


@pytest.mark.parametrize(
    ("source", "bos"),
    [(CHATML_TEMPLATE, ""), (LLAMA3, "<|begin_of_text|>"), (GEMMA, "<bos>"), (DEEPSEEK_R1, "")],
)
def test_isolated_renders_equal_in_process_renders(source, bos):
    messages = MESSAGES[1:] if source is GEMMA else MESSAGES
    isolated = ChatTemplate(source, bos_token=bos).render(messages)
    local = ChatTemplate(source, bos_token=bos, isolated=False).render(messages)
    assert isolated == local
    assert isolated.parts  # something was rendered


def test_syntax_errors_still_name_the_line_from_the_renderer():
    with pytest.raises(ChatTemplateError, match=r"not valid Jinja \(line 2"):
        ChatTemplate("ok\n{% for %}")


def _vm_hwm(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_worker_does_not_compile_the_template_at_load(tmp_path):
    template = "{{ 'x' * 10**9 }}"
    model = write_chat_model(tmp_path / "bomb.gguf", chat_template=template)
    with EngineClient.start(model, LoadOptions(n_ctx=256, n_threads=1)) as client:
        assert client.info is not None and client.info.chat_template == template
        peak = _vm_hwm(client.pid)
        assert peak < 400 * MiB, f"worker peak RSS {peak / MiB:.0f} MiB"
        t0 = time.monotonic()
        with pytest.raises(ChatTemplateError, match="chat template"):
            TemplateChatSession(client, limits=TemplateLimits(time_s=0.5)).send("hello")
        assert time.monotonic() - t0 < 10
        assert _vm_hwm(client.pid) < 400 * MiB
        assert client.evaluated_tokens == []
    assert os.getpid()  # the test process itself is still here (no OOM kill)
