"""Hugging Face hub look-ups: which commit, which files, their sizes, sha256 and gating.

huggingface_hub does the asking (``HfApi.model_info`` and ``HfApi.get_paths_info``); the
bytes are streamed by :mod:`gptoss_desktop.core.library.download`. The token is passed per
call and never read from huggingface_hub's own token file (``token=False`` when there is
none). ``HF_ENDPOINT`` is read at call time, telemetry is off, and nothing here runs unless
the user asked for a download or a repo listing: the app is offline by default.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

from gptoss_desktop.core.errors import AuthRequired, DownloadError, NotFoundOnHub
from gptoss_desktop.core.library.catalog import (
    REPO_ID_RE,
    CatalogEntry,
    group_gguf_files,
    model_stem,
    shard_set,
)
from gptoss_desktop.core.library.safepath import check_remote_name, is_safe_remote_name

DEFAULT_ENDPOINT = "https://huggingface.co"
T = TypeVar("T")


def hub_endpoint(explicit: str | None = None) -> str:
    return (explicit or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


@dataclass(frozen=True)
class RemoteFile:
    """One file at one commit, with what is needed to fetch and verify it."""

    repo_id: str
    filename: str
    revision: str  # the commit sha the bytes come from
    size: int
    sha256: str | None  # LFS files: the hub's sha256 of the content
    blob_id: str | None  # git blob id (sha1 of "blob <size>\\0" + content) for non-LFS files
    url: str

    @property
    def key(self) -> str:
        """Stable name of this file's partial download (same repo+file resumes)."""
        safe = f"{self.repo_id}--{self.filename}".replace("/", "--")
        return "".join(c if c.isalnum() or c in "-_." else "_" for c in safe)[:200]


