"""A home folder made by a test, holding models the way LM Studio, the Hugging Face cache and
Ollama keep them (see core/library/discover.py), built from the project's tiny GGUF files."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from tests.helpers import project_model

GPTOSS = "tiny-gptoss-random.gguf"  # a real gpt-oss-architecture model llama.cpp loads
LLAMA = "tiny-harmony.gguf"  # a real llama-architecture model


@dataclass
class FakeHome:
    home: Path
    env: dict[str, str]
    lmstudio_gptoss: Path  # usable gpt-oss in LM Studio
    lmstudio_llama: Path  # usable, not gpt-oss
    lmstudio_broken: Path  # in the older LM Studio folder, not a GGUF
    hf_snapshot: Path  # usable gpt-oss in the HF cache: the snapshot link
    hf_blob: Path  # ... and the blob it points at
    hf_sha256: str
    ollama_foreign: Path  # Ollama's own gpt-oss (architecture "gptoss"): not loadable
    ollama_gptoss: Path  # a loadable gpt-oss GGUF blob in Ollama
    ollama_sha256: str


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_fake_home(root: Path) -> FakeHome:
    """The home folder with all three layouts; HF_HOME and OLLAMA_MODELS point inside it."""
    from tests.core.library.ggufgen import write_gptoss_like

    home = root / "home"
    tiny_oss, tiny_llama = project_model(GPTOSS), project_model(LLAMA)

    lms = home / ".lmstudio" / "models"
    lm_oss = lms / "lmstudio-community" / "gpt-oss-20b-GGUF" / "gpt-oss-20b-MXFP4.gguf"
    lm_llama = lms / "someone" / "tiny-harmony-GGUF" / "tiny-harmony-Q8_0.gguf"
    for target, src in ((lm_oss, tiny_oss), (lm_llama, tiny_llama)):
        target.parent.mkdir(parents=True)
        shutil.copyfile(src, target)
    (lms / "loop").symlink_to(lms)  # a symlink loop the scan must survive
    old = home / ".cache" / "lm-studio" / "models" / "x" / "y"
    old.mkdir(parents=True)
    broken = old / "broken.gguf"
    broken.write_bytes(b"<html>404 Not Found</html>" * 10)

    hf_home = root / "hf-home"
    repo = hf_home / "hub" / "models--ggml-org--gpt-oss-20b-GGUF"
    (repo / "blobs").mkdir(parents=True)
    staging = root / "hf-staging.gguf"
    shutil.copyfile(tiny_oss, staging)
    with staging.open("ab") as fh:  # other bytes than LM Studio's copy, still a sound GGUF
        fh.write(b"\0" * 64)
    hf_sha = _sha(staging)
    blob = repo / "blobs" / hf_sha
    staging.rename(blob)
    snap = repo / "snapshots" / ("a" * 40)
    snap.mkdir(parents=True)
    link = snap / "gpt-oss-20b-mxfp4.gguf"
    link.symlink_to(os.path.relpath(blob, snap))
    (snap / "gone.gguf").symlink_to("../../blobs/" + "0" * 64)  # dangling: blob deleted
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("a" * 40)

    ollama = root / "ollama-models"
    blobs = ollama / "blobs"
    blobs.mkdir(parents=True)
    foreign_src = write_gptoss_like(root / "ollama-gptoss.gguf", n_layer=2, arch="gptoss")
    foreign_sha = _sha(foreign_src)
    foreign = blobs / f"sha256-{foreign_sha}"
    foreign_src.rename(foreign)
    good_src = root / "ollama-good.gguf"
    shutil.copyfile(tiny_oss, good_src)
    with good_src.open("ab") as fh:
        fh.write(b"\0" * 128)
    good_sha = _sha(good_src)
    good = blobs / f"sha256-{good_sha}"
    good_src.rename(good)
    template = blobs / ("sha256-" + "1" * 64)
    template.write_text("{{ .Prompt }}")
    lib = ollama / "manifests" / "registry.ollama.ai" / "library"
    for name, tag, digest in (("gpt-oss", "20b", foreign_sha), ("tiny-oss", "latest", good_sha)):
        (lib / name).mkdir(parents=True, exist_ok=True)
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "layers": [
                {
                    "mediaType": "application/vnd.ollama.image.template",
                    "digest": "sha256:" + "1" * 64,
                    "size": 13,
                },
                {
                    "mediaType": "application/vnd.ollama.image.model",
                    "digest": f"sha256:{digest}",
                    "size": (blobs / f"sha256-{digest}").stat().st_size,
                },
            ],
        }
        (lib / name / tag).write_text(json.dumps(manifest))
    env = {"HOME": str(home), "HF_HOME": str(hf_home), "OLLAMA_MODELS": str(ollama)}
    return FakeHome(
        home, env, lm_oss, lm_llama, broken, link, blob, hf_sha, foreign, good, good_sha
    )
