"""The command line as a user (and CI) runs it: real subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT, shared_model


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gptoss_desktop", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )


def test_doctor_json_reports_backend_and_folders_under_gptoss_home(tmp_path: Path) -> None:
    proc = _run("doctor", "--json", env={"GPTOSS_HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    for key in ("version", "llama_cpp_version", "backend", "gpu_offload", "data_dir", "models_dir"):
        assert key in info
    assert info["llama_cpp_version"] == "0.3.36"
    assert info["backend"] in {"CPU", "Metal", "CUDA", "Vulkan"}
    assert isinstance(info["gpu_offload"], bool)
    for key in ("data_dir", "models_dir", "config_dir", "logs_dir", "cache_dir"):
        assert Path(info[key]).is_relative_to(tmp_path.resolve()), key


def test_generate_json_greedy_story() -> None:
    model = shared_model("stories260K.gguf")
    proc = _run(
        "generate",
        "--model",
        str(model),
        "--prompt",
        "Once upon a time",
        "--max-tokens",
        "40",
        "--temperature",
        "0",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["text"].startswith(
        "Once upon a time, there was a little girl named Lily. She loved to play outside in the park."
    )
    assert out["prompt_tokens"] == 5 and out["completion_tokens"] == 40
    assert out["stop_reason"] == "max_tokens"
    assert out["ttft_s"] > 0 and out["tokens_per_s"] > 0


def test_generate_streams_plain_text() -> None:
    model = shared_model("stories260K.gguf")
    proc = _run(
        "generate",
        "--model",
        str(model),
        "--prompt",
        "Once upon a time",
        "--max-tokens",
        "12",
        "--temperature",
        "0",
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Once upon a time, there was a little girl")
    assert "tok/s" in proc.stderr


def test_module_and_version() -> None:
    proc = _run("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("gptoss-desktop ")


def test_generate_cpu_moe_reports_the_overridden_tensors_and_keeps_greedy_output() -> None:
    from tests.helpers import project_model

    model = project_model("tiny-gptoss-random.gguf")  # 4 layers, MXFP4 experts
    outs = []
    for n in ("0", "2"):
        proc = _run(
            "generate", "--model", str(model), "--prompt", "Hello", "--max-tokens", "16",
            "--temperature", "0", "--cpu-moe", n, "--json",
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        outs.append(json.loads(proc.stdout))
    assert outs[0]["tensors_overridden"] == 0 and outs[0]["n_cpu_moe"] == 0
    assert outs[1]["tensors_overridden"] == 6  # gate, up and down experts of layers 0 and 1
    assert outs[1]["completion"] == outs[0]["completion"] and outs[0]["completion_tokens"] == 16
    bad = _run("generate", "--model", str(model), "--prompt", "x", "--cpu-moe", "-1")
    assert bad.returncode == 2 and "--cpu-moe must be 0 or more" in bad.stderr


def test_chat_cpu_moe_keeps_experts_in_ram_with_the_same_greedy_turn() -> None:
    from tests.helpers import project_model

    model = project_model("tiny-gptoss-random.gguf")  # 4 layers, MXFP4 experts
    outs = []
    for n in ("0", "3"):
        proc = _run(
            "chat", "--model", str(model), "--message", "Hi", "--max-tokens", "12",
            "--temperature", "0", "--date", "2025-06-28", "--ctx", "1024", "--cpu-moe", n,
            "--json",
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        outs.append(json.loads(proc.stdout))
    assert outs[0]["metrics"]["tensors_overridden"] == 0 and outs[0]["metrics"]["n_cpu_moe"] == 0
    assert outs[1]["metrics"]["tensors_overridden"] == 9  # gate, up, down experts of 3 layers
    assert outs[1]["metrics"]["n_cpu_moe"] == 3
    assert outs[1]["messages"] == outs[0]["messages"]  # greedy: the same turn either way
    assert outs[0]["metrics"]["completion_tokens"] > 0
    bad = _run("chat", "--model", str(model), "--message", "x", "--cpu-moe", "-2")
    assert bad.returncode == 2 and "--cpu-moe must be 0 or more" in bad.stderr