@dataclass(frozen=True)
class RemoteModel:
    """A model to download: one file, or all shards of a sharded GGUF."""

    repo_id: str
    revision: str
    files: list[RemoteFile]
    gated: bool

    @property
    def total_size(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def name(self) -> str:
        return model_stem(self.files[0].filename)


class Hub:
    """Resolves repos and files on a hub (huggingface.co or ``HF_ENDPOINT``)."""

    def __init__(
        self,
        endpoint: str | None = None,
        *,
        timeout_s: float = 30.0,
        retries: int = 3,
        backoff_s: float = 1.0,
    ) -> None:
        self._endpoint = endpoint
        self._timeout = timeout_s
        self._retries = retries
        self._backoff = backoff_s

    @property
    def endpoint(self) -> str:
        return hub_endpoint(self._endpoint)

    def file_url(self, repo_id: str, revision: str, filename: str) -> str:
        return f"{self.endpoint}/{repo_id}/resolve/{quote(revision, safe='')}/{quote(filename)}"

    def resolve(
        self, repo_id: str, filename: str, revision: str = "main", token: str | None = None
    ) -> RemoteModel:
        """The commit, sizes and hashes of ``filename`` (and of its sibling shards)."""
        _check_repo_id(repo_id)
        check_remote_name(filename)
        api = self._api()
        info = self._call(
            lambda: api.model_info(
                repo_id, revision=revision, token=token or False, timeout=self._timeout
            ),
            repo_id,
            revision,
            token,
        )
        commit = str(info.sha or revision)
        gated = bool(info.gated)
        wanted = shard_set(filename)
        for w in wanted:
            check_remote_name(w)
        paths = self._call(
            lambda: api.get_paths_info(repo_id, wanted, revision=commit, token=token or False),
            repo_id,
            revision,
            token,
        )
        by_path = {p.path: p for p in paths if hasattr(p, "size")}
        missing = [w for w in wanted if w not in by_path]
        if missing:
            raise NotFoundOnHub(
                f"{missing[0]} is not in {repo_id} at revision {revision}; check the file name"
            )
        files = []
        for w in wanted:
            p = by_path[w]
            lfs = getattr(p, "lfs", None)
            files.append(
                RemoteFile(
                    repo_id=repo_id,
                    filename=w,
                    revision=commit,
                    size=int(p.size),
                    sha256=str(lfs.sha256) if lfs else None,
                    blob_id=getattr(p, "blob_id", None),
                    url=self.file_url(repo_id, commit, w),
                )
            )
        return RemoteModel(repo_id, commit, files, gated)

    def list_repo_models(
        self, repo_id: str, revision: str = "main", token: str | None = None
    ) -> list[CatalogEntry]:
        """Catalog entries for every GGUF model in a repo ("add a repo by id")."""
        _check_repo_id(repo_id)
        api = self._api()
        info = self._call(
            lambda: api.model_info(
                repo_id,
                revision=revision,
                files_metadata=True,
                token=token or False,
                timeout=self._timeout,
            ),
            repo_id,
            revision,
            token,
        )
        # A name that could write outside the repo's folder is never offered (see safepath).
        sizes = {
            s.rfilename: s.size for s in info.siblings or [] if is_safe_remote_name(s.rfilename)
        }
        groups = group_gguf_files(sizes)
        if not groups:
            raise NotFoundOnHub(f"{repo_id} has no .gguf files; choose a GGUF repository")
        card = info.card_data.to_dict() if getattr(info, "card_data", None) else {}
        licence = str(card.get("license") or "unknown")
        entries = []
        for files in groups:
            stem = model_stem(files[0])
            total = sum(int(sizes.get(f) or 0) for f in files)
            entries.append(
                CatalogEntry(
                    id=f"{repo_id}/{files[0]}",
                    title=f"{stem} ({repo_id.split('/')[0]})",
                    repo=repo_id,
                    files=files,
                    licence=licence,
                    gated=bool(info.gated),
                    quantization=_quant_from_name(stem),
                    size_bytes=total or None,
                    revision=revision,
                    user_added=True,
                )
            )
        return entries

    # --- plumbing ---------------------------------------------------------------------------

    def _api(self) -> Any:
        os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
        from huggingface_hub import HfApi

        return HfApi(endpoint=self.endpoint, library_name="gptoss-desktop")

    def _call(self, fn: Callable[[], T], repo_id: str, revision: str, token: str | None) -> T:
        attempt = 0
        while True:
            try:
                return fn()
            except Exception as exc:
                error, retry = _translate(exc, repo_id, revision, token, self.endpoint)
                attempt += 1
                if not retry or attempt > self._retries:
                    raise error from None
                time.sleep(self._backoff * 2 ** (attempt - 1))


def _check_repo_id(repo_id: str) -> None:
    if not REPO_ID_RE.match(repo_id):
        raise NotFoundOnHub(f"{repo_id!r} is not a Hugging Face repo id (expected owner/name)")


def _quant_from_name(stem: str) -> str:
    import re

    m = re.search(r"(?i)(i?q\d_[a-z0-9_]+|mxfp4|bf16|f16|f32|q\d_\d)$", stem)
    return m.group(1).upper() if m else "unknown"


def _status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    code = getattr(response, "status_code", None)
    return int(code) if isinstance(code, int) else None


def _translate(
    exc: Exception, repo_id: str, revision: str, token: str | None, endpoint: str
) -> tuple[Exception, bool]:
    """(the error to raise, whether a retry may help)."""
    from huggingface_hub import errors as hf

    page = f"{endpoint}/{repo_id}"
    if isinstance(exc, hf.OfflineModeIsEnabled):
        return DownloadError(
            "HF_HUB_OFFLINE is set, so downloads are off; unset it to download"
        ), False
    if isinstance(exc, hf.GatedRepoError):
        if token:
            return AuthRequired(
                f"your token has no access to gated {repo_id}; accept its terms at {page}"
            ), False
        return AuthRequired(
            f"{repo_id} is gated: accept its terms at {page}, then add a Hugging Face token"
        ), False
    if isinstance(exc, hf.RevisionNotFoundError):
        return NotFoundOnHub(f"revision {revision!r} does not exist in {repo_id}"), False
    if isinstance(exc, hf.RepositoryNotFoundError):
        if _status(exc) == 401 and not token:
            return AuthRequired(
                f"{repo_id} is private, gated or missing: check the id or add a Hugging Face token"
            ), False
        return NotFoundOnHub(
            f"repository {repo_id} was not found on {endpoint}; check the id"
        ), False
    if isinstance(exc, hf.RemoteEntryNotFoundError):
        return NotFoundOnHub(f"a requested file is not in {repo_id} at {revision}"), False
    status = _status(exc)
    if status in (401, 403):
        return AuthRequired(
            f"the hub refused access to {repo_id} ({status}); check your Hugging Face token"
        ), False
    if status is not None and (status >= 500 or status == 429):
        return DownloadError(f"the hub answered {status} for {repo_id}; try again later"), True
    if status is not None:
        return DownloadError(f"the hub answered {status} for {repo_id}"), False
    if isinstance(exc, OSError) or type(exc).__module__.split(".")[0] in (
        "httpx",
        "httpx2",
        "httpcore",
        "httpcore2",
    ):
        return DownloadError(
            f"cannot reach {endpoint} ({type(exc).__name__}); check the network"
        ), True
    return DownloadError(
        f"unexpected answer from the hub for {repo_id}: {type(exc).__name__}: {exc}"
    ), False
