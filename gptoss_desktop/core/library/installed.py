"""The installed models: downloaded, copied in, or linked where they already are.

An index, ``<models_dir>/library.json``, lists each model with its files, their sha256 (the
hub's for downloads, the one computed at import for local files) and where it came from.
Downloads live in ``<models_dir>/hf/<owner>/<repo>/``, copies in ``<models_dir>/imported/``;
linked models stay where the user keeps them and are never deleted by the app. The index is
re-read on every call and replaced atomically, so the window and the command line can both
use it. A sharded GGUF is one model with several files.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gptoss_desktop.core.errors import LibraryError, ModelFileError
from gptoss_desktop.core.fileio import open_regular, regular_file_problem
from gptoss_desktop.core.library.catalog import group_gguf_files, model_stem, shard_set
from gptoss_desktop.core.library.download import StopToken
from gptoss_desktop.core.library.hub import Hub, RemoteModel

INDEX_NAME = "library.json"
# Aliases: inside InstalledModels, ``list`` names the method, not the builtin.
Paths = list[Path]
Entries = list[dict[str, Any]]
Groups = list[list[Path]]
Strs = list[str]
Models = list["InstalledModel"]
HashProgress = Callable[[int, int], None]  # (bytes done, bytes total)
_BLOCK = 4 * 1024 * 1024


@dataclass(frozen=True)
class InstalledModel:
    name: str
    files: list[str]  # absolute paths, first shard first
    size_bytes: int
    hashes: dict[str, str]  # file name -> "sha256:<hex>" or "gitsha1:<hex>"
    source: dict[str, Any]  # {"kind": "download", "repo", "revision"} or {"kind": "import", ...}
    added_at: float
    verified_at: float | None = None
    linked: bool = False

    @property
    def path(self) -> Path:
        return Path(self.files[0])

    @property
    def present(self) -> bool:
        return all(Path(f).is_file() for f in self.files)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["present"] = self.present
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> InstalledModel:
        names = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in d.items() if k in names})


@dataclass(frozen=True)
class VerifyReport:
    name: str
    ok: bool
    problems: list[str] = field(default_factory=list)
    files_checked: int = 0
    bytes_checked: int = 0


def hash_file(
    path: Path,
    kind: str = "sha256",
    progress: HashProgress | None = None,
    stop: StopToken | None = None,
    done_before: int = 0,
    total: int = 0,
) -> str:
    """``kind:<hex>`` of a file; raises LibraryError if stopped."""
    size = path.stat().st_size
    h = hashlib.sha1(b"blob %d\0" % size) if kind == "gitsha1" else hashlib.sha256()
    done = 0
    last = 0.0
    with open_regular(path, buffering=0) as fh:
        while block := fh.read(_BLOCK):
            if stop is not None and stop.stopped:
                raise LibraryError("stopped before the check finished")
            h.update(block)
            done += len(block)
            now = time.monotonic()
            if progress and now - last > 0.25:
                last = now
                progress(done_before + done, total or size)
    if progress:
        progress(done_before + done, total or size)
    return f"{kind}:{h.hexdigest()}"


def require_loadable(path: Path) -> None:
    """The checks every model passes before it is added: a sound GGUF header within hard
    limits, and an architecture llama.cpp loads. Raises :class:`ModelFileError`."""
    from gptoss_desktop.core.library.discover import check_loadable

    _arch, problem, _size = check_loadable(path)
    if problem:
        raise ModelFileError(path, problem)


class InstalledModels:
    """The registry of installed models in one models folder."""

    def __init__(self, models_dir: Path) -> None:
        self.models_dir = Path(models_dir)
        self._lock = threading.RLock()

    # --- folders ----------------------------------------------------------------------------

    @property
    def partial_dir(self) -> Path:
        return self.models_dir / ".partial"

    @property
    def quarantine_dir(self) -> Path:
        return self.models_dir / ".quarantine"

    def download_dir(self, repo_id: str) -> Path:
        return self.models_dir.joinpath("hf", *repo_id.split("/"))

    # --- reading ----------------------------------------------------------------------------

    def list(self) -> Models:
        with self._lock:
            return [InstalledModel.from_dict(d) for d in self._read()]

    def get(self, name_or_path: str) -> InstalledModel:
        models = self.list()
        for m in models:
            if m.name.lower() == name_or_path.lower():
                return m
        target = Path(name_or_path).expanduser()
        if target.exists():
            resolved = str(target.resolve())
            for m in models:
                if resolved in (str(Path(f).resolve()) for f in m.files):
                    return m
        raise LibraryError(f"no installed model named {name_or_path!r}; run `models list`")

    # --- adding -----------------------------------------------------------------------------

    def register_download(self, model: RemoteModel, paths: Paths) -> InstalledModel:
        hashes = {
            Path(f.filename).name: (f"sha256:{f.sha256}" if f.sha256 else f"gitsha1:{f.blob_id}")
            for f in model.files
        }
        source = {
            "kind": "download",
            "repo": model.repo_id,
            "revision": model.revision,
            "files": [f.filename for f in model.files],
        }
        with self._lock:
            entries = self._read()
            files = [str(Path(p).resolve()) for p in paths]
            entries = [e for e in entries if e["files"] != files]
            entry = InstalledModel(
                name=self._unique_name(model.name, entries, model.repo_id.split("/")[0]),
                files=files,
                size_bytes=sum(Path(p).stat().st_size for p in paths),
                hashes=hashes,
                source=source,
                added_at=time.time(),
                verified_at=time.time(),
            )
            entries.append(entry.to_dict())
            self._write(entries)
            return entry

    def import_path(
        self,
        path: Path,
        *,
        link: bool = False,
        progress: HashProgress | None = None,
        stop: StopToken | None = None,
    ) -> Models:
        """Import a .gguf file (with its sibling shards) or every GGUF model in a folder."""
        src = Path(path).expanduser()
        if not src.exists():
            raise ModelFileError(src, "not found; check the path")
        groups = self._groups_to_import(src)
        if not groups:
            raise ModelFileError(src, "holds no .gguf model files")
        total = sum(p.stat().st_size for g in groups for p in g)
        done = 0
        imported = []
        for group in groups:
            for p in group:
                require_loadable(p)  # refuse malformed files before copying gigabytes
            if link:
                files, hashes, done = self._hash_in_place(group, progress, stop, done, total)
            else:
                files, hashes, done = self._copy_in(group, progress, stop, done, total)
            with self._lock:
                entries = self._read()
                entries = [e for e in entries if e["files"] != files]
                entry = InstalledModel(
                    name=self._unique_name(model_stem(group[0].name), entries, "local"),
                    files=files,
                    size_bytes=sum(Path(f).stat().st_size for f in files),
                    hashes=hashes,
                    source={
                        "kind": "import",
                        "mode": "link" if link else "copy",
                        "original": str(group[0].resolve()),
                    },
                    added_at=time.time(),
                    verified_at=time.time(),
                    linked=link,
                )
                entries.append(entry.to_dict())
                self._write(entries)
            imported.append(entry)
        return imported

    def add_reference(
        self,
        files: Paths,
        *,
        name: str,
        source: dict[str, Any],
        hashes: dict[str, str] | None = None,
    ) -> InstalledModel:
        """Register a model where another app keeps it: no copy, no hashing now.

        The files get the same header and loadability checks as an import. ``hashes`` are the
        digests the other app names the files by (Hugging Face blobs, Ollama layers); they are
        checked by :meth:`verify`, or against the hub by :meth:`verify_with_hub`, on request.
        """
        paths = [Path(f).expanduser() for f in files]
        for p in paths:
            if not p.is_file():
                raise ModelFileError(p, "not found; check the path")
            require_loadable(p)
        resolved = [str(p.absolute()) for p in paths]
        with self._lock:
            entries = self._read()
            for e in entries:
                if e["files"] == resolved:
                    return InstalledModel.from_dict(e)
            safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in name).strip("-")
            entry = InstalledModel(
                name=self._unique_name(safe or model_stem(paths[0].name), entries, "found"),
                files=resolved,
                size_bytes=sum(p.stat().st_size for p in paths),
                hashes=dict(hashes or {}),
                source={"kind": "reference", **source},
                added_at=time.time(),
                verified_at=None,
                linked=True,
            )
            entries.append(entry.to_dict())
            self._write(entries)
        return entry

    def verify_with_hub(
        self,
        name: str,
        hub: Hub,
        *,
        token: str | None = None,
        progress: HashProgress | None = None,
        stop: StopToken | None = None,
    ) -> VerifyReport:
        """Hash the files and compare with the sha256 the hub publishes for them.

        Needs the model's Hugging Face repo (downloads, and files found in LM Studio or the
        Hugging Face cache); the hashes then recorded are the hub's.
        """
        model = self.get(name)
        repo = model.source.get("repo")
        repo_files = model.source.get("files") or (
            [model.source["repo_file"]] if model.source.get("repo_file") else []
        )
        if not repo or not repo_files:
            raise LibraryError(
                f"{model.name} has no Hugging Face repo on record; use Verify again instead"
            )
        remote = hub.resolve(str(repo), str(repo_files[0]), token=token)
        expected = {Path(f.filename).name: f.sha256 for f in remote.files}
        problems: Strs = []
        total = sum(Path(f).stat().st_size for f in model.files if Path(f).is_file())
        done = 0
        hashes: dict[str, str] = {}
        for f in model.files:
            p = Path(f)
            want = expected.get(p.name) or (
                expected.get(Path(str(repo_files[0])).name) if len(model.files) == 1 else None
            )
            if not p.is_file():
                problems.append(f"{p} is missing")
                continue
            if want is None:
                problems.append(f"{p.name}: the hub has no sha256 for it in {repo}")
                continue
            got = hash_file(p, "sha256", progress, stop, done, total)
            done += p.stat().st_size
            if got != f"sha256:{want}":
                problems.append(
                    f"{p.name}: differs from {repo} on the hub "
                    f"(expected sha256:{want[:12]}..., got {got[:19]}...)"
                )
            else:
                hashes[p.name] = got
        if not problems:
            with self._lock:
                entries = self._read()
                for e in entries:
                    if e["name"] == model.name:
                        e["verified_at"] = time.time()
                        e["hashes"] = hashes
                self._write(entries)
        return VerifyReport(model.name, not problems, problems, len(model.files), done)

    # --- checking and removing --------------------------------------------------------------

    def verify(
        self, name: str, progress: HashProgress | None = None, stop: StopToken | None = None
    ) -> VerifyReport:
        """Hash every file again and compare with the recorded values."""
        model = self.get(name)
        problems: Strs = []
        total = sum(Path(f).stat().st_size for f in model.files if Path(f).is_file())
        done = 0
        for f in model.files:
            p = Path(f)
            if not p.is_file():
                problems.append(f"{p} is missing")
                continue
            expected = model.hashes.get(p.name, "")
            kind = expected.partition(":")[0] or "sha256"
            got = hash_file(p, kind, progress, stop, done, total)
            done += p.stat().st_size
            if expected and got != expected:
                problems.append(
                    f"{p.name}: content changed (expected {expected[:20]}..., got {got[:20]}...)"
                )
            try:
                require_loadable(p)
            except ModelFileError as exc:
                problems.append(exc.problem)
        if not problems:
            with self._lock:
                entries = self._read()
                for e in entries:
                    if e["name"] == model.name:
                        e["verified_at"] = time.time()
                self._write(entries)
        return VerifyReport(model.name, not problems, problems, len(model.files), done)

    def remove(self, name: str) -> InstalledModel:
        """Forget a model and delete its files, unless they are linked (the user's own)."""
        model = self.get(name)
        with self._lock:
            entries = [e for e in self._read() if e["name"] != model.name]
            self._write(entries)
        if not model.linked:
            for f in model.files:
                p = Path(f)
                if self._owns(p):
                    p.unlink(missing_ok=True)
                    self._prune_dirs(p.parent)
        return model

    # --- internals --------------------------------------------------------------------------

    def _owns(self, p: Path) -> bool:
        try:
            p.resolve().relative_to(self.models_dir.resolve())
            return True
        except ValueError:
            return False

    def _prune_dirs(self, folder: Path) -> None:
        root = self.models_dir.resolve()
        folder = folder.resolve()
        while folder != root and self._owns(folder):
            try:
                folder.rmdir()
            except OSError:
                return
            folder = folder.parent

    def _groups_to_import(self, src: Path) -> Groups:
        if not src.is_dir() and (problem := regular_file_problem(src)):
            raise ModelFileError(src, f"{problem}; choose a .gguf file or a folder")
        if src.is_file():
            if not src.name.lower().endswith(".gguf"):
                raise ModelFileError(src, "is not a .gguf file")
            names = shard_set(src.name)
            files = [src.with_name(n) for n in names]
            missing = [f.name for f in files if not f.is_file()]
            if missing:
                raise ModelFileError(src, f"is one shard of {len(files)}; missing {missing[0]}")
            return [files]
        rel = [str(p.relative_to(src)) for p in src.rglob("*.gguf") if p.is_file()]
        groups = []
        for g in group_gguf_files(rel):
            expected = shard_set(g[0])
            if g != expected:
                raise ModelFileError(
                    src / g[0], f"shards are incomplete ({len(g)} of {len(expected)})"
                )
            groups.append([src / f for f in g])
        return groups

    def _hash_in_place(
        self,
        group: Paths,
        progress: HashProgress | None,
        stop: StopToken | None,
        done: int,
        total: int,
    ) -> tuple[Strs, dict[str, str], int]:
        hashes = {}
        for p in group:
            hashes[p.name] = hash_file(p, "sha256", progress, stop, done, total)
            done += p.stat().st_size
        return [str(p.resolve()) for p in group], hashes, done

    def _copy_in(
        self,
        group: Paths,
        progress: HashProgress | None,
        stop: StopToken | None,
        done: int,
        total: int,
    ) -> tuple[Strs, dict[str, str], int]:
        folder = self.models_dir / "imported" / model_stem(group[0].name)
        folder.mkdir(parents=True, exist_ok=True)
        need = sum(p.stat().st_size for p in group)
        free = shutil.disk_usage(folder).free
        if free < need:
            from gptoss_desktop.core.errors import DiskFull

            raise DiskFull(
                f"copying needs {need / 1024**3:.2f} GiB free in {folder}, has "
                f"{free / 1024**3:.2f} GiB; free space or import with --link"
            )
        files, hashes = [], {}
        for p in group:
            target = folder / p.name
            tmp = folder / f".{p.name}.copying"
            h = hashlib.sha256()
            last = 0.0
            try:
                with open_regular(p, buffering=0) as src, tmp.open("wb") as dst:
                    while block := src.read(_BLOCK):
                        if stop is not None and stop.stopped:
                            raise LibraryError("import stopped; nothing was added")
                        dst.write(block)
                        h.update(block)
                        done += len(block)
                        if progress and time.monotonic() - last > 0.25:
                            last = time.monotonic()
                            progress(done, total)
                    dst.flush()
                    os.fsync(dst.fileno())
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
            os.replace(tmp, target)
            files.append(str(target.resolve()))
            hashes[p.name] = f"sha256:{h.hexdigest()}"
        if progress:
            progress(done, total)
        return files, hashes, done

    @staticmethod
    def _unique_name(stem: str, entries: Entries, owner: str) -> str:
        taken = {e["name"].lower() for e in entries}
        if stem.lower() not in taken:
            return stem
        candidate = f"{stem}-{owner}"
        n = 2
        while candidate.lower() in taken:
            candidate = f"{stem}-{owner}-{n}"
            n += 1
        return candidate

    @property
    def _index(self) -> Path:
        return self.models_dir / INDEX_NAME

    def _read(self) -> Entries:
        try:
            data = json.loads(self._index.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            raise LibraryError(
                f"the model index {self._index} is unreadable ({exc}); "
                "move it away and import the models again"
            ) from None
        models = data.get("models", []) if isinstance(data, dict) else []
        return [m for m in models if isinstance(m, dict) and "name" in m and "files" in m]

    def _write(self, entries: Entries) -> None:
        self.models_dir.mkdir(parents=True, exist_ok=True)
        clean = [{k: v for k, v in e.items() if k != "present"} for e in entries]
        tmp = self._index.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps({"schema": 1, "models": clean}, indent=1), encoding="utf-8")
        os.replace(tmp, self._index)
