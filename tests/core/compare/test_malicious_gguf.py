"""A GGUF whose chat template attacks: loaded in the real worker, rendered, nothing happens.

The templates try to run a shell command that would create a marker file, to read a secret
file, and to spin for ever. Each gives a clear ChatTemplateError before anything is sent to
the model; the marker never appears; the secret never shows up anywhere; the worker stays
usable.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from gptoss_desktop.core.engine import EngineClient, GenerateRequest, LoadOptions, SamplingOptions
from gptoss_desktop.core.errors import ChatTemplateError
from gptoss_desktop.core.templating.sandbox import TemplateLimits
from gptoss_desktop.core.templating.session import TemplateChatSession
from tests.core.compare.tinymodels import write_chat_model

SECRET = "s3cret-token-do-not-leak"


def attacks(tmp: Path) -> dict[str, str]:
    marker = tmp / "pwned"
    secret = tmp / "secret.txt"
    shell = f"touch {marker}"
    return {
        "shell_via_globals": (
            "{{ cycler.__init__.__globals__.os.system('" + shell + "') }}"
            "{{ raise_exception.__globals__['os'].system('" + shell + "') }}"
        ),
        "shell_via_subclasses": (
            "{% for c in ''.__class__.__mro__[1].__subclasses__() %}"
            "{% if c.__name__ == 'Popen' %}{{ c('" + shell + "', shell=True) }}{% endif %}"
            "{% endfor %}"
        ),
        "read_file": "{% include '" + str(secret) + "' %}{{ messages[0].content }}",
        "import_os": "{% import 'os' as os %}{{ os.system('" + shell + "') }}",
        "endless": (
            "{% for i in range(100000) %}{% for j in range(100000) %}"
            "{% endfor %}{% endfor %}<|im_start|>assistant\n"
        ),
    }


@pytest.mark.parametrize(
    "attack", ["shell_via_globals", "shell_via_subclasses", "read_file", "import_os", "endless"]
)
def test_malicious_template_in_a_real_gguf(tmp_path: Path, attack: str) -> None:
    (tmp_path / "secret.txt").write_text(SECRET)
    template = attacks(tmp_path)[attack]
    model = write_chat_model(tmp_path / "evil.gguf", chat_template=template)
    with EngineClient.start(model, LoadOptions(n_ctx=256, n_threads=1)) as client:
        assert client.info is not None and client.info.chat_template == template
        t0 = time.monotonic()
        with pytest.raises(ChatTemplateError) as info:
            session = TemplateChatSession(client, limits=TemplateLimits(time_s=0.5))
            session.send("hello")
        assert time.monotonic() - t0 < 5
        error = info.value
        assert error.message.startswith("The model's chat template")
        assert SECRET not in error.message and SECRET not in error.details
        assert not (tmp_path / "pwned").exists()
        # Nothing was generated, and the worker is fine for the next request.
        assert client.evaluated_tokens == []
        gen = client.generate(
            GenerateRequest(prompt_text="ok", max_tokens=3, sampling=SamplingOptions(temperature=0))
        )
        assert gen.wait().completion_tokens == 3
