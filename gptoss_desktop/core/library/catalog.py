"""The model catalog: curated GGUF models (``catalog.json``) plus repos the user added.

The curated list is data, so it is updated by editing ``catalog.json``. Entries the user
adds by Hugging Face repo id are kept in ``<config_dir>/catalog_user.json``. Nothing here
touches the network: listing a repo's files is :mod:`gptoss_desktop.core.library.hub`'s job.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from gptoss_desktop.core.errors import LibraryError
from gptoss_desktop.core.library.fit import ModelShape, required_bytes

BUILTIN_CATALOG = Path(__file__).with_name("catalog.json")
SHARD_RE = re.compile(r"^(?P<stem>.+)-(?P<no>\d{5})-of-(?P<count>\d{5})\.gguf$", re.IGNORECASE)
REPO_ID_RE = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9][\w.-]{0,95}$")


@dataclass(frozen=True)
class CatalogEntry:
    """One downloadable model: a file, or the shards of one model, in one repo."""

    id: str
    title: str
    repo: str
    files: list[str]
    family: str = "unknown"
    licence: str = "unknown"
    gated: bool = False
    params_b: float | None = None
    active_params_b: float | None = None
    quantization: str = "unknown"
    size_bytes: int | None = None
    context_length: int | None = None
    n_layer: int | None = None
    kv_bytes_per_token: int | None = None
    harmony: bool = False
    recommended: bool = False
    revision: str = "main"
    notes: str = ""
    user_added: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CatalogEntry:
        known = {f.name for f in fields(cls)}
        try:
            entry = cls(**{k: v for k, v in d.items() if k in known})
        except TypeError as exc:
            raise LibraryError(f"catalog entry {d.get('id', '?')!r} is incomplete: {exc}") from None
        if not REPO_ID_RE.match(entry.repo) or not entry.files:
            raise LibraryError(f"catalog entry {entry.id!r} needs a repo id and at least one file")
        return entry

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def memory_estimate(self, n_ctx: int = 8192) -> int | None:
        """Bytes needed to run it at ``n_ctx`` (see :mod:`fit` for the full estimate)."""
        shape = ModelShape.from_catalog(self)
        return required_bytes(shape, n_ctx) if shape else None


def shard_set(filename: str) -> list[str]:
    """All shard names of the model ``filename`` belongs to (``[filename]`` if unsharded)."""
    m = SHARD_RE.match(Path(filename).name)
    if not m:
        return [filename]
    count = int(m["count"])
    if count < 1 or count > 999:
        raise LibraryError(f"{filename}: implausible shard count {count}")
    folder = filename[: len(filename) - len(Path(filename).name)]
    return [f"{folder}{m['stem']}-{i:05d}-of-{count:05d}.gguf" for i in range(1, count + 1)]


def model_stem(filename: str) -> str:
    """``gpt-oss-20b-mxfp4`` for ``gpt-oss-20b-mxfp4.gguf`` and for its shards."""
    name = Path(filename).name
    m = SHARD_RE.match(name)
    if m:
        return m["stem"]
    return name[:-5] if name.lower().endswith(".gguf") else name


def group_gguf_files(filenames: Iterable[str]) -> list[list[str]]:
    """Group a repo's ``.gguf`` files into models (shards together, sorted), skipping mmproj."""
    groups: dict[str, list[str]] = {}
    for f in sorted(filenames):
        base = Path(f).name.lower()
        if not base.endswith(".gguf") or base.startswith("mmproj"):
            continue
        m = SHARD_RE.match(Path(f).name)
        key = f[: len(f) - len(Path(f).name)] + (m["stem"] if m else Path(f).name)
        groups.setdefault(key, []).append(f)
    return [sorted(g) for g in groups.values()]


class Catalog:
    """Curated entries first, then the user's own; ids are unique."""

    def __init__(self, entries: list[CatalogEntry], user_file: Path | None = None) -> None:
        self._entries = list(entries)
        self._user_file = user_file

    @classmethod
    def load(cls, config_dir: Path | None = None, builtin: Path = BUILTIN_CATALOG) -> Catalog:
        entries = [CatalogEntry.from_dict(d) for d in _read(builtin).get("models", [])]
        user_file = config_dir / "catalog_user.json" if config_dir else None
        if user_file and user_file.exists():
            seen = {e.id for e in entries}
            for d in _read(user_file).get("models", []):
                e = CatalogEntry.from_dict({**d, "user_added": True})
                if e.id not in seen:
                    entries.append(e)
                    seen.add(e.id)
        return cls(entries, user_file)

    @property
    def entries(self) -> list[CatalogEntry]:
        return list(self._entries)

    def get(self, entry_id: str) -> CatalogEntry:
        for e in self._entries:
            if e.id == entry_id:
                return e
        raise LibraryError(f"no catalog entry {entry_id!r}; run `models list` to see them")

    def find_file(self, repo: str, filename: str) -> CatalogEntry | None:
        for e in self._entries:
            if e.repo.lower() == repo.lower() and filename in e.files:
                return e
        return None

    def add(self, new: Iterable[CatalogEntry]) -> list[CatalogEntry]:
        """Add user entries (e.g. from :func:`hub.list_repo_models`) and save them."""
        added = []
        ids = {e.id for e in self._entries}
        for e in new:
            if e.id in ids:
                continue
            self._entries.append(e)
            ids.add(e.id)
            added.append(e)
        if added:
            self._save_user()
        return added

    def remove(self, entry_id: str) -> None:
        entry = self.get(entry_id)
        if not entry.user_added:
            raise LibraryError(f"{entry_id!r} is part of the curated catalog and cannot be removed")
        self._entries.remove(entry)
        self._save_user()

    def _save_user(self) -> None:
        if self._user_file is None:
            return
        data = {"schema": 1, "models": [e.to_dict() for e in self._entries if e.user_added]}
        self._user_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._user_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        os.replace(tmp, self._user_file)


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LibraryError(f"cannot read the model catalog {path}: {exc}") from None
    if not isinstance(data, dict):
        raise LibraryError(f"the model catalog {path} is not a JSON object")
    return data
