"""Find GGUF models other apps already keep on this computer (no network, bounded time).

Three places are scanned, each honouring the environment variable its app honours:

- **LM Studio**: ``~/.lmstudio/models/<publisher>/<repo>/*.gguf`` and the older
  ``~/.cache/lm-studio/models`` (same layout).
- **Hugging Face cache**: ``$HF_HUB_CACHE``, else ``$HF_HOME/hub``, else
  ``$XDG_CACHE_HOME/huggingface/hub``, else ``~/.cache/huggingface/hub``:
  ``models--<org>--<repo>/snapshots/<revision>/<file>.gguf``, symlinks into ``blobs/``
  (the blob's name is the file's sha256).
- **Ollama**: ``$OLLAMA_MODELS``, else ``~/.ollama/models``:
  ``manifests/<host>/<namespace>/<name>/<tag>`` JSON files whose layer with media type
  ``application/vnd.ollama.image.model`` names ``blobs/sha256-<hex>``.

Every file found gets the same bounded header check as an import (:func:`read_gguf_info`)
plus the architecture check llama.cpp makes at load; a file llama.cpp would refuse is
reported with the reason and never offered for use. The walk has a deadline and caps on depth
and entries, and never visits a folder twice (symlink loops end there).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gptoss_desktop.core.errors import ModelFileError
from gptoss_desktop.core.library.catalog import shard_set
from gptoss_desktop.core.library.gguf_info import Limits, read_gguf_info
from gptoss_desktop.core.library.gguf_types import LLAMA_CPP_ARCHITECTURES

OLLAMA_MODEL_MEDIA_TYPE = "application/vnd.ollama.image.model"
GPT_OSS_ARCH = "gpt-oss"
# Architecture names other runtimes write for gpt-oss that llama.cpp does not load.
_FOREIGN_GPT_OSS = {"gptoss", "gpt_oss", "gpt-oss-moe"}
_SHA_BLOB = re.compile(r"^[0-9a-f]{64}$")
SOURCE_TITLES = {
    "lmstudio": "LM Studio",
    "huggingface": "Hugging Face cache",
    "ollama": "Ollama",
}


@dataclass(frozen=True)
class ScanLimits:
    """Bounds of one discovery scan."""

    deadline_s: float = 5.0
    max_depth: int = 6
    max_entries: int = 20_000  # folder entries looked at, over all places
    max_manifest_bytes: int = 1024 * 1024
    header_limits: Limits = field(default_factory=lambda: Limits(time_budget_s=2.0))


@dataclass(frozen=True)
class FoundModel:
    """One model file another app keeps, and whether this app can use it."""

    path: str  # the file to load (for the HF cache the snapshot path, a link into blobs/)
    source: str  # "lmstudio", "huggingface" or "ollama"
    where: str  # the folder scanned, for people
    label: str  # what the other app calls it: "publisher/repo/file.gguf", "gpt-oss:20b"
    size_bytes: int
    architecture: str | None
    is_gpt_oss: bool
    loadable: bool
    problem: str | None  # why it cannot be used, when it cannot
    files: tuple[str, ...] = ()  # every shard, first first (just ``path`` when one file)
    repo: str | None = None  # Hugging Face repo id when known (for checking against the hub)
    repo_file: str | None = None  # the file's name in that repo
    sha256: str | None = None  # the digest the other app names the file by, when it does

    @property
    def source_title(self) -> str:
        return SOURCE_TITLES.get(self.source, self.source)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["files"] = list(self.files)
        d["where_title"] = self.source_title
        return d


@dataclass(frozen=True)
class Discovery:
    """The result of a scan: what was found, which places were looked at, what was cut short."""

    models: list[FoundModel]
    places: list[dict[str, Any]]  # {"source", "path", "exists"}
    truncated: str | None = None  # why the scan stopped early, if it did
    elapsed_s: float = 0.0

    @property
    def usable_gpt_oss(self) -> list[FoundModel]:
        return [m for m in self.models if m.is_gpt_oss and m.loadable]

    def to_dict(self) -> dict[str, Any]:
        return {
            "models": [m.to_dict() for m in self.models],
            "places": self.places,
            "truncated": self.truncated,
            "elapsed_s": round(self.elapsed_s, 3),
        }


# --- where the other apps keep models ------------------------------------------------------


def _home(env: Mapping[str, str]) -> Path:
    home = env.get("HOME") or env.get("USERPROFILE")
    return Path(home) if home else Path.home()


def lmstudio_dirs(env: Mapping[str, str]) -> list[Path]:
    home = _home(env)
    return [home / ".lmstudio" / "models", home / ".cache" / "lm-studio" / "models"]


def hf_hub_dir(env: Mapping[str, str]) -> Path:
    if env.get("HF_HUB_CACHE"):
        return Path(env["HF_HUB_CACHE"]).expanduser()
    if env.get("HF_HOME"):
        return Path(env["HF_HOME"]).expanduser() / "hub"
    if env.get("XDG_CACHE_HOME"):
        return Path(env["XDG_CACHE_HOME"]).expanduser() / "huggingface" / "hub"
    return _home(env) / ".cache" / "huggingface" / "hub"


def ollama_dir(env: Mapping[str, str]) -> Path:
    if env.get("OLLAMA_MODELS"):
        return Path(env["OLLAMA_MODELS"]).expanduser()
    return _home(env) / ".ollama" / "models"


# --- the bounded walk --------------------------------------------------------------------------


class _Budget:
    def __init__(self, limits: ScanLimits) -> None:
        self.limits = limits
        self.end = time.monotonic() + limits.deadline_s
        self.entries = 0
        self.seen: set[tuple[int, int]] = set()
        self.truncated: str | None = None

    def spent(self) -> bool:
        if self.truncated:
            return True
        if time.monotonic() > self.end:
            self.truncated = f"stopped after {self.limits.deadline_s:g} s"
        elif self.entries > self.limits.max_entries:
            self.truncated = f"stopped after {self.limits.max_entries} folder entries"
        return self.truncated is not None

    def first_visit(self, folder: Path) -> bool:
        try:
            st = folder.stat()
        except OSError:
            return False
        key = (st.st_dev, st.st_ino)
        if key in self.seen:
            return False
        self.seen.add(key)
        return True


def _walk_files(root: Path, budget: _Budget, suffix: str | None = ".gguf") -> Iterator[Path]:
    """Files under ``root`` (depth-first, sorted), within the budget; folders visited once."""
    stack: list[tuple[Path, int]] = [(root, 0)]
    while stack and not budget.spent():
        folder, depth = stack.pop()
        if not budget.first_visit(folder):
            continue
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            continue
        budget.entries += len(entries)
        subdirs = []
        for e in entries:
            if e.name.startswith("."):
                continue
            try:
                if e.is_dir():  # follows links; first_visit stops loops
                    if depth + 1 < budget.limits.max_depth:
                        subdirs.append((Path(e.path), depth + 1))
                elif e.is_file() and (suffix is None or e.name.lower().endswith(suffix)):
                    yield Path(e.path)
            except OSError:
                continue
        stack.extend(reversed(subdirs))


# --- checking one file --------------------------------------------------------------------------


def check_loadable(path: Path, limits: Limits | None = None) -> tuple[str | None, str | None, int]:
    """(architecture, problem, size) of a file, with the checks an import makes.

    ``problem`` is None when llama.cpp can load the file as far as its header tells.
    """
    try:
        size = path.stat().st_size
    except OSError as exc:
        return None, f"cannot be read ({exc.strerror or exc})", 0
    try:
        info = read_gguf_info(path, limits)
    except ModelFileError as exc:
        return None, exc.problem, size
    arch = info.architecture
    if arch in _FOREIGN_GPT_OSS:
        return (
            arch,
            (
                f"architecture '{arch}' is another runtime's own gpt-oss format, which llama.cpp "
                "cannot load; download ggml-org/gpt-oss-20b-GGUF instead"
            ),
            size,
        )
    if arch not in LLAMA_CPP_ARCHITECTURES:
        return arch, f"llama.cpp does not know the architecture '{arch}'", size
    return arch, None, size


def _found(
    path: Path,
    source: str,
    where: Path,
    label: str,
    limits: ScanLimits,
    *,
    repo: str | None = None,
    repo_file: str | None = None,
    sha256: str | None = None,
) -> FoundModel:
    files = [path]
    problem: str | None = None
    names = shard_set(path.name)
    if len(names) > 1:
        files = [path.with_name(n) for n in names]
        missing = [f.name for f in files if not f.exists()]
        if missing:
            problem = f"one shard of {len(files)}; {missing[0]} is missing"
    arch, header_problem, size = check_loadable(path, limits.header_limits)
    problem = problem or header_problem
    if len(files) > 1:
        size = sum(f.stat().st_size for f in files if f.exists())
    return FoundModel(
        path=str(path),
        source=source,
        where=str(where),
        label=label,
        size_bytes=size,
        architecture=arch,
        is_gpt_oss=arch == GPT_OSS_ARCH or (arch or "") in _FOREIGN_GPT_OSS,
        loadable=problem is None,
        problem=problem,
        files=tuple(str(f) for f in files),
        repo=repo,
        repo_file=repo_file,
        sha256=sha256,
    )


def _first_shard_only(path: Path) -> bool:
    names = shard_set(path.name)
    return len(names) == 1 or names[0] == path.name


# --- the three places --------------------------------------------------------------------------


def _scan_lmstudio(root: Path, budget: _Budget) -> Iterator[FoundModel]:
    for f in _walk_files(root, budget):
        if not _first_shard_only(f):
            continue
        rel = f.relative_to(root).parts
        repo = f"{rel[0]}/{rel[1]}" if len(rel) >= 3 else None
        yield _found(
            f,
            "lmstudio",
            root,
            "/".join(rel),
            budget.limits,
            repo=repo,
            repo_file=f.name if repo else None,
        )


def _scan_hf(root: Path, budget: _Budget) -> Iterator[FoundModel]:
    try:
        repos = sorted(p for p in root.iterdir() if p.name.startswith("models--"))
    except OSError:
        return
    for repo_dir in repos:
        if budget.spent():
            return
        repo_id = repo_dir.name[len("models--") :].replace("--", "/", 1)
        snapshots = repo_dir / "snapshots"
        # newest snapshot first; the same file in an older snapshot is the same blob
        try:
            revs = sorted(
                (p for p in snapshots.iterdir() if p.is_dir()),
                key=lambda p: p.stat().st_mtime,
                reverse=True,
            )
        except OSError:
            continue
        blobs: set[str] = set()
        for rev in revs:
            for f in _walk_files(rev, budget):
                if not _first_shard_only(f):
                    continue
                try:
                    blob = f.resolve(strict=True)
                except OSError:
                    continue  # a dangling link: the blob was deleted
                if str(blob) in blobs:
                    continue
                blobs.add(str(blob))
                sha = blob.name if _SHA_BLOB.match(blob.name) else None
                rel = f.relative_to(rev).as_posix()
                yield _found(
                    f,
                    "huggingface",
                    root,
                    f"{repo_id}/{rel}",
                    budget.limits,
                    repo=repo_id,
                    repo_file=rel,
                    sha256=sha,
                )


def _scan_ollama(root: Path, budget: _Budget) -> Iterator[FoundModel]:
    manifests = root / "manifests"
    blobs = root / "blobs"
    seen: set[str] = set()
    for manifest in _walk_files(manifests, budget, suffix=None):
        try:
            if manifest.stat().st_size > budget.limits.max_manifest_bytes:
                continue
            data = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        layers = data.get("layers") if isinstance(data, dict) else None
        if not isinstance(layers, list):
            continue
        digest = next(
            (
                layer.get("digest")
                for layer in layers
                if isinstance(layer, dict) and layer.get("mediaType") == OLLAMA_MODEL_MEDIA_TYPE
            ),
            None,
        )
        if not isinstance(digest, str) or not digest.startswith("sha256:"):
            continue
        hexd = digest.split(":", 1)[1].lower()
        if not _SHA_BLOB.match(hexd) or hexd in seen:
            continue
        seen.add(hexd)
        blob = blobs / f"sha256-{hexd}"
        if not blob.is_file():
            continue
        parts = manifest.relative_to(manifests).parts
        label = _ollama_name(parts)
        yield _found(blob, "ollama", root, label, budget.limits, sha256=hexd)


def _ollama_name(parts: tuple[str, ...]) -> str:
    """``gpt-oss:20b`` for the library, ``host/ns/name:tag`` for others (as ``ollama list``)."""
    if len(parts) < 2:
        return ":".join(parts)
    *path, name, tag = parts
    if path == ["registry.ollama.ai", "library"]:
        return f"{name}:{tag}"
    if path and path[0] == "registry.ollama.ai":
        path = path[1:]
    return "/".join([*path, name]) + f":{tag}"


def add_found(installed: Any, found: FoundModel) -> Any:
    """Add a found model to ``installed`` (an :class:`InstalledModels`) by reference: no copy;
    the same header and loadability checks as an import; the other app's digest recorded for
    a later check."""
    hashes = {Path(found.path).name: f"sha256:{found.sha256}"} if found.sha256 else {}
    return installed.add_reference(
        [Path(f) for f in found.files or (found.path,)],
        name=found.label.rsplit("/", 1)[-1].removesuffix(".gguf"),
        source={
            "app": found.source,
            "where": found.where,
            "label": found.label,
            "repo": found.repo,
            "repo_file": found.repo_file,
        },
        hashes=hashes,
    )


def discover(
    env: Mapping[str, str] | None = None,
    limits: ScanLimits | None = None,
    *,
    sources: tuple[str, ...] = ("lmstudio", "huggingface", "ollama"),
) -> Discovery:
    """Scan the other apps' model folders; never raises for what it finds on disk."""
    env = os.environ if env is None else env
    limits = limits or ScanLimits()
    budget = _Budget(limits)
    start = time.monotonic()
    places: list[tuple[str, Path]] = []
    if "lmstudio" in sources:
        places += [("lmstudio", p) for p in lmstudio_dirs(env)]
    if "huggingface" in sources:
        places.append(("huggingface", hf_hub_dir(env)))
    if "ollama" in sources:
        places.append(("ollama", ollama_dir(env)))
    scanners = {"lmstudio": _scan_lmstudio, "huggingface": _scan_hf, "ollama": _scan_ollama}
    models: list[FoundModel] = []
    known: set[str] = set()
    report = []
    for source, root in places:
        exists = root.is_dir()
        report.append({"source": source, "path": str(root), "exists": exists})
        if not exists or budget.spent():
            continue
        for m in scanners[source](root, budget):
            key = os.path.realpath(m.path)
            if key not in known:
                known.add(key)
                models.append(m)
    models.sort(key=lambda m: (not (m.is_gpt_oss and m.loadable), not m.loadable, m.label))
    return Discovery(models, report, budget.truncated, time.monotonic() - start)
